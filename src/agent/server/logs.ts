// Container logs as kubelet serves them (GET /containerLogs/{ns}/{pod}/{c}):
// the runtime writes the CRI log format, one record a line:
//   <RFC3339Nano timestamp> <stdout|stderr> <F|P> <text>
// where P marks a partial line that continues in the stream's next record.
// Records are joined back into whole lines, filtered (sinceSeconds /
// sinceTime, tailLines), optionally prefixed with their timestamp, capped
// (limitBytes), and followed (follow=true) until the container stops.
import fs from 'node:fs';

export interface CriRecord {
  /** The timestamp as written (RFC3339Nano). */
  time: string;
  /** Milliseconds since the epoch (sub-millisecond digits dropped). */
  ms: number;
  stream: 'stdout' | 'stderr';
  partial: boolean;
  text: string;
}

/** Parses one CRI log record; undefined for a malformed line. */
export function parseCriLine(line: string): CriRecord | undefined {
  const a = line.indexOf(' ');
  if (a < 0) return undefined;
  const b = line.indexOf(' ', a + 1);
  if (b < 0) return undefined;
  const stream = line.slice(a + 1, b);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  let c = line.indexOf(' ', b + 1);
  // "<ts> stdout F" with an empty text has no trailing space.
  if (c < 0) c = line.length;
  const tag = line.slice(b + 1, c);
  const time = line.slice(0, a);
  const ms = Date.parse(time);
  if (Number.isNaN(ms)) return undefined;
  return { time, ms, stream, partial: tag.split(':').includes('P'), text: line.slice(c + 1) };
}

/** Formats a record (the runtime side, and tests). */
export function formatCriLine(stream: 'stdout' | 'stderr', text: string, partial = false, at = new Date()): string {
  return `${rfc3339Nano(at)} ${stream} ${partial ? 'P' : 'F'} ${text}\n`;
}

export function rfc3339Nano(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

export interface LogLine {
  time: string;
  ms: number;
  stream: 'stdout' | 'stderr';
  text: string;
}

/** Joins partial records per stream into whole lines. Keeps state across chunks (for follow). */
export class LineJoiner {
  private pending: Record<string, CriRecord | undefined> = {};
  push(rec: CriRecord): LogLine | undefined {
    const p = this.pending[rec.stream];
    const joined = p ? { ...p, text: p.text + rec.text } : rec;
    if (rec.partial) {
      this.pending[rec.stream] = { ...joined, partial: true };
      return undefined;
    }
    this.pending[rec.stream] = undefined;
    return { time: joined.time, ms: joined.ms, stream: joined.stream, text: joined.text };
  }
  /** Lines left partial at the end (a container that stopped mid-line). */
  flush(): LogLine[] {
    const out: LogLine[] = [];
    for (const k of Object.keys(this.pending)) {
      const p = this.pending[k];
      if (p) out.push({ time: p.time, ms: p.ms, stream: p.stream, text: p.text });
      this.pending[k] = undefined;
    }
    return out;
  }
}

export interface LogOptions {
  follow: boolean;
  tailLines?: number;
  /** Only lines at or after this time (ms since epoch). */
  sinceMs?: number;
  timestamps: boolean;
  limitBytes?: number;
}

export class LogOptionsError extends Error {}

/** Reads kubelet's container-log query parameters (upstream PodLogOptions names). */
export function parseLogOptions(q: URLSearchParams, now = Date.now()): LogOptions & { previous: boolean } {
  const bool = (k: string) => ['true', '1'].includes((q.get(k) ?? '').toLowerCase());
  const int = (k: string): number | undefined => {
    const v = q.get(k);
    if (v === null || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n)) throw new LogOptionsError(`invalid ${k}: ${JSON.stringify(v)}`);
    return n;
  };
  const tailLines = int('tailLines');
  if (tailLines !== undefined && tailLines < 0) throw new LogOptionsError('tailLines must be greater than or equal to 0');
  const sinceSeconds = int('sinceSeconds');
  if (sinceSeconds !== undefined && sinceSeconds < 1) throw new LogOptionsError('sinceSeconds must be greater than 0');
  const limitBytes = int('limitBytes');
  if (limitBytes !== undefined && limitBytes < 1) throw new LogOptionsError('limitBytes must be greater than 0');
  const sinceTime = q.get('sinceTime');
  if (sinceSeconds !== undefined && sinceTime) throw new LogOptionsError('at most one of sinceTime or sinceSeconds may be specified');
  let sinceMs: number | undefined;
  if (sinceSeconds !== undefined) sinceMs = now - sinceSeconds * 1000;
  if (sinceTime) {
    sinceMs = Date.parse(sinceTime);
    if (Number.isNaN(sinceMs)) throw new LogOptionsError(`invalid sinceTime: ${JSON.stringify(sinceTime)}`);
  }
  return { follow: bool('follow'), previous: bool('previous'), timestamps: bool('timestamps'), tailLines, sinceMs, limitBytes };
}

