/**
 * The layering of docs/architecture.md, kept by lint (eslint.config.js) and
 * checked here twice over:
 * - the lint rules really fire: a deliberately added cycle and upward imports,
 *   linted as if they were in the tree, are refused with the rule's message;
 * - no import cycle at all, type-only imports included (import-x/no-cycle
 *   ignores those), found by walking every import of src/ and workers/ with
 *   TypeScript's own pre-processor.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { ESLint } from 'eslint';

const root = path.resolve(import.meta.dirname, '..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The project's own files a file imports (static, dynamic and type-only), resolved as the compiler does. */
function localImports(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((s) => s.startsWith('.'))
    .map((s) => path.resolve(path.dirname(file), s.replace(/\.js$/, '.ts')))
    .filter((p) => p.endsWith('.ts'));
}

describe('layering', () => {
  it('has no import cycle, type-only imports included', () => {
    const files = [...tsFiles(path.join(root, 'src')), ...tsFiles(path.join(root, 'workers'))];
    const graph = new Map(files.map((f) => [f, localImports(f)]));
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (f: string): void => {
      state.set(f, 'open');
      stack.push(f);
      for (const g of graph.get(f) ?? []) {
        if (!graph.has(g)) continue;
        if (state.get(g) === 'open') cycles.push([...stack.slice(stack.indexOf(g)), g].map((p) => path.relative(root, p)).join(' → '));
        else if (!state.has(g)) visit(g);
      }
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of files) if (!state.has(f)) visit(f);
    expect(cycles).toEqual([]);
    // The walk sees real imports: the entry point's import of a command file is an edge.
    expect(graph.get(path.join(root, 'src/cli/index.ts'))?.length).toBeGreaterThan(3);
  });

  describe('lint refuses a change that breaks it', () => {
    const eslint = new ESLint({ cwd: root });
    const lint = async (file: string, text: string): Promise<string[]> => {
      const [r] = await eslint.lintText(text, { filePath: path.join(root, file) });
      return r.messages.map((m) => `${m.ruleId}: ${m.message}`);
    };

    it('an import cycle (import-x/no-cycle)', async () => {
      const file = 'src/features/definition.ts';
      const text = readFileSync(path.join(root, file), 'utf8');
      expect(await lint(file, text)).toEqual([]);
      // extract.ts imports definition.ts; importing it back closes a cycle.
      const msgs = await lint(file, `import { extractMany } from './extract.js';\nvoid extractMany;\n${text}`);
      expect(msgs.some((m) => m.startsWith('import-x/no-cycle'))).toBe(true);
    }, 60_000);

    it.each([
      ['src/market/probe.ts', "import { FEATURE_NAMES } from '../features/definition.js';", 'src/market is the bottom layer'],
      ['src/features/probe.ts', "import { runBatch } from '../batch/run.js';", 'src/features is below the batch'],
      ['src/batch/probe.ts', "import { buildApp } from '../server/app.js';", 'peers'],
      ['src/server/probe.ts', "import { runBatch } from '../batch/run.js';", 'peers'],
      ['src/notify/probe.ts', "import { Progress } from '../cli/progress.js';", 'only src/cli imports src/cli'],
    ])('an upward import from %s', async (file, line, message) => {
      const msgs = await lint(file, `${line}\nexport const probe = 1;\n`);
      expect(msgs.filter((m) => m.startsWith('import-x/no-restricted-paths') && m.includes(message))).toHaveLength(1);
    }, 60_000);

    it('the same import from src/cli is allowed', async () => {
      const msgs = await lint('src/cli/probe.ts', "import { runBatch } from '../batch/run.js';\nexport const probe = runBatch;\n");
      expect(msgs).toEqual([]);
    }, 60_000);
  });
});
