// Container logs in the CRI format, as kubelet and containerd write them:
//
//   2026-11-23T18:00:00.123456789Z stdout F a whole line
//   2026-11-23T18:00:00.123456789Z stderr P the first 16 KiB of a long line...
//
// The process runtime's containers write their stdout and stderr to plain
// files ("raw" files, opened O_APPEND by the shim), never to pipes to the
// agent, so that they run on while no agent does. A LogPump turns what was
// appended to a raw file into CRI lines, stamping each line with the time the
// pump reads it. Lines a container writes while no agent runs therefore carry
// the time the next agent read them, not the time they were written (the
// order of the lines of one stream is always kept; lines of stdout and stderr
// written close together may be interleaved differently from how they were
// written). The pump remembers how far it read in an offsets file, so a new
// agent picks up where the last one stopped, and frees the disk blocks it has
// consumed (fallocate --punch-hole), so raw files never fill the disk.
//
// The CRI log is rotated when it reaches maxSize: <log>.1 is the newest
// rotated file, <log>.<maxFiles-1> the oldest kept. readLog reads them in
// order, for kubectl logs (tailLines, sinceTime, timestamps, follow).
import fs from 'node:fs';
import { exec } from '../../../util/exec.js';

export type LogStream = 'stdout' | 'stderr';

export interface CriLogEntry {
  /** RFC3339Nano timestamp as written. */
  time: string;
  stream: LogStream;
  /** P: a fragment of a line continued by the next entry; F: the end of a line. */
  partial: boolean;
  content: Buffer;
}

// Wall-clock nanoseconds: Date's milliseconds, refined by the monotonic clock.
const baseNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

/** Now as an RFC3339Nano UTC timestamp with nine fractional digits. */
export function nowRfc3339Nano(): string {
  const ns = baseNs + process.hrtime.bigint();
  const ms = Number(ns / 1_000_000n);
  const iso = new Date(ms).toISOString(); // 2026-11-23T18:00:00.123Z
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 19)}.${frac}Z`;
}

/** Parses one CRI log line (without its trailing newline); undefined if malformed. */
export function parseCriLine(line: Buffer): CriLogEntry | undefined {
  const s1 = line.indexOf(0x20);
  const s2 = s1 < 0 ? -1 : line.indexOf(0x20, s1 + 1);
  const s3 = s2 < 0 ? -1 : line.indexOf(0x20, s2 + 1);
  if (s3 < 0) return undefined;
  const stream = line.subarray(s1 + 1, s2).toString();
  const tag = line.subarray(s2 + 1, s3).toString();
  if ((stream !== 'stdout' && stream !== 'stderr') || (tag !== 'F' && tag !== 'P')) return undefined;
  return { time: line.subarray(0, s1).toString(), stream, partial: tag === 'P', content: line.subarray(s3 + 1) };
}

/** Formats one CRI log line (with its trailing newline). */
export function formatCriLine(time: string, stream: LogStream, partial: boolean, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${time} ${stream} ${partial ? 'P' : 'F'} `), content, Buffer.from('\n')]);
}

/** The CRI log files of a log path, oldest first (rotated ones, then the current one). */
export function logFiles(logPath: string, maxFiles = 100): string[] {
  const files: string[] = [];
  for (let i = maxFiles; i >= 1; i--) if (fs.existsSync(`${logPath}.${i}`)) files.push(`${logPath}.${i}`);
  if (fs.existsSync(logPath)) files.push(logPath);
  return files;
}

export interface LogPumpOptions {
  /** Rotate the CRI log when it would grow beyond this many bytes (default 10 MiB, kubelet's containerLogMaxSize). */
  maxSize?: number;
  /** CRI log files to keep, the current one included (default 5, kubelet's containerLogMaxFiles). */
  maxFiles?: number;
  /** Longest line fragment before it is written as a partial (P) entry (default 16 KiB, as containerd). */
  maxLine?: number;
  /** Free the consumed part of a raw file once this many bytes were read since the last time (default 1 MiB). */
  punchEvery?: number;
}

interface Offsets {
  stdout: number;
  stderr: number;
  punched: { stdout: number; stderr: number };
}

/**
 * Copies what a container appended to its raw stdout/stderr files into its
 * CRI log. `pump()` reads what is new; `pump(true)` also writes a last line
 * that has no newline (the container has ended).
 */
export class LogPump {
  private readonly maxSize: number;
  private readonly maxFiles: number;
  private readonly maxLine: number;
  private readonly punchEvery: number;
  private busy: Promise<void> = Promise.resolve();

  constructor(
    private readonly raw: Record<LogStream, string>,
    private readonly offsetsPath: string,
    readonly logPath: string,
    o: LogPumpOptions = {},
  ) {
    this.maxSize = o.maxSize ?? 10 * 1024 * 1024;
    this.maxFiles = Math.max(1, o.maxFiles ?? 5);
    this.maxLine = o.maxLine ?? 16 * 1024;
    this.punchEvery = o.punchEvery ?? 1024 * 1024;
  }

