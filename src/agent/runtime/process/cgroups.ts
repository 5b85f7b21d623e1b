// Resource limits of the process runtime's containers through cgroups, v1
// (one hierarchy per controller: /sys/fs/cgroup/memory/..., /sys/fs/cgroup/cpu/...)
// or v2 (one unified hierarchy). Each container gets a cgroup
// <parent>/<sandbox>/<container> in every controller used; the container's
// shim writes itself into them before it starts the container, so every
// process of the container is inside.
//
// Where the parent sits: on v1 under the agent's own cgroup of each
// controller (the whole node's cgroup on a host where the agent runs in the
// root cgroup, a delegated subtree when the agent itself runs confined), so
// containers never escape the limits the agent runs under. On v2 under the
// root (k8ts.slice), since v2 forbids controllers below a cgroup that holds
// processes. If no usable controller is found, containers run without limits
// (the runtime logs it once).
import fs from 'node:fs';
import path from 'node:path';

export type CgroupVersion = 1 | 2;

export interface CgroupLayout {
  version: CgroupVersion;
  /** v1: controller -> the directory of the parent (…/memory/<own>/k8ts); v2: {unified: …/k8ts.slice}. */
  parents: Record<string, string>;
}

export interface CgroupLimits {
  memoryLimitBytes?: number;
  cpuLimitMillis?: number;
  cpuRequestMillis?: number;
}

const V1_CONTROLLERS = ['memory', 'cpu', 'pids'];

/** Finds the cgroup hierarchy; undefined when none is usable (no limits then). */
export function detectCgroups(root = '/sys/fs/cgroup', parentName = 'k8ts'): CgroupLayout | undefined {
  try {
    if (fs.existsSync(path.join(root, 'cgroup.controllers'))) {
      const avail = fs.readFileSync(path.join(root, 'cgroup.controllers'), 'utf8').split(/\s+/);
      if (!avail.includes('memory') && !avail.includes('cpu')) return undefined;
      return { version: 2, parents: { unified: path.join(root, `${parentName}.slice`) } };
    }
    const own = ownCgroupsV1();
    const parents: Record<string, string> = {};
    for (const c of V1_CONTROLLERS) {
      const mount = path.join(root, c);
      if (!fs.existsSync(path.join(mount, 'cgroup.procs'))) continue;
      try {
        fs.accessSync(mount, fs.constants.W_OK);
      } catch {
        continue;
      }
      parents[c] = path.join(mount, own[c] ?? '/', parentName);
    }
    if (!parents.memory && !parents.cpu) return undefined;
    return { version: 1, parents };
  } catch {
    return undefined;
  }
}

/** controller -> path of this process's cgroup in it (from /proc/self/cgroup). */
function ownCgroupsV1(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m || !m[1]) continue;
    for (const c of m[1].split(',')) out[c] = m[2];
  }
  return out;
}

function write(file: string, value: string): boolean {
  try {
    fs.writeFileSync(file, value);
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates the cgroups of one container and writes its limits. Returns the
 * directories created (their cgroup.procs is where the shim writes itself).
 */
export function createContainerCgroups(layout: CgroupLayout, sandboxId: string, containerId: string, limits: CgroupLimits = {}): string[] {
  const dirs: string[] = [];
  if (layout.version === 2) {
    const parent = layout.parents.unified;
    const sb = path.join(parent, sandboxId);
    const dir = path.join(sb, containerId);
    fs.mkdirSync(dir, { recursive: true });
    // Controllers must be enabled at every level above the container.
    for (const d of [path.dirname(parent), parent, sb]) write(path.join(d, 'cgroup.subtree_control'), '+memory +cpu +pids');
    if (limits.memoryLimitBytes) {
      write(path.join(dir, 'memory.max'), String(limits.memoryLimitBytes));
      write(path.join(dir, 'memory.swap.max'), '0');
    }
    if (limits.cpuLimitMillis) write(path.join(dir, 'cpu.max'), `${limits.cpuLimitMillis * 100} 100000`);
    if (limits.cpuRequestMillis) {
      const shares = Math.max(2, Math.floor((limits.cpuRequestMillis * 1024) / 1000));
      write(path.join(dir, 'cpu.weight'), String(Math.min(10000, 1 + Math.floor(((shares - 2) * 9999) / 262142))));
    }
    dirs.push(dir);
    return dirs;
  }
  for (const [c, parent] of Object.entries(layout.parents)) {
    const dir = path.join(parent, sandboxId, containerId);
    fs.mkdirSync(dir, { recursive: true });
    if (c === 'memory' && limits.memoryLimitBytes) {
      write(path.join(dir, 'memory.limit_in_bytes'), String(limits.memoryLimitBytes));
      // No swapping around the limit: memory+swap at the same limit (when swap accounting exists).
      write(path.join(dir, 'memory.memsw.limit_in_bytes'), String(limits.memoryLimitBytes));
      write(path.join(dir, 'memory.swappiness'), '0');
    }
    if (c === 'cpu') {
      if (limits.cpuLimitMillis) {
        write(path.join(dir, 'cpu.cfs_period_us'), '100000');
        write(path.join(dir, 'cpu.cfs_quota_us'), String(limits.cpuLimitMillis * 100));
      }
      if (limits.cpuRequestMillis) write(path.join(dir, 'cpu.shares'), String(Math.max(2, Math.floor((limits.cpuRequestMillis * 1024) / 1000))));
    }
    dirs.push(dir);
  }
  return dirs;
}

/** The file whose `oom_kill N` line counts the OOM kills of a container's cgroup, if any. */
export function oomFile(dirs: string[]): string | undefined {
  for (const d of dirs) {
    if (fs.existsSync(path.join(d, 'memory.events'))) return path.join(d, 'memory.events');
    if (fs.existsSync(path.join(d, 'memory.oom_control'))) return path.join(d, 'memory.oom_control');
  }
  return undefined;
}

/** Reads the oom_kill counter of a memory.events / memory.oom_control file (0 if absent). */
export function readOomKills(file: string | undefined): number {
  if (!file) return 0;
  try {
    const m = /^oom_kill (\d+)$/m.exec(fs.readFileSync(file, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** PIDs in a cgroup directory. */
export function cgroupPids(dir: string): number[] {
  try {
    return fs
      .readFileSync(path.join(dir, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** Removes cgroup directories (must be empty of processes); retries briefly while the last ones exit. */
export async function removeCgroups(dirs: string[]): Promise<string[]> {
  const left: string[] = [];
  for (const d of dirs) {
    let ok = !fs.existsSync(d);
    for (let i = 0; i < 50 && !ok; i++) {
      try {
        fs.rmdirSync(d);
        ok = true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') ok = true;
        else await new Promise((r) => setTimeout(r, 100));
      }
    }
    if (!ok) left.push(d);
  }
  return left;
}
