/**
 * ONNX export of a GBDT model: one `ai.onnx.ml.TreeEnsembleClassifier` node.
 *
 *   input          float [N, nFeatures]
 *   label          int64 [N]       (onnxruntime: 1 when the logit is > 0, i.e. p > 0.5; at exactly p = 0.5 it says 0)
 *   probabilities  float [N, 2]    ([1 − p, p])
 *
 * The binary single-score encoding (as XGBoost/LightGBM converters write it):
 * every leaf votes for class id 0 only, base_values holds the one base logit, and
 * post_transform LOGISTIC. onnxruntime then treats the summed score s as the
 * positive class's logit: probabilities = [σ(−s), σ(s)].
 *
 * onnxruntime quirk handled here: when no class weight is negative (a model with
 * no trees, or whose leaves are all ≥ 0) it takes its "weights are all positive"
 * path — measured on onnxruntime-node 1.30: the label becomes raw score > 0.5
 * instead of > 0 (wrong labels), and with no trees at all the probabilities come
 * out as 0. The export then appends one single-leaf tree whose vote is −FLT_MIN
 * (the smallest normal float32): it keeps onnxruntime on the ordinary path and
 * vanishes when added to any score of ordinary size.
 *
 * The votes must go to class id 0: with class id 1, onnxruntime adds the single
 * base value to the other class and the positive probability loses it.
 *
 * Split nodes are `BRANCH_LEQ` (true branch when x ≤ threshold) with
 * `nodes_missing_value_tracks_true` set where NaN goes to the true branch —
 * exactly the rule of `predictProba`.
 *
 * Node covers: when every tree carries `cover` (the trainer's count of training
 * rows through each node), they are written as `nodes_hitrates` (float32; exact
 * for counts below 2^24) so the explainer's TreeSHAP needs no background; the
 * padding tree above gets cover 1. onnxruntime ignores the attribute when scoring.
 */
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import type { GbdtModel } from '../train/gbdt.js';
import { LABEL_OUTPUT, PROBABILITIES_OUTPUT } from '../contract.js';

const { onnx } = onnxProto;

export interface OnnxExportOptions {
  /** Feature names in input column order (length = model.nFeatures). */
  featureNames: readonly string[];
  /** Written to ModelProto.producer_version. */
  producerVersion: string;
  /** Extra metadata_props entries (string values). */
  metadata?: Record<string, string>;
}

/** metadata_props key holding the JSON array of feature names in input order. */
export const ONNX_FEATURE_NAMES_KEY = 'feature_names';
export const ONNX_INPUT_NAME = 'input';
export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 17;
export const ONNX_ML_OPSET = 3;

/** Smallest positive normal float32. */
const FLT_MIN = 1.1754943508222875e-38;

const utf8 = new TextEncoder();
const AttrType = onnx.AttributeProto.AttributeType;

function attrInts(name: string, ints: readonly number[]): OnnxTypes.IAttributeProto {
  return { name, type: AttrType.INTS, ints: [...ints] };
}
function attrFloats(name: string, floats: readonly number[]): OnnxTypes.IAttributeProto {
  return { name, type: AttrType.FLOATS, floats: [...floats] };
}
function attrStrings(name: string, strings: readonly string[]): OnnxTypes.IAttributeProto {
  return { name, type: AttrType.STRINGS, strings: strings.map((s) => utf8.encode(s)) };
}
function attrString(name: string, s: string): OnnxTypes.IAttributeProto {
  return { name, type: AttrType.STRING, s: utf8.encode(s) };
}

function tensorInfo(name: string, elemType: OnnxTypes.TensorProto.DataType, dims: (string | number)[]): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