  private readOffsets(): Offsets {
    try {
      const o = JSON.parse(fs.readFileSync(this.offsetsPath, 'utf8')) as Offsets;
      return { stdout: o.stdout ?? 0, stderr: o.stderr ?? 0, punched: o.punched ?? { stdout: 0, stderr: 0 } };
    } catch {
      return { stdout: 0, stderr: 0, punched: { stdout: 0, stderr: 0 } };
    }
  }

  /** Reads what is new in both raw files; serialised, so concurrent calls never duplicate lines. */
  pump(final = false): Promise<void> {
    const run = this.busy.then(() => this.pumpNow(final));
    this.busy = run.catch(() => {});
    return run;
  }

  private async pumpNow(final: boolean): Promise<void> {
    const off = this.readOffsets();
    let changed = false;
    for (const stream of ['stdout', 'stderr'] as const) {
      for (;;) {
        const { consumed, out } = this.readChunk(stream, off[stream], final);
        if (consumed === 0) break;
        if (out.length) this.append(out);
        off[stream] += consumed;
        changed = true;
        fs.writeFileSync(this.offsetsPath, JSON.stringify(off));
      }
      if (off[stream] - off.punched[stream] >= this.punchEvery) {
        const upTo = Math.floor(off[stream] / 4096) * 4096;
        const r = await exec('fallocate', ['--punch-hole', '--offset', '0', '--length', String(upTo), this.raw[stream]], { allowFailure: true }).catch(() => undefined);
        if (r && r.code === 0) {
          off.punched[stream] = off[stream];
          changed = true;
        }
      }
    }
    if (changed) fs.writeFileSync(this.offsetsPath, JSON.stringify(off));
  }

  /** Reads up to 1 MiB from `offset`, returning CRI lines and how many raw bytes they consumed. */
  private readChunk(stream: LogStream, offset: number, final: boolean): { consumed: number; out: Buffer } {
    let fd: number;
    try {
      fd = fs.openSync(this.raw[stream], 'r');
    } catch {
      return { consumed: 0, out: Buffer.alloc(0) };
    }
    const buf = Buffer.alloc(1024 * 1024);
    let n: number;
    try {
      n = fs.readSync(fd, buf, 0, buf.length, offset);
    } finally {
      fs.closeSync(fd);
    }
    if (n === 0) return { consumed: 0, out: Buffer.alloc(0) };
    const data = buf.subarray(0, n);
    const time = nowRfc3339Nano();
    const out: Buffer[] = [];
    let pos = 0;
    while (pos < data.length) {
      const nl = data.indexOf(0x0a, pos);
      const end = nl < 0 ? data.length : nl;
      if (end - pos > this.maxLine) {
        out.push(formatCriLine(time, stream, true, data.subarray(pos, pos + this.maxLine)));
        pos += this.maxLine;
        continue;
      }
      if (nl < 0) {
        // A line without its newline yet: wait for the rest, unless the container has ended
        // (or the chunk is full, when the rest is simply beyond this read).
        if (final && n < buf.length) {
          out.push(formatCriLine(time, stream, false, data.subarray(pos)));
          pos = data.length;
        }
        break;
      }
      out.push(formatCriLine(time, stream, false, data.subarray(pos, nl)));
      pos = nl + 1;
    }
    return { consumed: pos, out: Buffer.concat(out) };
  }

  private append(out: Buffer): void {
    let size = 0;
    try {
      size = fs.statSync(this.logPath).size;
    } catch {
      /* not yet */
    }
    if (size > 0 && size + out.length > this.maxSize) this.rotate();
    fs.appendFileSync(this.logPath, out);
  }

  private rotate(): void {
    if (this.maxFiles <= 1) {
      fs.truncateSync(this.logPath, 0);
      return;
    }
    fs.rmSync(`${this.logPath}.${this.maxFiles - 1}`, { force: true });
    for (let i = this.maxFiles - 2; i >= 1; i--) {
      if (fs.existsSync(`${this.logPath}.${i}`)) fs.renameSync(`${this.logPath}.${i}`, `${this.logPath}.${i + 1}`);
    }
    fs.renameSync(this.logPath, `${this.logPath}.1`);
  }
}

export interface ReadLogOptions {
  /** Keep reading as the log grows, until `signal` aborts or `done()` says the writer has finished. */
  follow?: boolean;
  /** Only the last N lines (as kubectl logs --tail). */
  tailLines?: number;
  /** Only lines at or after this time (RFC3339 or Date). */
  sinceTime?: string | Date;
  /** Prefix each line with its RFC3339Nano timestamp (kubectl logs --timestamps). */
  timestamps?: boolean;
  /** Stop after this many bytes of output (kubectl logs --limit-bytes). */
  limitBytes?: number;
  /** Only one stream (the default is both, interleaved as logged). */
  stream?: LogStream;
  signal?: AbortSignal;
  /** For follow: true once no more lines will come (the container has ended and its log is drained). */
  done?: () => boolean | Promise<boolean>;
  /** Poll interval for follow (default 200 ms). */
  pollMs?: number;
}

