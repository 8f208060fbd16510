/**
 * How a batch reports progress to whoever runs it: the CLI draws a bar
 * (src/cli/progress.ts), the scheduler and tests pass nothing.
 */
export interface Progress {
  start(total: number, label: string): void;
  update(done: number): void;
  stop(): void;
}
