/**
 * One import into market.db as one transaction, shared by `data import` and `data import-exchange`: the
 * data directory is created, market.db opened for writing (created with the schema if new) and locked with
 * BEGIN IMMEDIATE, rows rejected are collected in the rejects file. SIGINT/SIGTERM are noted and stop the
 * import at its next check (`stopIfInterrupted`). Anything thrown rolls back, discards the rejects file's
 * temporary and removes a market.db this import created; only `commit()` keeps the rows.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { marketDbPath } from '../config.js';
import { StockflowError } from '../errors.js';
import { openMarketForWrite, type Db } from '../market/db.js';
import { RejectsWriter } from './rejects.js';

export interface ImportTransaction {
  db: Db;
  /** The absolute path of market.db. */
  marketDb: string;
  rejects: RejectsWriter;
  /** Throws INTERRUPTED (exit 130) once SIGINT or SIGTERM has arrived. */
  stopIfInterrupted(): void;
  /** Commits the transaction (after a last interruption check). */
  commit(): void;
}

export async function withImportTransaction<T>(dataDir: string, rejectsFile: string | undefined, body: (t: ImportTransaction) => Promise<T>): Promise<T> {
  mkdirSync(dataDir, { recursive: true });
  const marketDb = path.resolve(marketDbPath(dataDir));
  const existed = existsSync(marketDb);
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    interrupted ??= sig;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const stopIfInterrupted = (): void => {
    if (interrupted) throw new StockflowError('INTERRUPTED', `interrupted by ${interrupted}: import rolled back, ${marketDb} unchanged`);
  };
  let rejects: RejectsWriter | undefined;
  let db: Db | undefined;
  let committed = false;
  try {
    rejects = new RejectsWriter(rejectsFile ?? path.join(dataDir, 'rejects.csv'));
    db = openMarketForWrite(marketDb);
    try {
      db.exec('BEGIN IMMEDIATE');
    } catch (e) {
      if (e instanceof Database.SqliteError && e.code.startsWith('SQLITE_BUSY')) {
        throw new StockflowError('LOCKED', `${marketDb} is being written by another process; try again when it has finished`);
      }
      throw e;
    }
    const open = db;
    return await body({
      db: open,
      marketDb,
      rejects,
      stopIfInterrupted,
      commit: () => {
        stopIfInterrupted();
        open.exec('COMMIT');
        committed = true;
      },
    });
  } catch (e) {
    if (db?.inTransaction) db.exec('ROLLBACK');
    rejects?.discard();
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    db?.close();
    if (!committed && !existed) for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(marketDb + suffix, { force: true });
  }
}
