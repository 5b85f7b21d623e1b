// Processes of a benchmark run: children started inside the bench's network
// namespace (`ip netns exec`, so a child's PID is its command's), ended by PID
// only, and helper programs that report JSON lines on stdout.
import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import fs from 'node:fs';
import { netnsList, pidAlive } from '../test/helpers/host.js';
import { log } from './lib.js';

const started = new Set<ChildProcess>();

const alive = (p: ChildProcess): boolean => p.exitCode === null && p.signalCode === null;

/** Remembers a child so that stopAll() ends it. */
export function track(p: ChildProcess): ChildProcess {
  p.on('error', () => {});
  started.add(p);
  return p;
}

/** Ends one process we started, by its PID: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopProcess(p: ChildProcess, graceMs = 5000): Promise<void> {
  if (p.pid === undefined || !alive(p)) {
    started.delete(p);
    return;
  }
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  const t = setTimeout(() => {
    if (alive(p)) p.kill('SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(t);
  started.delete(p);
}

/** Ends every process still running that this run started. */
export async function stopAll(graceMs = 5000): Promise<void> {
  await Promise.all([...started].map((p) => stopProcess(p, graceMs)));
}

/** Starts `args` inside network namespace `ns`. */
export function inNetns(ns: string, args: string[], stdio: StdioOptions, opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  return track(spawn('ip', ['netns', 'exec', ns, ...args], { stdio, cwd: opts.cwd, env: opts.env }));
}

/** Why a process ended, as an error (for races against the thing we wait for). */
export function exitError(p: ChildProcess, what: string, detail: () => string = () => ''): Promise<never> {
  return new Promise((_, reject) => {
    p.once('exit', (code, signal) => reject(new Error(`${what} exited (code ${code}, signal ${signal})${detail()}`)));
    p.once('error', (err) => reject(new Error(`${what}: ${err.message}`)));
  });
}

export interface JsonChildOptions {
  /** Sees each JSON line as it arrives. */
  onLine?(line: Record<string, unknown>, proc: ChildProcess): void;
  /** Sees lines that are not JSON (default: they fail the run). */
  onText?(line: string): void;
  /** Resolve even when no JSON line came (default: that fails the run). */
  allowEmpty?: boolean;
  /** Keep stdin open (a pipe) for the caller. */
  stdin?: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Runs `node script mode JSON(args)` in the namespace; `result` resolves with
 * its last stdout line as JSON (a non-JSON line, a non-zero exit, no output or
 * the timeout reject it).
 */
export function jsonChild<T>(ns: string, script: string, mode: string, args: unknown, timeoutMs: number, o: JsonChildOptions = {}): { proc: ChildProcess; result: Promise<T> } {
  const proc = inNetns(ns, [process.execPath, script, mode, JSON.stringify(args)], [o.stdin ? 'pipe' : 'ignore', 'pipe', 'inherit'], { cwd: o.cwd, env: o.env });
  const what = `${script.split('/').pop()} (${mode})`;
  const result = new Promise<T>((resolve, reject) => {
    let buf = '';
    let last: unknown;
    let badLine: string | undefined;
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (s: string) => {
      buf += s;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        try {
          last = JSON.parse(line);
        } catch {
          if (o.onText) o.onText(line);
          else badLine ??= line;
          continue;
        }
        o.onLine?.(last as Record<string, unknown>, proc);
      }
    });
    const timer = setTimeout(() => {
      reject(new Error(`${what} did not finish within ${timeoutMs} ms`));
      void stopProcess(proc, 2000);
    }, timeoutMs);
    proc.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    proc.on('close', (code) => {
      clearTimeout(timer);
      started.delete(proc);
      if (code !== 0) reject(new Error(`${what} exited with ${code}`));
      else if (badLine !== undefined) reject(new Error(`${what} printed a non-JSON line: ${badLine}`));
      else if (last === undefined && !o.allowEmpty) reject(new Error(`${what} printed nothing`));
      else resolve(last as T);
    });
  });
  return { proc, result };
}

/** The end of a log file ('' if unreadable). */
export function tail(file: string, bytes = 4000): string {
  try {
    return fs.readFileSync(file, 'utf8').slice(-bytes);
  } catch {
    return '';
  }
}

/**
 * Removes what earlier runs of a bench left when they died: namespaces named
 * `<prefix><pid>` or `<prefix><pid>-...` whose process is gone. Returns the
 * `<prefix><pid>` names removed (e.g. to remove cgroups named after them).
 */
export async function sweepOrphanNetns(bench: string, prefix: string, remove: (ns: string) => Promise<void>): Promise<string[]> {
  const removed = new Set<string>();
  for (const ns of await netnsList()) {
    const m = ns.startsWith(prefix) ? /^(\d+)(-|$)/.exec(ns.slice(prefix.length)) : null;
    if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) {
      log(bench, `removing namespace ${ns} left by an earlier run`);
      await remove(ns);
      removed.add(`${prefix}${m[1]}`);
    }
  }
  return [...removed];
}
