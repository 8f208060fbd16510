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
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { AtomicFile, removeOrphanTemps } from '../util/atomic-file.js';

export const REJECTS_COLUMNS = ['file', 'line', 'reason', 'row'] as const;

const FLUSH_CHARS = 1 << 16;

export class RejectsWriter {
  readonly file: string;
  private readonly out: AtomicFile;
  private buffer = '';
  count = 0;

  constructor(file: string) {
    this.file = path.resolve(file);
    // Temporary files of imports that were killed (their pid is gone) go first.
    removeOrphanTemps(this.file);
    this.out = new AtomicFile(this.file);
    this.buffer = stringify([[...REJECTS_COLUMNS]]);
  }

  add(file: string, line: number, reason: string, fields: readonly string[]): void {
    const row = stringify([fields.map((f) => f.trim())]).slice(0, -1); // without its line break
    this.buffer += stringify([[file, line, reason, row]]);
    this.count++;
    if (this.buffer.length >= FLUSH_CHARS) this.flush();
  }

  private flush(): void {
    if (this.buffer === '') return;
    this.out.write(this.buffer);
    this.buffer = '';
  }

  /** Writes out what is buffered and moves the file into place. */
  finish(): string {
    this.flush();
    this.out.commit();
    return this.file;
  }

  /** Drops the temporary file (for an import that failed before its rows were all checked). */
  discard(): void {
    this.out.abort();
  }
}
