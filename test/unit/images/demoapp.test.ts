// Starts the real demoapp program (as the process runtime would: the image's
// entrypoint with the container's args) on 127.0.0.1 with a kernel-chosen
// port, and exercises it over loopback. Also drives the nginx flavor
// in-process (pages, document root, proxy_pass).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { containerArgv, resolveImage } from '../../../src/images/index.js';
import { createDemoapp, expandTemplate, parseOptions, parseProxyRule, proxyPath } from '../../../src/images/demoapp.js';

interface Reply {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

function request(port: number, path: string, method = 'GET', body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        headers: body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } : {},
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

/** Spawns argv; resolves with the port from its "listening on" line. */
function start(argv: string[], env: Record<string, string>): Promise<{ child: ChildProcess; port: number; out: () => string }> {
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demoapp did not start: ${out} ${err}`)), 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`demoapp exited ${code}: ${out} ${err}`));
    });
    child.stdout!.on('data', () => {
      const m = /listening on http:\/\/[^:]+:(\d+)\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), out: () => out });
      }
    });
  });
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  process.kill(child.pid!, 'SIGTERM');
  const t = setTimeout(() => child.pid && process.kill(child.pid, 'SIGKILL'), 5000);
  const code = await exited;
  clearTimeout(t);
  return code;
}

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), what);
}

const imageEnv = (ref: string): Record<string, string> => Object.fromEntries(resolveImage(ref)!.env.map((e) => [e.name, e.value]));

test('demoapp process: /, /hostname, /readyz and /livez flips, --version, access log, SIGTERM', async () => {
  const img = resolveImage('oldxu3957/demoapp:v1.0')!;
  const argv = containerArgv(img, undefined, ['--host', '127.0.0.1', '--port', '0', '--version', 'v9.9']);
  const { child, port, out } = await start(argv, imageEnv('oldxu3957/demoapp:v1.0'));
  try {
    const root = await request(port, '/');
    assert.equal(root.status, 200);
    const host = os.hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    assert.match(root.body, new RegExp(`^iKubernetes demoapp v9\\.9 !! ClientIP: 127\\.0\\.0\\.1, ServerName: ${host}, ServerIP: [0-9.]+!\\n$`));

    assert.equal((await request(port, '/hostname')).body, `ServerName: ${os.hostname()}\n`);

    let r = await request(port, '/readyz');
    assert.deepEqual([r.status, r.body], [200, 'OK']);
    assert.equal((await request(port, '/readyz', 'POST', 'readyz=err')).status, 200);
    r = await request(port, '/readyz');
    assert.deepEqual([r.status, r.body], [507, 'err']);
    assert.equal((await request(port, '/readyz', 'POST', 'readyz=OK')).status, 200);
    assert.equal((await request(port, '/readyz')).status, 200);

    r = await request(port, '/livez');
    assert.deepEqual([r.status, r.body], [200, 'OK']);
    await request(port, '/livez', 'POST', 'livez=err');
    r = await request(port, '/livez');
    assert.deepEqual([r.status, r.body], [506, 'err']);
    await request(port, '/livez', 'POST', 'livez=OK');
    assert.equal((await request(port, '/livez')).status, 200);
    assert.equal((await request(port, '/readyz', 'POST', 'other=1')).status, 400);

    assert.equal((await request(port, '/nope')).status, 404);
    await waitFor(() => out().includes('"GET /nope'), 'access log');
    assert.match(out(), /^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4} \d\d:\d\d:\d\d\] "GET \/ HTTP\/1\.1" 200 -$/m);
    assert.match(out(), /"POST \/readyz HTTP\/1\.1" 200 -/);
  } finally {
    assert.equal(await stop(child), 0, 'exits 0 on SIGTERM');
  }
});

test('demoapp process: version from the image tag, PORT/HOST from env', async () => {
  const img = resolveImage('ikubernetes/demoapp:v1.2')!;
  const { child, port } = await start(containerArgv(img), { ...imageEnv('ikubernetes/demoapp:v1.2'), HOST: '127.0.0.1', PORT: '0' });
  try {
    assert.match((await request(port, '/')).body, /^iKubernetes demoapp v1\.2 !! /);
  } finally {
    await stop(child);
  }
});

test('nginx_web image process: the seed\'s page on the chosen port', async () => {
  const ref = 'kubernetes-register.superopsmsb.com/superopsmsb/nginx_web:v0.1';
  const img = resolveImage(ref)!;
  const argv = containerArgv(img, undefined, [...img.cmd, '--host', '127.0.0.1', '--port', '0']);
  const { child, port, out } = await start(argv, { ...imageEnv(ref), HOSTNAME: 'nginx-f44f65dc-99dvt' });
  try {
    const r = await request(port, '/');
    assert.equal(r.body, 'Hello Nginx, nginx-f44f65dc-99dvt-1.23.0\n');
    assert.equal(r.headers.server, 'nginx/1.23.0');
    const head = await request(port, '/', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    await waitFor(() => out().includes('"HEAD /'), 'HEAD logged');
    assert.match(out(), /^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "HEAD \/ HTTP\/1\.1" 200 0 "-" "-" "-"$/m);
  } finally {
    await stop(child);
  }
});

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

test('nginx flavor in-process: document root, welcome page, 404, proxy_pass like the seed\'s nginx_proxy', async () => {
  const dir = await mkdtemp(join(os.tmpdir(), 'k8ts-demoapp-'));
  const servers: http.Server[] = [];
  try {
    await writeFile(join(dir, 'hello.txt'), 'hi\n');
    const logs: string[] = [];
    const nginx = createDemoapp(parseOptions(['--flavor', 'nginx', '--root', dir], {}), (l) => logs.push(l)).server;
    servers.push(nginx);
    const nport = await listen(nginx);
    let r = await request(nport, '/');
    assert.match(r.body, /Welcome to nginx!/);
    assert.equal(r.headers.server, 'nginx/1.23.0');
    await writeFile(join(dir, 'index.html'), 'nginx-f44f65dc-99dvt\n');
    assert.equal((await request(nport, '/')).body, 'nginx-f44f65dc-99dvt\n');
    assert.equal((await request(nport, '/hello.txt')).body, 'hi\n');
    assert.equal((await request(nport, '/../../etc/passwd')).status, 404);
    r = await request(nport, '/missing');
    assert.equal(r.status, 404);
    assert.match(r.body, /<center>nginx\/1\.23\.0<\/center>/);
    await waitFor(() => logs.length === 5, 'one log line per request');
    assert.match(logs[4]!, /"GET \/missing HTTP\/1\.1" 404 \d+ "-" "-" "-"$/);

    const env = { HOSTNAME: 'django-pod', DJANGO_VERSION: '1.10.4' };
    const django = createDemoapp(parseOptions(['--flavor', 'nginx', '--page', 'Hello Django, $HOSTNAME-$DJANGO_VERSION'], env), () => {}, env).server;
    servers.push(django);
    const dport = await listen(django);
    const proxy = createDemoapp(
      parseOptions(['--flavor', 'nginx', '--proxy', `/=http://127.0.0.1:${nport}/`, '--proxy', `/django/=http://127.0.0.1:${dport}/`], {}),
      () => {},
    ).server;
    servers.push(proxy);
    const pport = await listen(proxy);
    assert.equal((await request(pport, '/django/')).body, 'Hello Django, django-pod-1.10.4\n');
    assert.equal((await request(pport, '/')).body, 'nginx-f44f65dc-99dvt\n');
    assert.equal((await request(pport, '/hello.txt')).body, 'hi\n');

