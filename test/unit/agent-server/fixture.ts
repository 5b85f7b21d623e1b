// A node agent server on 127.0.0.1 with a fake pod table and a runtime whose
// exec runs real local processes, plus TLS material from the cluster PKI.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { type AgentServer, KUBELET_CLIENT_CN, type ContainerLookup, startAgentServer } from '../../../src/agent/server/index.js';
import type { ContainerStatus, ExecOptions, ExecProcess } from '../../../src/agent/runtime/types.js';
import { createCA, issueClientCert, issueServingCert } from '../../../src/apiserver/pki.js';

export interface Fixture {
  ca: { cert: string; key: string };
  client: { cert: string; key: string };
  other: { cert: string; key: string };
  admin: { cert: string; key: string };
  server: AgentServer;
  dir: string;
  logPath: string;
  prevLogPath: string;
  status: ContainerStatus;
  previous?: ContainerStatus;
  resizes: Array<{ width: number; height: number }>;
  execs: Array<{ id: string; argv: string[]; tty?: boolean }>;
  echo: net.Server;
  echoPort: number;
  close(): Promise<void>;
}

export function criLine(ts: Date, stream: 'stdout' | 'stderr', text: string, partial = false): string {
  return `${ts.toISOString().replace('Z', '000000Z')} ${stream} ${partial ? 'P' : 'F'} ${text}\n`;
}

export function fakeExec(id: string, argv: string[], opts: ExecOptions | undefined, resizes: Fixture['resizes']): ExecProcess {
  const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  if (opts?.stdin) opts.stdin.pipe(child.stdin);
  else child.stdin.end();
  child.stdin.on('error', () => {});
  if (opts?.resize) {
    void (async () => {
      for await (const r of opts.resize!) resizes.push(r);
    })();
  }
  const exit = new Promise<number>((resolve) => {
    child.on('error', () => resolve(127));
    child.on('exit', (code, sig) => resolve(code ?? (sig ? 128 : 1)));
  });
  return { stdout: child.stdout, stderr: child.stderr, exit, kill: (s) => child.kill(s) };
}

export async function startFixture(): Promise<Fixture> {
  const ca = createCA();
  const serving = issueServingCert(ca, { cn: 'node1', dnsNames: ['localhost'], ips: ['127.0.0.1'] });
  const client = issueClientCert(ca, { cn: KUBELET_CLIENT_CN });
  const other = issueClientCert(ca, { cn: 'system:node:node2', groups: ['system:nodes'] });
  const admin = issueClientCert(ca, { cn: 'kubernetes-admin', groups: ['system:masters'] });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k8ts-agent-server-'));
  const logPath = path.join(dir, 'c1', '1.log');
  const prevLogPath = path.join(dir, 'c1', '0.log');
  fs.mkdirSync(path.dirname(logPath));
  fs.writeFileSync(prevLogPath, criLine(new Date(), 'stdout', 'previous run'));
  const echo = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const echoPort = (echo.address() as net.AddressInfo).port;

  const f = {
    ca,
    client,
    other,
    admin,
    dir,
    logPath,
    prevLogPath,
    resizes: [],
    execs: [],
    echo,
    echoPort,
    status: {
      id: 'c1-1',
      sandboxId: 's1',
      name: 'app',
      attempt: 1,
      image: 'busybox',
      imageId: 'busybox',
      state: 'running',
      createdAt: new Date().toISOString(),
      logPath,
    },
    previous: {
      id: 'c1-0',
      sandboxId: 's1',
      name: 'app',
      attempt: 0,
      image: 'busybox',
      imageId: 'busybox',
      state: 'exited',
      exitCode: 1,
      createdAt: new Date().toISOString(),
      logPath: prevLogPath,
    },
  } as unknown as Fixture;
  const pod = { metadata: { namespace: 'default', name: 'web', uid: 'uid-1' }, spec: { containers: [{ name: 'app' }] }, status: { podIP: '127.0.0.1' } };
  f.server = await startAgentServer({
    port: 0,
    bindAddress: '127.0.0.1',
    tls: { cert: serving.cert, key: serving.key, ca: ca.cert },
    pods: {
      containerOf: (ns, name, container): ContainerLookup | undefined =>
        ns === 'default' && name === 'web' && (container === undefined || container === 'app') ? { pod, status: f.status, previous: f.previous } : undefined,
      list: () => [pod],
    },
    runtime: { exec: async (id, argv, opts) => (f.execs.push({ id, argv, tty: opts?.tty }), fakeExec(id, argv, opts, f.resizes)) },
    portForward: (_pod, port) => net.connect(port === 80 ? echoPort : port, '127.0.0.1'),
    logPollMs: 20,
  });
  f.close = async () => {
    await f.server.close();
    await new Promise<void>((r) => echo.close(() => r()));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return f;
}

export function get(port: number, p: string, cert?: { cert: string; key: string }, ca?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: p, ca, cert: cert?.cert, key: cert?.key, rejectUnauthorized: !!ca, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

export interface Session {
  ws: WebSocket;
  frames: Array<{ ch: number; data: Buffer }>;
  closed: Promise<{ code: number }>;
  text(ch: number): string;
  waitFor(pred: () => boolean, ms?: number): Promise<void>;
}

/** Opens a channel WebSocket and collects its frames. */
export function openWs(url: string, protocols: string[], opts: { cert: string; key: string; ca: string }): Promise<Session> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { cert: opts.cert, key: opts.key, ca: opts.ca, handshakeTimeout: 10_000 });
    const frames: Session['frames'] = [];
    const closed = new Promise<{ code: number }>((r) => ws.on('close', (code) => r({ code })));
    ws.on('message', (d: Buffer) => frames.push({ ch: d[0], data: d.subarray(1) }));
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => reject(Object.assign(new Error(`unexpected response ${res.statusCode}: ${body}`), { status: res.statusCode, body })));
    });
    ws.on('error', reject);
    ws.on('open', () =>
      resolve({
        ws,
        frames,
        closed,
        text: (ch) => Buffer.concat(frames.filter((f) => f.ch === ch).map((f) => f.data)).toString('utf8'),
        waitFor: async (pred, ms = 5000) => {
          const end = Date.now() + ms;
          while (!pred()) {
            if (Date.now() > end) throw new Error('timed out waiting');
            await new Promise((r) => setTimeout(r, 10));
          }
        },
      }),
    );
  });
}

export const withTimeout = <T>(p: Promise<T>, ms = 10_000): Promise<T> =>
  Promise.race([p, new Promise<T>((_, rej) => setTimeout(() => rej(new Error(`timed out after ${ms} ms`)), ms).unref())]);
