/**
 * What `stockflow explain` runs (loaded when the command runs): one stock's
 * feature row for a date (the batch's stored row, else computed with the
 * batch's code), the model (`--model`, else the one of the date's completed
 * run, else the registry's rule), its explainer and the waterfall text.
 */
import { marketDbPath, type Config } from '../config.js';
import { StockflowError, missingInput } from '../errors.js';
import type { Logger } from '../log.js';
import type { IsoDate } from '../market/dates.js';
import { openMarketReadonly } from '../market/db.js';
import { stockByCode } from '../market/reader.js';
import { stalenessError } from '../market/staleness.js';
import { computeFeatures } from '../features/service.js';
import { extractionContext } from '../features/context.js';
import { PredictionsStore } from '../predictions/store.js';
import { loadScoringModel } from '../model/scoring-model.js';
import { ExplanationUnavailable } from '../model/explainers.js';
import { refOf } from '../model/metadata.js';
import { renderWaterfall } from '../output/waterfall.js';

export interface ExplainStockOptions {
  cfg: Config;
  date: IsoDate;
  code: string;
  model?: string;
  log: Logger;
}

/** The waterfall text of one stock on one date. Throws StockflowError (exit 2/3) for what a user can fix. */
export async function explainStock(o: ExplainStockOptions): Promise<string> {
  const market = openMarketReadonly(o.cfg.dataDir);
  const store = PredictionsStore.openReadonlyIfExists(o.cfg.dataDir);
  try {
    const stock = stockByCode(market, o.code);
    if (!stock) throw missingInput(`stock ${o.code} is not in the master list`);
    const usable = store?.usable() === true;
    // The feature row: as the batch stored it for the date, else extracted now (the batch's code and staleness rule).
    const stored = usable ? store!.storedFeatures(o.code, o.date) : undefined;
    let x: Float32Array;
    let asOf: IsoDate;
    let source: 'store' | 'computed';
    if (stored) {
      [x, asOf, source] = [stored.values, stored.asOf, 'store'];
    } else {
      const ctx = extractionContext(market, o.date);
      const stale = stalenessError(ctx.asOf, o.date);
      if (stale) throw stale;
      const fs = await computeFeatures(market, marketDbPath(o.cfg.dataDir), [stock], o.date, { threads: 0, ctx });
      const skip = fs.block.skips[0];
      if (fs.block.codes.length !== 1 || skip) throw missingInput(`features for ${o.code} on ${o.date} could not be extracted: ${skip ? `${skip.reason} (${skip.detail})` : 'no row'}`);
      [x, asOf, source] = [fs.block.values, ctx.asOf, 'computed'];
    }
    // The model: --model, else the one that scored the date's completed run, else the registry's rule.
    const run = usable && o.model === undefined ? store!.completedRun(o.date) : undefined;
    const explicit = o.model ?? (run?.model_name && run.model_version ? refOf(run.model_name, run.model_version) : undefined);
    const model = await loadScoringModel(o.cfg, { explicit, log: o.log });
    try {
      // A model without node covers: covers from the date's stored feature rows (what its batch run used), else the latest stored date's.
      const background = (): { X: Float32Array; n: number; what: string } | undefined => {
        if (!usable) return undefined;
        const d = store!.featureRowsOfDate(o.date) ? o.date : store!.latestFeatureDate();
        const rows = d === undefined ? undefined : store!.featureRowsOfDate(d);
        return rows && d !== undefined ? { X: rows.values, n: rows.n, what: `the ${rows.n.toLocaleString('en-US')} feature rows stored for ${d}` } : undefined;
      };
      let text: string;
      try {
        const ex = model.explainer(background);
        const e = ex.explain(x, 1);
        const p = (await model.score(x, 1, 1))[0];
        text = renderWaterfall({
          bse_code: o.code,
          nse_symbol: stock.nse_symbol,
          company_name: stock.company_name,
          date: o.date,
          asOf,
          featureSource: source,
          model: { name: model.name, version: model.version, type: model.type },
          basis: ex.basis,
          base: e.base,
          values: e.values,
          x,
          margin: e.margin[0],
          probability: p,
        });
      } catch (e) {
        if (e instanceof ExplanationUnavailable) throw new StockflowError('NO_MODEL', `${e.message} (model ${refOf(model.name, model.version)})`);
        throw e;
      }
      return text;
    } finally {
      await model.release();
    }
  } finally {
    store?.close();
    market.close();
  }
}
