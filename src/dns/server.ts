// The DNS server: listeners (UDP + TCP per Corefile port), zone matching
// (longest zone wins), the plugin chain of each server block, and the protocol
// rules CoreDNS applies around it (FORMERR, NOTIMP, REFUSED, BADVERS, TC).
// Import plugins through src/dns/index.ts, which registers the built-in ones.

import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { parseCorefile, type ServerBlock } from './corefile.js';
import { orderDirectives } from './registry.js';
import { DnsWireError, decodeMessage, encodeMessage, isSubdomain, type WireHeader } from './wire.js';
import { RCODE, TYPE, reply, type DnsMessage, type DnsRequest, type Handler, type Plugin, type PluginContext, type PluginSetup } from './types.js';

// ------------------------------------------------------------- shared services

/** Keys of ctx.shared (the map lives as long as the server, across reloads). */
export const SHARED = {
  /** (line: string) => void - CoreDNS-style log lines ("[INFO] ..."). */
  log: 'dns.log',
  /** ServerControl */
  server: 'dns.server',
  /** () => Plugin[] of the running configuration. */
  plugins: 'dns.plugins',
  /** boolean: set when the server is shutting down for good (not a reload). */
  finalShutdown: 'dns.finalShutdown',
  /** (err: Error) => void - stops the server with a fatal error (loop). */
  fatal: 'dns.fatal',
  /** Map of HTTP listeners (health, ready, prometheus). */
  http: 'dns.http',
  /** Metrics registry (see plugins/prometheus.ts). */
  metrics: 'prometheus.registry',
} as const;

export interface ServerControl {
  reload(text: string): Promise<void>;
  /** The Corefile path when started from a file. */
  corefilePath?: string;
  /** The text of the running configuration. */
  currentText(): string;
  /** Actual listening port for a configured port. */
  actualPort(configured: number): number | undefined;
  host: string;
}

export type LogFn = (line: string) => void;

export function dnsLog(shared: Map<string, unknown>, level: 'INFO' | 'WARNING' | 'ERROR' | 'FATAL' | 'DEBUG', msg: string): void {
  const sink = (shared.get(SHARED.log) as LogFn | undefined) ?? ((l: string) => process.stdout.write(l + '\n'));
  sink(`[${level}] ${msg}`);
}

/** Per-request facts not in DnsRequest (wire size, start time, server label). */
export interface RequestInfo {
  size: number;
  start: bigint;
  server: string;
}
const requestInfos = new WeakMap<DnsRequest, RequestInfo>();
export function requestInfo(req: DnsRequest): RequestInfo | undefined {
  return requestInfos.get(req);
}

/** Which plugin produced a response (the innermost one that returned it). */
const responders = new WeakMap<DnsMessage, string>();
export function respondedBy(msg: DnsMessage): string {
  return responders.get(msg) ?? '';
}
/** For plugins that return a modified copy of a response from further down: keeps the original responder. */
export function sameResponder<T extends DnsMessage>(from: DnsMessage, to: T): T {
  const r = responders.get(from);
  if (r !== undefined) responders.set(to, r);
  return to;
}

/** Thrown at the end of the chain when no plugin answered ("plugin/x: no next plugin found"). */
export class NoNextPluginError extends Error {
  constructor(public readonly after: string) {
    super(`plugin/${after}: no next plugin found`);
  }
}

// ------------------------------------------------------------- HTTP listeners

interface HttpEntry {
  server: http.Server;
  port: number;
  routes: Map<string, http.RequestListener>;
  refs: number;
  closing?: Promise<void>;
}

export interface HttpHandle {
  port: number;
  release(): Promise<void>;
}

/** Splits "host:port", ":port", "[::1]:port" (default host: all interfaces). */
export function splitHostPort(addr: string, defaultPort: number): { host?: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*))(?::(\d+))?$/.exec(addr);
  if (!m) throw new Error(`invalid address '${addr}'`);
  const host = m[1] ?? (m[2] || undefined);
  const port = m[3] !== undefined ? Number(m[3]) : defaultPort;
  if (port > 65535) throw new Error(`invalid port in '${addr}'`);
  return { host, port };
}

/**
 * Serves `path` on a shared HTTP listener for `addr` (e.g. ":8080"); one
 * listener per address for the whole server, kept across reloads.
 */
