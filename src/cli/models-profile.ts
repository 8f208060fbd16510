/**
 * What `stockflow models profile` runs (loaded when it runs): a drift
 * reference for a registered model (docs/monitoring.md) from the offline
 * feature store (feature_values in predictions.db, read through the
 * predictions store) and the model's own scores of those rows, written into
 * its model.json.
 */
import type { Config } from '../config.js';
import { badArgs, missingInput } from '../errors.js';
import type { IsoDate } from '../market/dates.js';
import { FEATURE_NAMES, FEATURE_SET_VERSION, N_FEATURES } from '../features/definition.js';
import { buildReference, referenceOf, type DriftReference } from '../model/drift.js';
import { parseModelRef, refOf } from '../model/metadata.js';
import { findModel, openStoredModel, resolveRef, writeDriftReference } from '../model/registry.js';
import { asScoringModel } from '../model/score.js';
import { ModelInvalidError } from '../model/errors.js';
import { PredictionsStore } from '../predictions/store.js';

export interface ProfileOptions {
  cfg: Config;
  ref: string;
  from?: IsoDate;
  to?: IsoDate;
  force: boolean;
}

export interface ProfileResult {
  ref: string;
  file: string;
  dates: IsoDate[];
  reference: DriftReference;
}

export async function runProfile(o: ProfileOptions): Promise<ProfileResult> {
  if (o.from !== undefined && o.to !== undefined && o.from > o.to) throw badArgs(`--from ${o.from} is after --to ${o.to}`);
  const r = await resolveRef(o.cfg.modelsDir, parseModelRef(o.ref));
  if ('problem' in r) throw missingInput(`${r.problem} in ${o.cfg.modelsDir}`);
  const ref = refOf(r.name, r.version);
  const existing = referenceOf((await findModel(o.cfg.modelsDir, ref)).meta);
  if (existing !== undefined && !('problem' in existing) && !o.force)
    throw badArgs(`${ref} already has a drift reference (${existing.source}, ${existing.rows} rows): --force replaces it`);

  const store = PredictionsStore.openReadonly(o.cfg.dataDir); // exit 3 when no batch has run
  let X: Float32Array;
  let n = 0;
  let dates: IsoDate[];
  try {
    dates = store
      .featureDates()
      .filter((d) => (o.from === undefined || d >= o.from) && (o.to === undefined || d <= o.to))
      .sort();
    const parts = dates.map((d) => store.featureRowsOfDate(d, FEATURE_SET_VERSION)).filter((p) => p !== undefined);
    n = parts.reduce((a, p) => a + p.n, 0);
    X = new Float32Array(n * N_FEATURES);
    let at = 0;
    for (const p of parts) {
      X.set(p.values, at);
      at += p.values.length;
    }
  } finally {
    store.close();
  }
  if (n === 0)
    throw missingInput(
      `no stored feature rows ${o.from ?? 'from the first date'} to ${o.to ?? 'the last'} in predictions.db (the offline feature store): run stockflow batch for those dates first`,
    );

  let model;
  try {
    model = asScoringModel(await openStoredModel(o.cfg.modelsDir, r.name, r.version));
  } catch (e) {
    if (e instanceof ModelInvalidError) throw badArgs(`cannot profile ${ref}: ${e.message}`);
    throw e;
  }
  let scores: Float32Array;
  try {
    scores = await model.score(X, n, 1000);
  } finally {
    await model.release();
  }
  const reference = buildReference(X, n, FEATURE_NAMES, scores, { source: 'profile', from: dates[0], to: dates[dates.length - 1] });
  const file = await writeDriftReference(o.cfg.modelsDir, r.name, r.version, reference);
  return { ref, file, dates, reference };
}
