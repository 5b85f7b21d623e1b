// The host-side plumbing shared by the test harness (test/helpers) and the
// benchmarks (bench/): running a process in a network namespace with the
// host's cgroups visible, and removing what a run made — the node agent's pods
// (by the PIDs and start times its runtime recorded), network namespaces and
// cgroups named after the run. Only what the run itself started is touched.
import fs from 'node:fs';
import path from 'node:path';
import { exec } from '../../src/util/exec.js';

/** True if a process with this PID exists. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * `sh -c KEEP_CGROUPS sh <cmd> <args...>` inside `nsenter --net=... -- unshare
 * --mount --propagation slave`: as `ip netns exec` (the namespace's own /sys),
 * keeping the host's cgroup mounts, which the agent needs to give containers
 * their limits. The private mount namespace keeps all of it from the host.
 */
export const KEEP_CGROUPS = [
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

/** argv that runs `cmd args` in network namespace `ns` with the host's cgroups visible. */
export function inNetnsKeepingCgroups(ns: string, cmd: string, args: string[]): string[] {
  return ['nsenter', `--net=/var/run/netns/${ns}`, '--', 'unshare', '--mount', '--propagation', 'slave', '--', 'sh', '-c', KEEP_CGROUPS, 'sh', cmd, ...args];
}

/** /proc/<pid>/stat: [ppid, start time], or undefined. */
function procStat(pid: number): [number, string] | undefined {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return [Number(rest[1]), rest[19]];
  } catch {
    return undefined;
  }
}

/**
 * Ends the processes the node agent started under `dataDir` (pause processes
 * and container shims with everything below them), identified by the PID and
 * start time its runtime recorded: only what this bench's agent started.
 */
export function killRecordedPods(dataDir: string): number {
  const root = path.join(dataDir, 'agent', 'runtime');
  const recorded: Array<{ pid: number; start: string }> = [];
  for (const [dir, file, field] of [
    ['sandboxes', 'sandbox.json', 'pause'],
    ['containers', 'container.json', 'shim'],
  ] as const) {
    const base = path.join(root, dir);
    if (!fs.existsSync(base)) continue;
    for (const id of fs.readdirSync(base)) {
      try {
        const ref = JSON.parse(fs.readFileSync(path.join(base, id, file), 'utf8'))[field];
        if (ref?.pid) recorded.push(ref);
      } catch {
        /* absent */
      }
    }
  }
  const alive = recorded.filter((r) => procStat(r.pid)?.[1] === r.start).map((r) => r.pid);
  if (!alive.length) return 0;
  const children = new Map<number, number[]>();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const st = procStat(Number(e));
    if (st) children.set(st[0], [...(children.get(st[0]) ?? []), Number(e)]);
  }
  const all: number[] = [];
  const walk = (pid: number) => {
    all.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  alive.forEach(walk);
  for (const pid of all.reverse()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  return all.length;
}

/** Names of the network namespaces `ip netns` knows. */
export async function netnsList(): Promise<string[]> {
  const r = await exec('ip', ['netns', 'list'], { allowFailure: true });
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter(Boolean);
}

/** SIGKILLs the processes left in network namespace `ns` (never this process), then deletes it. */
export async function removeNetns(ns: string): Promise<void> {
  const r = await exec('ip', ['netns', 'pids', ns], { allowFailure: true });
  for (const pid of r.stdout.split(/\s+/).filter(Boolean).map(Number)) {
    if (pid === process.pid) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await exec('ip', ['netns', 'del', ns], { allowFailure: true });
}

/** Cgroup directories (any hierarchy, a few levels down) whose name passes `match`. */
export function cgroupDirs(match: (name: string) => boolean): string[] {
  const found: string[] = [];
  const find = (d: string, depth: number) => {
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      if (match(e.name)) found.push(path.join(d, e.name));
      else if (depth > 0) find(path.join(d, e.name), depth - 1);
    }
  };
  find('/sys/fs/cgroup', 3);
  return found;
}

/** Removes the cgroups under a parent named `name` (the agent's --cgroup-root), v1 hierarchies or v2. */
export function removeCgroups(name: string): void {
  // The runtime names its parent <name> (v1) or <name>.slice (v2).
  const tops = cgroupDirs((n) => n === name || n === `${name}.slice`);
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
      /* still busy: left for the next run's sweep */
    }
  }
}

/** VmRSS of `pid` in MiB, checking that it is a `k8ts server` process (not `ip`, which starts it). */
export function serverRssMiB(pid: number): number {
  const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  if (!cmdline.includes('server') || !cmdline.some((a) => a.endsWith('k8ts'))) throw new Error(`PID ${pid} is not the k8ts server: ${cmdline.join(' ')}`);
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for PID ${pid}`);
  return Number(m[1]) / 1024;
}

