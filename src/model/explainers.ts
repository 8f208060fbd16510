/**
 * A loaded model's explainer (src/model/explain), built once per loaded model
 * and kept with it: the cache is keyed by the loaded model object, so a reload
 * (a new object) builds a new one and the old one goes with its model.
 *
 * The trees come from the model's verified model.onnx bytes. A tree model with
 * node covers of its own needs nothing else; one without covers (registered
 * from outside) and a linear model need a background sample of feature rows,
 * asked for only then and only until an explainer is built: when none is
 * available the answer is ExplanationUnavailable, and the next call asks again
 * (a batch may have stored rows since).
 */
import { ExplanationUnavailable, explainer, readModelForm, type Explainer, type FeatureRows, type ModelForm, type Prebuilt, type TreeEnsemble } from './explain/index.js';

export { ExplanationUnavailable, type Explainer, type FeatureRows, type Prebuilt };

interface Entry {
  form?: ModelForm;
  explainer?: Explainer;
}

const cache = new WeakMap<object, Entry>();

/** Where an explainer's background rows come from, for messages and docs ("the run's 2,817 feature rows"). */
export type BackgroundSource = () => (FeatureRows & { what: string }) | undefined;

/** Whether the model's explanations need a background sample (no node covers of its own, or a linear model). */
export function needsBackground(form: ModelForm): boolean {
  return form.kind === 'linear' || (form.kind === 'trees' && !form.hasCovers);
}

function formOf(model: { bytes: Uint8Array }, entry: Entry): ModelForm {
  if (!entry.form) {
    try {
      entry.form = readModelForm(model.bytes);
    } catch (e) {
      throw new ExplanationUnavailable(`model.onnx does not decode as a tree ensemble or linear classifier (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  return entry.form;
}

/**
 * The explainer of `model` (cached with it). Throws ExplanationUnavailable
 * with the reason when the model cannot be explained. `prebuilt`: the covers
 * (and tables) of the background rows `background` gives, computed elsewhere
 * (backgroundTreesOf's trees; the batch computes them on its pool).
 */
export function explainerOf(model: { bytes: Uint8Array }, background?: BackgroundSource, prebuilt?: Prebuilt): Explainer & { basis: string } {
  let entry = cache.get(model);
  if (!entry) cache.set(model, (entry = {}));
  if (entry.explainer) return entry.explainer as Explainer & { basis: string };
  const form = formOf(model, entry);
  let basis = 'node covers recorded with the model';
  let bg: (FeatureRows & { what: string }) | undefined;
  if (needsBackground(form)) {
    bg = background?.();
    if (!bg || bg.n === 0) {
      const what = form.kind === 'linear' ? 'a linear model needs background rows for its feature means' : 'the trees carry no node covers';
      throw new ExplanationUnavailable(`${what}, and no background sample of feature rows is available (predictions.db has no stored feature rows: run stockflow batch first)`);
    }
    basis = form.kind === 'linear' ? `feature means over ${bg.what}` : `node covers computed from ${bg.what}`;
  }
  const pre = bg && form.kind === 'trees' && prebuilt?.rows === bg.n ? prebuilt : undefined;
  const ex = Object.assign(
    explainer(form, bg ? { background: { X: bg.X, n: bg.n }, covers: pre && { covers: pre.covers, rows: pre.rows }, tables: pre?.tables } : {}),
    { basis },
  );
  entry.explainer = ex;
  return ex;
}

/** Decodes `model`'s form into the cache now (explainerOf then skips it); a model that does not decode is left for explainerOf to report. */
export function prepareExplainer(model: { bytes: Uint8Array }): void {
  let entry = cache.get(model);
  if (!entry) cache.set(model, (entry = {}));
  if (entry.explainer || entry.form) return;
  try {
    formOf(model, entry);
  } catch {
    // explainerOf throws the same ExplanationUnavailable when it is asked for
  }
}

/**
 * The trees whose explainer (not built yet) computes its covers from background rows: what a caller may
 * compute on several threads and hand to explainerOf as `prebuilt`; undefined otherwise (built already, no
 * trees, covers of their own, a model that does not decode).
 */
export function backgroundTreesOf(model: { bytes: Uint8Array }): TreeEnsemble | undefined {
  let entry = cache.get(model);
  if (!entry) cache.set(model, (entry = {}));
  if (entry.explainer) return undefined;
  try {
    const form = formOf(model, entry);
    return form.kind === 'trees' && !form.hasCovers ? form : undefined;
  } catch {
    return undefined;
  }
}
