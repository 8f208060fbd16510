/**
 * `stockflow data import`: analysts' own CSV files into <data-dir>/market.db.
 *
 * - Files are checked to exist before anything is written.
 * - The whole import is one transaction; files are applied in IMPORT_ORDER
 *   (master first, so the other files' codes are checked against the master
 *   list as it will be after the import), each row as an upsert on its
 *   table's key: the same files imported twice leave the same database.
 * - Every row is validated (validate.ts); bad rows go to the rejects CSV with
 *   the file, the line and the reason. A file whose share of rejected rows is
 *   above `maxRejectRate` fails the import (IMPORT_REJECTED, exit 6) after the
 *   rejects file is written and the transaction rolled back. Any failure
 *   leaves market.db as it was (and does not leave behind a market.db the
 *   import created).
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { StockflowError, badArgs, missingInput } from '../errors.js';
import { logger } from '../log.js';
import type { Db } from '../market/db.js';
import { readCsv } from './csv.js';
import type { RejectsWriter } from './rejects.js';
import { withImportTransaction } from './transaction.js';
import { IMPORT_ORDER, TABLES, upsertSql, type FileKind, type TableSpec } from './tables.js';
import { checkHeader, checkRow, type Header } from './validate.js';

export interface ImportFiles {
  master: string;
  prices: string;
  results?: string;
  calendar?: string;
  sentiment?: string;
  holidays?: string;
}

export interface ImportOptions {
  dataDir: string;
  files: ImportFiles;
  /** A file fails the import when rejected / rows is above this fraction (0…1). */
  maxRejectRate: number;
  /** Where rejected rows go; default <dataDir>/rejects.csv. */
  rejectsFile?: string;
}

export interface FileSummary {
  table: string;
  file: string;
  /** Data rows (blank lines and all-empty rows not counted). */
  rows: number;
  accepted: number;
  rejected: number;
}

export interface ImportSummary {
  files: FileSummary[];
  /** The rejects CSV (always written: header only when nothing was rejected). */
  rejectsFile: string;
  marketDb: string;
  rows: number;
  accepted: number;
  rejected: number;
  /** Human summary: one line per file, then the totals; ends with a newline. */
  text: string;
  exitCode: number;
}

export const DEFAULT_MAX_REJECT_RATE = 0.01;

/** Remembers the line of each key accepted so far in one file. */
class KeyIndex {
  private readonly groups = new Map<string, Map<string | number, number>>();

  private static part(s: string): string | number {
    // Dates as 8-digit numbers: small-integer map keys keep a full-market prices file's index compact.
    return s.length === 10 && s[4] === '-' && s[7] === '-' ? Number(s.slice(0, 4) + s.slice(5, 7) + s.slice(8)) : s;
  }

  private split(key: readonly string[]): [string, string | number] {
    if (key.length === 1) return ['', KeyIndex.part(key[0])];
    return [key[0], key.length === 2 ? KeyIndex.part(key[1]) : key.slice(1).join('\u0000')];
  }

  lineOf(key: readonly string[]): number | undefined {
    const [g, k] = this.split(key);
    return this.groups.get(g)?.get(k);
  }

  add(key: readonly string[], line: number): void {
    const [g, k] = this.split(key);
    let m = this.groups.get(g);
    if (!m) this.groups.set(g, (m = new Map()));
    m.set(k, line);
  }
}

interface Context {
  db: Db;
  rejects: RejectsWriter;
  knownCodes: Set<string>;
  /** Throws INTERRUPTED once SIGINT/SIGTERM has arrived. */
  stopIfInterrupted: () => void;
}

function describeKey(spec: TableSpec, key: readonly string[]): string {
  return spec.key.map((k, i) => (k === 'headline' ? `headline ${JSON.stringify(key[i].length > 40 ? `${key[i].slice(0, 37)}...` : key[i])}` : `${k} ${key[i]}`)).join(', ');
}

function isConstraintError(e: unknown): boolean {
  return e instanceof Database.SqliteError && e.code.startsWith('SQLITE_CONSTRAINT');
}

