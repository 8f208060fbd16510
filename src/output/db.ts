/**
 * predictions.db: opened in WAL mode by the writer (so a server reading it is
 * never blocked), read-only by everyone else. Its schema is the numbered
 * migrations in sql/predictions/, applied in order, each in a transaction.
 */
import Database from 'better-sqlite3';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SQL_DIR, predictionsDbPath } from '../config.js';
import { ensureWritableDir, openSqliteReadonly, withSqliteFile } from '../util/sqlite.js';
import type { Db } from '../market/db.js';

export const MIGRATIONS_DIR = path.join(SQL_DIR, 'predictions');

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function migrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_.+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 3)), name: f, sql: readFileSync(path.join(dir, f), 'utf8') }));
}

/** Applies the migrations the database has not seen yet; returns their names. */
export function migrate(db: Db, list: Migration[] = migrations()): string[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const done = new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
  const applied: string[] = [];
  for (const m of list) {
    if (done.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
    })();
    applied.push(m.name);
  }
  return applied;
}

/** Opens predictions.db for writing (creating it and its directory), migrated, in WAL mode. */
export function openPredictionsForWrite(dataDir: string): Db {
  ensureWritableDir(dataDir, 'predictions.db');
  const file = predictionsDbPath(dataDir);
  const db = withSqliteFile(file, 'predictions.db', () => new Database(file));
  try {
    withSqliteFile(file, 'predictions.db', () => {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      migrate(db);
    });
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

/** Opens predictions.db read-only (the server, `notify`), or explains that no batch has run. */
export function openPredictionsReadonly(dataDir: string): Db {
  const file = predictionsDbPath(dataDir);
  return openSqliteReadonly(file, { what: 'predictions.db', missing: `no predictions at ${file}: run 'stockflow batch' first` });
}
