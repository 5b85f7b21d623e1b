// The API server's side of pods/log, pods/exec, pods/attach and
// pods/portforward: find the pod's node (spec.nodeName -> Node -> address
// and status.daemonEndpoints.kubeletEndpoint.Port), and proxy the request to
// that node's agent (src/agent/server) over TLS with the API server's kubelet
// client certificate (CN kube-apiserver-kubelet-client, issued by the
// cluster CA). The agent's serving certificate is checked against the
// cluster CA (chain only, not the name: nodes are reached by whatever
// address they report, as upstream's --kubelet-certificate-authority check
// would need every address in the certificate).
//
// kubectl logs is plain HTTP streaming and is piped through. exec, attach
// and portforward arrive as WebSocket upgrades (kubectl 1.30+ for exec and
// attach, 1.31+ for port-forward) and are passed through byte for byte once
// the agent answers 101; an agent that refuses the upgrade has its answer
// (a metav1.Status) relayed. Node's http server hands upgrade requests to
// the 'upgrade' event, not to the request handler: `routeUpgrades` feeds
// them to the ordinary handler (authentication, authorization, routing)
// with a ServerResponse bound to the raw socket.
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type net from 'node:net';
import { logger } from '../util/log.js';
import type { Obj } from './objects.js';

const log = logger('apiserver/nodeproxy');

export const KUBELET_CLIENT_CN = 'kube-apiserver-kubelet-client';
export const DEFAULT_KUBELET_PORT = 10250;

const UPGRADE_HEAD = Symbol('upgradeHead');
type UpgradeRequest = IncomingMessage & { [UPGRADE_HEAD]?: Buffer };

/**
 * Sends upgrade requests (WebSocket, SPDY) through `handler` like any other
 * request; the response object writes to the raw socket, which is closed once
 * a non-upgraded response has finished.
 */
export function routeUpgrades(server: http.Server, handler: (req: IncomingMessage, res: ServerResponse) => unknown): void {
  server.on('upgrade', (req: UpgradeRequest, socket: net.Socket, head: Buffer) => {
    socket.on('error', () => {});
    req[UPGRADE_HEAD] = head;
    const res = new http.ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket);
    res.on('finish', () => {
      res.detachSocket(socket);
      socket.end();
    });
    void handler(req, res);
  });
}

export interface NodeProxyOptions {
  /** The Node object of that name, or undefined when there is none. */
  getNode(name: string): Promise<Obj | undefined>;
  /** The API server's kubelet client certificate (PEM). */
  clientCert: { cert: string; key: string };
  /** The cluster CA, which signs agents' serving certificates. */
  ca: string;
  /** Skip verifying the agent's serving certificate (upstream's default without --kubelet-certificate-authority). */
  insecureSkipVerify?: boolean;
  /** Connect timeout to the agent (default 10 s). */
  dialTimeoutMs?: number;
}

class ProxyError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

