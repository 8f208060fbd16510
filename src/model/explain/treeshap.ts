/**
 * Exact path-dependent TreeSHAP (Lundberg, Erion & Lee 2018, "Consistent
 * individualized feature attribution for tree ensembles", Algorithm 2) over
 * {@link PlainTree}s with covers, in margin (log-odds) space.
 *
 * For a tree f and a feature subset S, the path-dependent expectation
 * E[f | x_S] follows x at splits on features in S and, at splits on other
 * features, averages both children weighted by cover(child) / cover(node). The
 * values φ are the Shapley values of that set function: φ₀ = E[f | ∅] (the
 * cover-weighted mean leaf) and φ₀ + Σφ = f(x). A node whose cover is 0 gives
 * its children weight 0 (it is unreachable in the expectation).
 *
 * The implementation keeps the path as four preallocated typed arrays (one
 * slice per recursion level, copied down), so explaining allocates nothing per row.
 */
import { MODE_LEAF, goesTrue, type PlainTree } from '../onnx/read.js';

/** Preallocated path buffers for trees up to `maxDepth` splits deep. */
export class PathBuffers {
  readonly feature: Int32Array;
  readonly zero: Float64Array;
  readonly one: Float64Array;
  readonly weight: Float64Array;
  constructor(readonly maxDepth: number) {
    const len = ((maxDepth + 3) * (maxDepth + 4)) / 2 + 1;
    this.feature = new Int32Array(len);
    this.zero = new Float64Array(len);
    this.one = new Float64Array(len);
    this.weight = new Float64Array(len);
  }
}

/** Cover-weighted mean leaf value of a tree: E[f] over its covers. */
export function treeExpectation(t: PlainTree, cover: Float64Array): number {
  const walk = (p: number): number => {
    if (t.mode[p] === MODE_LEAF) return t.value[p];
    const c = cover[p];
    if (!(c > 0)) return 0;
    return (cover[t.trueChild[p]] / c) * walk(t.trueChild[p]) + (cover[t.falseChild[p]] / c) * walk(t.falseChild[p]);
  };
  return walk(0);
}

/**
 * Adds tree `t`'s SHAP values for row x (X[o … o+F)) into phi[po … po+F).
 * `cover` is the tree's per-node cover; `buf` must have maxDepth ≥ t.depth.
 */
export function treeShap(t: PlainTree, cover: Float64Array, X: Float32Array, o: number, phi: Float64Array, po: number, buf: PathBuffers): void {
  const { feature: pf, zero: pz, one: po1, weight: pw } = buf;
  const { mode, feature, threshold, trueChild, falseChild, missingTrue, value } = t;

  // A call at unique depth d copies its parent's path (slice at ps, d elements) into its own
  // slice s = ps + d + 1 and extends it by one element; its children's slices start beyond it.
  const recurse = (node: number, ps: number, d: number, zeroF: number, oneF: number, feat: number): void => {
    const s = ps + d + 1;
    for (let i = 0; i < d; i++) {
      pf[s + i] = pf[ps + i];
      pz[s + i] = pz[ps + i];
      po1[s + i] = po1[ps + i];
      pw[s + i] = pw[ps + i];
    }
    // extend
    pf[s + d] = feat;
    pz[s + d] = zeroF;
    po1[s + d] = oneF;
    pw[s + d] = d === 0 ? 1 : 0;
    for (let i = d - 1; i >= 0; i--) {
      pw[s + i + 1] += (oneF * pw[s + i] * (i + 1)) / (d + 1);
      pw[s + i] = (zeroF * pw[s + i] * (d - i)) / (d + 1);
    }
    if (mode[node] === MODE_LEAF) {
      const v = value[node];
      for (let k = 1; k <= d; k++) {
        // unwound path sum for element k
        const of = po1[s + k];
        const zf = pz[s + k];
        let total = 0;
        if (of !== 0) {
          let next = pw[s + d];
          for (let i = d - 1; i >= 0; i--) {
            const tmp = (next * (d + 1)) / ((i + 1) * of);
            total += tmp;
            next = pw[s + i] - (tmp * zf * (d - i)) / (d + 1);
          }
        } else {
          for (let i = d - 1; i >= 0; i--) total += (pw[s + i] * (d + 1)) / (zf * (d - i));
        }
        phi[po + pf[s + k]] += total * (of - zf) * v;
      }
      return;
    }
    const f = feature[node];
    const tc = trueChild[node];
    const fc = falseChild[node];
    const toTrue = goesTrue(mode[node], X[o + f], threshold[node], missingTrue[node]);
    const hot = toTrue ? tc : fc;
    const cold = toTrue ? fc : tc;
    const c = cover[node];
    const hotZ = c > 0 ? cover[hot] / c : 0;
    const coldZ = c > 0 ? cover[cold] / c : 0;
    let inZ = 1;
    let inO = 1;
    let ud = d;
    let k = 1;
    while (k <= d && pf[s + k] !== f) k++;
    if (k <= d) {
      // unwind element k (an earlier split on the same feature) in place
      inZ = pz[s + k];
      inO = po1[s + k];
      let next = pw[s + d];
      for (let i = d - 1; i >= 0; i--) {
        if (inO !== 0) {
          const tmp = pw[s + i];
          pw[s + i] = (next * (d + 1)) / ((i + 1) * inO);
          next = tmp - (pw[s + i] * inZ * (d - i)) / (d + 1);
        } else {
          pw[s + i] = (pw[s + i] * (d + 1)) / (inZ * (d - i));
        }
      }
      for (let i = k; i < d; i++) {
        pf[s + i] = pf[s + i + 1];
        pz[s + i] = pz[s + i + 1];
        po1[s + i] = po1[s + i + 1];
      }
      ud = d - 1;
    }
    const zHot = hotZ * inZ;
    if (zHot !== 0 || inO !== 0) recurse(hot, s, ud + 1, zHot, inO, f);
    const zCold = coldZ * inZ;
    if (zCold !== 0) recurse(cold, s, ud + 1, zCold, 0, f); // else every path weight below is 0
  };
  recurse(0, 0, 0, 1, 1, -1);
}
