/**
 * The server's read-only database handles.
 *
 * `LazyDb` opens a SQLite file read-only when it first exists, and looks at
 * the file again at most every `checkMs`: when it was deleted, or replaced by
 * another file (a rename, as the generator does), the old handle is closed
 * and the new file opened. Prepared statements are cached per handle.
 *
 * The batch writes predictions.db in WAL mode; a read-only connection sees
 * every transaction committed before each statement starts, so cached
 * statements see a new run's rows once it commits.
 */
import { statSync } from 'node:fs';
import type Database from 'better-sqlite3';
import type { Logger } from '../log.js';
import type { Db } from '../market/db.js';

type Statement = Database.Statement;

/**
 * Makes `db.prepare` return one cached statement per SQL text, with its
 * result modes reset (not raw, not plucked, not expanded) on every call.
 *
 * Shared code called per request (stockByCode, the online feature store)
 * prepares its statement on every call, which costs tens of microseconds; on
 * the server's own read-only handles, where every statement runs to
 * completion synchronously (get/all, never a pending iterate), reusing one
 * statement per SQL text is safe and removes that cost.
 */
export function cacheStatements(db: Db): Db {
  const prepare = db.prepare.bind(db) as (sql: string) => Statement;
  const cache = new Map<string, Statement>();
  const cached = (sql: string): Statement => {
    let st = cache.get(sql);
    if (!st) {
      st = prepare(sql);
      cache.set(sql, st);
    } else if (st.reader) {
      st.raw(false);
      st.pluck(false);
      st.expand(false);
    }
    return st;
  };
  (db as { prepare: unknown }).prepare = cached;
  return db;
}

export interface LazyDbOptions {
  file: string;
  /** Opens the file (throws with a one-line reason when it is not usable). */
  open: (file: string) => Db;
  log: Logger;
  what: string;
  checkMs?: number;
}

export class LazyDb {
  private handle: Db | undefined;
  private ino: number | undefined;
  private lastCheck = 0;
  private readonly statements = new Map<string, Statement>();
  /** Why the file cannot be used (null while it is open). */
  error: string | null = null;
  /** Increases each time a new handle is opened: dependents rebuild their state on a change. */
  generation = 0;

  constructor(private readonly o: LazyDbOptions) {}

  /** The open handle, opening or reopening it as described above; undefined when the file is not usable. */
  get(): Db | undefined {
    const now = Date.now();
    if (this.handle && now - this.lastCheck < (this.o.checkMs ?? 2000)) return this.handle;
    this.lastCheck = now;
    let ino: number | undefined;
    try {
      ino = statSync(this.o.file).ino;
    } catch {
      ino = undefined;
    }
    if (this.handle && ino === this.ino) return this.handle;
    if (this.handle) {
      this.o.log.info({ file: this.o.file }, `${this.o.what} ${ino === undefined ? 'disappeared' : 'was replaced'}: reopening`);
      this.closeHandle();
    }
    if (ino === undefined) {
      this.error = `${this.o.file} does not exist`;
      return undefined;
    }
    try {
      this.handle = this.o.open(this.o.file);
      this.ino = ino;
      this.error = null;
      this.generation++;
      this.o.log.info({ file: this.o.file }, `${this.o.what} opened read-only`);
      return this.handle;
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
      return undefined;
    }
  }

  /**
   * A cached prepared statement, or undefined when the file is not usable or
   * the statement does not compile yet (e.g. the writer has not created its
   * tables): it is prepared again on the next call.
   */
  statement(sql: string): Statement | undefined {
    const db = this.get();
    if (!db) return undefined;
    let st = this.statements.get(sql);
    if (st) return st;
    try {
      st = db.prepare(sql);
    } catch (e) {
      this.error = `${this.o.what} is not ready: ${(e as Error).message}`;
      return undefined;
    }
    this.statements.set(sql, st);
    return st;
  }

  /** Runs `fn` with a statement; a failing statement is dropped from the cache and the error rethrown. */
  run<T>(sql: string, fn: (st: Statement) => T): T | undefined {
    const st = this.statement(sql);
    if (!st) return undefined;
    try {
      return fn(st);
    } catch (e) {
      this.statements.delete(sql);
      throw e;
    }
  }

  private closeHandle(): void {
    this.statements.clear();
    try {
      this.handle?.close();
    } catch {
      // closing a handle that is already unusable
    }
    this.handle = undefined;
    this.ino = undefined;
  }

  close(): void {
    this.closeHandle();
    this.error = `${this.o.what} is closed`;
  }
}
