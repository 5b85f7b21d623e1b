// The node agent's server: kubelet's API on :10250, over HTTPS with client
// certificates, for what only the node can do for a pod:
//   GET /healthz                                  "ok" (no client certificate needed)
//   GET /pods                                     PodList of the pods this agent runs
//   GET /containerLogs/{ns}/{pod}/{container}     CRI log file -> text (logs.ts)
//   GET /exec/{ns}/{pod}[/{uid}]/{container}      WebSocket, remotecommand.ts
//   GET /attach/{ns}/{pod}[/{uid}]/{container}    WebSocket, remotecommand.ts
//   GET /portForward/{ns}/{pod}[/{uid}]           WebSocket, portforward.ts
//
// Who may call: a client certificate signed by the cluster CA (`tls.ca`)
// whose CN is kube-apiserver-kubelet-client (the API server's kubelet client
// certificate, as kubeadm names it; see KUBELET_CLIENT_CN), or a member of
// system:masters (the cluster admin, handy with curl). Anything else gets 401
// (no verified certificate) or 403. `authorize` replaces that rule.
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type net from 'node:net';
import { PassThrough } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { WebSocketServer, type WebSocket } from 'ws';
import { logger } from '../../util/log.js';
import type { ContainerRuntime, ContainerStatus, ExecOptions, ExecProcess } from '../runtime/types.js';
import { LogOptionsError, parseLogOptions, streamLog } from './logs.js';
import { PORTFORWARD_PROTOCOLS, PortForwardError, SPDY_TUNNEL_PROTOCOL, parsePorts, servePortForward } from './portforward.js';
import { serveSpdyPortForward } from './spdy.js';
import { CHANNEL_PROTOCOLS, pickProtocol, serveRemoteCommand, streamFlags } from './remotecommand.js';

const log = logger('agent/server');

/** CN of the API server's client certificate for talking to node agents (kubeadm's name). */
export const KUBELET_CLIENT_CN = 'kube-apiserver-kubelet-client';
const SYSTEM_MASTERS = 'system:masters';
const OID_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

export type Obj = Record<string, any>;

export interface AgentUser {
  name: string;
  groups: string[];
}

export interface ContainerLookup {
  pod: Obj;
  status: ContainerStatus;
  previous?: ContainerStatus;
}

export interface AgentServerOptions {
  port: number;
  bindAddress: string;
  /** PEM serving certificate and key, and the CA client certificates must chain to. */
  tls: { cert: string; key: string; ca: string };
  pods: {
    /** PodWorkers.containerOf: the pod and its container's current (and previous) status. */
    containerOf(namespace: string, name: string, container?: string): ContainerLookup | undefined;
    /** The pods this agent runs (for GET /pods); empty when absent. */
    list?(): Obj[];
  };
  runtime: Pick<ContainerRuntime, 'exec'>;
  /**
   * Attaches to a container's main process. Without it, attach streams the
   * container's output (its log, from now on) and refuses stdin.
   */
  attach?(containerId: string, opts: ExecOptions): Promise<ExecProcess>;
  /** A TCP connection to the pod's port (the agent connects to podIP:port). */
  portForward(pod: { uid: string; namespace: string; name: string; pod: Obj }, port: number): net.Socket | Promise<net.Socket>;
  /** Replaces the default rule (KUBELET_CLIENT_CN or system:masters). */
  authorize?(user: AgentUser, req: IncomingMessage): boolean;
  /** Poll period of log follow (default 100 ms). */
  logPollMs?: number;
}

export interface AgentServer {
  port: number;
  close(): Promise<void>;
}

/** The user of a verified client certificate (CN, O values), or undefined. */
export function peerUser(socket: net.Socket | undefined): AgentUser | undefined {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert?.subject) return undefined;
  const eku = cert.ext_key_usage;
  if (eku?.length && !eku.includes(OID_CLIENT_AUTH) && !eku.includes('2.5.29.37.0')) return undefined;
  const vals = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  const name = vals(cert.subject.CN)[0];
  return name ? { name, groups: vals(cert.subject.O) } : undefined;
}

