/** The demo market's defaults, light enough for `--help` to show them without loading the generator. */
import type { IsoDate } from '../market/dates.js';

export const DEMO_DEFAULTS = { stocks: 11000, days: 500, seed: 42 } as const;
/** The demo's last session: a Thursday, so the demo's morning run is 2025-11-14. */
export const DEMO_LAST_SESSION: IsoDate = '2025-11-13';
