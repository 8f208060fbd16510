/**
 * What arrived is checked before it is kept (#13): an empty body, an HTML page (what the exchanges send with
 * status 200 when they block a client or a file is missing), a zip that does not open, or a CSV whose header
 * is not the kind this source must be (found by the importer's own detector, src/ingest/exchange/kinds.ts)
 * is an error naming the URL, never data. The same check decides whether a file already on disk is complete.
 */
import { Readable } from 'node:stream';
import { unzipSync } from 'fflate';
import { readCsvStream } from '../ingest/csv.js';
import { matchHeader, unrecognisedMessage, norm } from '../ingest/exchange/kinds.js';
import { SKIPPED_MEMBER } from '../ingest/exchange/read.js';
import { KIND_TITLES } from '../ingest/exchange/kinds.js';
import type { ExchangeKind } from '../ingest/exchange/types.js';
import type { SourceDef } from './sources.js';

export type Verdict = { ok: true; kinds: ExchangeKind[]; skipped: string[] } | { ok: false; why: string };

/** The first two CSV records of a text (header, first row), or null for an empty text. */
async function headOf(bytes: Uint8Array, label: string): Promise<{ header: string[]; first: string[] | null } | null> {
  const it = readCsvStream(Readable.from([Buffer.from(bytes)]), label)[Symbol.asyncIterator]();
  try {
    const h = await it.next();
    if (h.done) return null;
    const r = await it.next();
    return { header: h.value.fields, first: r.done ? null : r.value.fields };
  } finally {
    await it.return?.(undefined);
  }
}

/** The kind of one CSV (by header; UDiFF by the first row's Src), or why it is not one. */
async function kindOf(bytes: Uint8Array, name: string, label: string): Promise<{ kind: ExchangeKind } | { skipped: string } | { why: string }> {
  let head;
  try {
    head = await headOf(bytes, label);
  } catch (e) {
    return { why: `${label} is not readable CSV (${(e as Error).message})` };
  }
  const skip = SKIPPED_MEMBER.exec(name);
  if (head === null) return skip ? { skipped: name } : { why: `${label} is empty (no header)` };
  const m = matchHeader(head.header);
  if (!m.ok) return skip ? { skipped: name } : { why: unrecognisedMessage(label, head.header, m) };
  if (m.kind !== 'udiff-cm') return { kind: m.kind };
  const src = head.first ? (head.first[m.columns.get(norm('Src')) as number] ?? '').trim().toUpperCase() : '';
  if (src === 'NSE') return { kind: 'nse-udiff-cm' };
  if (src === 'BSE') return { kind: 'bse-udiff-cm' };
  return { why: `${label}: a UDiFF bhavcopy ${head.first ? `whose first row's Src is '${src}'` : 'with no rows'}` };
}

const looksLikeHtml = (b: Uint8Array): boolean => {
  const s = Buffer.from(b.subarray(0, 512)).toString('utf8').replace(/^\uFEFF/, '').trimStart().toLowerCase();
  return s.startsWith('<!doctype html') || s.startsWith('<html') || s.startsWith('<head') || s.startsWith('<body') || (s.startsWith('<') && s.includes('<html'));
};

/** Checks a body against what the source must be. `label` names it (the URL, or the file on disk). */
export async function validateBody(src: SourceDef, name: string, body: Uint8Array, label: string): Promise<Verdict> {
  if (body.byteLength === 0) return { ok: false, why: `${label}: empty body` };
  // Judged by the bytes, not the Content-Type: servers label CSV files text/html or octet-stream alike.
  if (looksLikeHtml(body)) return { ok: false, why: `${label}: an HTML page, not the ${src.title} (the exchange may be blocking this client, or the file is not published)` };
  const members: { name: string; bytes: Uint8Array }[] = [];
  if (src.zip) {
    let files: Record<string, Uint8Array>;
    try {
      files = unzipSync(body);
    } catch (e) {
      return { ok: false, why: `${label}: a zip that does not open (${(e as Error).message}): truncated or not a zip` };
    }
    for (const [n, b] of Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) if (!n.endsWith('/')) members.push({ name: n.replace(/^.*\//, ''), bytes: b });
    if (members.length === 0) return { ok: false, why: `${label}: an empty zip` };
  } else members.push({ name, bytes: body });

  const kinds: ExchangeKind[] = [];
  const skipped: string[] = [];
  for (const m of members) {
    const k = await kindOf(m.bytes, m.name, src.zip ? `${label}:${m.name}` : label);
    if ('why' in k) return { ok: false, why: k.why };
    if ('skipped' in k) {
      skipped.push(k.skipped);
      continue;
    }
    if (!src.kinds.includes(k.kind)) {
      return { ok: false, why: `${src.zip ? `${label}:${m.name}` : label}: a ${KIND_TITLES[k.kind]}, not the ${src.title} expected here (${src.kinds.map((x) => KIND_TITLES[x]).join(', ')})` };
    }
    kinds.push(k.kind);
  }
  const missing = src.required.filter((k) => !kinds.includes(k));
  if (missing.length > 0) return { ok: false, why: `${label}: no ${missing.map((k) => KIND_TITLES[k]).join(', ')} in it` };
  return { ok: true, kinds, skipped };
}
