/**
 * Opening market.db. Every reader opens it read-only (workers each open their
 * own connection: a better-sqlite3 handle is never shared across threads);
 * only the generator and the importer open it for writing.
 */
import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SQL_DIR, marketDbPath } from '../config.js';
import { checkSchema, openSqliteReadonly, schemaOf, withSqliteFile, type RequiredSchema } from '../util/sqlite.js';

export type Db = Database.Database;

export function marketSchemaSql(): string {
  return readFileSync(path.join(SQL_DIR, 'market.sql'), 'utf8');
}

/** Indexes built after bulk loads (cheaper than maintaining them row by row). */
export const MARKET_POST_LOAD_SQL = 'CREATE INDEX IF NOT EXISTS idx_prices_date ON daily_prices (trade_date);';

/** Opens (creating if needed) a market database for writing, with the schema applied. */
export function openMarketForWrite(file: string): Db {
  const db = withSqliteFile(file, 'market.db', () => new Database(file));
  try {
    withSqliteFile(file, 'market.db', () => {
      db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      db.exec(marketSchemaSql());
      db.exec(MARKET_POST_LOAD_SQL);
      checkSchema(db, file, 'market database', marketRequiredSchema());
    });
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

/**
 * The exchange-data tables (filled only by `data import-exchange`). A market.db made before they existed
 * lacks them: it is still complete, and readers treat a missing one as empty (`hasTable`).
 */
export const EXCHANGE_TABLES = [
  'security_isins',
  'exchange_listings',
  'exchange_prices',
  'price_bands',
  'circuit_hits',
  'circuit_hit_sessions',
  'corporate_actions',
  'market_caps',
  'exchange_settings',
] as const;

let marketSchema: RequiredSchema | undefined;
/** Every table and column of sql/market.sql the readers need: all but the optional exchange tables. */
export function marketRequiredSchema(): RequiredSchema {
  if (!marketSchema) {
    const all = new Map(schemaOf(marketSchemaSql()));
    for (const t of EXCHANGE_TABLES) all.delete(t);
    marketSchema = all;
  }
  return marketSchema;
}

/** SQLite's data_version: changes when another connection has committed to the file since this one last looked. */
export function marketDataVersion(db: Db): number {
  return db.pragma('data_version', { simple: true }) as number;
}

/** True when `db` has the table `name` (an optional exchange table may be absent from an older market.db). */
export function hasTable(db: Db, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/**
 * Opens `<dataDir>/market.db` read-only, or explains how to create it. A file
 * that is not SQLite, is truncated, or lacks a table or column the readers use
 * is a MISSING_INPUT error (exit 3) naming the file and what is wrong.
 */
export function openMarketReadonly(dataDirOrFile: string): Db {
  const file = dataDirOrFile.endsWith('.db') ? dataDirOrFile : marketDbPath(dataDirOrFile);
  const db = openSqliteReadonly(file, {
    what: 'market.db',
    missing: `no market data at ${file}: run 'stockflow data generate' or 'stockflow data import' first`,
  });
  try {
    checkSchema(db, file, 'market database', marketRequiredSchema());
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}
