/**
 * The ONNX side of a model: opening an onnxruntime session and checking it
 * keeps stockflow's input/output contract, and scoring feature rows with it.
 *
 * Contract: one float input [N, n_features] (N dynamic or any size), and a
 * float tensor output named `probabilities` [N, 2] whose column 1 is
 * P(upper circuit). Other outputs (e.g. `label`) may exist and are not run.
 */
import * as ort from 'onnxruntime-node';
import { StockflowError } from '../errors.js';
import type { ModelMeta } from './metadata.js';
import { PROBABILITIES_OUTPUT } from './contract.js';
import { ModelInvalidError } from './errors.js';
import type { ScoringModel } from './types.js';
import { backgroundTreesOf, explainerOf, prepareExplainer } from './explainers.js';
export const DEFAULT_GROUP_SIZE = 1000;

/** The first line of an onnxruntime error, without its bracketed prefix noise. */
export function ortMessage(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return (m.split('\n')[0] ?? m).trim();
}

const dimText = (d: number | string): string => (typeof d === 'number' && d >= 0 ? String(d) : typeof d === 'string' && d !== '' ? d : 'N');
const shapeText = (s: ReadonlyArray<number | string>): string => `[${s.map(dimText).join(', ')}]`;

/**
 * Checks a session against the contract (metadata, then a 1-row all-zero run
 * to see the actual output shape). Throws ModelInvalidError with the reason.
 */
export async function checkSession(session: ort.InferenceSession, nFeatures: number): Promise<void> {
  const inputs = session.inputMetadata;
  if (inputs.length !== 1) throw new ModelInvalidError(`expected exactly 1 input, the model has ${inputs.length} (${session.inputNames.join(', ')})`);
  const input = inputs[0];
  if (!input.isTensor) throw new ModelInvalidError(`input '${input.name}' is not a tensor`);
  if (input.type !== 'float32') throw new ModelInvalidError(`input '${input.name}' is ${input.type}, expected float (float32)`);
  if (input.shape.length !== 2) throw new ModelInvalidError(`input '${input.name}' has shape ${shapeText(input.shape)}, expected [N, ${nFeatures}]`);
  const width = input.shape[1];
  if (typeof width !== 'number' || width !== nFeatures)
    throw new ModelInvalidError(`input '${input.name}' has shape ${shapeText(input.shape)}, expected [N, ${nFeatures}] (${nFeatures} features)`);
  const rows = input.shape[0];
  const out = session.outputMetadata.find((o) => o.name === PROBABILITIES_OUTPUT);
  if (!out) {
    const names = session.outputNames.join(', ');
    const maps = session.outputMetadata.filter((o) => !o.isTensor).map((o) => o.name);
    const zipmap = maps.length > 0 ? `; ${maps.join(', ')} ${maps.length > 1 ? 'are not tensors' : 'is not a tensor'} (a ZipMap? convert with zipmap=False)` : '';
    throw new ModelInvalidError(`no output named '${PROBABILITIES_OUTPUT}' (outputs: ${names})${zipmap}`);
  }
  if (!out.isTensor) throw new ModelInvalidError(`output '${PROBABILITIES_OUTPUT}' is not a tensor (a ZipMap? convert with zipmap=False)`);
  if (out.type !== 'float32') throw new ModelInvalidError(`output '${PROBABILITIES_OUTPUT}' is ${out.type}, expected float (float32)`);
  if (out.shape.length !== 0 && (out.shape.length !== 2 || (typeof out.shape[1] === 'number' && out.shape[1] >= 0 && out.shape[1] !== 2)))
    throw new ModelInvalidError(`output '${PROBABILITIES_OUTPUT}' has shape ${shapeText(out.shape)}, expected [N, 2]`);
  // The declared shapes may be symbolic or absent: run one row to see the real one.
  const n = typeof rows === 'number' && rows > 0 ? rows : 1;
  let result: ort.InferenceSession.ReturnType;
  try {
    result = await session.run({ [input.name]: new ort.Tensor('float32', new Float32Array(n * nFeatures), [n, nFeatures]) }, [PROBABILITIES_OUTPUT]);
  } catch (e) {
    throw new ModelInvalidError(`a ${n}-row test run failed: ${ortMessage(e)}`);
  }
  const t = result[PROBABILITIES_OUTPUT];
  try {
    if (t.dims.length !== 2 || t.dims[0] !== n || t.dims[1] !== 2)
      throw new ModelInvalidError(`a ${n}-row test run gave '${PROBABILITIES_OUTPUT}' of shape [${t.dims.join(', ')}], expected [${n}, 2]`);
    if (t.type !== 'float32') throw new ModelInvalidError(`a test run gave '${PROBABILITIES_OUTPUT}' of type ${t.type}, expected float32`);
  } finally {
    t.dispose();
  }
}

