/**
 * A raw, writable predictions.db handle for tests that plant rows by hand
 * (created and migrated by the predictions store, WAL mode as the batch).
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import { PredictionsStore } from '../../src/predictions/store.js';

export function openPredictionsForWrite(dataDir: string): Database.Database {
  PredictionsStore.openForWrite(dataDir).close();
  const db = new Database(path.join(dataDir, 'predictions.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  return db;
}
