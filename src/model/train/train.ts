/**
 * `stockflow train`: a point-in-time training set from the market, gradient
 * boosted trees, the ONNX export (checked against the trainer to 1e-5 in
 * onnxruntime before anything is written), and registration with metrics.
 */
import type { Db } from '../../market/db.js';
import type { Logger } from '../../log.js';
import { FEATURE_NAMES, FEATURE_SET_VERSION, N_FEATURES } from '../../features/definition.js';
import { existsSync } from 'node:fs';
import { badArgs } from '../../errors.js';
import { listModels, registerModel, promoteModel, versionDir, type RegisterResult } from '../registry.js';
import { DEFAULT_MODEL_NAME, compareSemver, type ModelMetrics } from '../metadata.js';
import { openSession, scoreRows } from '../score.js';
import { exportOnnx } from '../onnx/export.js';
import { trainGbdt, predictProba, featureImportance, DEFAULT_GBDT_PARAMS, type GbdtParams } from './gbdt.js';
import { rocAuc, prAuc, f1At, precisionAtK } from './metrics.js';
import { buildDataset, type DatasetPart } from './dataset.js';
import { buildReference } from '../drift.js';

export const PARITY_TOLERANCE = 1e-5;

export interface TrainOptions {
  market: Db;
  marketFile: string;
  modelsDir: string;
  horizon: number;
  until?: string;
  version?: string;
  name?: string;
  dates: number;
  validShare: number;
  threads: number;
  promote: boolean;
  params?: Partial<GbdtParams>;
  log: Logger;
  producerVersion: string;
}

export interface TrainResult extends RegisterResult {
  metrics: ModelMetrics;
  trainRows: number;
  validRows: number;
  ms: { dataset: number; fit: number; total: number };
  promoted: boolean;
  maxParityError: number;
}

/** The next free patch version after the newest registered one (1.0.0 for an empty registry). */
export async function nextVersion(modelsDir: string, name: string): Promise<string> {
  const versions = (await listModels(modelsDir)).filter((e) => e.name === name).map((e) => e.version);
  if (versions.length === 0) return '1.0.0';
  const newest = versions.sort(compareSemver)[versions.length - 1];
  const [a, b, c] = newest.split('.').map(Number);
  return `${a}.${b}.${c + 1}`;
}

function range(p: DatasetPart): { from: string; to: string; dates: number } {
  return { from: p.dates[0] ?? '', to: p.dates[p.dates.length - 1] ?? '', dates: p.dates.length };
}

export async function train(o: TrainOptions): Promise<TrainResult> {
  const t0 = performance.now();
  const name = o.name ?? DEFAULT_MODEL_NAME;
  const version = o.version ?? (await nextVersion(o.modelsDir, name));
  // Checked before the dataset is built: a taken version would otherwise fail only at registration.
  if (existsSync(versionDir(o.modelsDir, name, version))) throw badArgs(`${name}/${version} is already registered in ${o.modelsDir}; pick a new version`);
  const ds = await buildDataset(o.market, o.marketFile, {
    horizon: o.horizon,
    until: o.until,
    dates: o.dates,
    validShare: o.validShare,
    threads: o.threads,
    onDate: (date, i, total) => o.log.info({ date, i: i + 1, total }, 'training set: extracting date'),
  });
  const tData = performance.now();
  const positives = (p: DatasetPart): number => p.y.reduce((a, v) => a + v, 0);
  o.log.info(
    { trainRows: ds.train.n, trainPositives: positives(ds.train), validRows: ds.valid.n, validPositives: positives(ds.valid) },
    'training set built',
  );
  const params = { ...DEFAULT_GBDT_PARAMS, ...o.params };
  const model = trainGbdt(ds.train, ds.valid, N_FEATURES, params);
  const tFit = performance.now();
  const p = predictProba(model, ds.valid.X, ds.valid.n);
  const metrics: ModelMetrics = {
    roc_auc: rocAuc(ds.valid.y, p),
    pr_auc: prAuc(ds.valid.y, p),
    f1_at_0_5: f1At(ds.valid.y, p, 0.5),
    precision_at_100: precisionAtK(ds.valid.y, p, 100),
    base_rate: positives(ds.valid) / Math.max(1, ds.valid.n),
    train_base_rate: positives(ds.train) / Math.max(1, ds.train.n),
    valid_log_loss: model.validLoss[model.bestIteration],
  };
  o.log.info({ trees: model.bestIteration, ...metrics }, 'model trained');

  const bytes = exportOnnx(model, {
    featureNames: FEATURE_NAMES,
    producerVersion: o.producerVersion,
    metadata: { feature_set_version: FEATURE_SET_VERSION, model_version: version, horizon_sessions: String(o.horizon) },
  });
  // Parity: onnxruntime must give the trainer's own probabilities on the validation set.
  const session = await openSession(bytes, N_FEATURES);
  let maxParityError = 0;
  try {
    const ort = await scoreRows({ meta: { name, version, n_features: N_FEATURES }, session }, ds.valid.X, ds.valid.n, 1000);
    for (let i = 0; i < ds.valid.n; i++) maxParityError = Math.max(maxParityError, Math.abs(ort[i] - p[i]));
  } finally {
    await session.release();
  }
  if (!(maxParityError <= PARITY_TOLERANCE)) {
    throw new Error(`ONNX export does not reproduce the trainer: max |Δp| = ${maxParityError} > ${PARITY_TOLERANCE}`);
  }
  // The drift reference (docs/monitoring.md): each feature's and the score's quantile bins over the training rows.
  const trainRange = range(ds.train);
  const driftReference = buildReference(ds.train.X, ds.train.n, FEATURE_NAMES, predictProba(model, ds.train.X, ds.train.n), {
    source: 'training',
    from: trainRange.from || null,
    to: trainRange.to || null,
  });
  const importance = featureImportance(model);
  const totalMs = Math.round(performance.now() - t0);
  const reg = await registerModel({
    modelsDir: o.modelsDir,
    onnxBytes: bytes,
    name,
    meta: {
      name,
      version,
      model_type: 'GBDT',
      feature_names: [...FEATURE_NAMES],
      feature_set_version: FEATURE_SET_VERSION,
      metrics,
      trained_until: ds.valid.dates[ds.valid.dates.length - 1],
      training: {
        horizon_sessions: o.horizon,
        train_rows: ds.train.n,
        valid_rows: ds.valid.n,
        train_dates: range(ds.train),
        valid_dates: range(ds.valid),
        split: 'by time: train on earlier prediction dates, validate on later ones; label windows never overlap',
        trees: model.bestIteration,
        params,
        parity_max_abs_error: maxParityError,
        training_ms: totalMs,
        feature_importance: Object.fromEntries(FEATURE_NAMES.map((n, i) => [n, Number(importance[i].toFixed(6))])),
      },
      drift_reference: driftReference,
    },
  });
  let promoted = false;
  if (o.promote) {
    await promoteModel(o.modelsDir, `${name}/${version}`, 'champion');
    promoted = true;
  }
  return {
    ...reg,
    metrics,
    trainRows: ds.train.n,
    validRows: ds.valid.n,
    ms: { dataset: Math.round(tData - t0), fit: Math.round(tFit - tData), total: totalMs },
    promoted,
    maxParityError,
  };
}
