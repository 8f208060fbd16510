/**
 * Small ONNX models for tests, encoded here with onnx-proto directly and
 * independently of stockflow's own exporter, plus helpers that write fixture
 * registries by hand (without stockflow's registry code).
 *
 * The base model is one TreeEnsembleClassifier (ai.onnx.ml) tree:
 *   node 0: x[feature] <= threshold ? node 1 : node 2   (NaN goes to node 2)
 *   node 1: leaf, score `leftLeaf`;  node 2: leaf, score `rightLeaf`
 * binary, post_transform LOGISTIC, so P(class 1) = sigmoid(leaf score) and
 * `probabilities` = [1 − p, p] (the layout skl2onnx/onnxmltools produce).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import pino, { type Logger } from 'pino';

const { onnx } = onnxProto;
const AT = onnx.AttributeProto.AttributeType;
const DT = onnx.TensorProto.DataType;
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The 25 feature names of feature set 1, written out here rather than imported. */
export const FEATURE_NAMES_V1 = [
  'ret_5d', 'ret_20d', 'ret_60d', 'rsi_14', 'atr_14_pct', 'volatility_contraction', 'volume_dry_up', 'dist_52w_high',
  'dist_sma_50', 'dist_sma_200', 'macd_hist_pct', 'bb_width_20', 'uc_count_250d', 'revenue_growth_yoy', 'profit_growth_yoy',
  'net_profit_margin', 'npm_trend', 'eps_growth_qoq', 'revenue_acceleration', 'log_market_cap', 'sentiment_7d',
  'news_count_30d', 'sentiment_shift', 'days_to_earnings', 'earnings_window_uc_rate',
];

export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

export interface TreeFixture {
  /** Feature column the root splits on. */
  feature?: number;
  threshold?: number;
  /** Leaf score when x[feature] <= threshold. */
  leftLeaf?: number;
  /** Leaf score when x[feature] > threshold or NaN. */
  rightLeaf?: number;
  /** Input width (default 25). */
  nFeatures?: number;
  /** Batch dimension of the input: symbolic 'N' (default) or a fixed size. */
  batch?: 'N' | number;
  inputType?: 'float' | 'double';
  /**
   * - 'tensor': outputs label + probabilities [N, 2] (default)
   * - 'no-probabilities': the probability tensor is named `scores`
   * - 'zipmap': probabilities go through ZipMap into `output_probability` (sequence of maps)
   * - 'zipmap-named-probabilities': the ZipMap output is named `probabilities`
   * - 'three-classes': a 3-class model whose `probabilities` is [N, 3], declared without a shape
   */
  outputs?: 'tensor' | 'no-probabilities' | 'zipmap' | 'zipmap-named-probabilities' | 'three-classes';
  /** Extra text in the graph's doc string: changes the bytes (and sha256) without changing behaviour. */
  doc?: string;
  /**
   * The tree writes its probabilities to an intermediate tensor and an Identity node copies them to
   * `probabilities`: the same scores from a two-node graph (no explainer reads such a graph).
   */
  identityAfter?: boolean;
}

type Dim = number | string;
const tensorType = (elemType: number, dims?: Dim[]): onnxProto.onnx.ITypeProto => ({
  tensorType: {
    elemType,
    ...(dims ? { shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } : {}),
  },
});

const ints = (name: string, v: number[]): onnxProto.onnx.IAttributeProto => ({ name, type: AT.INTS, ints: v });
const floats = (name: string, v: number[]): onnxProto.onnx.IAttributeProto => ({ name, type: AT.FLOATS, floats: v });
const strings = (name: string, v: string[]): onnxProto.onnx.IAttributeProto => ({ name, type: AT.STRINGS, strings: v.map(utf8) });
const str = (name: string, v: string): onnxProto.onnx.IAttributeProto => ({ name, type: AT.STRING, s: utf8(v) });

