/**
 * Runs `stockflow batch --date D` (or the evening `stockflow data fetch --date D …`) as a child process and
 * forwards SIGTERM to it, so the scheduler and the job stop together and cleanly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PACKAGE_ROOT } from '../config.js';
import type { IsoDate } from '../market/dates.js';

export const BIN = path.join(PACKAGE_ROOT, 'bin', 'stockflow');

export class BatchChild {
  private child?: ChildProcess;

  /** `command`: the CLI words before `--date D` (default the batch; the evening job runs `data fetch`). */
  constructor(
    private readonly extraArgs: string[] = [],
    private readonly command: string[] = ['batch'],
  ) {}

  run(date: IsoDate): Promise<number> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...this.command, '--date', date, ...this.extraArgs], { stdio: ['ignore', 'inherit', 'inherit'] });
      this.child = child;
      child.once('error', reject);
      child.once('exit', (code, signal) => {
        this.child = undefined;
        resolve(code ?? (signal ? 128 + 15 : 1));
      });
    });
  }

  terminate(): void {
    this.child?.kill('SIGTERM');
  }
}