async function importFile(ctx: Context, spec: TableSpec, file: string): Promise<FileSummary> {
  const s: FileSummary = { table: spec.table, file, rows: 0, accepted: 0, rejected: 0 };
  const seen = new KeyIndex();
  const isKnown = (code: string): boolean => ctx.knownCodes.has(code);
  let header: Header | undefined;
  let upsert: Database.Statement | undefined;
  for await (const rec of readCsv(file)) {
    ctx.stopIfInterrupted();
    if (header === undefined || upsert === undefined) {
      header = checkHeader(spec, rec.fields, file);
      upsert = ctx.db.prepare(upsertSql(spec, header.present.map((c) => c.name)));
      continue;
    }
    if (rec.fields.every((f) => f.trim() === '')) continue; // a spreadsheet's trailing ",,,,"
    s.rows++;
    const r = checkRow(spec, header, rec.fields, isKnown);
    let reason: string | undefined;
    if (!r.ok) {
      reason = r.reasons.join('; ');
    } else {
      const earlier = seen.lineOf(r.key);
      if (earlier !== undefined) {
        reason = `duplicate of line ${earlier} (${describeKey(spec, r.key)})`;
      } else {
        try {
          upsert.run(r.values);
          seen.add(r.key, rec.line);
        } catch (e) {
          // validate.ts mirrors the schema's CHECKs, so this is a safety net, not a path we expect.
          if (!isConstraintError(e)) throw e;
          reason = `refused by the database: ${(e as Error).message}`;
        }
      }
    }
    if (reason === undefined) {
      s.accepted++;
    } else {
      s.rejected++;
      ctx.rejects.add(file, rec.line, reason, rec.fields);
    }
  }
  if (header === undefined) {
    throw new StockflowError('IMPORT_REJECTED', `${file} is empty: a header row is required; database unchanged`);
  }
  logger().debug({ ...s }, 'csv file imported');
  return s;
}

function checkInputs(files: ImportFiles): [FileKind, string][] {
  const list: [FileKind, string][] = [];
  for (const kind of IMPORT_ORDER) {
    const f = files[kind];
    if (f === undefined) continue;
    if (!existsSync(f)) throw missingInput(`no such file: ${f}`);
    if (!statSync(f).isFile()) throw missingInput(`not a file: ${f}`);
    try {
      accessSync(f, constants.R_OK);
    } catch {
      throw missingInput(`cannot read ${f}: permission denied`);
    }
    list.push([kind, f]);
  }
  return list;
}

const pct = (x: number): string => `${Number((x * 100).toFixed(2))}%`;
const rate = (f: FileSummary): number => (f.rows === 0 ? 0 : f.rejected / f.rows);

function summaryText(files: FileSummary[], t: { rows: number; accepted: number; rejected: number }, rejectsFile: string, marketDb: string): string {
  const w = Math.max(...files.map((f) => f.file.length));
  const lines = files.map(
    (f) => `${f.table.padEnd(17)}  ${f.file.padEnd(w)}  ${String(f.rows).padStart(8)} rows  ${String(f.accepted).padStart(8)} accepted  ${String(f.rejected).padStart(6)} rejected`,
  );
  const where = t.rejected === 0 ? 'no rows rejected' : `rejected rows listed in ${rejectsFile}`;
  lines.push(`total: ${t.rows} rows, ${t.accepted} accepted, ${t.rejected} rejected (${where}); imported into ${marketDb}`);
  return `${lines.join('\n')}\n`;
}

/** Imports the given CSV files into <dataDir>/market.db (see the module comment). */
export async function importCsvs(o: ImportOptions): Promise<ImportSummary> {
  if (!(Number.isFinite(o.maxRejectRate) && o.maxRejectRate >= 0 && o.maxRejectRate <= 1)) {
    const got = Number.isFinite(o.maxRejectRate) ? `, got ${o.maxRejectRate}` : '';
    throw badArgs(`--max-reject-rate must be a number between 0 and 1 (0.01 = 1%)${got}`);
  }
  const inputs = checkInputs(o.files);

  // SIGINT/SIGTERM: stop at the next row, roll back, remove the temporary rejects file, exit 130 with one line.
  return withImportTransaction(o.dataDir, o.rejectsFile, async ({ db, marketDb, rejects, stopIfInterrupted, commit }) => {
    const codes = (): Set<string> => new Set(db.prepare('SELECT bse_code FROM master_stock_list').pluck().all() as string[]);
    const ctx: Context = { db, rejects, knownCodes: codes(), stopIfInterrupted };
    const files: FileSummary[] = [];
    for (const [kind, file] of inputs) {
      files.push(await importFile(ctx, TABLES[kind], file));
      if (kind === 'master') ctx.knownCodes = codes();
    }

    const over = files.filter((f) => rate(f) > o.maxRejectRate);
    if (over.length > 0) {
      const rejectsFile = rejects.finish();
      const what = over.map((f) => `${f.file}: ${f.rejected} of ${f.rows} rows rejected (${pct(rate(f))} > limit ${pct(o.maxRejectRate)})`);
      throw new StockflowError('IMPORT_REJECTED', `import rejected: ${what.join(', ')}; rejected rows listed in ${rejectsFile}; database unchanged`);
    }

    commit();
    const rejectsFile = rejects.finish();
    const t = {
      rows: files.reduce((a, f) => a + f.rows, 0),
      accepted: files.reduce((a, f) => a + f.accepted, 0),
      rejected: files.reduce((a, f) => a + f.rejected, 0),
    };
    logger().debug({ marketDb, ...t }, 'import committed');
    return { files, rejectsFile, marketDb, ...t, text: summaryText(files, t, rejectsFile, marketDb), exitCode: 0 };
  });
}
