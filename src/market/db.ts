/**
 * Opening market.db. Every reader opens it read-only (workers each open their
 * own connection: a better-sqlite3 handle is never shared across threads);
 * only the generator and the importer open it for writing.
 */
import Database from 'better-sqlite3';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SQL_DIR, marketDbPath } from '../config.js';
import { missingInput } from '../errors.js';

export type Db = Database.Database;

export function marketSchemaSql(): string {
  return readFileSync(path.join(SQL_DIR, 'market.sql'), 'utf8');
}

/** Indexes built after bulk loads (cheaper than maintaining them row by row). */
export const MARKET_POST_LOAD_SQL = 'CREATE INDEX IF NOT EXISTS idx_prices_date ON daily_prices (trade_date);';

/** Opens (creating if needed) a market database for writing, with the schema applied. */
export function openMarketForWrite(file: string): Db {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.exec(marketSchemaSql());
  db.exec(MARKET_POST_LOAD_SQL);
  return db;
}

/** Opens `<dataDir>/market.db` read-only, or explains how to create it. */
export function openMarketReadonly(dataDirOrFile: string): Db {
  const file = dataDirOrFile.endsWith('.db') ? dataDirOrFile : marketDbPath(dataDirOrFile);
  if (!existsSync(file)) {
    throw missingInput(`no market data at ${file}: run 'stockflow data generate' or 'stockflow data import' first`);
  }
  const db = new Database(file, { readonly: true, fileMustExist: true });
  const ok = db
    .prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name IN ('master_stock_list','daily_prices')")
    .get() as { n: number };
  if (ok.n !== 2) {
    db.close();
    throw missingInput(`${file} is not a stockflow market database (tables missing)`);
  }
  return db;
}
