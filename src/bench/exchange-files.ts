/**
 * `node dist/src/bench/exchange-files.js --out DIR [--stocks N] [--sessions N] [--seed S] [--end YYYY-MM-DD] [--only nse-udiff,bse-udiff,pr,full,sec-list,masters]`:
 * writes a deterministic year of exchange files in the real formats (src/demo/exchange-files.ts) for the import
 * benchmark (`npm run bench -- import`) and for trying `stockflow data import-exchange` / `data fetch` against a
 * mirror. Defaults: 4,000 NSE securities (≈ 4,000 NSE + 4,000 BSE price rows a session) × 250 sessions ending
 * 2025-12-31, seed 1: ≈ 2 M price rows. Same flags → byte-identical files.
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { EXCHANGE_FILES_DEFAULTS, EXCHANGE_FILE_SETS, generateExchangeFiles, type ExchangeFileSet, type ExchangeFilesOptions } from '../demo/exchange-files.js';

/** Parses the script's flags (throws a one-line message on a bad one). */
export function parseExchangeFilesArgs(argv: readonly string[]): ExchangeFilesOptions {
  const o: ExchangeFilesOptions = { out: '', stocks: EXCHANGE_FILES_DEFAULTS.stocks, sessions: EXCHANGE_FILES_DEFAULTS.sessions, seed: EXCHANGE_FILES_DEFAULTS.seed, end: EXCHANGE_FILES_DEFAULTS.end };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`${flag} needs a value`);
    i++;
    const int = (min: number): number => {
      if (!/^\d+$/.test(v) || Number(v) < min) throw new Error(`${flag} must be a whole number ≥ ${min} (got '${v}')`);
      return Number(v);
    };
    if (flag === '--out') o.out = v;
    else if (flag === '--stocks') o.stocks = int(4);
    else if (flag === '--sessions') o.sessions = int(1);
    else if (flag === '--seed') o.seed = int(0);
    else if (flag === '--only') {
      const sets = v.split(',').map((x) => x.trim()).filter(Boolean);
      const bad = sets.filter((x) => !(EXCHANGE_FILE_SETS as readonly string[]).includes(x));
      if (sets.length === 0 || bad.length > 0) throw new Error(`--only takes a list of ${EXCHANGE_FILE_SETS.join(', ')} (got '${v}')`);
      o.only = sets as ExchangeFileSet[];
    } else if (flag === '--end') {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) throw new Error(`--end must be YYYY-MM-DD (got '${v}')`);
      o.end = v;
    } else throw new Error(`unknown flag ${flag}`);
  }
  if (o.out === '') throw new Error('--out DIR is required');
  return o;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const o = parseExchangeFilesArgs(process.argv.slice(2));
    const s = generateExchangeFiles({ ...o, onSession: (d, n) => (d % 25 === 0 || d === n) && process.stderr.write(`  ${d}/${n} sessions\n`) });
    process.stdout.write(
      `wrote ${s.files} files (${(s.bytes / 1024 / 1024).toFixed(1)} MB) into ${s.out}: ${s.sessions.length} sessions ${s.sessions[0]} … ${s.sessions[s.sessions.length - 1]}, ` +
        `${s.nseRows} NSE + ${s.bseRows} BSE UDiFF rows, ${s.hits} band hits, ${s.actions} corporate actions, in ${(s.ms / 1000).toFixed(1)} s\n`,
    );
  } catch (e) {
    process.stderr.write(`exchange-files: ${(e as Error).message}\n`);
    process.exit(2);
  }
}
