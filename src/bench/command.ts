/**
 * `stockflow` commands run as children and measured (`timeCli`): wall time, and with /usr/bin/time (where the
 * machine has it) the child's peak RSS and CPU time, all threads; the load average around the run. The batch as a
 * command (issue #16's figure, `batchCommand`): `stockflow batch --date D --force` with its stage timings (its
 * "batch finished" and, at LOG_LEVEL=debug, "stage memory" log records). The caller divides by the floor measured
 * in the same run. The big part times `data generate` and the import part `data import-exchange` with timeCli too.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../config.js';

export const BIN = path.join(PACKAGE_ROOT, 'bin', 'stockflow');
const TIME = '/usr/bin/time';
/** What /usr/bin/time adds to the child's stderr (its last line): peak RSS in kB, user and system seconds. */
const TIME_FORMAT = 'stockflow-bench-maxrss-kb %M cpu %U %S';
const TIME_LINE = /stockflow-bench-maxrss-kb (\d+) cpu ([\d.]+) ([\d.]+)/;

export interface TimedCli {
  /** The child's exit code (1 when it was killed). */
  status: number;
  stdout: string;
  stderr: string;
  ms: number;
  /** Peak RSS of the command (all its threads), in bytes, when /usr/bin/time is there. */
  rss?: number;
  /** CPU time of the command (user + system, all threads), in ms, when /usr/bin/time is there: steadier than wall time on a shared machine. */
  cpuMs?: number;
  /** The 1-minute load average before and after the run. */
  load: [number, number];
}

/** Runs `stockflow <args>` as a child with `env`, timed (module comment). */
export function timeCli(args: readonly string[], env: NodeJS.ProcessEnv): TimedCli {
  const argv = [BIN, ...args];
  const before = os.loadavg()[0];
  const t = performance.now();
  const opts = { encoding: 'utf8' as const, env, maxBuffer: 256 * 1024 * 1024 };
  const r = existsSync(TIME) ? spawnSync(TIME, ['-f', TIME_FORMAT, process.execPath, ...argv], opts) : spawnSync(process.execPath, argv, opts);
  const ms = performance.now() - t;
  const stderr = r.stderr ?? '';
  const m = TIME_LINE.exec(stderr);
  return {
    status: r.status ?? 1,
    stdout: r.stdout ?? '',
    stderr,
    ms,
    rss: m ? Number(m[1]) * 1024 : undefined,
    cpuMs: m ? (Number(m[2]) + Number(m[3])) * 1000 : undefined,
    load: [before, os.loadavg()[0]],
  };
}

export interface CommandRun {
  ms: number;
  /** Peak RSS of the command (all its threads), in bytes, when /usr/bin/time is there. */
  rss?: number;
  /** CPU time of the command (user + system, all threads), in ms, when /usr/bin/time is there. */
  cpuMs?: number;
  stageMs?: Record<string, number>;
  /** Each stage's CPU time (all threads) and the process's peak RSS when it ended, in MB (its LOG_LEVEL=debug "stage memory" records). */
  stages?: { stage: string; ms: number; cpuMs: number; rssMb: number; peakRssMb: number; heapUsedMb: number }[];
  load: number;
}

export function batchCommand(o: { dataDir: string; modelsDir: string; date: string; threads?: number }): CommandRun {
  const args = ['batch', '--date', o.date, '--force', '--no-notify', '--data-dir', o.dataDir, '--models-dir', o.modelsDir];
  if (o.threads !== undefined) args.push('--threads', String(o.threads));
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'debug' };
  delete env.STOCKFLOW_THREADS;
  const r = timeCli(args, env);
  if (r.status !== 0) throw new Error(`stockflow batch failed (exit ${r.status}): ${r.stderr.trim().split('\n').filter((l) => !l.startsWith('{')).at(-1) ?? ''}`);
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
  return { ms: r.ms, rss: r.rss, cpuMs: r.cpuMs, stageMs, stages: stages.length > 0 ? stages : undefined, load: r.load[1] };
}
