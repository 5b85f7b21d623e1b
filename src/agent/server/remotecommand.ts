// exec and attach over WebSocket, with the channel protocol of upstream's
// remotecommand (k8s.io/apimachinery/pkg/util/httpstream/wsstream):
// every binary message starts with a channel byte:
//   0 stdin (client -> server)   1 stdout   2 stderr
//   3 error: v4+: a metav1.Status JSON (Success, or Failure with reason
//     NonZeroExitCode and a cause {reason: ExitCode, message: "<code>"});
//     before v4: plain error text, nothing on success
//   4 resize (client -> server, v3+): {"Width":80,"Height":24}
//   255 close (v5, client -> server): [255, <channel>] half-closes a stream
//       (stdin: EOF for the process)
// Once the command exits and its output is written, the server sends the
// status and closes the WebSocket.
import { PassThrough } from 'node:stream';
import type { WebSocket } from 'ws';
import type { ExecProcess } from '../runtime/types.js';

export const CHANNEL_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const ERROR = 3;
export const RESIZE = 4;
export const CLOSE = 255;

/** The protocol version (1..5) of a negotiated subprotocol. */
export function protocolVersion(p: string): number {
  const m = /^v(\d+)\.channel\.k8s\.io$/.exec(p);
  return m ? Number(m[1]) : 1;
}

/** Picks the server's protocol from the client's offer (first of ours the client offers). */
export function pickProtocol(offered: Set<string>, ours: string[]): string | false {
  for (const p of ours) if (offered.has(p)) return p;
  return false;
}

export interface StreamFlags {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** Reads kubectl's (stdin/stdout/stderr/tty) and kubelet's (input/output/error/tty) parameter names. */
export function streamFlags(q: URLSearchParams): StreamFlags {
  const on = (...keys: string[]) => keys.some((k) => ['true', '1'].includes((q.get(k) ?? '').toLowerCase()));
  const tty = on('tty');
  return { stdin: on('stdin', 'input'), stdout: on('stdout', 'output'), stderr: on('stderr', 'error') && !tty, tty };
}

export interface StatusObject {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  code?: number;
  details?: { causes: Array<{ reason: string; message: string }> };
}

export function successStatus(): StatusObject {
  return { metadata: {}, status: 'Success' };
}

export function exitStatus(code: number, argv: string[]): StatusObject {
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${argv.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

export function errorStatus(message: string, code = 500): StatusObject {
  return { metadata: {}, status: 'Failure', message, reason: 'InternalError', code };
}

/** A small async queue, for resize events. */
class Queue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private waiters: Array<(r: IteratorResult<T>) => void> = [];
  private done = false;
  push(v: T): void {
    if (this.done) return;
    const w = this.waiters.shift();
    if (w) w({ value: v, done: false });
    else this.items.push(v);
  }
  end(): void {
    this.done = true;
    for (const w of this.waiters.splice(0)) w({ value: undefined as never, done: true });
  }
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.items.length) return Promise.resolve({ value: this.items.shift()!, done: false });
        if (this.done) return Promise.resolve({ value: undefined as never, done: true });
        return new Promise((r) => this.waiters.push(r));
      },
      return: () => {
        this.end();
        return Promise.resolve({ value: undefined as never, done: true });
      },
    };
  }
}

export interface StreamIO {
  stdin?: PassThrough;
  resize: AsyncIterable<{ width: number; height: number }>;
}

/** Sends `data` on `channel`, waiting when the socket's buffer is full. */
export function sendChannel(ws: WebSocket, channel: number, data: Buffer | string): Promise<void> {
  const payload = Buffer.concat([Buffer.from([channel]), typeof data === 'string' ? Buffer.from(data) : data]);
  return new Promise((resolve) => {
    if (ws.readyState !== ws.OPEN) return resolve();
    ws.send(payload, { binary: true }, () => resolve());
  });
}

/**
 * Serves one exec/attach session on an open WebSocket: `start` starts the
 * process with the session's stdin and resize events; its output and exit
 * status go back on the channels.
 */
export async function serveRemoteCommand(
  ws: WebSocket,
  flags: StreamFlags,
  argv: string[],
  start: (io: StreamIO) => Promise<ExecProcess>,
): Promise<void> {
  const version = protocolVersion(ws.protocol);
  const stdin = flags.stdin ? new PassThrough() : undefined;
  const resize = new Queue<{ width: number; height: number }>();
  let proc: ExecProcess | undefined;
  let closed = false;
  let exitCode: number | undefined;

  ws.on('message', (raw: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    const buf = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
    if (!isBinary || buf.length === 0) return;
    const ch = buf[0];
    const data = buf.subarray(1);
    if (ch === STDIN) {
      if (stdin && !stdin.writableEnded && data.length) stdin.write(data);
    } else if (ch === RESIZE && version >= 3) {
      try {
        const size = JSON.parse(data.toString('utf8'));
        const width = Number(size.Width ?? size.width);
        const height = Number(size.Height ?? size.height);
        if (width > 0 && height > 0) {
          resize.push({ width, height });
          proc?.resize?.(width, height);
        }
      } catch {
        /* a malformed resize is ignored, as upstream logs and ignores it */
      }
    } else if (ch === CLOSE && version >= 5) {
      if (data[0] === STDIN && stdin && !stdin.writableEnded) stdin.end();
    }
  });
  ws.on('close', () => {
    closed = true;
    resize.end();
    if (stdin && !stdin.writableEnded) stdin.end();
  });

  const finish = async (st: StatusObject | undefined, text?: string): Promise<void> => {
    if (!closed) {
      if (version >= 4 && st) await sendChannel(ws, ERROR, JSON.stringify(st));
      else if (text) await sendChannel(ws, ERROR, text);
    }
    resize.end();
    if (ws.readyState === ws.OPEN) ws.close(1000);
  };

  try {
    proc = await start({ stdin, resize });
  } catch (e) {
    const msg = (e as Error).message;
    await finish(errorStatus(msg), msg);
    return;
  }
  ws.on('close', () => {
    // The client went away: stop what it started (kubelet's CRI does the same when the stream ends).
    if (exitCode === undefined) proc!.kill('SIGKILL');
  });

  const pump = (src: NodeJS.ReadableStream, channel: number, wanted: boolean): Promise<void> =>
    new Promise((resolve) => {
      src.on('data', (chunk: Buffer | string) => {
        if (!wanted || closed) return;
        src.pause();
        sendChannel(ws, channel, typeof chunk === 'string' ? Buffer.from(chunk) : chunk).then(() => src.resume());
      });
      src.on('end', resolve);
      src.on('close', resolve);
      src.on('error', resolve);
    });
  const outputs = Promise.all([pump(proc.stdout, STDOUT, flags.stdout), pump(proc.stderr, flags.tty ? STDOUT : STDERR, flags.stderr || flags.tty)]);
  exitCode = await proc.exit;
  // Output may still be in flight; a grandchild that keeps the pipes open must not hold the session.
  await Promise.race([outputs, new Promise((r) => setTimeout(r, 2000).unref())]);
  if (exitCode === 0) await finish(successStatus());
  else await finish(exitStatus(exitCode, argv), `command terminated with non-zero exit code: exit code ${exitCode}`);
}
