// Port forwarding over SPDY/3.1, the protocol kubectl's port-forward speaks:
// directly after `Upgrade: SPDY/3.1` (kubectl before 1.31), or tunneled in
// WebSocket binary messages with subprotocol SPDY/3.1+portforward.k8s.io
// (kubectl 1.31+, PortForwardWebsockets). Only what port-forward needs of
// SPDY/3.1 is here (framing per the SPDY/3.1 draft, section 2):
//   control frame: 1 bit set | version 15 bits (3) | type 16 | flags 8 | length 24 | data
//   data frame:    stream id 31 bits | flags 8 (FIN = 1) | length 24 | data
//   SYN_STREAM(1), SYN_REPLY(2), RST_STREAM(3), SETTINGS(4), PING(6), GOAWAY(7), WINDOW_UPDATE(9)
// Header blocks are zlib-compressed with the spec's dictionary, one zlib
// stream per direction for the whole session.
// Port-forward (k8s.io/kubelet portforward "portforward.k8s.io"): the client
// opens, per connection, an "error" stream and a "data" stream carrying
// headers streamType, port and requestID. The server connects to the port,
// copies bytes both ways on the data stream and writes any error text on the
// error stream before closing it.
import type net from 'node:net';
import zlib from 'node:zlib';

/** The SPDY/3 header compression dictionary (SPDY/3.1 draft, 2.6.10.1): length-prefixed words, then raw text. */
export const SPDY3_DICTIONARY: Buffer = (() => {
  const words = [
    'options', 'head', 'post', 'put', 'delete', 'trace', 'accept', 'accept-charset', 'accept-encoding', 'accept-language',
    'accept-ranges', 'age', 'allow', 'authorization', 'cache-control', 'connection', 'content-base', 'content-encoding',
    'content-language', 'content-length', 'content-location', 'content-md5', 'content-range', 'content-type', 'date', 'etag',
    'expect', 'expires', 'from', 'host', 'if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since',
    'last-modified', 'location', 'max-forwards', 'pragma', 'proxy-authenticate', 'proxy-authorization', 'range', 'referer',
    'retry-after', 'server', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'vary', 'via', 'warning',
    'www-authenticate', 'method', 'get', 'status', '200 OK', 'version', 'HTTP/1.1', 'url', 'public', 'set-cookie', 'keep-alive', 'origin',
  ];
  const tail =
    '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
    '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized' +
    '403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable' +
    'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT' +
    'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,' +
    'publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';
  const parts: Buffer[] = [];
  for (const w of words) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(w.length);
    parts.push(len, Buffer.from(w, 'latin1'));
  }
  parts.push(Buffer.from(tail, 'latin1'));
  return Buffer.concat(parts);
})();

const SYN_STREAM = 1;
const SYN_REPLY = 2;
const RST_STREAM = 3;
const PING = 6;
const GOAWAY = 7;
const FLAG_FIN = 1;

/** A byte pipe the session runs over: a raw socket, or a WebSocket tunnel. */
export interface Transport {
  write(b: Buffer): void;
  close(): void;
  onData(cb: (b: Buffer) => void): void;
  onClose(cb: () => void): void;
}

/** Runs one zlib stream with sync flushes, one call at a time. */
class ZStream {
  private chain: Promise<unknown> = Promise.resolve();
  private out: Buffer[] = [];
  constructor(private z: zlib.Inflate | zlib.Deflate) {
    z.on('data', (d: Buffer) => this.out.push(d));
    z.on('error', () => {});
  }
  run(input: Buffer): Promise<Buffer> {
    const p = this.chain.then(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          this.z.once('error', reject);
          this.z.write(input);
          this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
            this.z.off('error', reject);
            // 'data' events for the flushed bytes are emitted before the callback; take them on the next tick to be sure.
            setImmediate(() => resolve(Buffer.concat(this.out.splice(0))));
          });
        }),
    );
    this.chain = p.catch(() => {});
    return p;
  }
  close(): void {
    this.z.close();
  }
}

function decodeHeaders(b: Buffer): Map<string, string> {
  const h = new Map<string, string>();
  let o = 0;
  const n = b.readUInt32BE(o);
  o += 4;
  for (let i = 0; i < n; i++) {
    const kl = b.readUInt32BE(o);
    o += 4;
    const k = b.subarray(o, o + kl).toString('latin1').toLowerCase();
    o += kl;
    const vl = b.readUInt32BE(o);
    o += 4;
    h.set(k, b.subarray(o, o + vl).toString('utf8'));
    o += vl;
  }
  return h;
}

function encodeHeaders(h: Array<[string, string]>): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  parts.push(u32(h.length));
  for (const [k, v] of h) {
    const kb = Buffer.from(k);
    const vb = Buffer.from(v);
    parts.push(u32(kb.length), kb, u32(vb.length), vb);
  }
  return Buffer.concat(parts);
}

function controlFrame(type: number, flags: number, data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8003, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt32BE(data.length, 4);
  h[4] = flags;
  return Buffer.concat([h, data]);
}

function dataFrame(id: number, flags: number, data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(id & 0x7fffffff, 0);
  h.writeUInt32BE(data.length, 4);
  h[4] = flags;
  return Buffer.concat([h, data]);
}