export const defaultAuthorize = (u: AgentUser): boolean => u.name === KUBELET_CLIENT_CN || u.groups.includes(SYSTEM_MASTERS);

// ---------------------------------------------------------------- errors --

class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}
const badRequest = (m: string) => new HttpError(400, 'BadRequest', m);
const notFound = (m: string) => new HttpError(404, 'NotFound', m);

export function statusBody(code: number, reason: string, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

function sendError(res: ServerResponse, e: unknown): void {
  const he = e instanceof HttpError ? e : new HttpError(500, 'InternalError', (e as Error)?.message ?? String(e));
  if (he.code === 500) log.error('request failed', { err: he.message });
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = statusBody(he.code, he.reason, he.message);
  res.writeHead(he.code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function rejectUpgrade(socket: net.Socket, e: unknown): void {
  const he = e instanceof HttpError ? e : new HttpError(500, 'InternalError', (e as Error)?.message ?? String(e));
  const body = statusBody(he.code, he.reason, he.message);
  const text = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error' }[he.code] ?? 'Error';
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${he.code} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  setTimeout(() => socket.destroy(), 1000).unref();
}

// ---------------------------------------------------------------- routing --

interface Route {
  kind: 'healthz' | 'pods' | 'logs' | 'exec' | 'attach' | 'portforward';
  namespace?: string;
  pod?: string;
  uid?: string;
  container?: string;
}

export function route(pathname: string): Route | undefined {
  const p = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (p.length === 1 && p[0] === 'healthz') return { kind: 'healthz' };
  if (p.length === 1 && p[0] === 'pods') return { kind: 'pods' };
  if (p[0] === 'containerLogs' && p.length === 4) return { kind: 'logs', namespace: p[1], pod: p[2], container: p[3] };
  if ((p[0] === 'exec' || p[0] === 'attach') && (p.length === 4 || p.length === 5)) {
    return { kind: p[0], namespace: p[1], pod: p[2], uid: p.length === 5 ? p[3] : undefined, container: p[p.length - 1] };
  }
  if (p[0] === 'portForward' && (p.length === 3 || p.length === 4)) return { kind: 'portforward', namespace: p[1], pod: p[2], uid: p[3] };
  return undefined;
}

export async function startAgentServer(opts: AgentServerOptions): Promise<AgentServer> {
  const authorize = opts.authorize ?? defaultAuthorize;

  const lookup = (r: Route): ContainerLookup => {
    const found = opts.pods.containerOf(r.namespace!, r.pod!, r.container);
    if (!found) {
      if (r.container) throw notFound(`container "${r.container}" in pod "${r.pod}" (namespace "${r.namespace}") is not known to this node`);
      throw notFound(`pod "${r.pod}" (namespace "${r.namespace}") is not known to this node`);
    }
    if (r.uid && found.pod.metadata?.uid !== r.uid) throw notFound(`pod "${r.pod}" with UID ${r.uid} is not known to this node`);
    return found;
  };

  const check = (req: IncomingMessage): void => {
    const user = peerUser(req.socket);
    if (!user) throw new HttpError(401, 'Unauthorized', 'Unauthorized');
    if (!authorize(user, req)) throw new HttpError(403, 'Forbidden', `Forbidden (user=${user.name}, verb=${(req.method ?? 'get').toLowerCase()}, resource=nodes, subresource=proxy)`);
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const url = new URL(req.url ?? '/', 'https://agent');
      const r = route(url.pathname);
      if (r?.kind === 'healthz') {
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('ok');
        return;
      }
      check(req);
      if (!r) throw notFound(`the path ${url.pathname} is not served by the node agent`);
      if (r.kind === 'pods') {
        const body = JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items: opts.pods.list?.() ?? [] });
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(body);
        return;
      }
      if (r.kind === 'logs') return await serveLogs(r, url.searchParams, req, res);
      throw new HttpError(400, 'BadRequest', `Upgrade request required: ${r.kind} needs a WebSocket (Upgrade: websocket; subprotocol ${r.kind === 'portforward' ? PORTFORWARD_PROTOCOLS[0] : CHANNEL_PROTOCOLS[0]})`);
    } catch (e) {
      sendError(res, e);
    }
  };

  const serveLogs = async (r: Route, q: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let lo;
    try {
      lo = parseLogOptions(q);
    } catch (e) {
      if (e instanceof LogOptionsError) throw badRequest(e.message);
      throw e;
    }
    const found = lookup(r);
    let st = found.status;
    if (lo.previous) {
      if (!found.previous) throw badRequest(`previous terminated container "${r.container}" in pod "${r.pod}" not found`);
      st = found.previous;
    }
    const id = st.id;
    const ac = new AbortController();
    res.on('close', () => ac.abort());
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' });
    res.flushHeaders();
    await streamLog(
      {
        ...lo,
        follow: lo.follow && !lo.previous,
        path: st.logPath,
        signal: ac.signal,
        pollMs: opts.logPollMs,
        stillRunning: () => {
          const now = opts.pods.containerOf(r.namespace!, r.pod!, r.container);
          return !!now && now.status.id === id && (now.status.state === 'running' || now.status.state === 'created');
        },
      },
      {
        write: (s) =>
          new Promise<boolean>((resolve) => {
            if (res.destroyed || ac.signal.aborted) return resolve(false);
            if (res.write(s)) resolve(true);
            else res.once('drain', () => resolve(true));
          }),
      },
    );
    res.end();
  };

  // ------------------------------------------------------------ upgrades --

  const protocolsFor = new WeakMap<IncomingMessage, string[]>();
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered, req) => pickProtocol(offered, protocolsFor.get(req) ?? CHANNEL_PROTOCOLS),
  });

  const onUpgrade = (req: IncomingMessage, socket: net.Socket, head: Buffer): void => {
    socket.on('error', () => {});
    try {
      check(req);
      const url = new URL(req.url ?? '/', 'https://agent');
      const r = route(url.pathname);
      if (!r || !['exec', 'attach', 'portforward'].includes(r.kind)) throw notFound(`the path ${url.pathname} cannot be upgraded`);
      const upgrade = (req.headers.upgrade ?? '').toLowerCase();
      const q = url.searchParams;
      const found = lookup(r);
      if (upgrade === 'spdy/3.1' && r.kind === 'portforward') {
        // kubectl before 1.31: port-forward over plain SPDY.
        const pod = found.pod;
        const ref = `${r.namespace}/${r.pod}, uid ${pod.metadata?.uid ?? ''}`;
        socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n');
        socket.setNoDelay(true);
        const t = {
          write: (b: Buffer) => void socket.write(b),
          close: () => socket.destroy(),
          onData: (cb: (b: Buffer) => void) => {
            if (head.length) setImmediate(() => cb(head));
            socket.on('data', cb);
          },
          onClose: (cb: () => void) => void socket.on('close', cb),
        };
        serveSpdyPortForward(t, (port) => opts.portForward({ uid: pod.metadata?.uid ?? '', namespace: r.namespace!, name: r.pod!, pod }, port), ref);
        return;
      }
      if (upgrade !== 'websocket') {
        throw badRequest(`unsupported upgrade protocol ${JSON.stringify(req.headers.upgrade ?? '')}: the node agent speaks WebSocket (kubectl 1.30 or newer)`);
      }
      let start: () => void;
      if (r.kind === 'portforward') {
        const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((x) => x.trim());
        // Over SPDY the ports come in each stream's headers, not in the query.
        const ports = (() => {
          if (offered.includes(SPDY_TUNNEL_PROTOCOL)) return [];
          try {
            return parsePorts(q);
          } catch (e) {
            if (e instanceof PortForwardError) throw badRequest(e.message);
            throw e;
          }
        })();
        protocolsFor.set(req, PORTFORWARD_PROTOCOLS);
        const pod = found.pod;
        const ref = { uid: pod.metadata?.uid ?? '', namespace: r.namespace!, name: r.pod! };
        start = () =>
          wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
            if (ws.protocol === SPDY_TUNNEL_PROTOCOL) {
              serveSpdyPortForward(
                {
                  write: (b) => ws.readyState === ws.OPEN && ws.send(b, { binary: true }),
                  close: () => ws.close(1000),
                  onData: (cb) =>
                    void ws.on('message', (d: Buffer | ArrayBuffer | Buffer[]) => cb(Array.isArray(d) ? Buffer.concat(d) : Buffer.isBuffer(d) ? d : Buffer.from(d))),
                  onClose: (cb) => void ws.on('close', cb),
                },
                (port) => opts.portForward({ ...ref, pod }, port),
                `${ref.namespace}/${ref.name}, uid ${ref.uid}`,
              );
              return;
            }
            servePortForward(ws, ports, (port) => opts.portForward({ ...ref, pod }, port), `${ref.namespace}/${ref.name}, uid ${ref.uid}`).catch((e) => {
              log.error('port-forward failed', { pod: `${ref.namespace}/${ref.name}`, err: (e as Error).message });
              ws.terminate();
            });
          });
      } else {
        const flags = streamFlags(q);
        const argv = q.getAll('command');
        if (r.kind === 'exec' && !argv.length) throw badRequest('you must specify at least one command for the container');
        if (!flags.stdin && !flags.stdout && !flags.stderr) throw badRequest('you must specify at least one of stdin, stdout, stderr');
        const st = found.status;
        if (st.state !== 'running') throw badRequest(`container ${r.container} is not running (state ${st.state})`);
        if (r.kind === 'attach' && !opts.attach && flags.stdin) {
          throw badRequest(`attach with stdin is not supported by this node's runtime; use exec`);
        }
        protocolsFor.set(req, CHANNEL_PROTOCOLS);
        start = () =>
          wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
            const run = (io: { stdin?: PassThrough; resize: AsyncIterable<{ width: number; height: number }> }): Promise<ExecProcess> => {
              const eo: ExecOptions = { stdin: io.stdin, tty: flags.tty, resize: io.resize };
              if (r.kind === 'exec') return opts.runtime.exec(st.id, argv, eo);
              if (opts.attach) return opts.attach(st.id, eo);
              return Promise.resolve(logAttach(r, st));
            };
            serveRemoteCommand(ws, flags, argv, run).catch((e) => {
              log.error(`${r.kind} failed`, { pod: `${r.namespace}/${r.pod}`, err: (e as Error).message });
              ws.terminate();
            });
          });
      }
      start();
    } catch (e) {
      rejectUpgrade(socket, e);
    }
  };

  /** Attach without runtime support: the container's output from now on, until it stops. */
  const logAttach = (r: Route, st: ContainerStatus): ExecProcess => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const ac = new AbortController();
    const exit = streamLog(
      {
        follow: true,
        timestamps: false,
        path: st.logPath,
        sinceMs: Date.now(),
        signal: ac.signal,
        pollMs: opts.logPollMs,
        stillRunning: () => {
          const now = opts.pods.containerOf(r.namespace!, r.pod!, r.container);
          return !!now && now.status.id === st.id && now.status.state === 'running';
        },
      },
      { write: (s) => stdout.write(s) || true },
    ).then(() => {
      stdout.end();
      stderr.end();
      return opts.pods.containerOf(r.namespace!, r.pod!, r.container)?.status.exitCode ?? 0;
    });
    return { stdout, stderr, exit, kill: () => ac.abort() };
  };

  const server = https.createServer(
    { cert: opts.tls.cert, key: opts.tls.key, ca: opts.tls.ca, requestCert: true, rejectUnauthorized: false },
    (req, res) => void onRequest(req, res),
  );
  server.on('upgrade', onUpgrade);
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.bindAddress, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  log.info('node agent server listening', { address: opts.bindAddress, port });
  return {
    port,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