function timeNs(t: string): bigint {
  // RFC3339(Nano) -> nanoseconds since the epoch; fraction digits beyond ms kept.
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(t);
  if (!m) return BigInt(Date.parse(t) || 0) * 1_000_000n;
  const secs = BigInt(Date.parse(`${m[1]}${m[3]}`)) / 1000n;
  const frac = BigInt(((m[2] ?? '') + '000000000').slice(0, 9));
  return secs * 1_000_000_000n + frac;
}

/** Formats entries the way kubectl logs prints them. */
function render(entries: CriLogEntry[], o: ReadLogOptions): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (o.timestamps) parts.push(Buffer.from(`${e.time} `));
    parts.push(e.content);
    if (!e.partial) parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

function parseAll(data: Buffer): { entries: CriLogEntry[]; rest: number } {
  const entries: CriLogEntry[] = [];
  let pos = 0;
  for (;;) {
    const nl = data.indexOf(0x0a, pos);
    if (nl < 0) break;
    const e = parseCriLine(data.subarray(pos, nl));
    if (e) entries.push(e);
    pos = nl + 1;
  }
  return { entries, rest: pos };
}

/**
 * Reads a container's CRI log (and its rotated files) as kubectl logs shows
 * it. Yields chunks of output; with `follow`, keeps yielding as the log grows
 * (following rotation) until `signal` aborts or `done()` returns true.
 */
export async function* readLog(logPath: string, o: ReadLogOptions = {}): AsyncGenerator<Buffer> {
  const since = o.sinceTime === undefined ? undefined : timeNs(o.sinceTime instanceof Date ? o.sinceTime.toISOString() : o.sinceTime);
  let budget = o.limitBytes ?? Infinity;
  const keep = (e: CriLogEntry) => (!o.stream || e.stream === o.stream) && (since === undefined || timeNs(e.time) >= since);
  const emit = (entries: CriLogEntry[]): Buffer | undefined => {
    if (budget <= 0 || !entries.length) return undefined;
    let out = render(entries, o);
    if (out.length > budget) out = out.subarray(0, budget);
    budget -= out.length;
    return out.length ? out : undefined;
  };

  // What is there now.
  let entries: CriLogEntry[] = [];
  // Where follow goes on from: the current file as it was read here.
  let ino = -1;
  let pos = 0;
  let pending = Buffer.alloc(0);
  for (const f of logFiles(logPath)) {
    let data: Buffer;
    let fileIno: number;
    try {
      const fd = fs.openSync(f, 'r');
      try {
        fileIno = fs.fstatSync(fd).ino;
        data = fs.readFileSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      continue;
    }
    const p = parseAll(data);
    entries.push(...p.entries.filter(keep));
    if (f === logPath) {
      ino = fileIno;
      pos = data.length;
      pending = Buffer.from(data.subarray(p.rest));
    }
  }
  if (o.tailLines !== undefined) {
    // Count whole lines from the end: a line is its P fragments and the F that ends it.
    let lines = 0;
    let i = entries.length;
    while (i > 0) {
      const e = entries[i - 1];
      if (!e.partial) {
        if (lines === o.tailLines) break;
        lines++;
      }
      i--;
    }
    entries = entries.slice(i);
  }
  const first = emit(entries);
  if (first) yield first;
  if (!o.follow || budget <= 0) return;

  // Follow the current file from where it was read; start again at 0 when it is rotated.
  const pollMs = o.pollMs ?? 200;
  while (!o.signal?.aborted && budget > 0) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(logPath);
    } catch {
      st = undefined;
    }
    if (st && (st.ino !== ino || st.size < pos)) {
      // Rotated: finish the old file (now <log>.1) then read the new one from the start.
      if (ino !== -1 && fs.existsSync(`${logPath}.1`)) {
        try {
          const old = fs.statSync(`${logPath}.1`);
          if (old.ino === ino && old.size > pos) {
            const rest = Buffer.concat([pending, readRange(`${logPath}.1`, pos, old.size)]);
            const p = parseAll(rest);
            pending = Buffer.alloc(0);
            const out = emit(p.entries.filter(keep));
            if (out) yield out;
          }
        } catch {
          /* gone */
        }
      }
      ino = st.ino;
      pos = 0;
      pending = Buffer.alloc(0);
    }
    if (st && st.size > pos) {
      const data = Buffer.concat([pending, readRange(logPath, pos, st.size)]);
      pos = st.size;
      const p = parseAll(data);
      pending = Buffer.from(data.subarray(p.rest));
      const out = emit(p.entries.filter(keep));
      if (out) yield out;
      continue;
    }
    if (o.done && (await o.done())) {
      // One last look: the writer may have finished just now.
      const st2 = fs.existsSync(logPath) ? fs.statSync(logPath) : undefined;
      if (st2 && st2.ino === ino && st2.size > pos) continue;
      return;
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, pollMs);
      o.signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });
  }
}

function readRange(file: string, from: number, to: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(to - from);
    const n = fs.readSync(fd, buf, 0, buf.length, from);
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}