    // An upstream that refuses: nginx's 502 page.
    const closed = http.createServer();
    const cport = await listen(closed);
    await new Promise((r) => closed.close(r));
    const bad = createDemoapp(parseOptions(['--flavor', 'nginx', '--proxy', `/=http://127.0.0.1:${cport}/`], {}), () => {}).server;
    servers.push(bad);
    r = await request(await listen(bad), '/');
    assert.equal(r.status, 502);
    assert.match(r.body, /502 Bad Gateway/);
  } finally {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
    await rm(dir, { recursive: true, force: true });
  }
});

test('option parsing, templates and proxy paths', () => {
  const o = parseOptions(['-p', '8080', '-h', '127.0.0.1', '--version=v2.0'], { PORT: '81', VERSION: 'v1.5' });
  assert.deepEqual([o.port, o.host, o.version, o.flavor], [8080, '127.0.0.1', 'v2.0', 'demoapp']);
  const e = parseOptions([], { PORT: '81', HOST: '::', VERSION: 'v1.5' });
  assert.deepEqual([e.port, e.host, e.version], [81, '::', 'v1.5']);
  const d = parseOptions([], {});
  assert.deepEqual([d.port, d.host, d.version], [80, '0.0.0.0', 'v1.0']);
  assert.throws(() => parseOptions(['--bogus'], {}));
  assert.throws(() => parseOptions(['--port', 'x'], {}));
  assert.throws(() => parseOptions(['--proxy', 'nourl'], {}));

  assert.equal(expandTemplate('Hello Nginx, $HOSTNAME-${NGINX_VERSION}!', { NGINX_VERSION: '1.23.0' }, 'pod-1'), 'Hello Nginx, pod-1-1.23.0!');
  assert.equal(expandTemplate('$HOSTNAME', { HOSTNAME: 'h' }, 'x'), 'h');

  assert.equal(proxyPath(parseProxyRule('/django/=http://django:8000/'), '/django/admin', '?q=1'), '/admin?q=1');
  assert.equal(proxyPath(parseProxyRule('/django/=http://django:8000/'), '/django/', ''), '/');
  assert.equal(proxyPath(parseProxyRule('/=http://web/'), '/a/b', ''), '/a/b');
  assert.equal(proxyPath(parseProxyRule('/api/=http://web/v1/'), '/api/x', ''), '/v1/x');
  assert.equal(proxyPath(parseProxyRule('/api/=http://web:81'), '/api/x', ''), '/api/x');
});
