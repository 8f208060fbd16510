/**
 * The inputs of an exchange import: files, `.zip` archives (their members, nested
 * zips included) and folders (recursively), in a deterministic order: the paths
 * as given, a folder's entries sorted by name (code-unit order), a zip's members
 * sorted by name. In folders only `.csv` and `.zip` files are read (any case);
 * other files and dot-files are listed as ignored. A file named explicitly is
 * always read, whatever its name.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createReadStream } from 'node:fs';
import { unzipSync } from 'fflate';
import { StockflowError, missingInput } from '../../errors.js';
import type { SourceRef } from './types.js';

export interface Source {
  ref: SourceRef;
  /** The file's or member's own name (no folders), for the name-carried dates and the skipped PR members. */
  name: string;
  /** The names of the zips holding it, innermost first (a PR bundle's PRddmmyy.zip), for the name-carried dates. */
  containers: string[];
  open(): Readable;
}

export interface IgnoredFile {
  file: string;
  reason: string;
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function zipMembers(bytes: Uint8Array, file: string, prefix: string, containers: string[]): Source[] {
  const names: string[] = [];
  try {
    unzipSync(bytes, {
      filter: (f) => {
        names.push(f.name);
        return false;
      },
    });
  } catch (e) {
    throw new StockflowError('EXCHANGE_FORMAT', `${file}${prefix ? `:${prefix}` : ''}: not a readable zip archive (${(e as Error).message})`, { cause: e });
  }
  const out: Source[] = [];
  for (const name of names.filter((n) => !n.endsWith('/')).sort(byName)) {
    const member = prefix ? `${prefix}:${name}` : name;
    const read = (): Uint8Array => {
      try {
        return unzipSync(bytes, { filter: (f) => f.name === name })[name];
      } catch (e) {
        throw new StockflowError('EXCHANGE_FORMAT', `${file}:${member}: the zip member cannot be read (${(e as Error).message})`, { cause: e });
      }
    };
    const base = path.posix.basename(name);
    if (/\.zip$/i.test(name)) out.push(...zipMembers(read(), file, member, [base, ...containers]));
    else out.push({ ref: { file, member, label: `${file}:${member}` }, name: base, containers, open: () => Readable.from([Buffer.from(read())]) });
  }
  return out;
}

/** The sources of one file: itself, or a zip's members (the archive is read when this is called, one at a time). */
export function fileSources(file: string): Source[] {
  if (/\.zip$/i.test(file)) return zipMembers(new Uint8Array(readFileSync(file)), file, '', [path.basename(file)]);
  return [{ ref: { file, member: null, label: file }, name: path.basename(file), containers: [], open: () => createReadStream(file) }];
}

function walk(dir: string, files: string[], ignored: IgnoredFile[]): void {
  for (const entry of readdirSync(dir).sort(byName)) {
    const p = path.join(dir, entry);
    if (entry.startsWith('.')) {
      ignored.push({ file: p, reason: 'hidden' });
      continue;
    }
    const st = statSync(p);
    if (st.isDirectory()) walk(p, files, ignored);
    else if (/\.(csv|zip)$/i.test(entry)) files.push(p);
    else ignored.push({ file: p, reason: 'not .csv or .zip' });
  }
}

/** Every file the paths name, in order (expand each with `fileSources`); a path that does not exist is exit 3. */
export function listFiles(paths: readonly string[]): { files: string[]; ignored: IgnoredFile[] } {
  const files: string[] = [];
  const ignored: IgnoredFile[] = [];
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw missingInput(`no such file or folder: ${p}`);
    }
    if (st.isDirectory()) walk(p, files, ignored);
    else files.push(p);
  }
  // A file named twice (itself and inside a folder given too) is read once, where it first came.
  const seen = new Set<string>();
  const once = files.filter((f) => {
    const abs = path.resolve(f);
    if (seen.has(abs)) return false;
    seen.add(abs);
    return true;
  });
  return { files: once, ignored };
}
