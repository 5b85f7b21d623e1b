import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ANONYMOUS_USER,
  alwaysAllowAuthenticated,
  anonymousUser,
  authenticate,
  authenticateRequest,
  bearerToken,
  isAnonymousAllowedPath,
  loadTokenFile,
  parseTokenFile,
  userFromPeerCertificate,
  type TokenAuthenticator,
} from '../../../src/apiserver/authn.js';
import { writeKubeconfig } from '../../../src/apiserver/kubeconfig.js';
import { createCA, ensurePki, issueClientCert, type Pki } from '../../../src/apiserver/pki.js';
import { setLogSink } from '../../../src/util/log.js';

// ------------------------------------------------------------------ token file --

describe('token file', () => {
  let restore: ((l: string) => void) | undefined;
  const logs: string[] = [];
  before(() => {
    restore = setLogSink((l) => logs.push(l));
  });
  after(() => {
    if (restore) setLogSink(restore);
  });

  test('parses tokens, users, uids and quoted group lists', () => {
    const auth = parseTokenFile(
      [
        '# static tokens',
        'tok-admin,admin,uid-1,"system:masters,devs"',
        '',
        'tok-bob, bob ,uid-2',
        'tok-carol,carol,,"ops"\r',
        '"tok-""q""",dave,uid-4,"a, b,,c"',
        '   ',
        'tok-eve,eve,uid-5,"multi',
        'line"',
        'tok-last,last,uid-6',
      ].join('\n'),
    );
    assert.equal(auth.size, 6);
    assert.deepEqual(auth.authenticate('tok-admin'), {
      name: 'admin',
      uid: 'uid-1',
      groups: ['system:masters', 'devs', 'system:authenticated'],
    });
    assert.deepEqual(auth.authenticate('tok-bob'), { name: 'bob', uid: 'uid-2', groups: ['system:authenticated'] });
    assert.deepEqual(auth.authenticate('tok-carol'), { name: 'carol', groups: ['ops', 'system:authenticated'] });
    assert.deepEqual(auth.authenticate('tok-"q"')?.groups, ['a', 'b', 'c', 'system:authenticated']);
    assert.deepEqual(auth.authenticate('tok-eve')?.groups, ['multi\nline', 'system:authenticated']);
    assert.equal(auth.authenticate('tok-last')?.name, 'last', 'line numbering survives a multi-line field');
    assert.equal(auth.authenticate('nope'), undefined);
    assert.equal(auth.authenticate(''), undefined);
    // Results are copies.
    auth.authenticate('tok-admin')!.groups.push('mutated');
    assert.ok(!auth.authenticate('tok-admin')!.groups.includes('mutated'));
  });

  test('malformed lines are errors naming the line', () => {
    const cases: [string, RegExp][] = [
      ['ok,a,1\ntok,user\n', /^Error: tokens\.csv:2: expected at least 3 columns \(token, user name, user uid\), found 2$/],
      ['ok,a,1\n\njustatoken\n', /tokens\.csv:3: expected at least 3 columns/],
      ['tok,user,uid,"g1,g2\n', /tokens\.csv:1: unterminated quoted field 4/],
      ['tok,us"er,uid\n', /tokens\.csv:1: bare " in unquoted field 2/],
      ['tok,"user"x,uid\n', /tokens\.csv:1: unexpected text after the closing quote of field 2/],
      ['a,b,c\n"to k",user,uid\n', /tokens\.csv:2: token contains whitespace/],
      ['tok,,uid\n', /tokens\.csv:1: user name is empty/],
    ];
    for (const [text, re] of cases) {
      assert.throws(() => parseTokenFile(text, 'tokens.csv'), (err: Error) => {
        assert.match(String(err), re, `for ${JSON.stringify(text)}`);
        return true;
      });
    }
  });

  test('as upstream, empty tokens are skipped and a repeated token takes the later record (both warned)', () => {
    logs.length = 0;
    const auth = parseTokenFile(',nobody,0\ndup,first,1\ndup,second,2\n', 'f.csv');
    assert.equal(auth.size, 1);
    assert.equal(auth.authenticate('dup')?.name, 'second');
    assert.match(logs.join('\n'), /empty token .*line=1/);
    assert.match(logs.join('\n'), /duplicate token .*line=3/);
  });

  test('loadTokenFile reads a file and reports its path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'k8ts-tok-'));
    try {
      const good = join(dir, 'tokens.csv');
      writeFileSync(good, 'secret,alice,u1,"g"\n');
      assert.equal(loadTokenFile(good).authenticate('secret')?.name, 'alice');
      const bad = join(dir, 'bad.csv');
      writeFileSync(bad, 'secret,alice,u1\nbroken\n');
      assert.throws(() => loadTokenFile(bad), new RegExp(`${bad.replace(/[.]/g, '\\.')}:2: expected at least 3 columns`));
      assert.throws(() => loadTokenFile(join(dir, 'missing.csv')), /cannot read token file .*missing\.csv/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ------------------------------------------------------------ request helpers --

function fakeReq(headers: Record<string, string>): IncomingMessage {
  return { headers: { ...headers }, socket: undefined } as unknown as IncomingMessage;
}

describe('request authentication without TLS', () => {
  const tokens = parseTokenFile('t0ken,alice,u1,"devs"\n');

  test('bearer tokens from the Authorization header (any case of "Bearer")', () => {
    assert.deepEqual(bearerToken(fakeReq({ authorization: 'Bearer abc' })), { token: 'abc', from: 'header' });
    assert.deepEqual(bearerToken(fakeReq({ authorization: '  bearer abc  ' })), { token: 'abc', from: 'header' });
    assert.equal(bearerToken(fakeReq({ authorization: 'Basic dXNlcjpwYXNz' })), undefined);
    assert.equal(bearerToken(fakeReq({ authorization: 'Bearer' })), undefined);
    assert.equal(bearerToken(fakeReq({})), undefined);
  });

  test('bearer tokens from a WebSocket subprotocol', () => {
    const b64 = Buffer.from('t0ken').toString('base64url');
    const req = fakeReq({
      upgrade: 'websocket',
      'sec-websocket-protocol': `v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.${b64}`,
    });
    assert.deepEqual(bearerToken(req), { token: 't0ken', from: 'websocket' });
    assert.equal(authenticateRequest(req, tokens)?.name, 'alice');
  });

  test('valid, invalid and absent tokens', () => {
    const ok = fakeReq({ authorization: 'Bearer t0ken' });
    assert.deepEqual(authenticate(ok, { tokens }), {
      user: { name: 'alice', uid: 'u1', groups: ['devs', 'system:authenticated'] },
    });
    assert.equal(ok.headers.authorization, undefined, 'the header is dropped once used');
    assert.deepEqual(authenticate(fakeReq({ authorization: 'Bearer wrong' }), { tokens }), { error: 'invalid bearer token' });
    assert.deepEqual(authenticate(fakeReq({ authorization: 'Bearer t0ken' })), { error: 'invalid bearer token' }, 'no token file');
    assert.deepEqual(authenticate(fakeReq({}), { tokens }), {}, 'anonymous');
    assert.equal(authenticateRequest(fakeReq({}), tokens), undefined);
    assert.equal(userFromPeerCertificate(undefined), undefined);
  });

  test('anonymous paths', () => {
    for (const p of ['/healthz', '/livez', '/readyz', '/version', '/version/', '/healthz?verbose']) {
      assert.ok(isAnonymousAllowedPath(p), p);
    }
    for (const p of ['/', '/api', '/apis', '/healthz/etcd', '/readyz/ping', '/metrics', '/api/v1/pods', '/versionx']) {
      assert.ok(!isAnonymousAllowedPath(p), p);
    }
  });

  test('alwaysAllowAuthenticated allows authenticated users only', () => {
    const attrs = { verb: 'get', group: '', resource: 'pods', namespace: 'default' };
    assert.deepEqual(
      alwaysAllowAuthenticated.authorize({ ...attrs, user: { name: 'bob', groups: ['system:authenticated'] } }),
      { allowed: true },
    );
    const anon = alwaysAllowAuthenticated.authorize({ ...attrs, user: anonymousUser() });
    assert.equal(anon.allowed, false);
    assert.match(anon.reason ?? '', new RegExp(ANONYMOUS_USER));
    assert.equal(alwaysAllowAuthenticated.authorize({ ...attrs, user: { name: 'x', groups: [] } }).allowed, false);
  });
});

// ------------------------------------------------------------- real TLS server --

describe('TLS client certificates and kubeconfig', () => {
  let dir = '';
  let pki: Pki;
  let server: Server | undefined;
  let port = 0;
  let tokens: TokenAuthenticator;
  let restore: ((l: string) => void) | undefined;

  before(async () => {
    restore = setLogSink(() => {});
    dir = mkdtempSync(join(tmpdir(), 'k8ts-authn-'));
    pki = await ensurePki({
      dataDir: join(dir, 'data'),
      hostname: 'test-node',
      nodeIPs: ['127.0.0.1'],
      serviceIP: '10.96.0.1',
      clusterDomain: 'cluster.local',
    });
    tokens = parseTokenFile('kubectl-token,tokenuser,u9,"viewers"\n');
    server = createServer(
      { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert, requestCert: true, rejectUnauthorized: false },
      (req, res) => {
        const result = authenticate(req, { tokens });
        const path = (req.url ?? '/').split('?')[0];
        if (path === '/whoami') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ ...result, certUser: userFromPeerCertificate(req.socket) ?? null }));
          return;
        }
        if (!result.user && !(isAnonymousAllowedPath(path!) && !result.error)) {
          res.writeHead(401, { 'content-type': 'text/plain' });
          res.end('Unauthorized');
          return;
        }
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(path === '/hello' ? `hello ${result.user?.name} [${result.user?.groups.join(',')}]\n` : 'ok');
      },
    );
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(0, '127.0.0.1', () => resolve());
    });
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    if (restore) setLogSink(restore);
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server!.close(() => resolve()));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  function get(path: string, creds: { cert?: string; key?: string; headers?: Record<string, string> } = {}) {
    return new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path,
          ca: pki.caCert, // the client verifies the serving certificate (IP SAN 127.0.0.1)
          cert: creds.cert,
          key: creds.key,
          headers: creds.headers,
          agent: false,
          timeout: 5000,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('timeout', () => req.destroy(new Error('request timed out')));
      req.on('error', reject);
      req.end();
    });
  }

  test('the admin certificate is kubernetes-admin in system:masters', async () => {
    const r = await get('/whoami', { cert: pki.adminCert, key: pki.adminKey });
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body).user, { name: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] });
  });

  test('certificates issued later carry their CN and every O as groups', async () => {
    const c = pki.issueClientCert({ cn: 'system:node:n1', groups: ['system:nodes', 'second'] });
    const r = await get('/whoami', c);
    assert.deepEqual(JSON.parse(r.body).user, {
      name: 'system:node:n1',
      groups: ['system:nodes', 'second', 'system:authenticated'],
    });
  });

  test('a certificate from another CA is not authorized', async () => {
    const other = createCA({ cn: 'kubernetes-ca' });
    const forged = issueClientCert(other, { cn: 'kubernetes-admin', groups: ['system:masters'] });
    const r = await get('/whoami', forged);
    const body = JSON.parse(r.body);
    assert.equal(body.user, undefined);
    assert.equal(body.certUser, null);
    assert.match(body.error, /client certificate not trusted/);
    assert.equal((await get('/hello', forged)).status, 401);
  });

  test('a certificate without clientAuth usage (the serving certificate) is not a user', async () => {
    const r = await get('/whoami', { cert: pki.serverCert, key: pki.serverKey });
    assert.equal(JSON.parse(r.body).user, undefined);
  });

  test('no certificate: anonymous; a bearer token authenticates over TLS too', async () => {
    assert.deepEqual(JSON.parse((await get('/whoami')).body), { certUser: null });
    assert.equal((await get('/hello')).status, 401);
    assert.equal((await get('/healthz')).status, 200);
    assert.equal((await get('/healthz', { headers: { authorization: 'Bearer bad' } })).status, 401, 'bad credentials: 401 everywhere');
    const r = await get('/hello', { headers: { authorization: 'Bearer kubectl-token' } });
    assert.equal(r.body, 'hello tokenuser [viewers,system:authenticated]\n');
  });

  async function kubectl(kubeconfig: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, KUBECACHEDIR: join(dir, 'kube-cache') };
    return new Promise((resolve) => {
      execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? Number((err as NodeJS.ErrnoException).code) : 1) : 0;
        resolve({ code, stdout, stderr: stderr + (err && !stderr ? String(err) : '') });
      });
    });
  }

  test('kubectl trusts the CA and presents the admin certificate from the written kubeconfig', async () => {
    const kc = join(dir, 'kube', 'admin.yaml');
    await writeKubeconfig(kc, {
      server: `https://127.0.0.1:${port}`,
      caCert: pki.caCert,
      clientCert: pki.adminCert,
      clientKey: pki.adminKey,
    });
    const r = await kubectl(kc, ['get', '--raw', '/hello', '--request-timeout', '5s']);
    assert.equal(r.code, 0, `kubectl failed: ${r.stderr}`);
    assert.equal(r.stdout.trim(), 'hello kubernetes-admin [system:masters,system:authenticated]');
  });

  test('kubectl with a token kubeconfig, and kubectl refusing a server its CA did not sign', async () => {
    const kc = join(dir, 'kube', 'token.yaml');
    await writeKubeconfig(kc, { server: `https://127.0.0.1:${port}`, caCert: pki.caCert, token: 'kubectl-token' });
    const r = await kubectl(kc, ['get', '--raw', '/hello', '--request-timeout', '5s']);
    assert.equal(r.code, 0, `kubectl failed: ${r.stderr}`);
    assert.equal(r.stdout.trim(), 'hello tokenuser [viewers,system:authenticated]');

    const wrongCA = join(dir, 'kube', 'wrong-ca.yaml');
    await writeKubeconfig(wrongCA, {
      server: `https://127.0.0.1:${port}`,
      caCert: createCA().cert,
      clientCert: pki.adminCert,
      clientKey: pki.adminKey,
    });
    const bad = await kubectl(wrongCA, ['get', '--raw', '/hello', '--request-timeout', '5s']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /certificate signed by unknown authority|x509/);
  });
});
