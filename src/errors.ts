/**
 * Error kinds a user can cause, and the exit code each maps to.
 * The CLI prints `stockflow: <message>` and exits with the code; nothing else
 * (no stack trace) reaches the user for these kinds. Any other error is a bug
 * and exits 1.
 *
 * | code | kind                                                     |
 * |------|----------------------------------------------------------|
 * | 0    | success                                                  |
 * | 1    | anything else (a bug, an I/O failure)                    |
 * | 2    | BAD_ARGS: bad flag, malformed or impossible date         |
 * | 3    | MISSING_INPUT / NO_MODEL: data absent, stale, no model   |
 * | 4    | ERROR_BUDGET: too many stocks skipped (outputs written)  |
 * | 5    | LOCKED: another batch holds the data directory's lock    |
 * | 6    | IMPORT_REJECTED: import past its reject threshold        |
 * | 7    | EXCHANGE_FORMAT: unrecognised or changed exchange file   |
 * | 8    | DATA_CHECK_FINDINGS: `data check --strict` found some    |
 * | 9    | FETCH_INCOMPLETE: `data fetch` left files missing/failed |
 * | 130  | INTERRUPTED: SIGINT/SIGTERM stopped the run              |
 */
export const EXIT_CODES = {
  OK: 0,
  INTERNAL: 1,
  BAD_ARGS: 2,
  MISSING_INPUT: 3,
  NO_MODEL: 3,
  ERROR_BUDGET: 4,
  LOCKED: 5,
  IMPORT_REJECTED: 6,
  EXCHANGE_FORMAT: 7,
  DATA_CHECK_FINDINGS: 8,
  FETCH_INCOMPLETE: 9,
  INTERRUPTED: 130,
} as const;

export type ErrorKind = Exclude<keyof typeof EXIT_CODES, 'OK'>;

export class StockflowError extends Error {
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StockflowError';
    this.kind = kind;
  }
  get exitCode(): number {
    return EXIT_CODES[this.kind];
  }
}

export const badArgs = (message: string): StockflowError => new StockflowError('BAD_ARGS', message);
export const missingInput = (message: string): StockflowError => new StockflowError('MISSING_INPUT', message);

export function isStockflowError(e: unknown): e is StockflowError {
  return e instanceof StockflowError;
}

/** Exit code for any thrown value. */
export function exitCodeOf(e: unknown): number {
  return isStockflowError(e) ? e.exitCode : EXIT_CODES.INTERNAL;
}
