// End-to-end scenarios run inside a fresh network namespace that the helper
// creates and removes, even when the scenario fails. Every command and process
// of the scenario runs inside it (ip netns exec), so nothing it does can reach
// the host's interfaces or send packets beyond loopback and its own namespaces.
//
// Names: the scenario's namespace is `k8ts-e2e-<pid>-<n>`; anything else the
// scenario creates (pod namespaces, links) should be named with `scenario.name()`
// so that cleanup can sweep it. Namespaces left by a test process that died are
// swept the next time the helper runs.
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { type ExecOptions, type ExecResult, exec } from '../../src/util/exec.js';
import { inNetnsKeepingCgroups, netnsList, pidAlive, removeCgroups, removeNetns } from './host.js';

const PREFIX = 'k8ts-e2e-';
let counter = 0;

export interface Scenario {
  /** Name of the scenario's network namespace. */
  readonly netns: string;
  /** A name for something the scenario creates, swept at cleanup if it is a netns. */
  name(suffix: string): string;
  /** Runs a command inside the namespace and waits for it. */
  exec(cmd: string, args: string[], opts?: ExecOptions): Promise<ExecResult>;
  /**
   * Starts a long-running process inside the namespace; it is ended at cleanup.
   * With `keepCgroups`, the process also sees the host's /sys/fs/cgroup (which
   * `ip netns exec`'s fresh /sys hides), as a node agent that sets container
   * limits needs.
   */
  spawn(cmd: string, args: string[], opts?: SpawnOptions & { keepCgroups?: boolean }): ChildProcess;
  /** Runs `fn` at cleanup (in reverse order of registration, before the namespace goes). */
  onCleanup(fn: () => unknown | Promise<unknown>): void;
}

/** Removes namespaces left behind by earlier test processes that died. */
async function sweepOrphans(): Promise<void> {
  for (const ns of await netnsList()) {
    const m = ns.startsWith(PREFIX) ? /^(\d+)-/.exec(ns.slice(PREFIX.length)) : null;
    if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) {
      await exec('ip', ['netns', 'del', ns], { allowFailure: true });
    }
  }
}

async function endProcess(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null || p.pid === undefined) return;
  const done = new Promise<void>((r) => p.once('exit', () => r()));
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-p.pid!, s); // the process group we started
    } catch {
      /* already gone */
    }
  };
  signal('SIGTERM');
  const t = setTimeout(() => signal('SIGKILL'), 3000);
  await done;
  clearTimeout(t);
}

export async function withNetns<T>(fn: (s: Scenario) => Promise<T>): Promise<T> {
  await sweepOrphans();
  const netns = `${PREFIX}${process.pid}-${++counter}`;
  await exec('ip', ['netns', 'add', netns]);
  const procs: ChildProcess[] = [];
  const cleanups: Array<() => unknown> = [];
  const scenario: Scenario = {
    netns,
    name: (suffix) => `${netns}-${suffix}`,
    exec: (cmd, args, opts) => exec('ip', ['netns', 'exec', netns, cmd, ...args], opts),
    spawn: (cmd, args, opts = {}) => {
      const { keepCgroups, ...spawnOpts } = opts;
      // As `ip netns exec` (the namespace, a private mount namespace and the namespace's own /sys),
      // keeping the cgroup mounts: they are moved aside before /sys is remounted, then back.
      const argv = keepCgroups
        ? inNetnsKeepingCgroups(netns, cmd, args)
        : ['ip', 'netns', 'exec', netns, cmd, ...args];
      const p = spawn(argv[0], argv.slice(1), { stdio: 'pipe', ...spawnOpts, detached: true });
      p.on('error', () => {});
      procs.push(p);
      return p;
    },
    onCleanup: (f) => cleanups.push(f),
  };
  try {
    await scenario.exec('ip', ['link', 'set', 'lo', 'up']);
    return await fn(scenario);
  } finally {
    const errors: unknown[] = [];
    for (const f of cleanups.reverse()) await Promise.resolve().then(f).catch((e) => errors.push(e));
    await Promise.all(procs.map(endProcess));
    // Processes our test started that outlived their parents (e.g. pods' containers) are ended with their namespaces.
    for (const ns of (await netnsList()).filter((n) => n === netns || n.startsWith(`${netns}-`))) await removeNetns(ns);
    removeCgroups(netns);
    if (errors.length) console.error(`cleanup of ${netns}:`, ...errors);
  }
}