function statusJson(code: number, reason: string, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

/** The address and port of a node's agent, as upstream's GetPreferredNodeAddress + daemonEndpoints. */
export function agentEndpoint(node: Obj): { host: string; port: number } {
  const addrs: Array<{ type: string; address: string }> = node.status?.addresses ?? [];
  let host: string | undefined;
  for (const t of ['InternalIP', 'ExternalIP', 'InternalDNS', 'ExternalDNS', 'Hostname']) {
    host = addrs.find((a) => a.type === t && a.address)?.address;
    if (host) break;
  }
  if (!host) {
    throw new ProxyError(
      503,
      'ServiceUnavailable',
      `no preferred addresses found for node "${node.metadata?.name}"; known addresses: [${addrs.map((a) => `{${a.type} ${a.address}}`).join(' ')}]`,
    );
  }
  const port = Number(node.status?.daemonEndpoints?.kubeletEndpoint?.Port) || DEFAULT_KUBELET_PORT;
  return { host, port };
}

const LOG_PARAMS = ['follow', 'previous', 'sinceSeconds', 'sinceTime', 'timestamps', 'tailLines', 'limitBytes'];

/** The container a request is for: the one named, else the pod's only (or default) container. */
function containerFor(pod: Obj, query: URLSearchParams): string {
  const named = query.get('container');
  if (named) return named;
  const containers: string[] = (pod.spec?.containers ?? []).map((c: Obj) => c.name);
  const def = pod.metadata?.annotations?.['kubectl.kubernetes.io/default-container'];
  if (def && containers.includes(def)) return def;
  if (containers.length === 1) return containers[0];
  const inits: string[] = (pod.spec?.initContainers ?? []).map((c: Obj) => c.name);
  throw new ProxyError(
    400,
    'BadRequest',
    `a container name must be specified for pod ${pod.metadata?.name}, choose one of: [${containers.join(' ')}]${inits.length ? ` or one of the init containers: [${inits.join(' ')}]` : ''}`,
  );
}

/** Upstream's checks of the pod's status before asking the node (logs, exec, attach). */
function checkContainerStatus(pod: Obj, sub: string, container: string, query: URLSearchParams): void {
  const name = pod.metadata?.name;
  const phase = pod.status?.phase;
  if ((sub === 'exec' || sub === 'attach' || sub === 'portforward') && (phase === 'Succeeded' || phase === 'Failed')) {
    throw new ProxyError(400, 'BadRequest', `cannot ${sub === 'portforward' ? 'port-forward to' : `${sub} into`} a container in a completed pod; current phase is ${phase}`);
  }
  if (sub !== 'log') return;
  const statuses: Obj[] = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.ephemeralContainerStatuses ?? [])];
  const cs = statuses.find((s) => s.name === container);
  const previous = ['true', '1'].includes(query.get('previous') ?? '');
  if (!cs) return; // the agent knows better than a status not yet written
  if (previous) {
    if (!cs.lastState?.terminated) throw new ProxyError(400, 'BadRequest', `previous terminated container "${container}" in pod "${name}" not found`);
    return;
  }
  const waiting = cs.state?.waiting;
  if (waiting && !cs.lastState?.terminated) {
    const r = waiting.reason ?? 'ContainerCreating';
    throw new ProxyError(400, 'BadRequest', `container "${container}" in pod "${name}" is waiting to start: ${r === 'ErrImagePull' || r === 'ImagePullBackOff' || r === 'InvalidImageName' ? 'trying and failing to pull image' : r}`);
  }
}

/** Path and query on the agent for a pods/<sub> request. */
export function agentPath(pod: Obj, sub: string, query: URLSearchParams): string {
  const ns = encodeURIComponent(pod.metadata.namespace);
  const name = encodeURIComponent(pod.metadata.name);
  const q = new URLSearchParams();
  if (sub === 'portforward') {
    for (const p of [...query.getAll('ports'), ...query.getAll('port')]) for (const v of p.split(',')) if (v) q.append('port', v);
    const qs = q.toString();
    return `/portForward/${ns}/${name}${qs ? `?${qs}` : ''}`;
  }
  const container = encodeURIComponent(containerFor(pod, query));
  if (sub === 'log') {
    for (const k of LOG_PARAMS) for (const v of query.getAll(k)) q.append(k, v);
    const qs = q.toString();
    return `/containerLogs/${ns}/${name}/${container}${qs ? `?${qs}` : ''}`;
  }
  for (const c of query.getAll('command')) q.append('command', c);
  for (const k of ['stdin', 'stdout', 'stderr', 'tty']) {
    const v = query.get(k);
    if (v !== null) q.set(k, v);
  }
  const qs = q.toString();
  return `/${sub}/${ns}/${name}/${container}${qs ? `?${qs}` : ''}`;
}

/** Headers worth passing to the agent: the upgrade handshake and content negotiation, never credentials. */
function forwardHeaders(req: IncomingMessage): http.OutgoingHttpHeaders {
  const h: http.OutgoingHttpHeaders = {};
  for (const k of ['accept', 'accept-encoding', 'user-agent', 'upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'x-stream-protocol-version']) {
    const v = req.headers[k];
    if (v !== undefined) h[k] = v;
  }
  const proto = req.headers['sec-websocket-protocol'];
  if (proto) {
    // The bearer token a WebSocket client may carry as a subprotocol stays here.
    const kept = String(proto)
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s && !s.startsWith('base64url.bearer.authorization.k8s.io.'));
    if (kept.length) h['sec-websocket-protocol'] = kept.join(', ');
  }
  return h;
}