interface Pair {
  port: number;
  error?: number;
  data?: number;
  sock?: net.Socket;
  pending: Buffer[];
  clientDone: boolean;
}

/** Serves SPDY port-forward on `t` until the peer goes away. */
export function serveSpdyPortForward(t: Transport, dial: (port: number) => net.Socket | Promise<net.Socket>, describe: string): void {
  const inflate = new ZStream(zlib.createInflate({ dictionary: SPDY3_DICTIONARY }));
  const deflate = new ZStream(zlib.createDeflate({ dictionary: SPDY3_DICTIONARY }));
  const pairs = new Map<string, Pair>();
  const streamPair = new Map<number, Pair>();
  let buf: Buffer = Buffer.alloc(0);
  let closed = false;
  let queue: Promise<void> = Promise.resolve();
  // Frames go out in order: SYN_REPLYs wait for compression, data after them.
  let out: Promise<void> = Promise.resolve();
  const send = (f: Buffer | Promise<Buffer>) => {
    out = out.then(async () => {
      const b = await f;
      if (!closed) t.write(b);
    }).catch(() => {});
  };

  const shutdown = () => {
    if (closed) return;
    closed = true;
    for (const p of pairs.values()) p.sock?.destroy();
    inflate.close();
    deflate.close();
    t.close();
  };
  t.onClose(shutdown);

  const writeError = (p: Pair, msg: string) => {
    if (p.error !== undefined) send(dataFrame(p.error, FLAG_FIN, Buffer.from(msg)));
  };

  const start = async (p: Pair) => {
    try {
      const sock = await dial(p.port);
      await new Promise<void>((resolve, reject) => {
        if (!sock.connecting) return resolve();
        sock.once('connect', () => resolve());
        sock.once('error', reject);
      });
      p.sock = sock;
      for (const d of p.pending) sock.write(d);
      p.pending = [];
      if (p.clientDone) sock.end();
      sock.on('data', (d: Buffer) => {
        if (p.data !== undefined) send(dataFrame(p.data, 0, d));
      });
      sock.on('end', () => {
        if (p.data !== undefined) send(dataFrame(p.data, FLAG_FIN, Buffer.alloc(0)));
        if (p.error !== undefined) send(dataFrame(p.error, FLAG_FIN, Buffer.alloc(0)));
      });
      sock.on('error', (e) => writeError(p, `error forwarding port ${p.port} to pod ${describe}: ${e.message}`));
    } catch (e) {
      writeError(p, `error forwarding port ${p.port} to pod ${describe}: ${(e as Error).message}`);
      if (p.data !== undefined) send(dataFrame(p.data, FLAG_FIN, Buffer.alloc(0)));
    }
  };

  const onFrame = async (f: Buffer) => {
    if (f[0] & 0x80) {
      const type = f.readUInt16BE(2);
      const body = f.subarray(8);
      if (type === SYN_STREAM) {
        const id = body.readUInt32BE(0) & 0x7fffffff;
        const headers = decodeHeaders(await inflate.run(body.subarray(10)));
        send(deflate.run(encodeHeaders([])).then((nv) => {
          const b = Buffer.alloc(4);
          b.writeUInt32BE(id);
          return controlFrame(SYN_REPLY, 0, Buffer.concat([b, nv]));
        }));
        const port = Number(headers.get('port'));
        const key = headers.get('requestid') ?? `port-${port}`;
        const type = headers.get('streamtype');
        let p = pairs.get(key);
        if (!p) {
          p = { port, pending: [], clientDone: false };
          pairs.set(key, p);
        }
        streamPair.set(id, p);
        if (type === 'error') p.error = id;
        else if (type === 'data') p.data = id;
        if (!Number.isInteger(port) || port < 1 || port > 65535) {
          writeError(p, `invalid port ${JSON.stringify(headers.get('port'))}`);
          return;
        }
        if (p.data !== undefined && p.error !== undefined) void start(p);
      } else if (type === RST_STREAM) {
        const id = body.readUInt32BE(0) & 0x7fffffff;
        const p = streamPair.get(id);
        if (p && p.data === id) p.sock?.destroy();
      } else if (type === PING) {
        send(controlFrame(PING, 0, Buffer.from(body)));
      } else if (type === GOAWAY) {
        shutdown();
      }
      // SETTINGS, WINDOW_UPDATE, HEADERS: nothing to do for port-forward.
      return;
    }
    const id = f.readUInt32BE(0) & 0x7fffffff;
    const flags = f[4];
    const p = streamPair.get(id);
    if (!p || p.data !== id) return;
    const data = f.subarray(8);
    if (data.length) {
      if (p.sock) p.sock.write(data);
      else p.pending.push(Buffer.from(data));
    }
    if (flags & FLAG_FIN) {
      p.clientDone = true;
      p.sock?.end();
    }
  };

  t.onData((chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= 8) {
      const len = buf.readUInt32BE(4) & 0xffffff;
      if (buf.length < 8 + len) break;
      const frame = Buffer.from(buf.subarray(0, 8 + len));
      buf = buf.subarray(8 + len);
      queue = queue.then(() => onFrame(frame)).catch(() => shutdown());
    }
  });
}
