/**
 * Files are written to a temporary name in the same directory, flushed to
 * disk, then renamed over the target: a reader (or a crash) sees the old
 * file or the new one, never half of one.
 *
 * `stageFile` splits the two steps so that a run can write its files first,
 * commit its database transaction, and only then publish the files: a run
 * that fails (or is killed) before its commit replaces none of the earlier
 * outputs.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { processAlive } from '../util/process.js';

export function tempNameFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${Date.now()}`);
}

/** A file written and flushed under a temporary name, not yet visible under its own. */
export interface StagedFile {
  target: string;
  temp: string;
  /** Renames the temporary file over the target. */
  publish(): void;
  /** Removes the temporary file. */
  discard(): void;
}

export function stageFile(target: string, content: string | Uint8Array): StagedFile {
  mkdirSync(path.dirname(target), { recursive: true });
  const tmp = tempNameFor(target);
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  return {
    target,
    temp: tmp,
    publish() {
      try {
        renameSync(tmp, target);
      } catch (e) {
        rmSync(tmp, { force: true });
        throw e;
      }
    },
    discard() {
      rmSync(tmp, { force: true });
    },
  };
}

export function writeFileAtomic(target: string, content: string | Uint8Array): void {
  stageFile(target, content).publish();
}


/** Removes temporary files of `target` left by processes that no longer run (a run killed with SIGKILL). */
export function removeOrphanTemps(target: string): void {
  const dir = path.dirname(target);
  const prefix = `.${path.basename(target)}.tmp-`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid)) rmSync(path.join(dir, name), { force: true });
  }
}
