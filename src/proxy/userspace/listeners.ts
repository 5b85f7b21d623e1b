// The sockets of the userspace proxy: one TCP server or UDP socket per
// listener, forwarding each connection (or UDP session) to the endpoint the
// router picks at the moment it opens. The router (the backend) owns the
// service state, so endpoint changes apply to the next connection at once.
import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from '../../util/log.js';
import type { EndpointInfo } from '../types.js';
import type { ListenerSpec } from './desired.js';
import { endpointKey } from './scheduler.js';

/** What a listener asks the backend for each new connection or session. */
export interface Router {
  /**
   * An endpoint for a new connection from `clientIP` (not one of `exclude`),
   * with a release function to call when the connection ends; undefined when
   * there is none (the connection is then refused).
   */
  open(spec: ListenerSpec, clientIP: string, kind: 'active' | 'inactive', exclude?: Set<string>): { ep: EndpointInfo; release: () => void } | undefined;
  /** An endpoint could not be reached: forget the client's affinity to it. */
  failed(spec: ListenerSpec, clientIP: string, ep: EndpointInfo): void;
}

export interface Listener {
  spec: ListenerSpec;
  /** Open connections or sessions. */
  readonly open: number;
  /** Stops listening and ends what is open. */
  close(): Promise<void>;
}

/** "::ffff:10.0.0.1" -> "10.0.0.1" */
export const plainIPv4 = (a: string | undefined): string => (a ?? '').replace(/^::ffff:/i, '');

function bound<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<undefined>((r) => (t = setTimeout(() => r(undefined), ms)))]).finally(() => clearTimeout(t));
}

export interface TcpOptions {
  /** Connect timeouts of successive attempts (each attempt tries another endpoint). */
  connectTimeoutsMs: number[];
}

export class TcpListener implements Listener {
  private readonly server: net.Server;
  private readonly conns = new Set<net.Socket>();

  private constructor(
    public spec: ListenerSpec,
    private readonly router: Router,
    private readonly opts: TcpOptions,
    private readonly log: Logger,
  ) {
    this.server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (c) => void this.handle(c));
    this.server.on('error', (err) => this.log.warn('listener error', { listener: this.spec.id, err }));
  }

  static async start(spec: ListenerSpec, router: Router, opts: TcpOptions, log: Logger): Promise<TcpListener> {
    const l = new TcpListener(spec, router, opts, log);
    await new Promise<void>((resolve, reject) => {
      l.server.once('error', reject);
      l.server.listen({ host: spec.ip, port: spec.port, exclusive: true }, () => {
        l.server.off('error', reject);
        resolve();
      });
    });
    return l;
  }

  get open(): number {
    return this.conns.size;
  }

  private async handle(client: net.Socket): Promise<void> {
    this.conns.add(client);
    client.on('error', () => {});
    client.once('close', () => this.conns.delete(client));
    const clientIP = plainIPv4(client.remoteAddress);
    const tried = new Set<string>();
    for (const timeout of this.opts.connectTimeoutsMs) {
      if (client.destroyed) return;
      const picked = this.router.open(this.spec, clientIP, 'active', tried);
      if (!picked) break;
      const upstream = await connect(picked.ep, timeout);
      if (!upstream) {
        picked.release();
        tried.add(endpointKey(picked.ep));
        this.router.failed(this.spec, clientIP, picked.ep);
        continue;
      }
      this.splice(client, upstream, picked.release);
      return;
    }
    // No endpoint (or none reachable): refuse at once, as REJECT does (a TCP reset).
    client.resetAndDestroy();
  }

  private splice(client: net.Socket, upstream: net.Socket, release: () => void): void {
    this.conns.add(upstream);
    let released = false;
    const done = () => {
      if (!released) {
        released = true;
        release();
      }
    };
    upstream.once('close', () => {
      this.conns.delete(upstream);
      done();
      if (!client.destroyed && !client.writableEnded) client.destroy();
    });
    client.once('close', () => {
      if (!upstream.destroyed && !upstream.writableEnded) upstream.destroy();
    });
    // An error on one side resets the other.
    upstream.on('error', () => {
      if (!client.destroyed) client.resetAndDestroy();
    });
    client.on('error', () => {
      if (!upstream.destroyed) upstream.resetAndDestroy();
    });
    if (client.destroyed) {
      upstream.destroy();
      return;
    }
    // Half-closes travel through (pipe ends the other side's writable on 'end').
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
    // Each socket closes itself once both of its directions are done (autoDestroy).
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const c of this.conns) c.destroy();
    await bound(closed, 2000);
  }
}