/** Encodes a one-tree classifier (see the file comment) as ONNX bytes. */
export function treeModel(spec: TreeFixture = {}): Uint8Array {
  const feature = spec.feature ?? 3;
  const threshold = spec.threshold ?? 50;
  const left = spec.leftLeaf ?? -1.5;
  const right = spec.rightLeaf ?? 2;
  const nf = spec.nFeatures ?? 25;
  const batch = spec.batch ?? 'N';
  const outputs = spec.outputs ?? 'tensor';
  const three = outputs === 'three-classes';
  const elem = spec.inputType === 'double' ? DT.DOUBLE : DT.FLOAT;

  const probName =
    outputs === 'no-probabilities' ? 'scores' : outputs.startsWith('zipmap') ? 'probability_tensor' : spec.identityAfter ? 'probabilities_raw' : 'probabilities';
  const tree: onnxProto.onnx.INodeProto = {
    name: 'tree',
    opType: 'TreeEnsembleClassifier',
    domain: 'ai.onnx.ml',
    input: ['input'],
    output: ['label', probName],
    attribute: [
      ints('nodes_treeids', [0, 0, 0]),
      ints('nodes_nodeids', [0, 1, 2]),
      ints('nodes_featureids', [feature, 0, 0]),
      strings('nodes_modes', ['BRANCH_LEQ', 'LEAF', 'LEAF']),
      floats('nodes_values', [threshold, 0, 0]),
      ints('nodes_truenodeids', [1, 0, 0]),
      ints('nodes_falsenodeids', [2, 0, 0]),
      ints('nodes_missing_value_tracks_true', [0, 0, 0]),
      // Binary: the weights are scores for the positive class, all recorded on class id 0.
      ...(three
        ? [
            ints('class_treeids', [0, 0, 0, 0, 0, 0]),
            ints('class_nodeids', [1, 1, 1, 2, 2, 2]),
            ints('class_ids', [0, 1, 2, 0, 1, 2]),
            floats('class_weights', [left, 0, 0, right, 0, 0]),
            ints('classlabels_int64s', [0, 1, 2]),
          ]
        : [
            ints('class_treeids', [0, 0]),
            ints('class_nodeids', [1, 2]),
            ints('class_ids', [0, 0]),
            floats('class_weights', [left, right]),
            ints('classlabels_int64s', [0, 1]),
          ]),
      str('post_transform', 'LOGISTIC'),
    ],
  };
  const nodes: onnxProto.onnx.INodeProto[] = [tree];
  if (spec.identityAfter) nodes.push({ name: 'copy', opType: 'Identity', domain: '', input: [probName], output: ['probabilities'] });
  const graphOutputs: onnxProto.onnx.IValueInfoProto[] = [{ name: 'label', type: tensorType(DT.INT64, [batch]) }];
  if (outputs === 'zipmap' || outputs === 'zipmap-named-probabilities') {
    const zipName = outputs === 'zipmap' ? 'output_probability' : 'probabilities';
    nodes.push({ name: 'zipmap', opType: 'ZipMap', domain: 'ai.onnx.ml', input: [probName], output: [zipName], attribute: [ints('classlabels_int64s', [0, 1])] });
    graphOutputs.push({
      name: zipName,
      type: { sequenceType: { elemType: { mapType: { keyType: DT.INT64, valueType: tensorType(DT.FLOAT) } } } },
    });
  } else if (three) graphOutputs.push({ name: probName, type: tensorType(DT.FLOAT) });
  else graphOutputs.push({ name: spec.identityAfter ? 'probabilities' : probName, type: tensorType(DT.FLOAT, [batch, 2]) });

  const model: onnxProto.onnx.IModelProto = {
    irVersion: 8,
    producerName: 'stockflow-test-fixture',
    opsetImport: [
      { domain: '', version: 17 },
      { domain: 'ai.onnx.ml', version: 3 },
    ],
    graph: {
      name: 'fixture',
      docString: spec.doc ?? '',
      node: nodes,
      input: [{ name: 'input', type: tensorType(elem, [batch, nf]) }],
      output: graphOutputs,
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.fromObject(model)).finish();
}

/** Expected P(class 1) of `treeModel(spec)` for one row, from the tree's definition. */
export function expectedProbability(spec: TreeFixture, row: ArrayLike<number>): number {
  const x = row[spec.feature ?? 3];
  const leaf = x <= (spec.threshold ?? 50) ? (spec.leftLeaf ?? -1.5) : (spec.rightLeaf ?? 2);
  return sigmoid(leaf);
}

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** The metadata a user would write for `models register`: only the required fields plus `extra`. */
export function userMeta(version: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { version, model_type: 'GBDT', feature_names: [...FEATURE_NAMES_V1], ...extra };
}

/** A complete stored model.json for `bytes`. */
export function storedMeta(name: string, version: string, bytes: Uint8Array, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    version,
    model_type: 'GBDT',
    feature_names: [...FEATURE_NAMES_V1],
    feature_set_version: '1',
    metrics: { roc_auc: 0.71, pr_auc: 0.2, f1_at_0_5: 0.3, precision_at_100: 0.25, base_rate: 0.05 },
    trained_until: '2025-06-30',
    created_at: '2025-07-01T00:00:00.000Z',
    sha256: sha256(bytes),
    n_features: 25,
    ...extra,
  };
}

/** Writes models/<name>/<version>/{model.onnx, model.json} by hand; returns the version directory. */
export function writeModel(modelsDir: string, name: string, version: string, bytes: Uint8Array, metaExtra: Record<string, unknown> = {}): string {
  const dir = path.join(modelsDir, name, version);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'model.onnx'), bytes);
  writeFileSync(path.join(dir, 'model.json'), `${JSON.stringify(storedMeta(name, version, bytes, metaExtra), null, 2)}\n`);
  return dir;
}

export function writeAliasesFile(modelsDir: string, aliases: Record<string, string>): void {
  mkdirSync(modelsDir, { recursive: true });
  writeFileSync(path.join(modelsDir, 'aliases.json'), JSON.stringify(aliases));
}

/** A pino logger whose records are kept in memory. */
export function captureLogger(): { log: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void records.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, records };
}
