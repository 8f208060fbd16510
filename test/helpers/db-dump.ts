/** Every row of every table of a data directory's market.db, in a fixed order: what "market.db unchanged" and "identical imports" compare. */
import path from 'node:path';
import Database from 'better-sqlite3';

export function dumpMarket(dataDir: string): Record<string, unknown[]> {
  const db = new Database(path.join(dataDir, 'market.db'), { readonly: true });
  try {
    const out: Record<string, unknown[]> = {};
    for (const t of db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[]) {
      const cols = (db.prepare(`PRAGMA table_info(${t})`).all() as { name: string }[]).map((c) => c.name);
      out[t] = db.prepare(`SELECT * FROM ${t} ORDER BY ${cols.map((_, i) => i + 1).join(', ')}`).all();
    }
    return out;
  } finally {
    db.close();
  }
}
