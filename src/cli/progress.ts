/**
 * Progress bars (cli-progress) on a terminal only; elsewhere a no-op, since
 * logs carry the progress as JSON lines.
 */
import cliProgress from 'cli-progress';
import type { Progress } from '../batch/progress.js';

export function progressBar(enabled = Boolean(process.stderr.isTTY)): Progress {
  if (!enabled) return { start() {}, update() {}, stop() {} };
  let bar: cliProgress.SingleBar | undefined;
  return {
    start(total, label) {
      bar?.stop();
      bar = new cliProgress.SingleBar(
        { format: `${label.padEnd(10)} [{bar}] {percentage}% | {value}/{total} | {duration_formatted}`, stream: process.stderr, hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0);
    },
    update(done) {
      bar?.update(done);
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
