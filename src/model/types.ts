import type { BackgroundSource, Explainer, Prebuilt } from './explainers.js';
import type { TreeEnsemble } from './explain/index.js';

/**
 * What the batch and the server need of a model: its identity, a scoring
 * function over row-major feature rows [n, N_FEATURES], and a way to release
 * the onnxruntime session behind it.
 */
export interface ScoringModel {
  name: string;
  version: string;
  type: string;
  sha256: string;
  rocAuc?: number;
  /** P(upper circuit) per row, computed in groups of `groupSize` rows per onnxruntime run. */
  score(X: Float32Array, n: number, groupSize?: number): Promise<Float32Array>;
  /**
   * The model's explainer (exact TreeSHAP, src/model/explain), built once and kept with the model;
   * `background` is asked for only when the model has no node covers of its own (docs/models.md).
   * Throws ExplanationUnavailable when the model cannot be explained.
   */
  explainer(background?: BackgroundSource, prebuilt?: Prebuilt): Explainer & { basis: string };
  /**
   * The trees whose explainer, not built yet, computes its covers from the background rows (the batch
   * computes them, and the tables, on its pool: `prebuilt`); undefined when there is nothing to compute.
   */
  backgroundTrees?(): TreeEnsemble | undefined;
  /**
   * Decodes the model's trees for its explainer ahead of time (they do not depend on any rows), so that
   * `explainer()` later only computes what does; never throws (an unexplainable model says so there).
   */
  prepareExplainer?(): void;
  /** Releases the session (and the loader that opened it); the model cannot score afterwards. */
  release(): Promise<void>;
}
