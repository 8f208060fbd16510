/**
 * `stockflow`: the command-line entry point. It only parses and dispatches;
 * each command lives in its own file under src/cli/.
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT, loadDotEnv } from '../config.js';
import { EXIT_CODES, isStockflowError } from '../errors.js';
import { registerData } from './data.js';
import { registerBatch } from './batch.js';
import { registerDemo } from './demo.js';
import { registerFeatures } from './features.js';
import { registerSchedule } from './schedule.js';
import { registerNotify } from './notify.js';
import { registerTrain } from './train.js';
import { registerModels } from './models.js';
import { registerServe } from './serve.js';
import { registerExplain } from './explain.js';
import { registerEvaluate } from './evaluate.js';

loadDotEnv();

const pkg = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };

const program = new Command()
  .name('stockflow')
  .description('Nightly batch scoring of NSE/BSE stocks: point-in-time features, an ONNX model, ranked predictions.')
  .version(pkg.version)
  // A usage error is one line, like every other failure: `stockflow: <message> (see --help)`.
  .configureOutput({ outputError: (str, write) => write(`stockflow: ${str.trim().replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')} (see --help)\n`) })
  .showHelpAfterError(false)
  .enablePositionalOptions()
  .exitOverride();

registerDemo(program);
registerBatch(program);
registerFeatures(program);
registerData(program);
registerSchedule(program);
registerNotify(program);
registerTrain(program);
registerModels(program);
registerServe(program);
registerExplain(program);
registerEvaluate(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // --help and --version end with exit code 0; everything else is a usage error.
    if (e.exitCode === 0) process.exit(0);
    process.exit(EXIT_CODES.BAD_ARGS);
  }
  // A StockflowError raised while parsing (an option's own check): one line, its exit code.
  if (isStockflowError(e)) {
    process.stderr.write(`stockflow: ${e.message}\n`);
    process.exit(e.exitCode);
  }
  throw e;
}
