import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import { after, before, describe, test } from 'node:test';
import { LineJoiner, parseCriLine, parseLogOptions } from '../../../src/agent/server/logs.js';
import { route } from '../../../src/agent/server/index.js';
import { type Fixture, criLine, get, openWs, startFixture, withTimeout } from './fixture.js';
import { poll } from '../../helpers/poll.js';

describe('CRI log parsing', () => {
  test('parses records and joins partial lines per stream', () => {
    const r = parseCriLine('2024-01-02T03:04:05.123456789Z stdout P hello ')!;
    assert.equal(r.stream, 'stdout');
    assert.equal(r.partial, true);
    assert.equal(r.text, 'hello ');
    assert.equal(r.ms, Date.parse('2024-01-02T03:04:05.123Z'));
    assert.equal(parseCriLine('2024-01-02T03:04:05Z stderr F')!.text, '');
    assert.equal(parseCriLine('garbage'), undefined);
    assert.equal(parseCriLine('2024-01-02T03:04:05Z other F x'), undefined);
    const j = new LineJoiner();
    assert.equal(j.push(r), undefined);
    assert.deepEqual(j.push(parseCriLine('2024-01-02T03:04:06Z stderr F err')!)?.text, 'err');
    const l = j.push(parseCriLine('2024-01-02T03:04:07Z stdout F world')!)!;
    assert.equal(l.text, 'hello world');
    assert.equal(l.time, '2024-01-02T03:04:05.123456789Z');
  });
  test('log options as upstream validates them', () => {
    const o = parseLogOptions(new URLSearchParams('follow=true&tailLines=3&sinceSeconds=10&timestamps=1&limitBytes=5'), 100_000);
    assert.deepEqual(o, { follow: true, previous: false, timestamps: true, tailLines: 3, sinceMs: 90_000, limitBytes: 5 });
    assert.throws(() => parseLogOptions(new URLSearchParams('tailLines=-1')), /tailLines/);
    assert.throws(() => parseLogOptions(new URLSearchParams('sinceSeconds=1&sinceTime=2024-01-01T00:00:00Z')), /at most one/);
    assert.throws(() => parseLogOptions(new URLSearchParams('sinceTime=yesterday')), /sinceTime/);
  });
  test('routes', () => {
    assert.deepEqual(route('/containerLogs/ns/p/c'), { kind: 'logs', namespace: 'ns', pod: 'p', container: 'c' });
    assert.deepEqual(route('/exec/ns/p/uid/c'), { kind: 'exec', namespace: 'ns', pod: 'p', uid: 'uid', container: 'c' });
    assert.deepEqual(route('/portForward/ns/p'), { kind: 'portforward', namespace: 'ns', pod: 'p', uid: undefined });
    assert.equal(route('/nope'), undefined);
  });
});

