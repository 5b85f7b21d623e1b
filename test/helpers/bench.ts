// Runs the benchmark runner (dist/bench/run.js) in small mode, for the smoke
// tests of the benchmark code.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
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
