/**
 * The batch as a command (issue #16's figure): `stockflow batch --date D --force`
 * in a child process, best of `runs`, with the child's peak RSS (through
 * /usr/bin/time when the machine has it) and its stage timings (its
 * "batch finished" log record). The caller divides by the floor measured in
 * the same run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../config.js';

const BIN = path.join(PACKAGE_ROOT, 'bin', 'stockflow');
const TIME = '/usr/bin/time';

export interface CommandRun {
  ms: number;
  /** Peak RSS of the command (all its threads), in bytes, when /usr/bin/time is there. */
  rss?: number;
  /** CPU time of the command (user + system, all threads), in ms, when /usr/bin/time is there: steadier than wall time on a shared machine. */
  cpuMs?: number;
  stageMs?: Record<string, number>;
  /** Each stage's CPU time (all threads) and the process's peak RSS when it ended, in MB (its LOG_LEVEL=debug "stage memory" records). */
  stages?: { stage: string; ms: number; cpuMs: number; rssMb: number; peakRssMb: number; heapUsedMb: number }[];
  load: number;
}

export function batchCommand(o: { dataDir: string; modelsDir: string; date: string; threads?: number }): CommandRun {
  const args = [BIN, 'batch', '--date', o.date, '--force', '--no-notify', '--data-dir', o.dataDir, '--models-dir', o.modelsDir];
  if (o.threads !== undefined) args.push('--threads', String(o.threads));
  const timed = existsSync(TIME);
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'debug' };
  delete env.STOCKFLOW_THREADS;
  const t = performance.now();
  const r = timed
    ? spawnSync(TIME, ['-f', 'stockflow-bench-maxrss-kb %M cpu %U %S', process.execPath, ...args], { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 })
    : spawnSync(process.execPath, args, { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
  const ms = performance.now() - t;
  const load = os.loadavg()[0];
  if (r.status !== 0) throw new Error(`stockflow batch failed (exit ${r.status}): ${r.stderr.trim().split('\n').filter((l) => !l.startsWith('{')).at(-1) ?? ''}`);
  const kb = /stockflow-bench-maxrss-kb (\d+) cpu ([\d.]+) ([\d.]+)/.exec(r.stderr);
  let stageMs: Record<string, number> | undefined;
  const stages: NonNullable<CommandRun['stages']> = [];
  for (const line of r.stderr.split('\n')) {
    if (!line.includes('"batch finished"') && !line.includes('"stage memory"')) continue;
    try {
      const o = JSON.parse(line) as {
        msg: string;
        stageMs?: Record<string, number>;
        stage?: string;
        ms?: number;
        cpuMs?: number;
        memory?: { rssMb: number; peakRssMb: number; heapUsedMb: number };
      };
      if (o.msg === 'batch finished') stageMs = o.stageMs;
      else if (o.stage !== undefined && o.memory) stages.push({ stage: o.stage, ms: o.ms ?? 0, cpuMs: o.cpuMs ?? 0, ...o.memory });
    } catch {
      // not a log record
    }
  }
  return {
    ms,
    rss: kb ? Number(kb[1]) * 1024 : undefined,
    cpuMs: kb ? (Number(kb[2]) + Number(kb[3])) * 1000 : undefined,
    stageMs,
    stages: stages.length > 0 ? stages : undefined,
    load,
  };
}