describe('agent server', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture();
  });
  after(async () => {
    await f?.close();
  });

  test('healthz needs no certificate; everything else needs the API server or an admin', async () => {
    assert.deepEqual(await get(f.server.port, '/healthz'), { status: 200, body: 'ok' });
    assert.equal((await get(f.server.port, '/pods')).status, 401);
    const forbidden = await get(f.server.port, '/pods', f.other);
    assert.equal(forbidden.status, 403);
    assert.equal(JSON.parse(forbidden.body).reason, 'Forbidden');
    const ok = await get(f.server.port, '/pods', f.client, f.ca.cert);
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.body).items[0].metadata.name, 'web');
    assert.equal((await get(f.server.port, '/pods', f.admin)).status, 200);
    // A certificate from another CA is not verified: 401.
    const { createCA, issueClientCert } = await import('../../../src/apiserver/pki.js');
    const foreign = issueClientCert(createCA(), { cn: 'kube-apiserver-kubelet-client' });
    assert.equal((await get(f.server.port, '/pods', foreign)).status, 401);
  });

  test('logs: all, tailLines, timestamps, sinceSeconds, limitBytes, previous, errors', async () => {
    const old = new Date(Date.now() - 3600_000);
    const now = new Date();
    fs.writeFileSync(
      f.logPath,
      criLine(old, 'stdout', 'one') +
        criLine(old, 'stderr', 'two') +
        criLine(now, 'stdout', 'thr', true) +
        criLine(now, 'stdout', 'ee') +
        'not a cri line\n' +
        criLine(now, 'stdout', 'four'),
    );
    const L = (q = '') => get(f.server.port, `/containerLogs/default/web/app${q}`, f.client);
    assert.deepEqual(await L(), { status: 200, body: 'one\ntwo\nthree\nfour\n' });
    assert.equal((await L('?tailLines=2')).body, 'three\nfour\n');
    assert.equal((await L('?tailLines=0')).body, '');
    assert.equal((await L('?sinceSeconds=60')).body, 'three\nfour\n');
    assert.equal((await L(`?sinceTime=${encodeURIComponent(new Date(now.getTime() - 1000).toISOString())}`)).body, 'three\nfour\n');
    assert.equal((await L('?limitBytes=6')).body, 'one\ntw');
    const ts = (await L('?timestamps=true&tailLines=1')).body;
    assert.match(ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z four\n$/);
    assert.equal((await L('?previous=true')).body, 'previous run\n');
    const saved = f.previous;
    f.previous = undefined;
    const noPrev = await L('?previous=true');
    f.previous = saved;
    assert.equal(noPrev.status, 400);
    assert.match(JSON.parse(noPrev.body).message, /previous terminated container "app" in pod "web" not found/);
    assert.equal((await L('?tailLines=x')).status, 400);
    assert.equal((await get(f.server.port, '/containerLogs/default/web/nope', f.client)).status, 404);
    assert.equal((await get(f.server.port, '/containerLogs/default/web/app', f.other)).status, 403);
  });

  test('logs: follow streams appends and ends when the container stops', async () => {
    fs.writeFileSync(f.logPath, criLine(new Date(), 'stdout', 'first'));
    const chunks: string[] = [];
    const done = new Promise<number>((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port: f.server.port, path: '/containerLogs/default/web/app?follow=true', cert: f.client.cert, key: f.client.key, ca: f.ca.cert }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (d) => chunks.push(d));
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
    });
    const until = async (s: string) => {
      const end = Date.now() + 5000;
      while (!chunks.join('').includes(s)) {
        if (Date.now() > end) throw new Error(`no ${s} in ${JSON.stringify(chunks.join(''))}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await until('first\n');
    fs.appendFileSync(f.logPath, criLine(new Date(), 'stdout', 'sec', true));
    fs.appendFileSync(f.logPath, criLine(new Date(), 'stdout', 'ond'));
    await until('second\n');
    fs.appendFileSync(f.logPath, criLine(new Date(), 'stderr', 'last'));
    f.status = { ...f.status, state: 'exited', exitCode: 0 };
    try {
      assert.equal(await withTimeout(done, 5000), 200);
    } finally {
      f.status = { ...f.status, state: 'running', exitCode: undefined };
    }
    assert.equal(chunks.join(''), 'first\nsecond\nlast\n');
  });

  const execUrl = (q: string) => `wss://127.0.0.1:${f.server.port}/exec/default/web/app?${q}`;

  for (const proto of ['v5.channel.k8s.io', 'v4.channel.k8s.io']) {
    test(`exec ${proto}: stdout, stderr, non-zero exit status`, async () => {
      const cmd = ['sh', '-c', 'echo out; echo err >&2; exit 3'].map((c) => `command=${encodeURIComponent(c)}`).join('&');
      const s = await openWs(execUrl(`${cmd}&stdout=true&stderr=true`), [proto], { ...f.client, ca: f.ca.cert });
      assert.equal(s.ws.protocol, proto);
      await withTimeout(s.closed);
      assert.equal(s.text(1), 'out\n');
      assert.equal(s.text(2), 'err\n');
      const st = JSON.parse(s.text(3));
      assert.equal(st.status, 'Failure');
      assert.equal(st.reason, 'NonZeroExitCode');
      assert.deepEqual(st.details.causes, [{ reason: 'ExitCode', message: '3' }]);
      assert.deepEqual(f.execs.at(-1), { id: 'c1-1', argv: ['sh', '-c', 'echo out; echo err >&2; exit 3'], tty: false });
    });
  }

  test('exec v5: stdin with close frame, resize, success status', async () => {
    const s = await openWs(execUrl('command=cat&stdin=true&stdout=true&tty=true'), ['v5.channel.k8s.io', 'v4.channel.k8s.io'], { ...f.client, ca: f.ca.cert });
    assert.equal(s.ws.protocol, 'v5.channel.k8s.io');
    s.ws.send(Buffer.concat([Buffer.from([4]), Buffer.from(JSON.stringify({ Width: 120, Height: 40 }))]));
    s.ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('hello\n')]));
    await s.waitFor(() => s.text(1) === 'hello\n');
    s.ws.send(Buffer.from([255, 0]));
    await withTimeout(s.closed);
    assert.deepEqual(JSON.parse(s.text(3)), { metadata: {}, status: 'Success' });
    assert.deepEqual(f.resizes, [{ width: 120, height: 40 }]);
    assert.equal(f.execs.at(-1)!.tty, true);
  });

  test('exec v4: stdin, the client closing ends the process', async () => {
    const s = await openWs(execUrl('command=cat&stdin=true&stdout=true'), ['v4.channel.k8s.io'], { ...f.client, ca: f.ca.cert });
    s.ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('ping')]));
    await s.waitFor(() => s.text(1) === 'ping');
    s.ws.close();
    await withTimeout(s.closed);
  });

  test('exec refusals: no command, not running, wrong certificate, SPDY', async () => {
    await assert.rejects(openWs(execUrl('stdout=true'), ['v5.channel.k8s.io'], { ...f.client, ca: f.ca.cert }), /400.*at least one command/);
    await assert.rejects(openWs(execUrl('command=true&stdout=true'), ['v5.channel.k8s.io'], { ...f.other, ca: f.ca.cert }), /403/);
    f.status = { ...f.status, state: 'exited' };
    try {
      await assert.rejects(openWs(execUrl('command=true&stdout=true'), ['v5.channel.k8s.io'], { ...f.client, ca: f.ca.cert }), /400.*not running/);
    } finally {
      f.status = { ...f.status, state: 'running' };
    }
    const spdy = await new Promise<number>((resolve, reject) => {
      const req = https.request({
        host: '127.0.0.1',
        port: f.server.port,
        path: '/exec/default/web/app?command=true&output=1',
        method: 'POST',
        headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'v4.channel.k8s.io' },
        cert: f.client.cert,
        key: f.client.key,
        ca: f.ca.cert,
      });
      req.on('response', (res) => (res.resume(), resolve(res.statusCode ?? 0)));
      req.on('upgrade', () => reject(new Error('upgraded')));
      req.on('error', reject);
      req.end();
    });
    assert.equal(spdy, 400);
  });

  test('attach without runtime support streams output and refuses stdin', async () => {
    fs.writeFileSync(f.logPath, criLine(new Date(Date.now() - 10_000), 'stdout', 'old'));
    const s = await openWs(`wss://127.0.0.1:${f.server.port}/attach/default/web/app?stdout=true&stderr=true`, ['v5.channel.k8s.io'], { ...f.client, ca: f.ca.cert });
    // Attach streams from when it started following: write until a line arrives (no guess at when that was).
    await poll(
      () => {
        fs.appendFileSync(f.logPath, criLine(new Date(), 'stdout', 'new'));
        return s.text(1).length > 0;
      },
      { timeoutMs: 5000, intervalMs: 50, what: 'attached output' },
    );
    assert.match(s.text(1), /^(new\n)+$/, 'only output written after attaching, never the old line');
    f.status = { ...f.status, state: 'exited', exitCode: 0 };
    try {
      await withTimeout(s.closed);
    } finally {
      f.status = { ...f.status, state: 'running', exitCode: undefined };
    }
    assert.equal(JSON.parse(s.text(3)).status, 'Success');
    await assert.rejects(
      openWs(`wss://127.0.0.1:${f.server.port}/attach/default/web/app?stdin=true&stdout=true`, ['v5.channel.k8s.io'], { ...f.client, ca: f.ca.cert }),
      /400.*attach with stdin/,
    );
  });

  test('port-forward: port frames, data both ways, error channel', async () => {
    const s = await openWs(`wss://127.0.0.1:${f.server.port}/portForward/default/web?port=80&port=1`, ['portforward.k8s.io'], { ...f.client, ca: f.ca.cert });
    assert.equal(s.ws.protocol, 'portforward.k8s.io');
    await s.waitFor(() => s.frames.length >= 4);
    // The first frame of each channel is the port, uint16 little-endian.
    assert.deepEqual(s.frames.slice(0, 4).map((x) => [x.ch, x.data.readUInt16LE(0)]), [[0, 80], [1, 80], [2, 1], [3, 1]]);
    s.ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('hello pod')]));
    await s.waitFor(() => s.frames.slice(4).some((x) => x.ch === 0));
    assert.equal(Buffer.concat(s.frames.slice(4).filter((x) => x.ch === 0).map((x) => x.data)).toString(), 'hello pod');
    // Port 1 has no listener: its error channel says so.
    await s.waitFor(() => s.frames.slice(4).some((x) => x.ch === 3));
    assert.match(s.frames.slice(4).find((x) => x.ch === 3)!.data.toString(), /error forwarding port 1 to pod default\/web, uid uid-1: .*ECONNREFUSED/);
    s.ws.close();
    await withTimeout(s.closed);
    await assert.rejects(openWs(`wss://127.0.0.1:${f.server.port}/portForward/default/web`, ['v4.channel.k8s.io'], { ...f.client, ca: f.ca.cert }), /400.*at least one port/);
  });
});
