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
import fs from 'node:fs';
import path from 'node:path';
import { type ExecOptions, type ExecResult, exec } from '../../src/util/exec.js';

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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function listNetns(): Promise<string[]> {
  const r = await exec('ip', ['netns', 'list'], { allowFailure: true });
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter(Boolean);
}

/** Removes namespaces left behind by earlier test processes that died. */
async function sweepOrphans(): Promise<void> {
  for (const ns of await listNetns()) {
    const m = ns.startsWith(PREFIX) ? /^(\d+)-/.exec(ns.slice(PREFIX.length)) : null;
    if (m && Number(m[1]) !== process.pid && !alive(Number(m[1]))) {
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

/** The mount dance of Scenario.spawn's keepCgroups (a private mount namespace: nothing leaks to the host). */
const KEEP_CGROUPS = [
  'set -e',
  'aside=$(mktemp -d /tmp/k8ts-cgroups-XXXXXX)',
  'mount --rbind /sys/fs/cgroup "$aside"',
  'umount -l /sys',
  'mount -t sysfs sysfs /sys',
  'mount --rbind "$aside" /sys/fs/cgroup',
  'umount -l "$aside"',
  'rmdir "$aside"',
  'exec "$@"',
].join('\n');

/** Ends the processes left in one of our namespaces (SIGKILL, by PID). */
async function killNetnsPids(ns: string): Promise<void> {
  const r = await exec('ip', ['netns', 'pids', ns], { allowFailure: true });
  for (const pid of r.stdout.split(/\s+/).filter(Boolean).map(Number)) {
    if (pid === process.pid) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** Removes cgroups a test created under a parent named after its scenario (cgroup v1 hierarchies or v2). */
function removeCgroups(name: string): void {
  const roots = fs.existsSync('/sys/fs/cgroup/cgroup.controllers')
    ? ['/sys/fs/cgroup']
    : fs.readdirSync('/sys/fs/cgroup', { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => path.join('/sys/fs/cgroup', d.name));
  // The parent may sit below the test process's own cgroup (e.g. memory/<slice>/<name>): look a few levels down.
  const tops: string[] = [];
  const find = (d: string, depth: number) => {
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      if (e.name === name) tops.push(path.join(d, e.name));
      else if (depth > 0) find(path.join(d, e.name), depth - 1);
    }
  };
  for (const root of roots) find(root, 2);
  for (const top of tops) {
    const dirs: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
      dirs.push(d);
    };
    try {
      walk(top);
      for (const d of dirs) fs.rmdirSync(d);
    } catch {
      /* a cgroup still busy: left for the next sweep */
    }
  }
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
        ? ['nsenter', `--net=/var/run/netns/${netns}`, '--', 'unshare', '--mount', '--propagation', 'slave', '--', 'sh', '-c', KEEP_CGROUPS, 'sh', cmd, ...args]
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
    const ours = (await listNetns()).filter((ns) => ns === netns || ns.startsWith(`${netns}-`));
    // Processes our test started that outlived their parents (e.g. pods' containers): by PID, in our namespaces only.
    for (const ns of ours) await killNetnsPids(ns);
    for (const ns of ours) await exec('ip', ['netns', 'del', ns], { allowFailure: true });
    removeCgroups(netns);
    if (errors.length) console.error(`cleanup of ${netns}:`, ...errors);
  }
}
