/**
 * The batch's monitor stage (issue 14, docs/monitoring.md), after its rows are
 * written: the PSI of each feature and of the score against the model's
 * reference distribution (model.json drift_reference), stored with the run; and,
 * when the registry has a `challenger` alias, the challenger's scores of the
 * same extracted feature rows (one extraction, two scorings), stored under its
 * own model_version when the run published, and compared with the champion's.
 *
 * Never fails the run: its rows and files are already written; what could not
 * be done is logged and said in the report.
 */
import type { Logger } from '../log.js';
import type { IsoDate } from '../market/dates.js';
import type { Stock } from '../market/types.js';
import { FEATURE_NAMES } from '../features/definition.js';
import { DEFAULT_PSI_THRESHOLDS, driftReport, referenceOf, type DriftReport, type PsiThresholds } from '../model/drift.js';
import { compareRankings, type ChallengerComparison } from '../model/compare.js';
import { findModel, openStoredModel, readAliases } from '../model/registry.js';
import { refOf } from '../model/metadata.js';
import { asScoringModel } from '../model/score.js';
import type { ScoringModel } from '../model/types.js';
import type { Prediction } from '../output/types.js';
import type { PredictionsStore } from '../predictions/store.js';
import { rank } from './rank.js';

export interface MonitorInput {
  out: PredictionsStore;
  runId: string;
  date: IsoDate;
  asOf: IsoDate;
  /** Whether the run published its rows (a challenger's rows are stored only beside published ones). */
  published: boolean;
  modelsDir?: string;
  model: Pick<ScoringModel, 'name' | 'version' | 'type' | 'sha256'>;
  codes: readonly string[];
  values: Float32Array;
  probs: Float32Array;
  ranked: readonly Prediction[];
  stocks: ReadonlyMap<string, Stock>;
  thresholds?: PsiThresholds;
  timestamp: string;
  groupSize: number;
  log: Logger;
}

export interface MonitorResult {
  drift?: DriftReport;
  /** Why there is no drift section (no reference, or it could not be read). */
  driftNote?: string;
  challenger?: ChallengerComparison;
  /** Why the challenger was not scored or stored (undefined when the registry has no challenger). */
  challengerNote?: string;
}

/** The registry's challenger, opened, when it is set and is not the champion; else why not (undefined: no challenger alias). */
export async function openChallenger(modelsDir: string, champion: Pick<ScoringModel, 'name' | 'version'>): Promise<ScoringModel | string | undefined> {
  const ref = (await readAliases(modelsDir)).challenger;
  if (ref === undefined) return undefined;
  const [name, version] = ref.split('/');
  if (ref === refOf(champion.name, champion.version)) return `the challenger alias names the model scoring this run (${ref})`;
  if (version === champion.version)
    return `challenger ${ref} has the version of the model scoring this run (${refOf(champion.name, champion.version)}): rows are keyed by version`;
  try {
    const m = await openStoredModel(modelsDir, name, version);
    return asScoringModel(m);
  } catch (e) {
    return `challenger ${ref} cannot be used: ${(e as Error).message}`;
  }
}

export async function monitorRun(i: MonitorInput): Promise<MonitorResult> {
  const res: MonitorResult = {};
  const n = i.codes.length;
  // drift
  try {
    const entry = i.modelsDir === undefined ? undefined : await findModel(i.modelsDir, refOf(i.model.name, i.model.version));
    const ref = referenceOf(entry?.meta);
    if (ref === undefined) res.driftNote = `model ${refOf(i.model.name, i.model.version)} has no reference distribution: stockflow models profile ${i.model.version} --from D1 --to D2 builds one`;
    else if ('problem' in ref) res.driftNote = `model ${refOf(i.model.name, i.model.version)}: ${ref.problem}`;
    else if (n === 0) res.driftNote = 'no stock was scored';
    else {
      res.drift = driftReport(ref, i.model, i.values, n, FEATURE_NAMES, i.probs, i.thresholds ?? DEFAULT_PSI_THRESHOLDS);
      i.out.recordDrift(i.runId, i.date, res.drift);
    }
  } catch (e) {
    res.drift = undefined;
    res.driftNote = `drift not computed: ${(e as Error).message}`;
    i.log.warn({ error: (e as Error).message }, 'drift not computed (the run is unaffected)');
  }
  // challenger
  if (i.modelsDir === undefined) return res;
  let challenger: ScoringModel | string | undefined;
  try {
    challenger = await openChallenger(i.modelsDir, i.model);
  } catch (e) {
    challenger = `challenger not read: ${(e as Error).message}`;
  }
  if (challenger === undefined) return res;
  if (typeof challenger === 'string') {
    res.challengerNote = challenger;
    i.log.warn({ reason: challenger }, 'challenger not scored');
    return res;
  }
  try {
    const probs = await challenger.score(i.values, n, i.groupSize);
    const ranked = rank(i.codes, probs, i.stocks);
    const scored = (r: readonly Prediction[]): { bse_code: string; probability: number; label: number }[] =>
      r.map((p) => ({ bse_code: p.bse_code, probability: p.probability, label: p.label }));
    res.challenger = compareRankings(
      { name: i.model.name, version: i.model.version, rows: scored(i.ranked) },
      { name: challenger.name, version: challenger.version, rows: scored(ranked) },
    );
    if (i.published) {
      i.out.recordChallenger({
        runId: i.runId,
        date: i.date,
        asOf: i.asOf,
        modelName: challenger.name,
        modelVersion: challenger.version,
        modelType: challenger.type,
        sha256: challenger.sha256,
        championVersion: i.model.version,
        predictions: ranked,
        timestamp: i.timestamp,
        comparison: res.challenger,
      });
    } else res.challengerNote = `the run did not publish: the challenger's rows are not stored`;
  } catch (e) {
    res.challengerNote = `challenger ${refOf(challenger.name, challenger.version)} not scored: ${(e as Error).message}`;
    i.log.warn({ error: (e as Error).message }, 'challenger not scored (the run is unaffected)');
  } finally {
    await challenger.release();
  }
  return res;
}