export async function serveHttp(shared: Map<string, unknown>, addr: string, defaultPort: number, path: string, handler: http.RequestListener): Promise<HttpHandle> {
  let pool = shared.get(SHARED.http) as Map<string, HttpEntry> | undefined;
  if (!pool) shared.set(SHARED.http, (pool = new Map()));
  const { host, port } = splitHostPort(addr, defaultPort);
  const key = port === 0 ? `${addr}#${Math.random()}` : `${host ?? ''}:${port}`;
  let entry = pool.get(key);
  if (entry?.closing) {
    await entry.closing;
    entry = undefined;
  }
  if (!entry) {
    const routes = new Map<string, http.RequestListener>();
    const server = http.createServer((req, res) => {
      const p = (req.url ?? '/').split('?')[0]!;
      const h = routes.get(p);
      if (!h) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
        return;
      }
      try {
        h(req, res);
      } catch (e) {
        if (!res.headersSent) res.writeHead(500);
        res.end(String(e));
      }
    });
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', () => {});
    entry = { server, port: (server.address() as net.AddressInfo).port, routes, refs: 0 };
    pool.set(key, entry);
  }
  const e = entry;
  e.refs++;
  e.routes.set(path, handler);
  let released = false;
  return {
    port: e.port,
    release: async () => {
      if (released) return;
      released = true;
      if (e.routes.get(path) === handler) e.routes.delete(path);
      if (--e.refs > 0) return;
      e.closing = new Promise<void>((resolve) => {
        e.server.close(() => resolve());
        e.server.closeAllConnections?.();
      });
      await e.closing;
      if (pool!.get(key) === e) pool!.delete(key);
    },
  };
}

// ------------------------------------------------------------- server

export interface DnsServerOptions {
  corefile: string | { path: string };
  /** Bind address for DNS listeners (default 0.0.0.0). */
  host?: string;
  /** Serve every server block on this port instead (0: a random free port). */
  portOverride?: number;
  /** Extra plugin setups by directive name (override the registry). */
  plugins?: Record<string, PluginSetup>;
  /** CoreDNS-style log lines ("[INFO] ..."); default stdout. */
  log?: LogFn;
}

export interface BlockInstance {
  zones: string[];
  /** Configured port (after portOverride). */
  port: number;
  plugins: Plugin[];
  handler: Handler;
  location: string;
}

interface Config {
  text: string;
  blocks: BlockInstance[];
  /** configured port -> blocks on it */
  byPort: Map<number, BlockInstance[]>;
  shutdowns: Array<() => unknown>;
  inflight: number;
  drained?: () => void;
}

interface Listener {
  configuredPort: number;
  port: number;
  udp: dgram.Socket;
  tcp: net.Server;
  conns: Set<net.Socket>;
}

export interface DnsServer {
  /** Actual port of the first server block. */
  readonly port: number;
  /** Actual ports of all listeners. */
  ports(): number[];
  blocks(): BlockInstance[];
  /** The first instance of a plugin by name (in block `index`, default any block). */
  plugin<T extends Plugin = Plugin>(name: string, index?: number): T | undefined;
  /** Swaps in a new Corefile text (new listeners only for new ports). */
  reload(text: string): Promise<void>;
  close(): Promise<void>;
  /** Resolves when the server stops: undefined after close(), the error after a fatal stop (loop detected). */
  readonly done: Promise<Error | undefined>;
  readonly shared: Map<string, unknown>;
}

const MAX_TCP_CONNS = 1000;
const TCP_IDLE_MS = 10_000;

function questionWireLength(buf: Buffer): number {
  let pos = 12;
  while (pos < buf.length) {
    const l = buf[pos]!;
    if (l === 0) return pos + 1 - 12;
    if (l & 0xc0) return -1;
    pos += l + 1;
  }
  return -1;
}

function errorReply(h: WireHeader, rcode: number): Buffer {
  return encodeMessage({ id: h.id, qr: true, opcode: h.opcode, aa: false, tc: false, rd: h.rd, ra: false, ad: false, cd: false, rcode, questions: [], answers: [], authority: [], additional: [] });
}

