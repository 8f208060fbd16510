/**
 * The batch lock file's name and owner record (src/batch/lock.ts takes and
 * releases it; the predictions store reads it to tell a killed run from a
 * live one).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const LOCK_NAME = '.stockflow-batch.lock';

export interface LockOwner {
  pid: number;
  host: string;
  startedAt: string;
  runId?: string;
}

export function readLockOwner(file: string): LockOwner | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockOwner;
  } catch {
    return undefined;
  }
}

export const lockFile = (dataDir: string): string => path.join(dataDir, LOCK_NAME);