/**
 * onnxruntime options of every scoring session (the batch, the server, training, evaluation): one intra-op thread,
 * sequential execution. A tree ensemble's sums depend on how many threads onnxruntime splits the trees over, and its
 * default is the number of cores it detects: with the default, the same model and rows gave probabilities one float32
 * step apart on two machines (and between the server, which already ran one thread, and the batch), which the
 * 6-decimal rounding then turned into different stored values. One thread gives the same bits on every machine;
 * the batch's parallelism is its worker pool's, and scoring 11,000 rows takes ≈ 50 ms on one thread.
 */
export const SCORING_SESSION_OPTIONS: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' };

/** Opens a session on model bytes and checks the contract; releases it again when the check fails. */
export async function openSession(bytes: Uint8Array, nFeatures: number, options?: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  if (bytes.byteLength === 0) throw new ModelInvalidError('model.onnx is empty');
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, options ?? SCORING_SESSION_OPTIONS);
  } catch (e) {
    throw new ModelInvalidError(`not a loadable ONNX model (corrupt or truncated?): ${ortMessage(e)}`);
  }
  try {
    await checkSession(session, nFeatures);
  } catch (e) {
    await session.release().catch(() => undefined);
    throw e;
  }
  return session;
}

/** What scoring needs of a loaded model. */
export interface SessionModel {
  readonly meta: Pick<ModelMeta, 'name' | 'version' | 'n_features'>;
  readonly session: ort.InferenceSession;
}

/**
 * P(upper circuit) per row of X (row-major [n, n_features]), running
 * onnxruntime on `groupSize` rows at a time (or the model's fixed batch size,
 * if its input declares one) and reading column 1 of
 * `probabilities`. NaN inputs are passed through as they are. Throws when a
 * probability is not a finite number in [0, 1], naming the row.
 */
export async function scoreRows(model: SessionModel, X: Float32Array, n: number, groupSize = DEFAULT_GROUP_SIZE): Promise<Float32Array> {
  const nf = model.meta.n_features;
  if (!Number.isInteger(n) || n < 0) throw new Error(`scoreRows: row count ${n} is not a whole number ≥ 0`);
  if (X.length !== n * nf) throw new Error(`scoreRows: ${X.length} values for ${n} rows × ${nf} features (expected ${n * nf})`);
  if (!Number.isInteger(groupSize) || groupSize < 1) throw new Error(`scoreRows: group size ${groupSize} is not a whole number ≥ 1`);
  const out = new Float32Array(n);
  const inputName = model.session.inputNames[0];
  const ref = `${model.meta.name}/${model.meta.version}`;
  // A model whose batch dimension is fixed gets exactly that many rows per run (the last group zero-padded).
  const meta0 = model.session.inputMetadata[0];
  const fixedRows = meta0?.isTensor && typeof meta0.shape[0] === 'number' && meta0.shape[0] > 0 ? meta0.shape[0] : 0;
  const step = fixedRows || groupSize;
  for (let start = 0; start < n; start += step) {
    const rows = Math.min(step, n - start);
    const runRows = fixedRows || rows;
    let data = X.subarray(start * nf, (start + rows) * nf);
    if (runRows !== rows) {
      const padded = new Float32Array(runRows * nf);
      padded.set(data);
      data = padded;
    }
    const result = await model.session.run({ [inputName]: new ort.Tensor('float32', data, [runRows, nf]) }, [PROBABILITIES_OUTPUT]);
    const t = result[PROBABILITIES_OUTPUT];
    try {
      if (t.dims.length !== 2 || t.dims[0] !== runRows || t.dims[1] !== 2)
        throw new StockflowError('INTERNAL', `model ${ref} returned '${PROBABILITIES_OUTPUT}' of shape [${t.dims.join(', ')}] for ${runRows} rows`);
      const probs = t.data as Float32Array;
      for (let i = 0; i < rows; i++) {
        const p = probs[2 * i + 1];
        if (!(p >= 0 && p <= 1))
          throw new StockflowError('INTERNAL', `model ${ref} returned probability ${p} for row ${start + i} (expected a number in [0, 1])`);
        out[start + i] = p;
      }
    } finally {
      t.dispose();
    }
  }
  return out;
}

/**
 * A loaded model as the batch's ScoringModel. `release` frees what holds the
 * session (the loader that opened it); without one it releases the session itself.
 */
export function asScoringModel(model: SessionModel & { readonly meta: ModelMeta; readonly bytes: Uint8Array }, release?: () => Promise<void>): ScoringModel {
  const m = model.meta;
  return {
    name: m.name,
    version: m.version,
    type: m.model_type,
    sha256: m.sha256,
    rocAuc: typeof m.metrics?.roc_auc === 'number' ? m.metrics.roc_auc : undefined,
    score: (X, n, groupSize) => scoreRows(model, X, n, groupSize),
    explainer: (background, prebuilt) => explainerOf(model, background, prebuilt),
    backgroundTrees: () => backgroundTreesOf(model),
    prepareExplainer: () => prepareExplainer(model),
    release: release ?? (() => model.session.release()),
  };
}