export async function startDnsServer(opts: DnsServerOptions): Promise<DnsServer> {
  await import('./index.js'); // registers the built-in plugins (index.ts imports this module too)
  const host = opts.host ?? '0.0.0.0';
  const shared = new Map<string, unknown>();
  const log: LogFn = opts.log ?? ((l) => process.stdout.write(l + '\n'));
  shared.set(SHARED.log, log);
  const corefilePath = typeof opts.corefile === 'string' ? undefined : opts.corefile.path;
  const initialText = typeof opts.corefile === 'string' ? opts.corefile : await readFile(opts.corefile.path, 'utf8');
  const fileLabel = 'Corefile';

  const listeners = new Map<number, Listener>();
  let current: Config | undefined;
  let closed = false;
  let resolveDone!: (e: Error | undefined) => void;
  const done = new Promise<Error | undefined>((r) => (resolveDone = r));
  let reloading: Promise<void> = Promise.resolve();

  // ---- request handling

  async function handle(buf: Buffer, configuredPort: number, actualPort: number, client: DnsRequest['client']): Promise<Buffer | undefined> {
    let msg: DnsMessage;
    try {
      msg = decodeMessage(buf);
    } catch (e) {
      const h = e instanceof DnsWireError ? e.header : undefined;
      if (!h || h.qr) return undefined;
      return errorReply(h, RCODE.FORMERR);
    }
    if (msg.qr) return undefined;
    const maxSize = client.protocol === 'udp' ? Math.max(512, msg.edns?.udpSize ?? 512) : 65535;
    const finish = (resp: DnsMessage): Buffer => {
      resp.id = msg.id;
      resp.qr = true;
      resp.opcode = msg.opcode;
      resp.rd = msg.rd;
      if (resp.questions.length === 0) resp.questions = msg.questions.map((q) => ({ ...q }));
      if (!msg.edns) resp.edns = undefined;
      else if (!resp.edns) resp.edns = { udpSize: Math.min(4096, Math.max(512, msg.edns.udpSize)), version: 0, dnssecOk: msg.edns.dnssecOk, options: [] };
      else resp.edns = { ...resp.edns, udpSize: Math.min(4096, Math.max(512, resp.edns.udpSize)), options: resp.edns.options.filter((o) => o.code !== 10) };
      let out: Buffer;
      try {
        out = encodeMessage(resp, { maxSize });
      } catch {
        out = encodeMessage({ ...reply(msg, RCODE.SERVFAIL), id: msg.id }, { maxSize });
      }
      // Echo the question's original case (0x20 resolvers check it).
      const ql = questionWireLength(buf);
      if (ql > 0 && msg.questions.length === 1 && resp.questions.length >= 1 && out.length >= 12 + ql && buf.length >= 12 + ql) {
        const a = out.subarray(12, 12 + ql);
        const b = buf.subarray(12, 12 + ql);
        if (a.toString('latin1').toLowerCase() === b.toString('latin1').toLowerCase()) b.copy(out, 12);
      }
      return out;
    };
    if (msg.opcode !== 0) return finish({ ...reply(msg, RCODE.NOTIMP), questions: msg.questions });
    if (msg.questions.length !== 1) return finish(reply(msg, RCODE.FORMERR));
    if (msg.edns && msg.edns.version > 0) {
      const r = reply(msg, 16); // BADVERS
      r.questions = [];
      return finish(r);
    }
    const cfg = current;
    if (!cfg) return finish(reply(msg, RCODE.SERVFAIL));
    const q = msg.questions[0]!;
    let best: BlockInstance | undefined;
    let bestZone = '';
    for (const b of cfg.byPort.get(configuredPort) ?? []) {
      for (const z of b.zones) {
        if (isSubdomain(q.name, z) && (best === undefined || z.length > bestZone.length)) {
          best = b;
          bestZone = z;
        }
      }
    }
    if (!best) return finish(reply(msg, RCODE.REFUSED));
    if (q.type === TYPE.AXFR || q.type === TYPE.IXFR) return finish(reply(msg, RCODE.REFUSED));
    const req: DnsRequest = { msg, question: q, client, zone: bestZone };
    requestInfos.set(req, { size: buf.length, start: process.hrtime.bigint(), server: `dns://:${actualPort}` });
    cfg.inflight++;
    try {
      const resp = await best.handler(req);
      return finish(resp);
    } catch (e) {
      dnsLog(shared, 'ERROR', `${q.name} ${q.type}: ${(e as Error).message ?? e}`);
      return finish(reply(msg, RCODE.SERVFAIL));
    } finally {
      if (--cfg.inflight === 0) cfg.drained?.();
    }
  }

  // ---- listeners

  async function bindListener(configuredPort: number): Promise<Listener> {
    const family = net.isIPv6(host) ? 'udp6' : 'udp4';
    for (let attempt = 0; ; attempt++) {
      const udp = dgram.createSocket({ type: family, reuseAddr: false });
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(configuredPort, host, () => {
          udp.off('error', reject);
          resolve();
        });
      });
      const port = udp.address().port;
      const tcp = net.createServer();
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(port, host, () => {
            tcp.off('error', reject);
            resolve();
          });
        });
      } catch (e) {
        udp.close();
        if (configuredPort === 0 && attempt < 10) continue;
        throw e;
      }
      const l: Listener = { configuredPort, port, udp, tcp, conns: new Set() };
      udp.on('error', (e) => dnsLog(shared, 'ERROR', `udp listener :${port}: ${e.message}`));
      tcp.on('error', (e) => dnsLog(shared, 'ERROR', `tcp listener :${port}: ${e.message}`));
      udp.on('message', (data, rinfo) => {
        handle(data, configuredPort, port, { address: rinfo.address, port: rinfo.port, protocol: 'udp' })
          .then((out) => {
            if (out && !closed) udp.send(out, rinfo.port, rinfo.address, () => {});
          })
          .catch(() => {});
      });
      tcp.on('connection', (sock) => serveTcp(l, sock));
      return l;
    }
  }

  function serveTcp(l: Listener, sock: net.Socket): void {
    if (l.conns.size >= MAX_TCP_CONNS) {
      sock.destroy();
      return;
    }
    l.conns.add(sock);
    sock.setTimeout(TCP_IDLE_MS, () => sock.destroy());
    sock.on('error', () => {});
    sock.on('close', () => l.conns.delete(sock));
    let buf = Buffer.alloc(0);
    const client = { address: sock.remoteAddress ?? '', port: sock.remotePort ?? 0, protocol: 'tcp' as const };
    sock.on('data', (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const frame = Buffer.from(buf.subarray(2, 2 + len));
        buf = buf.subarray(2 + len);
        handle(frame, l.configuredPort, l.port, client)
          .then((out) => {
            if (!out || sock.destroyed) return;
            const hdr = Buffer.alloc(2);
            hdr.writeUInt16BE(out.length);
            sock.write(Buffer.concat([hdr, out]));
          })
          .catch(() => {});
      }
    });
  }

  function closeListener(l: Listener): Promise<void> {
    return new Promise<void>((resolve) => {
      let n = 2;
      const one = () => --n === 0 && resolve();
      try {
        l.udp.close(one);
      } catch {
        one();
      }
      for (const c of l.conns) c.destroy();
      l.tcp.close(() => one());
    });
  }

  // ---- configuration

  async function buildConfig(text: string): Promise<{ cfg: Config; newListeners: Listener[] }> {
    let parsed: ServerBlock[] = parseCorefile(text, { file: fileLabel });
    if (opts.portOverride !== undefined) parsed = parsed.map((b) => ({ ...b, port: opts.portOverride! }));
    // Validate directives before binding anything.
    const ordered = parsed.map((b) => orderDirectives(b.directives, opts.plugins));
    const newListeners: Listener[] = [];
    const shutdowns: Array<() => unknown> = [];
    const cfg: Config = { text, blocks: [], byPort: new Map(), shutdowns, inflight: 0 };
    try {
      for (const b of parsed) {
        if (!listeners.has(b.port) && !newListeners.some((l) => l.configuredPort === b.port)) newListeners.push(await bindListener(b.port));
      }
      for (let bi = 0; bi < parsed.length; bi++) {
        const b = parsed[bi]!;
        const actual = listeners.get(b.port)?.port ?? newListeners.find((l) => l.configuredPort === b.port)!.port;
        const ctx: PluginContext = { zones: b.zones, port: actual, onShutdown: (fn) => shutdowns.push(fn), shared };
        const plugins: Plugin[] = [];
        for (const { directive, setup } of ordered[bi]!) plugins.push(await setup(directive, ctx));
        let h: Handler = async () => {
          throw new NoNextPluginError(plugins.length ? plugins[plugins.length - 1]!.name : 'server');
        };
        for (let i = plugins.length - 1; i >= 0; i--) {
          const p = plugins[i]!;
          const inner = p.handler(h);
          h = async (req) => {
            const m = await inner(req);
            if (m && !responders.has(m)) responders.set(m, p.name);
            return m;
          };
        }
        const inst: BlockInstance = { zones: b.zones, port: b.port, plugins, handler: h, location: b.location };
        cfg.blocks.push(inst);
        if (!cfg.byPort.has(b.port)) cfg.byPort.set(b.port, []);
        cfg.byPort.get(b.port)!.push(inst);
      }
    } catch (e) {
      await runShutdowns(shutdowns);
      await Promise.all(newListeners.map(closeListener));
      throw e;
    }
    return { cfg, newListeners };
  }

  async function runShutdowns(fns: Array<() => unknown>): Promise<void> {
    for (const fn of fns) {
      try {
        await fn();
      } catch (e) {
        dnsLog(shared, 'ERROR', `shutdown: ${(e as Error).message}`);
      }
    }
  }

  async function drain(cfg: Config, maxMs: number): Promise<void> {
    if (cfg.inflight === 0) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, maxMs);
      cfg.drained = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** Plugins whose start() must see the new configuration serving (loop probes it, reload takes over the watcher). */
  const START_AFTER_SWAP = new Set(['loop', 'reload']);

  async function startPlugins(cfg: Config, late: boolean): Promise<void> {
    await Promise.all(
      cfg.blocks.flatMap((b) =>
        b.plugins
          .filter((p) => START_AFTER_SWAP.has(p.name) === late)
          .map(async (p) => {
            try {
              await p.start?.();
            } catch (e) {
              dnsLog(shared, 'ERROR', `plugin/${p.name}: start: ${(e as Error).message}`);
            }
          }),
      ),
    );
  }

  /** On reload: gives the new plugins (e.g. kubernetes informers) up to maxMs to become ready before they serve. */
  async function waitReady(cfg: Config, maxMs: number): Promise<void> {
    const deadline = Date.now() + maxMs;
    const pending = () =>
      cfg.blocks.some((b) =>
        b.plugins.some((p) => {
          try {
            return p.ready ? !p.ready() : false;
          } catch {
            return false;
          }
        }),
      );
    while (pending() && Date.now() < deadline && !closed) await new Promise((r) => setTimeout(r, 50));
  }

  async function apply(text: string): Promise<void> {
    if (closed) throw new Error('server is closed');
    const { cfg, newListeners } = await buildConfig(text);
    const old = current;
    await startPlugins(cfg, false);
    if (old) await waitReady(cfg, 5000);
    if (closed) {
      await runShutdowns(cfg.shutdowns);
      await Promise.all(newListeners.map(closeListener));
      throw new Error('server is closed');
    }
    for (const l of newListeners) listeners.set(l.configuredPort, l);
    current = cfg;
    // Listeners for ports no longer configured.
    for (const [p, l] of [...listeners]) {
      if (!cfg.byPort.has(p)) {
        listeners.delete(p);
        await closeListener(l);
      }
    }
    if (old) {
      await drain(old, 5000);
      await runShutdowns(old.shutdowns);
    }
    await startPlugins(cfg, true);
  }

  const control: ServerControl = {
    reload: (text) => server.reload(text),
    corefilePath,
    currentText: () => current?.text ?? initialText,
    actualPort: (p) => listeners.get(p)?.port,
    host,
  };
  shared.set(SHARED.server, control);
  shared.set(SHARED.plugins, () => current?.blocks.flatMap((b) => b.plugins) ?? []);
  shared.set(SHARED.fatal, (err: Error) => {
    if (closed) return;
    dnsLog(shared, 'FATAL', err.message);
    void server.close(err);
  });

  const server = {
    get port() {
      const first = current?.blocks[0];
      return first ? (listeners.get(first.port)?.port ?? 0) : 0;
    },
    ports: () => [...listeners.values()].map((l) => l.port),
    blocks: () => current?.blocks ?? [],
    plugin<T extends Plugin = Plugin>(name: string, index?: number): T | undefined {
      const bs = current?.blocks ?? [];
      for (let i = 0; i < bs.length; i++) {
        if (index !== undefined && i !== index) continue;
        const p = bs[i]!.plugins.find((x) => x.name === name);
        if (p) return p as T;
      }
      return undefined;
    },
    reload(text: string): Promise<void> {
      const next = reloading.then(() => apply(text));
      reloading = next.catch(() => {});
      return next;
    },
    async close(err?: Error): Promise<void> {
      if (closed) return;
      closed = true;
      shared.set(SHARED.finalShutdown, true);
      await reloading;
      const cfg = current;
      if (cfg) {
        // Plugins first (health's lameduck keeps DNS serving), then listeners.
        await runShutdowns(cfg.shutdowns);
      }
      await Promise.all([...listeners.values()].map(closeListener));
      listeners.clear();
      resolveDone(err);
    },
    done,
    shared,
  };

  try {
    await apply(initialText);
  } catch (e) {
    closed = true;
    await Promise.all([...listeners.values()].map(closeListener));
    throw e;
  }
  dnsLog(shared, 'INFO', `k8ts DNS serving ${current!.blocks.map((b) => b.zones.map((z) => `${z}:${listeners.get(b.port)?.port}`).join(' ')).join(' ')}`);
  return server as DnsServer;
}

/** SHA512 of a Corefile text, as the reload plugin logs it. */
export function corefileSha512(text: string): string {
  return createHash('sha512').update(text).digest('hex');
}
