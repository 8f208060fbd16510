/**
 * The HTML report's input: everything the text report shows (ReportInput),
 * every probability of the run for the histogram, and the sections that
 * render only when given: the scorecard's history and calibration, the drift
 * table and the challenger comparison (the monitoring lane supplies the last two).
 */
import type { ReportInput } from '../report.js';
import type { CalibrationPoint, ScorecardPoint } from './charts.js';

/** The scorecard over recent dates (src/model/scorecard-history.ts). */
export interface ScorecardHistory {
  model_version: string;
  points: ScorecardPoint[];
  /** Calibration over the same dates' judged rows (empty bins left out). */
  calibration: CalibrationPoint[];
  rows: number;
}

/** One feature's drift between the model's reference and today's rows. */
export interface DriftRow {
  feature: string;
  /** Population stability index. */
  psi: number;
  /** 'stable' | 'moderate' | 'significant' (src/model/drift.ts DriftLevel). */
  level: string;
  /** Today's median and the reference's, when known. */
  current_median?: number | null;
  reference_median?: number | null;
}

export interface DriftSection {
  reference: string;
  rows: DriftRow[];
}

/** The challenger scored beside the champion on the same rows. */
export interface ChallengerSection {
  champion: { name: string; version: string };
  challenger: { name: string; version: string };
  /** Figures side by side (e.g. ROC-AUC, precision@20, top-20 overlap). */
  metrics: { name: string; champion: number | null; challenger: number | null; format?: 'pct' | 'num' | 'int' }[];
  note?: string;
}

export interface HtmlReportModel extends ReportInput {
  history?: ScorecardHistory;
  drift?: DriftSection;
  challenger?: ChallengerSection;
}
