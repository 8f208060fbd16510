/**
 * The CLI's error boundary: a command's action runs inside `action()`, which
 * turns a StockflowError into one line on stderr and its exit code, and any
 * other error into one line plus a debug-level stack in the log (exit 1).
 */
import { CommanderError, InvalidArgumentError } from 'commander';
import { EXIT_CODES, isStockflowError } from '../errors.js';
import { logger } from '../log.js';

export function fail(message: string, code: number): never {
  process.stderr.write(`stockflow: ${message}\n`);
  process.exit(code);
}

/** A line for the user on stdout (summaries, paths). */
export const stdoutLine = (line: string): void => void process.stdout.write(`${line}\n`);
/** A line for the user on stderr (failures that still wrote their outputs). */
export const stderrLine = (line: string): void => void process.stderr.write(`${line}\n`);

/** Wraps a command action: awaits it, sets the exit code, reports errors as one line. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void> | number | void) {
  return async (...args: A): Promise<void> => {
    try {
      const code = await fn(...args);
      process.exitCode = typeof code === 'number' ? code : EXIT_CODES.OK;
    } catch (e) {
      if (isStockflowError(e)) fail(e.message, e.exitCode);
      if (e instanceof CommanderError) fail(e.message.replace(/^error: /, ''), EXIT_CODES.BAD_ARGS);
      const err = e as Error;
      logger().debug({ err }, 'unexpected error');
      fail(`unexpected error: ${err?.message ?? String(e)} (set LOG_LEVEL=debug for details)`, EXIT_CODES.INTERNAL);
    }
  };
}

/**
 * commander argument parser for whole numbers in [min, max]. Only digits are
 * accepted ('1e3', '0x10' are not), and never past Number.MAX_SAFE_INTEGER: a
 * value SQLite or the code would read differently is a usage error (exit 2).
 */
export function intArg(min = 0, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = /^\s*\+?\d+\s*$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(max === Number.MAX_SAFE_INTEGER ? `expected a whole number ≥ ${min}` : `expected a whole number from ${min} to ${max}`);
    }
    return n;
  };
}

/** commander argument parser for a comma-separated list of 6-digit BSE codes. */
export function codesArg(value: string): string[] {
  const codes = value.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = codes.filter((c) => !/^\d{6}$/.test(c));
  if (bad.length > 0) throw new InvalidArgumentError(`not 6-digit BSE codes: ${bad.join(', ')}`);
  return codes;
}