/** The proxy for nodeSeam(proxy): (pod, sub, req, res). */
export function createNodeProxy(opts: NodeProxyOptions) {
  const agent = new https.Agent({
    cert: opts.clientCert.cert,
    key: opts.clientCert.key,
    ca: opts.ca,
    rejectUnauthorized: !opts.insecureSkipVerify,
    checkServerIdentity: () => undefined,
    keepAlive: false,
  });

  const fail = (req: IncomingMessage, res: ServerResponse, e: unknown): void => {
    const pe = e instanceof ProxyError ? e : new ProxyError(500, 'InternalError', (e as Error)?.message ?? String(e));
    if (res.headersSent || res.writableEnded) {
      req.socket.destroy();
      return;
    }
    const body = statusJson(pe.code, pe.reason, pe.message);
    res.writeHead(pe.code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };

  const proxy = async (pod: Obj, sub: string, req: UpgradeRequest, res: ServerResponse): Promise<void> => {
    const query = new URL(req.url ?? '/', 'https://x').searchParams;
    const nodeName: string = pod.spec.nodeName;
    const node = await opts.getNode(nodeName);
    if (!node) throw new ProxyError(404, 'NotFound', `nodes "${nodeName}" not found`);
    const { host, port } = agentEndpoint(node);
    if (sub !== 'portforward') checkContainerStatus(pod, sub, containerFor(pod, query), query);
    else checkContainerStatus(pod, sub, '', query);
    const path = agentPath(pod, sub, query);
    const isUpgrade = !!req.headers.upgrade && req[UPGRADE_HEAD] !== undefined;
    const target = `https://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;

    await new Promise<void>((resolve) => {
      const out = https.request({
        host,
        port,
        path,
        method: isUpgrade || sub === 'log' ? 'GET' : req.method,
        headers: forwardHeaders(req),
        agent,
        timeout: opts.dialTimeoutMs ?? 10_000,
      });
      let settled = false;
      const done = () => {
        if (!settled) {
          settled = true;
          resolve();
        }
      };
      out.on('timeout', () => out.destroy(new Error(`dial tcp ${host}:${port}: i/o timeout`)));
      out.on('error', (e) => {
        if (!settled) {
          log.warn('node agent unreachable', { node: nodeName, target, err: e.message });
          fail(req, res, new ProxyError(502, 'InternalError', `error dialing backend: ${(e as Error).message} (GET ${target.split('?')[0]})`));
        } else {
          req.socket.destroy();
        }
        done();
      });
      out.on('response', (ares) => {
        out.setTimeout(0);
        const headers: http.OutgoingHttpHeaders = {};
        for (const k of ['content-type', 'cache-control', 'x-content-type-options', 'content-length']) if (ares.headers[k]) headers[k] = ares.headers[k];
        res.writeHead(ares.statusCode ?? 502, headers);
        res.flushHeaders();
        ares.pipe(res);
        const stop = () => {
          ares.destroy();
          out.destroy();
        };
        res.on('close', stop);
        req.socket.on('close', stop);
        ares.on('error', () => res.destroy());
        ares.on('end', done);
        ares.on('close', done);
        settled = true;
        resolve();
      });
      out.on('upgrade', (ares, asock, ahead) => {
        out.setTimeout(0);
        settled = true;
        const csock = req.socket;
        // The client's socket now belongs to the tunnel, not to the ServerResponse.
        res.detachSocket(csock);
        let head = `HTTP/1.1 ${ares.statusCode ?? 101} ${ares.statusMessage ?? 'Switching Protocols'}\r\n`;
        for (let i = 0; i < ares.rawHeaders.length; i += 2) head += `${ares.rawHeaders[i]}: ${ares.rawHeaders[i + 1]}\r\n`;
        csock.write(head + '\r\n');
        if (ahead?.length) csock.write(ahead);
        const chead = req[UPGRADE_HEAD];
        if (chead?.length) asock.write(chead);
        asock.setTimeout(0);
        csock.setTimeout(0);
        asock.setNoDelay(true);
        csock.setNoDelay?.(true);
        asock.pipe(csock);
        csock.pipe(asock);
        const close = () => {
          asock.destroy();
          csock.destroy();
        };
        asock.on('error', close);
        csock.on('error', close);
        asock.on('close', close);
        csock.on('close', close);
        resolve();
      });
      if (!isUpgrade && req.method !== 'GET' && sub !== 'log') req.pipe(out);
      else out.end();
    });
  };

  return (pod: Obj, sub: string, req: IncomingMessage, res: ServerResponse): void => {
    proxy(pod, sub, req as UpgradeRequest, res).catch((e) => fail(req, res, e));
  };
}
