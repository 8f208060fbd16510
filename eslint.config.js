// eslint flat config: typescript-eslint's recommended rules on the TypeScript sources, plus the layering rules
// that keep docs/architecture.md true: no import cycles, and no import against the direction of the layers.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

/**
 * The layers, bottom to top (docs/architecture.md). Each zone forbids `target` to import `from`.
 * - src/market (market.db's read side) stands on the shared base alone: config, errors, log, util.
 * - Nothing below src/cli imports src/cli; only src/cli starts the batch, the server and the scheduler.
 * - src/batch and src/server are peers over the stores: neither imports the other.
 * - The stages below them (features, model, output, notify, ingest, demo, predictions) import neither.
 */
const below = ['features', 'model', 'output', 'notify', 'ingest', 'demo', 'predictions', 'market', 'util', 'fetch'];
const zones = [
  {
    target: './src/market',
    from: './src',
    except: ['./market', './util', './config.ts', './errors.ts', './log.ts'],
    message: 'src/market is the bottom layer: it imports only src/market, src/util, config, errors and log.',
  },
  {
    target: ['./src/!(cli)/**', './src/*.ts', './workers'],
    from: './src/cli',
    message: 'only src/cli imports src/cli: report progress through an interface or events instead.',
  },
  { target: './src/batch', from: './src/server', message: 'src/batch and src/server are peers: share a store instead.' },
  { target: './src/server', from: './src/batch', message: 'src/batch and src/server are peers: share a store instead.' },
  ...below.map((d) => ({
    target: `./src/${d}`,
    from: ['./src/batch', './src/server', './src/schedule', './src/bench'],
    message: `src/${d} is below the batch, the server and the scheduler: it must not import them.`,
  })),
];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'data/', 'models/', 'bin/', 'test/fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts', 'workers/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      ...importX.flatConfigs.typescript.settings,
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones }],
    },
  },
);
