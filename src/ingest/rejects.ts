/**
 * The rejects CSV: one row per rejected input row, columns `file,line,reason,row`
 * (`row` is the rejected record itself, written back as one CSV line).
 *
 * Rows are appended to a temporary file next to the target as they are found
 * (an import of a large, badly broken file never holds them all in memory);
 * `finish()` moves it into place, `discard()` removes it and leaves any
 * earlier rejects file untouched. Temporary files of imports that were killed
 * (their pid is gone) are removed by the next import.
 */
import { closeSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { processAlive } from '../util/process.js';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';

export const REJECTS_COLUMNS = ['file', 'line', 'reason', 'row'] as const;

const FLUSH_CHARS = 1 << 16;

/** Removes `<file>.<pid>.tmp` files of imports whose process is gone (killed by SIGKILL, say). */
export function removeOrphans(file: string): string[] {
  const dir = path.dirname(file);
  const base = path.basename(file);
  const removed: string[] = [];
  for (const e of readdirSync(dir)) {
    if (!e.startsWith(`${base}.`) || !e.endsWith('.tmp')) continue;
    const pid = e.slice(base.length + 1, -'.tmp'.length);
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid || processAlive(Number(pid))) continue;
    rmSync(path.join(dir, e), { force: true });
    removed.push(e);
  }
  return removed;
}

export class RejectsWriter {
  readonly file: string;
  private readonly tmp: string;
  private fd: number | undefined;
  private buffer = '';
  count = 0;

  constructor(file: string) {
    this.file = path.resolve(file);
    this.tmp = `${this.file}.${process.pid}.tmp`;
    mkdirSync(path.dirname(this.file), { recursive: true });
    removeOrphans(this.file);
    this.fd = openSync(this.tmp, 'w');
    this.buffer = stringify([[...REJECTS_COLUMNS]]);
  }

  add(file: string, line: number, reason: string, fields: readonly string[]): void {
    const row = stringify([fields.map((f) => f.trim())]).slice(0, -1); // without its line break
    this.buffer += stringify([[file, line, reason, row]]);
    this.count++;
    if (this.buffer.length >= FLUSH_CHARS) this.flush();
  }

  private flush(): void {
    if (this.fd === undefined || this.buffer === '') return;
    writeSync(this.fd, this.buffer);
    this.buffer = '';
  }

  /** Writes out what is buffered and moves the file into place. */
  finish(): string {
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    renameSync(this.tmp, this.file);
    return this.file;
  }

  /** Drops the temporary file (for an import that failed before its rows were all checked). */
  discard(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    rmSync(this.tmp, { force: true });
  }
}