/** Encodes `model` as an ONNX ModelProto (bytes). */
export function exportOnnx(model: GbdtModel, o: OnnxExportOptions): Uint8Array {
  const F = model.nFeatures;
  if (o.featureNames.length !== F) {
    throw new RangeError(`exportOnnx: ${o.featureNames.length} feature names for a model with ${F} features`);
  }
  if (o.metadata && ONNX_FEATURE_NAMES_KEY in o.metadata) {
    throw new RangeError(`exportOnnx: metadata key '${ONNX_FEATURE_NAMES_KEY}' is reserved (it is written from featureNames)`);
  }
  if (!Number.isFinite(model.baseScore)) throw new RangeError(`exportOnnx: base score is ${model.baseScore}`);

  const treeIds: number[] = [];
  const nodeIds: number[] = [];
  const featureIds: number[] = [];
  const values: number[] = [];
  const modes: string[] = [];
  const trueIds: number[] = [];
  const falseIds: number[] = [];
  const missingTrue: number[] = [];
  const hitrates: number[] = [];
  const withCovers = model.trees.length > 0 && model.trees.every((t) => t.cover !== undefined && t.cover.length === t.feature.length);
  const cTreeIds: number[] = [];
  const cNodeIds: number[] = [];
  const cWeights: number[] = [];

  model.trees.forEach((tree, t) => {
    const size = tree.feature.length;
    for (let j = 0; j < size; j++) {
      if (withCovers) hitrates.push((tree.cover as Float64Array)[j]);
      treeIds.push(t);
      nodeIds.push(j);
      if (tree.isLeaf[j]) {
        featureIds.push(0);
        values.push(0);
        modes.push('LEAF');
        trueIds.push(0);
        falseIds.push(0);
        missingTrue.push(0);
        cTreeIds.push(t);
        cNodeIds.push(j);
        cWeights.push(tree.leafValue[j]);
      } else {
        const f = tree.feature[j];
        if (f < 0 || f >= F) throw new RangeError(`exportOnnx: tree ${t} node ${j} splits on feature ${f} of ${F}`);
        featureIds.push(f);
        values.push(tree.threshold[j]);
        modes.push('BRANCH_LEQ');
        trueIds.push(tree.left[j]);
        falseIds.push(tree.right[j]);
        missingTrue.push(tree.missingLeft[j] ? 1 : 0);
      }
    }
  });
  if (!cWeights.some((w) => w < 0)) {
    const t = model.trees.length;
    treeIds.push(t);
    nodeIds.push(0);
    featureIds.push(0);
    values.push(0);
    modes.push('LEAF');
    trueIds.push(0);
    falseIds.push(0);
    missingTrue.push(0);
    if (withCovers) hitrates.push(1);
    cTreeIds.push(t);
    cNodeIds.push(0);
    cWeights.push(-FLT_MIN);
  }

  const node: OnnxTypes.INodeProto = {
    name: 'gbdt',
    opType: 'TreeEnsembleClassifier',
    domain: 'ai.onnx.ml',
    input: [ONNX_INPUT_NAME],
    output: [LABEL_OUTPUT, PROBABILITIES_OUTPUT],
    attribute: [
      attrFloats('base_values', [Math.fround(model.baseScore)]),
      attrInts('class_ids', cWeights.map(() => 0)),
      attrInts('class_nodeids', cNodeIds),
      attrInts('class_treeids', cTreeIds),
      attrFloats('class_weights', cWeights),
      attrInts('classlabels_int64s', [0, 1]),
      attrInts('nodes_falsenodeids', falseIds),
      attrInts('nodes_featureids', featureIds),
      attrInts('nodes_missing_value_tracks_true', missingTrue),
      attrStrings('nodes_modes', modes),
      attrInts('nodes_nodeids', nodeIds),
      attrInts('nodes_treeids', treeIds),
      attrInts('nodes_truenodeids', trueIds),
      attrFloats('nodes_values', values),
      attrString('post_transform', 'LOGISTIC'),
      ...(withCovers ? [attrFloats('nodes_hitrates', hitrates)] : []),
    ],
  };

  const DT = onnx.TensorProto.DataType;
  const metadata: Record<string, string> = { [ONNX_FEATURE_NAMES_KEY]: JSON.stringify(o.featureNames), ...o.metadata };
  const proto = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [
      { domain: '', version: ONNX_OPSET },
      { domain: 'ai.onnx.ml', version: ONNX_ML_OPSET },
    ],
    producerName: 'stockflow',
    producerVersion: o.producerVersion,
    domain: 'stockflow',
    modelVersion: 1,
    docString: `gradient-boosted trees: ${model.trees.length} trees, ${F} features, P(class 1) = probabilities[:, 1]`,
    graph: {
      name: 'stockflow_gbdt',
      node: [node],
      input: [tensorInfo(ONNX_INPUT_NAME, DT.FLOAT, ['N', F])],
      output: [tensorInfo(LABEL_OUTPUT, DT.INT64, ['N']), tensorInfo(PROBABILITIES_OUTPUT, DT.FLOAT, ['N', 2])],
    },
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(proto).finish();
}
