/**
 * Opening an SQLite file and explaining why it cannot be opened, for both
 * market.db and predictions.db: one place that turns SQLite's open and read
 * errors into `MISSING_INPUT` (exit 3) messages naming the file and what is
 * wrong with it, and that reads a WAL-mode database in a directory it cannot
 * write to.
 *
 * Read-only directories: a WAL-mode database needs its `-shm` file, which
 * SQLite cannot create in a directory it may not write to (and better-sqlite3
 * has no URI filenames, so `immutable=1` is out of reach). When the directory
 * is not writable and no `-wal`/`-shm` pair exists, and the `-wal` file is
 * absent or empty (so the main file holds every committed row), the file is
 * read into memory and opened from there. With both files present SQLite
 * reads them in place.
 */
import Database from 'better-sqlite3';
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { threadId } from 'node:worker_threads';
import { StockflowError, missingInput } from '../errors.js';

export type Db = Database.Database;

/**
 * Whether this process may create files in `dir`. Tried, not asked: access()
 * says yes to root on a read-only mount.
 */
export function dirWritable(dir: string): boolean {
  const probe = path.join(dir, `.stockflow-probe-${process.pid}-${threadId}`);
  try {
    closeSync(openSync(probe, 'wx'));
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EEXIST';
  }
  rmSync(probe, { force: true });
  return true;
}

/** The first bytes of a file (fewer when it is shorter). */
function head(file: string, n: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(n);
    const got = readSync(fd, b, 0, n, 0);
    return b.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

const SQLITE_MAGIC = 'SQLite format 3\u0000';

/**
 * The MISSING_INPUT error for an SQLite error met while opening or reading
 * `file` (described as `what`, e.g. 'market.db'), or undefined when the error
 * is not about the file itself (a constraint, a busy lock, a bug).
 */
export function sqliteFileError(file: string, e: unknown, what = path.basename(file)): StockflowError | undefined {
  if (e instanceof StockflowError) return e;
  if (!(e instanceof Database.SqliteError)) return undefined;
  const code = e.code;
  if (code === 'SQLITE_NOTADB') return missingInput(`${file} is not an SQLite database (${what} damaged or replaced): ${e.message}`);
  if (code.startsWith('SQLITE_CORRUPT')) return missingInput(`${file} is damaged (${what} truncated or malformed): ${e.message}`);
  if (code.startsWith('SQLITE_CANTOPEN')) {
    const dir = path.dirname(file);
    const why = !dirWritable(dir) ? `; its directory ${dir} is not writable` : '';
    return missingInput(`cannot open ${file} (${what}): ${e.message}${why}`);
  }
  if (code === 'SQLITE_READONLY' || code.startsWith('SQLITE_READONLY_')) {
    return missingInput(`cannot write ${file} (${what}): ${e.message}; is ${path.dirname(file)} writable?`);
  }
  if (code.startsWith('SQLITE_IOERR')) return missingInput(`cannot read ${file} (${what}): ${e.message}`);
  if (code === 'SQLITE_ERROR' && /^no such (table|column)/.test(e.message)) {
    return missingInput(`${file} is not a complete ${what} (${e.message})`);
  }
  return undefined;
}

/** Runs `fn`, turning SQLite errors about `file` into their MISSING_INPUT message. */
export function withSqliteFile<T>(file: string, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw sqliteFileError(file, e, what) ?? e;
  }
}

/**
 * Checks that the file looks like an SQLite database of the size its header
 * claims (a truncated copy is caught here, not in the middle of a batch).
 */
