// Runs the benchmark runner (dist/bench/run.js) in small mode, for the smoke
// tests of the benchmark code.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository (the nearest directory up with a package.json), whether this runs from test/helpers or dist/test/helpers. */
export const ROOT = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('no package.json above test/helpers');
    dir = up;
  }
  return dir;
})();
const runner = path.join(ROOT, 'dist', 'bench', 'run.js');

export interface BenchOutcome {
  code: number | null;
  pid: number | undefined;
  stdout: string;
  stderr: string;
}

/** Runs `run.js args` with BENCH_SMALL=1 and a hard time limit (SIGTERM first, so the bench cleans up). */
export function runBench(args: string[], timeoutMs: number, graceMs = 10_000): Promise<BenchOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [runner, ...args], {
      cwd: ROOT,
      env: { ...process.env, BENCH_SMALL: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    let killer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      clearTimeout(killer);
      resolve({ code, pid: child.pid, stdout, stderr });
    });
  });
}

/** One result line of a bench, parsed. */
export type BenchResult = Record<string, unknown>;

export interface ResultChecks {
  /** More checks of each result line. */
  each?: (r: BenchResult, line: string) => void;
  /** What names a result (default: its metric); no two lines may share it. */
  key?: (r: BenchResult) => string;
  /** Keys that must all be printed. */
  expect?: string[];
}

/**
 * Checks a bench run: it exited 0 and printed at least one result line, each
 * line JSON with the fields every bench result has (bench, metric, unit,
 * numeric value, better, and baseline/baseline_value/ratio or target when
 * present), plus `checks`. Returns the results by key.
 */
export function checkResults({ code, stdout, stderr }: BenchOutcome, bench: string, checks: ResultChecks = {}): Map<string, BenchResult> {
  assert.equal(code, 0, `bench exited with ${code}\nstderr:\n${stderr}`);
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  assert.ok(lines.length > 0, `no result lines; stderr:\n${stderr}`);
  const key = checks.key ?? ((r: BenchResult) => r.metric as string);
  const byKey = new Map<string, BenchResult>();
  for (const line of lines) {
    let r: BenchResult;
    try {
      r = JSON.parse(line);
    } catch {
      assert.fail(`stdout line is not JSON: ${line}`);
    }
    assert.equal(r.bench, bench, line);
    assert.equal(typeof r.metric, 'string', line);
    assert.equal(typeof r.unit, 'string', line);
    assert.equal(typeof r.value, 'number', line);
    assert.ok(r.better === 'higher' || r.better === 'lower', line);
    if ('baseline' in r) {
      assert.equal(typeof r.baseline, 'string', line);
      assert.equal(typeof r.baseline_value, 'number', line);
      assert.equal(typeof r.ratio, 'number', line);
    }
    if ('target' in r) assert.equal(typeof r.target, 'number', line);
    checks.each?.(r, line);
    assert.ok(!byKey.has(key(r)), `metric printed twice: ${key(r)}`);
    byKey.set(key(r), r);
  }
  for (const k of checks.expect ?? []) assert.ok(byKey.has(k), `missing ${k}; got:\n${lines.join('\n')}`);
  return byKey;
}

/** Why a bench that creates network namespaces cannot run here (`rootFor`: what root is needed for), or false. */
export function needsNetns(rootFor: string): string | false {
  if (process.getuid?.() !== 0) return `needs root (${rootFor})`;
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return 'needs iproute2 (ip netns)';
  return false;
}

/** The network namespaces whose names start with `prefix`. */
export function netnsNamed(prefix: string): string[] {
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  return list.split('\n').filter((l) => l.startsWith(prefix));
}

/** The entries of the temporary directory whose names start with `prefix`. */
export function tmpEntries(prefix: string): Set<string> {
  return new Set(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith(prefix)));
}

/** PIDs whose command line mentions any of `needles` (a bench's helper scripts, its temporary directory). */
export function processesMentioning(needles: string[]): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let cmd = '';
    try {
      cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (needles.some((n) => cmd.includes(n))) out.push(Number(d));
  }
  return out;
}
