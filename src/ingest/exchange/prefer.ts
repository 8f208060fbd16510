/**
 * The exchange preference (`data import-exchange --prefer`) is one per market.db: daily_prices holds the
 * preferred exchange's bar of a dual-listed stock, and the readers decide whose hits speak for it by the same
 * record (hitListCovers, src/market/exchange.ts). An import asking for the other exchange would leave
 * daily_prices mixing the two session by session, so it is refused before anything is written (exit 2),
 * and so is a dry run that asks for it.
 */
import { badArgs } from '../../errors.js';
import type { Db } from '../../market/db.js';
import { hasRows, recordedPreference, type PreferredExchange } from '../../market/exchange.js';

/**
 * The preference market.db's exchange bars were imported with: the recorded one; else NSE when exchange_prices
 * holds rows (an import made before the preference was recorded: the readers take NSE); else null (no exchange
 * bars yet: any preference is accepted).
 */
export function preferenceInForce(db: Db): PreferredExchange | null {
  return recordedPreference(db) ?? (hasRows(db, 'exchange_prices') ? 'NSE' : null);
}

/** Throws BAD_ARGS (exit 2, one line) when `prefer` differs from the preference market.db's exchange bars were imported with. */
export function checkPreference(db: Db, prefer: PreferredExchange, file: string): void {
  const had = preferenceInForce(db);
  if (had === null || had === prefer) return;
  const how = recordedPreference(db) === null ? ' (read as such: that import predates the recorded preference)' : '';
  throw badArgs(
    `market.db's exchange bars were imported with --prefer ${had.toLowerCase()}${how}; --prefer ${prefer.toLowerCase()} would mix the exchanges' bars ` +
      `in daily_prices session by session: import with --prefer ${had.toLowerCase()}, or into a new data directory; ${file} unchanged`,
  );
}

/** Records `prefer` once market.db holds exchange bars (inside the import's transaction). */
export function recordPreference(db: Db, prefer: PreferredExchange): void {
  if (!hasRows(db, 'exchange_prices')) return;
  db.prepare(
    "INSERT INTO exchange_settings (name, value) VALUES ('prefer', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value WHERE value IS NOT excluded.value",
  ).run(prefer);
}
