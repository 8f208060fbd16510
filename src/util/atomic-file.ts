/**
 * Atomic files, one mechanism for every writer (the batch's CSVs and report,
 * the import's rejects file, the generated market.db): write under a
 * temporary name beside the target, flush, then rename over the target. A
 * reader (or a crash) sees the old file or the new one, never half of one.
 *
 * Temporary names are hidden, `.<name>.tmp-<pid>-<n>` beside the target
 * (SQLite may add `-wal`, `-shm`, `-journal`), so a listing of the outputs
 * never shows half a file. `removeOrphanTemps` deletes those of processes that
 * no longer run (a writer killed with SIGKILL), and keeps those of live ones;
 * it also sweeps `<name>.tmp-<pid>…`, the generator's and importer's names
 * before this module was theirs.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { processAlive } from './process.js';

let seq = 0;

/** A temporary name beside `target`, unique in this process. */
export function tempNameFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${++seq}`);
}

/** Removes temporary files of `target` left by processes that no longer run; returns their names. */
export function removeOrphanTemps(target: string): string[] {
  const dir = path.dirname(target);
  const prefixes = [`.${path.basename(target)}.tmp-`, `${path.basename(target)}.tmp-`];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const prefix = prefixes.find((p) => name.startsWith(p));
    if (prefix === undefined) continue;
    const m = /^(\d+)(?:-.*)?$/.exec(name.slice(prefix.length));
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    rmSync(path.join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}

/** fsync a directory, where the platform allows it (the rename is atomic either way). */
export function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Not supported here.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A file written piece by piece under its temporary name; `commit` makes it the target, `abort` drops it. */
export class AtomicFile {
  readonly temp: string;
  private fd: number | undefined;

  constructor(readonly target: string) {
    mkdirSync(path.dirname(target), { recursive: true });
    this.temp = tempNameFor(target);
    this.fd = openSync(this.temp, 'w');
  }

  write(content: string | Uint8Array): void {
    if (this.fd === undefined) throw new Error(`${this.target}: already committed or aborted`);
    writeSync(this.fd, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
  }

  /** Flushes the content to disk and closes it, still under its temporary name. */
  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Flushes and renames the file over the target. */
  commit(): void {
    try {
      this.close();
      renameSync(this.temp, this.target);
    } catch (e) {
      this.abort();
      throw e;
    }
  }

  /** Removes the temporary file; the target keeps what it had. */
  abort(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    rmSync(this.temp, { force: true });
  }
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

/**
 * Writes `content` under a temporary name and flushes it, without publishing
 * it: a run can write its files first, commit its database transaction, and
 * only then publish them, so a run that fails (or is killed) before its
 * commit replaces none of the earlier outputs.
 */
export function stageFile(target: string, content: string | Uint8Array): StagedFile {
  const f = new AtomicFile(target);
  try {
    f.write(content);
    f.close();
  } catch (e) {
    f.abort();
    throw e;
  }
  return { target, temp: f.temp, publish: () => f.commit(), discard: () => f.abort() };
}

/**
 * Like stageFile, for content written in pieces by `fill` (a large CSV is
 * never held as one string): the pieces go to the temporary file as they come.
 */
export function stageFileWith(target: string, fill: (write: (chunk: string) => void) => void): StagedFile {
  const f = new AtomicFile(target);
  try {
    fill((chunk) => f.write(chunk));
    f.close();
  } catch (e) {
    f.abort();
    throw e;
  }
  return { target, temp: f.temp, publish: () => f.commit(), discard: () => f.abort() };
}

export function writeFileAtomic(target: string, content: string | Uint8Array): void {
  stageFile(target, content).publish();
}
