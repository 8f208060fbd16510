/**
 * Stored predictions: the batch's rows in predictions.db for
 * GET /predictions and GET /predictions/{code}.
 */
import type { IsoDate } from '../../market/dates.js';
import { isIsoDate } from '../../market/dates.js';
import { codeOfNseSymbol, stockByCode } from '../../market/reader.js';
import { ApiError } from '../errors.js';
import type { RunRef } from '../predictions.js';
import { MAX_OFFSET, MAX_PAGE, type PredictionListQueryT, type PredictionListT, type StoredPredictionT } from '../schemas.js';
import type { ServerSources } from './sources.js';
import { explainRows, shapFields } from './explain.js';
import { featureMap } from './scoring.js';

/** A numeric query parameter must be a whole number within bounds: else 400, never a database error. */
function checkInt(name: string, v: unknown, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new ApiError('INVALID_REQUEST', `query field '${name}' must be a whole number from ${min} to ${max}`);
  }
}

export class StoredPredictions {
  constructor(private readonly s: ServerSources) {}

  private noPredictions(): ApiError {
    if (!this.s.predictionsDb.get()) return new ApiError('PREDICTION_NOT_FOUND', 'no predictions yet: predictions.db does not exist (run stockflow batch)');
    return new ApiError('PREDICTION_NOT_FOUND', 'no batch run has succeeded yet, so there is no latest prediction date: give ?date=');
  }

  runFor(date: IsoDate | undefined, model?: string): RunRef {
    if (date !== undefined && !isIsoDate(date)) throw new ApiError('INVALID_REQUEST', `date '${date}' is not a real calendar date in YYYY-MM-DD form`);
    if (model !== undefined) {
      // ?model=: that version's rows (a challenger's included), never another model's.
      const r = this.s.predictions.runForModel(date, model);
      if (r) return r;
      throw new ApiError('PREDICTION_NOT_FOUND', `no predictions of model ${model}${date === undefined ? '' : ` for ${date}`}`);
    }
    const run = date === undefined ? this.s.predictions.latestRun() : this.s.predictions.runFor(date);
    if (run) return run;
    if (date === undefined) throw this.noPredictions();
    throw new ApiError('PREDICTION_NOT_FOUND', `no predictions for ${date}`);
  }

  private stockExists(code: string): boolean | undefined {
    const db = this.s.market.get();
    if (!db) return undefined;
    return stockByCode(db, code) !== undefined;
  }

  /** A stock look-up: a 6-digit key as it is; otherwise an NSE symbol (case-insensitive) → its key, 404 when no stock has it. */
  resolveStock(ref: string): string {
    if (/^[0-9]{6}$/.test(ref)) return ref;
    const db = this.s.market.get();
    const code = db ? codeOfNseSymbol(db, ref) : undefined;
    if (code === undefined) throw new ApiError('STOCK_NOT_FOUND', `no stock with NSE symbol '${ref}' in the master list`, { bseCode: ref });
    return code;
  }

  /** GET /predictions/{code}: the stored prediction (latest succeeded date by default). */
  storedPrediction(code: string, date?: IsoDate, model?: string): StoredPredictionT {
    if (model !== undefined) return this.s.predictions.snapshot(() => this.storedPredictionIn(code, date, model));
    if (date === undefined) {
      // The hot path: run and row in one statement, consistent by itself.
      const latest = this.s.predictions.latestPrediction(code);
      if (latest.row) return latest.row;
    }
    return this.s.predictions.snapshot(() => this.storedPredictionIn(code, date));
  }

  private storedPredictionIn(code: string, date?: IsoDate, model?: string): StoredPredictionT {
    let run: RunRef;
    if (model !== undefined) {
      run = this.runFor(date, model);
      const row = this.s.predictions.prediction(code, run);
      if (row) return row;
    } else if (date === undefined) {
      const latest = this.s.predictions.latestPrediction(code);
      if (latest.row) return latest.row;
      if (!latest.run) throw this.noPredictions();
      run = latest.run;
    } else {
      run = this.runFor(date);
      const row = this.s.predictions.prediction(code, run);
      if (row) return row;
    }
    const skip = this.s.predictions.skipped(code, run.prediction_date);
    if (skip) {
      throw new ApiError('PREDICTION_NOT_FOUND', `${code} was not scored on ${run.prediction_date}: ${skip.reason}${skip.detail ? ` (${skip.detail})` : ''}`, {
        bseCode: code,
        reason: skip.reason,
      });
    }
    if (this.stockExists(code) === false) throw new ApiError('STOCK_NOT_FOUND', `stock ${code} is not in the master list`, { bseCode: code });
    throw new ApiError('PREDICTION_NOT_FOUND', `no prediction for ${code} on ${run.prediction_date}`, { bseCode: code });
  }

  /**
   * GET /predictions/{code}?explain=1: the stored prediction explained with the feature row the batch
   * stored for it and the model version that scored it. 404 when no feature row was stored for it;
   * 422 EXPLANATION_UNAVAILABLE when that model cannot be explained (or loaded).
   */
  async explainStored(code: string, date?: IsoDate, model?: string): Promise<StoredPredictionT> {
    const row = this.storedPrediction(code, date, model);
    const X = this.s.predictions.features(code, row.prediction_date);
    if (!X) {
      throw new ApiError(
        'PREDICTION_NOT_FOUND',
        `no stored features for ${code} on ${row.prediction_date}: explain=1 explains the feature row the batch stored with the prediction, and there is none`,
        { bseCode: code },
      );
    }
    const fields = await this.s.withModelVersion(row.model_version, async (model) => shapFields(explainRows(this.s, model, X, 1, code), 0));
    return { ...row, features: featureMap(X), ...fields };
  }

  /** GET /predictions: one page of a date's ranking. */
  list(q: PredictionListQueryT): PredictionListT {
    // The schema bounds these; this also catches what its coercion lets through ('1e400' as Infinity).
    checkInt('limit', q.limit, 1, MAX_PAGE);
    checkInt('offset', q.offset, 0, MAX_OFFSET);
    if (q.label !== undefined) checkInt('label', q.label, 0, 1);
    // The date's run and its rows from one snapshot: a run published meanwhile cannot pair new rows with the old run id.
    const { run, total, items } = this.s.predictions.snapshot(() => {
      const r = this.runFor(q.date, q.model);
      return { run: r, ...this.s.predictions.list(r, { confidence: q.confidence, label: q.label, limit: q.limit, offset: q.offset }) };
    });
    return {
      prediction_date: run.prediction_date,
      as_of_session: run.as_of_session,
      model_version: run.model_version,
      model_type: run.model_type,
      run_id: run.run_id,
      total,
      limit: q.limit,
      offset: q.offset,
      items,
    };
  }
}
