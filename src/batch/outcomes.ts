/**
 * Realised outcomes (issue 14, docs/runs.md "Outcomes"): for every published
 * (prediction date, model) whose stored predictions have no outcome yet and
 * whose model's horizon has elapsed, whether each stock hit its upper circuit
 * within the horizon's sessions from the prediction date (upperCircuitHits in
 * src/market/reader.ts: the exchange's own list of band hits on the sessions
 * it covers, elsewhere the circuit rule on the band in force and the adjusted
 * closes). An outcome's source is decided stock by stock: 'exchange' when the
 * exchange's list covers every session of its window and speaks for that stock
 * (hitListCovers: NSE's list says nothing about a BSE-only stock), else 'closes'.
 *
 * Run by each batch (its `outcomes` stage, after the write) and by
 * `stockflow evaluate`.
 */
import type { Logger } from '../log.js';
import type { Db } from '../market/db.js';
import type { IsoDate } from '../market/dates.js';
import { latestSessionBefore, sessionsFrom, upperCircuitHits } from '../market/reader.js';
import { hitListCovers, observedSessions } from '../market/exchange.js';
import { horizonSessionsOf } from '../model/metadata.js';
import { listModels } from '../model/registry.js';
import type { PredictionsStore } from '../predictions/store.js';
import type { OutcomeSource } from '../predictions/types.js';

/** A model's horizon by name (may be unknown) and version. */
export type HorizonOf = (name: string | null, version: string) => number;

/**
 * Horizons from the registry's model.json files (horizonSessionsOf); a version
 * the registry no longer has, or an unreadable registry, gets the default.
 */
export async function registryHorizons(modelsDir: string | undefined, log?: Logger): Promise<HorizonOf> {
  const byRef = new Map<string, number>();
  const byVersion = new Map<string, number>();
  if (modelsDir !== undefined) {
    try {
      for (const e of await listModels(modelsDir)) {
        const h = horizonSessionsOf(e.meta);
        byRef.set(`${e.name}/${e.version}`, h);
        if (!byVersion.has(e.version)) byVersion.set(e.version, h);
      }
    } catch (e) {
      log?.warn({ error: (e as Error).message }, 'outcomes: cannot read the registry; models get the default horizon');
    }
  }
  return (name, version) => (name !== null ? byRef.get(`${name}/${version}`) : undefined) ?? byVersion.get(version) ?? horizonSessionsOf(undefined);
}

export interface OutcomesFilled {
  /** (date, model version) pairs recorded now. */
  recorded: { date: IsoDate; modelVersion: string; horizon: number; windowEnd: IsoDate; rows: number; hits: number }[];
  /** Pairs whose horizon has not elapsed yet. */
  waiting: number;
}

/** Records the outcomes that became known (see the file comment). */
export function fillOutcomes(market: Db, store: PredictionsStore, horizonOf: HorizonOf): OutcomesFilled {
  const out: OutcomesFilled = { recorded: [], waiting: 0 };
  // A date's champion and challenger share a window: its hits are read from market.db once.
  const hitsOf = new Map<string, Map<string, IsoDate>>();
  const covers = hitListCovers(market);
  for (const p of store.pendingOutcomes()) {
    const horizon = horizonOf(p.model_name, p.model_version);
    const window = sessionsFrom(market, p.prediction_date, horizon);
    if (window.length < horizon) {
      out.waiting++;
      continue;
    }
    const windowEnd = window[horizon - 1];
    // The first move is judged from the close of the session before the prediction date (its as-of session).
    const from = latestSessionBefore(market, p.prediction_date) ?? p.prediction_date;
    const key = `${from}|${windowEnd}`;
    let hits = hitsOf.get(key);
    if (!hits) hitsOf.set(key, (hits = upperCircuitHits(market, from, windowEnd)));
    // Per stock: the list covers the whole window and speaks for the stock (hitListCovers: a BSE-only stock is not in NSE's list).
    const listed = observedSessions(market, p.prediction_date, windowEnd).size >= horizon;
    const source = (code: string): OutcomeSource => (listed && covers(code) ? 'exchange' : 'closes');
    const rows = store.recordOutcomes({ date: p.prediction_date, modelVersion: p.model_version, horizon, windowEnd, hits, source });
    const codes = new Set(store.predictionCodes(p.prediction_date, p.model_version));
    let n = 0;
    for (const c of hits.keys()) if (codes.has(c)) n++;
    out.recorded.push({ date: p.prediction_date, modelVersion: p.model_version, horizon, windowEnd, rows, hits: n });
  }
  return out;
}