function connect(ep: EndpointInfo, timeoutMs: number): Promise<net.Socket | undefined> {
  return new Promise((resolve) => {
    const s = net.connect({ host: ep.ip, port: ep.port, allowHalfOpen: true });
    const t = setTimeout(() => {
      s.destroy();
      resolve(undefined);
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', () => {
      clearTimeout(t);
      s.destroy();
      resolve(undefined);
    });
  });
}

export interface UdpOptions {
  /** A session ends after this long without a datagram either way. */
  idleTimeoutMs: number;
}

interface UdpSession {
  ep: EndpointInfo;
  upstream: dgram.Socket;
  last: number;
  release: () => void;
}

/**
 * UDP: a session per client address:port, each with its own socket towards
 * the endpoint; replies go back to the client from the listener's socket (so
 * they come from the service address and port).
 */
export class UdpListener implements Listener {
  private readonly sessions = new Map<string, UdpSession>();
  private readonly sweeper: NodeJS.Timeout;

  private constructor(
    public spec: ListenerSpec,
    private readonly socket: dgram.Socket,
    private readonly router: Router,
    private readonly opts: UdpOptions,
    private readonly log: Logger,
  ) {
    socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    socket.on('error', (err) => this.log.warn('listener error', { listener: this.spec.id, err }));
    this.sweeper = setInterval(() => this.sweep(), Math.max(20, Math.floor(opts.idleTimeoutMs / 4)));
    this.sweeper.unref();
  }

  static async start(spec: ListenerSpec, router: Router, opts: UdpOptions, log: Logger): Promise<UdpListener> {
    const socket = dgram.createSocket({ type: 'udp4' });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: spec.ip, port: spec.port, exclusive: true }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new UdpListener(spec, socket, router, opts, log);
  }

  get open(): number {
    return this.sessions.size;
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const key = `${rinfo.address}:${rinfo.port}`;
    let s = this.sessions.get(key);
    if (!s) {
      const picked = this.router.open(this.spec, plainIPv4(rinfo.address), 'inactive');
      if (!picked) return; // no endpoint: dropped (userspace cannot answer with an ICMP error)
      const upstream = dgram.createSocket({ type: 'udp4' });
      const session: UdpSession = { ep: picked.ep, upstream, last: Date.now(), release: picked.release };
      upstream.on('error', () => this.end(key, session));
      upstream.on('message', (reply, from) => {
        if (from.address !== session.ep.ip || from.port !== session.ep.port) return;
        session.last = Date.now();
        this.socket.send(reply, rinfo.port, rinfo.address);
      });
      this.sessions.set(key, session);
      s = session;
    }
    s.last = Date.now();
    s.upstream.send(msg, s.ep.port, s.ep.ip, (err) => {
      if (err) this.end(key, s!);
    });
  }

  private end(key: string, s: UdpSession): void {
    if (this.sessions.get(key) !== s) return;
    this.sessions.delete(key);
    s.release();
    try {
      s.upstream.close();
    } catch {
      /* already closed */
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, s] of this.sessions) if (now - s.last >= this.opts.idleTimeoutMs) this.end(k, s);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    for (const [k, s] of this.sessions) this.end(k, s);
    await bound(new Promise<void>((r) => this.socket.close(() => r())), 2000);
  }
}
