/** The share of skipped stocks above which a run fails its error budget (`--max-error-rate`). */
export const DEFAULT_MAX_ERROR_RATE = 0.02;