/** Sink of formatted output; returns false once no more output is wanted (limit reached, client gone). */
export interface LogSink {
  write(chunk: string): boolean | Promise<boolean>;
}

function format(l: LogLine, timestamps: boolean): string {
  return timestamps ? `${l.time} ${l.text}\n` : `${l.text}\n`;
}

/** Splits a byte stream into lines, keeping the unfinished tail. */
class LineSplitter {
  private rest = '';
  private decoder = new TextDecoder();
  push(buf: Buffer): string[] {
    const s = this.rest + this.decoder.decode(buf, { stream: true });
    const lines = s.split('\n');
    this.rest = lines.pop()!;
    return lines;
  }
}

export interface StreamLogOptions extends LogOptions {
  path: string;
  /** Follow only: true while more output may come (the container runs). */
  stillRunning?: () => boolean;
  /** Follow only: aborts following (client gone). */
  signal?: AbortSignal;
  /** Poll period when following (default 100 ms). */
  pollMs?: number;
}

/**
 * Streams a CRI log file to `sink` with kubelet's semantics. Resolves when
 * everything asked for is written (follow: when the container stopped and
 * its log was drained, or `signal` aborted).
 */
export async function streamLog(o: StreamLogOptions, sink: LogSink): Promise<void> {
  let remaining = o.limitBytes ?? Infinity;
  let open = true;
  const emit = async (l: LogLine): Promise<void> => {
    if (!open) return;
    if (o.sinceMs !== undefined && l.ms < o.sinceMs) return;
    let s = format(l, o.timestamps);
    if (Buffer.byteLength(s) > remaining) {
      s = Buffer.from(s).subarray(0, remaining).toString('utf8');
      open = false;
    }
    remaining -= Buffer.byteLength(s);
    if (s && !(await sink.write(s))) open = false;
    if (remaining <= 0) open = false;
  };

  const joiner = new LineJoiner();
  const splitter = new LineSplitter();
  let offset = 0;
  let fd: fs.promises.FileHandle | undefined;
  try {
    fd = await fs.promises.open(o.path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  try {
    const readMore = async (): Promise<LogLine[]> => {
      const out: LogLine[] = [];
      if (!fd) {
        try {
          fd = await fs.promises.open(o.path, 'r');
        } catch {
          return out;
        }
      }
      const buf = Buffer.allocUnsafe(64 * 1024);
      for (;;) {
        const { bytesRead } = await fd.read(buf, 0, buf.length, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
        for (const line of splitter.push(buf.subarray(0, bytesRead))) {
          const rec = parseCriLine(line);
          if (!rec) continue;
          const l = joiner.push(rec);
          if (l) out.push(l);
        }
      }
      return out;
    };

    // What is there now: tailLines counts from the end of the filtered lines.
    let initial = await readMore();
    if (o.sinceMs !== undefined) initial = initial.filter((l) => l.ms >= o.sinceMs!);
    if (!o.follow) initial.push(...joiner.flush());
    if (o.tailLines !== undefined) initial = o.tailLines === 0 ? [] : initial.slice(-o.tailLines);
    for (const l of initial) {
      if (!open) break;
      await emit(l);
    }
    if (!o.follow) return;

    const pollMs = o.pollMs ?? 100;
    while (open && !o.signal?.aborted) {
      const running = o.stillRunning ? o.stillRunning() : false;
      for (const l of await readMore()) await emit(l);
      if (!running) {
        // One last read: the container may have written just before it stopped.
        for (const l of [...(await readMore()), ...joiner.flush()]) await emit(l);
        break;
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, pollMs);
        o.signal?.addEventListener('abort', () => {
          clearTimeout(t);
          resolve();
        }, { once: true });
      });
    }
  } finally {
    await fd?.close();
  }
}