function checkFileShape(file: string, what: string): void {
  const size = statSync(file).size;
  if (size === 0) return; // an empty file is an empty database to SQLite; the schema check explains it
  const h = head(file, 100);
  if (h.length < 100 || h.subarray(0, 16).toString('latin1') !== SQLITE_MAGIC) {
    throw missingInput(`${file} is not an SQLite database (${what} damaged or replaced: no SQLite header)`);
  }
  const ps = h.readUInt16BE(16);
  const pageSize = ps === 1 ? 65536 : ps;
  const pages = h.readUInt32BE(28);
  // The in-header page count is valid when the change counters agree (SQLite ≥ 3.7); a -wal file may hold newer pages.
  const valid = h.readUInt32BE(24) === h.readUInt32BE(92);
  if (valid && pages > 0 && pageSize > 0 && size < pages * pageSize && !existsSync(`${file}-wal`)) {
    throw missingInput(`${file} is damaged (${what} truncated: ${size} bytes, its header says ${pages * pageSize})`);
  }
}

export interface ReadonlyOpenOptions {
  /** How messages name the database ('market.db'). */
  what: string;
  /** The message when the file does not exist. */
  missing: string;
}

/**
 * Opens an existing SQLite file read-only (see the module comment for
 * read-only directories). Errors are MISSING_INPUT lines naming the file.
 */
export function openSqliteReadonly(file: string, o: ReadonlyOpenOptions): Db {
  if (!existsSync(file)) throw missingInput(o.missing);
  try {
    accessSync(file, constants.R_OK);
  } catch {
    throw missingInput(`cannot read ${file} (${o.what}): permission denied`);
  }
  checkFileShape(file, o.what);
  return withSqliteFile(file, o.what, () => {
    const dir = path.dirname(file);
    const wal = head(file, 20)[18] === 2;
    if (wal && !(existsSync(`${file}-wal`) && existsSync(`${file}-shm`)) && !dirWritable(dir)) {
      // WAL needs -wal and -shm files SQLite cannot create here.
      const walSize = statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0;
      if (walSize > 0) throw missingInput(`cannot read ${file} (${o.what}): its directory ${dir} is not writable and ${file}-wal holds rows not yet in the main file`);
      // Every committed row is in the main file: read a private copy.
      const bytes = readFileSync(file);
      bytes[18] = 1; // legacy (rollback-journal) read/write versions: an in-memory database cannot use WAL
      bytes[19] = 1;
      return new Database(bytes, { readonly: true });
    }
    const db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    return db;
  });
}

/** Tables and their columns that a database must have (name → column names). */
export type RequiredSchema = ReadonlyMap<string, readonly string[]>;

/** The tables and columns a schema script creates (run against an in-memory database). */
export function schemaOf(sql: string): RequiredSchema {
  const mem = new Database(':memory:');
  try {
    mem.exec(sql);
    return columnsOf(mem);
  } finally {
    mem.close();
  }
}

function columnsOf(db: Db): Map<string, string[]> {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];
  return new Map(tables.map((t) => [t, (db.prepare(`PRAGMA table_info("${t.replace(/"/g, '""')}")`).all() as { name: string }[]).map((c) => c.name)]));
}

/** Throws MISSING_INPUT naming every missing table and column of `db` (the file `file`). */
export function checkSchema(db: Db, file: string, what: string, required: RequiredSchema): void {
  const have = withSqliteFile(file, what, () => columnsOf(db));
  const problems: string[] = [];
  const missingTables = [...required.keys()].filter((t) => !have.has(t));
  if (missingTables.length > 0) problems.push(`table${missingTables.length > 1 ? 's' : ''} ${missingTables.join(', ')} missing`);
  for (const [t, cols] of required) {
    const got = have.get(t);
    if (!got) continue;
    const lost = cols.filter((c) => !got.includes(c));
    if (lost.length > 0) problems.push(`${t} has no column${lost.length > 1 ? 's' : ''} ${lost.join(', ')}`);
  }
  if (problems.length > 0) throw missingInput(`${file} is not a complete stockflow ${what}: ${problems.join('; ')}`);
}

/** Creates `dir` if needed and checks that files can be created in it; MISSING_INPUT naming it otherwise. */
export function ensureWritableDir(dir: string, forWhat: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw missingInput(`cannot create the directory ${dir} for ${forWhat}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!dirWritable(dir)) throw missingInput(`the directory ${dir} is not writable (needed for ${forWhat})`);
}
