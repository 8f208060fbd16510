/**
 * One batch at a time per data directory: a lock file created exclusively
 * (O_EXCL) holding the owner's pid, host and start time. A lock whose owner
 * is gone (a run killed with SIGKILL) is taken over; a live owner makes a
 * second run fail at once with LOCKED, or wait with `wait: true`.
 */
import { openSync, closeSync, writeSync, rmSync, statSync } from 'node:fs';
import { ensureWritableDir } from '../util/sqlite.js';
import { hostname } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StockflowError } from '../errors.js';
import { processAlive } from '../util/process.js';
import { LOCK_NAME, readLockOwner, type LockOwner } from '../util/lockfile.js';

export interface BatchLock {
  file: string;
  release(): void;
}

function tryCreate(file: string, owner: LockOwner): boolean {
  try {
    const fd = openSync(file, 'wx');
    try {
      writeSync(fd, JSON.stringify(owner));
    } finally {
      closeSync(fd);
    }
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/** The owner holding the lock, or undefined when it is free or stale. */
export function lockHolder(dataDir: string): LockOwner | undefined {
  const owner = readLockOwner(path.join(dataDir, LOCK_NAME));
  if (!owner) return undefined;
  if (owner.host === hostname() && !processAlive(owner.pid)) return undefined;
  return owner;
}

export async function acquireBatchLock(
  dataDir: string,
  o: { wait?: boolean; pollMs?: number; runId?: string; onWait?: (holder: LockOwner) => void } = {},
): Promise<BatchLock> {
  ensureWritableDir(dataDir, 'the batch lock');
  const file = path.join(dataDir, LOCK_NAME);
  const me: LockOwner = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), runId: o.runId };
  let waiting = false;
  for (;;) {
    if (tryCreate(file, me)) break;
    const owner = readLockOwner(file);
    if (owner === undefined) {
      // Being written by its new owner this instant, or left half-written by a crash long ago.
      const age = Date.now() - (statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0);
      if (age > 5000) rmSync(file, { force: true });
      else await sleep(50);
      continue;
    }
    if (owner.host === hostname() && !processAlive(owner.pid)) {
      // The owner died without releasing (a SIGKILL): take the lock over.
      rmSync(file, { force: true });
      continue;
    }
    if (!o.wait) {
      throw new StockflowError(
        'LOCKED',
        `another batch is running on ${dataDir} (pid ${owner.pid} on ${owner.host}, since ${owner.startedAt}); use --wait to wait for it`,
      );
    }
    if (!waiting) {
      waiting = true;
      o.onWait?.(owner);
    }
    await sleep(o.pollMs ?? 500);
  }
  let released = false;
  return {
    file,
    release() {
      if (released) return;
      released = true;
      const owner = readLockOwner(file);
      if (owner?.pid === process.pid) rmSync(file, { force: true });
    },
  };
}
