// Small helpers of the process runtime: /proc, signals, shell quoting, files.
import fs from 'node:fs';
import path from 'node:path';

/** A process identity that survives PID reuse: the PID and its start time (clock ticks since boot). */
export interface ProcRef {
  pid: number;
  start: string;
}

/** Field 22 (starttime) of /proc/<pid>/stat and the state (field 3); undefined if there is no such process. */
export function procStat(pid: number): { state: string; start: string; ppid: number } | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0], ppid: Number(rest[1]), start: rest[19] };
  } catch {
    return undefined;
  }
}

export function procRef(pid: number): ProcRef | undefined {
  const st = procStat(pid);
  return st ? { pid, start: st.start } : undefined;
}

/** True while the process runs: same start time as recorded, and not a zombie. */
export function isAlive(ref: ProcRef | undefined): boolean {
  if (!ref) return false;
  const st = procStat(ref.pid);
  return !!st && st.start === ref.start && st.state !== 'Z' && st.state !== 'X';
}

/** Sends a signal if the process is still the one recorded. */
export function signal(ref: ProcRef | undefined, sig: NodeJS.Signals): boolean {
  if (!isAlive(ref)) return false;
  try {
    process.kill(ref!.pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** Direct children of a process (from /proc/<pid>/task/<pid>/children). */
export function childrenOf(pid: number): number[] {
  try {
    return fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .split(' ')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `cond` every `everyMs` until it holds or `timeoutMs` passes; returns whether it held. */
export async function waitFor(cond: () => boolean, timeoutMs: number, everyMs = 20): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (cond()) return true;
    if (Date.now() >= end) return false;
    await sleep(everyMs);
  }
}

/** Quotes a word for sh. */
export function shQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function shJoin(words: string[]): string {
  return words.map(shQuote).join(' ');
}

/** Writes a file atomically (temporary file + rename). */
export function writeAtomic(file: string, data: string, mode?: number): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data, { mode });
  fs.renameSync(tmp, file);
}

export function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function isExecutableFile(p: string): boolean {
  try {
    const st = fs.statSync(p);
    return st.isFile() && (st.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/**
 * Resolves argv[0] as the container will see it (the host filesystem with the
 * container's mounts over it), searching the container's PATH. Throws with
 * runc's wording when it cannot.
 */
export function resolveExecutable(argv0: string, envPath: string | undefined, mounts: Array<{ hostPath: string; containerPath: string }>): string {
  const onHost = (p: string): string => {
    // The deepest mount covering p decides where it is on the node.
    let best: { hostPath: string; containerPath: string } | undefined;
    for (const m of mounts) {
      const cp = m.containerPath.replace(/\/+$/, '') || '/';
      if ((p === cp || p.startsWith(cp === '/' ? '/' : `${cp}/`)) && (!best || cp.length > best.containerPath.length)) best = { ...m, containerPath: cp };
    }
    return best ? path.join(best.hostPath, path.relative(best.containerPath, p)) : p;
  };
  if (argv0.includes('/')) {
    const p = path.resolve('/', argv0);
    if (!fs.existsSync(onHost(p))) throw new Error(`exec: "${argv0}": stat ${argv0}: no such file or directory`);
    if (!isExecutableFile(onHost(p))) throw new Error(`exec: "${argv0}": permission denied`);
    return p;
  }
  for (const dir of (envPath ?? DEFAULT_PATH).split(':')) {
    if (!dir) continue;
    const p = path.join(dir, argv0);
    if (isExecutableFile(onHost(p))) return p;
  }
  throw new Error(`exec: "${argv0}": executable file not found in $PATH`);
}
