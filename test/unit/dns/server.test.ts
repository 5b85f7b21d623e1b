import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDnsServer, type DnsServer } from '../../../src/dns/index.js';
import { decodeMessage, encodeMessage, makeQuery } from '../../../src/dns/wire.js';
import { RCODE, TYPE } from '../../../src/dns/types.js';
import type { HealthPlugin } from '../../../src/dns/plugins/health.js';
import type { ReadyPlugin } from '../../../src/dns/plugins/ready.js';
import type { PrometheusPlugin } from '../../../src/dns/plugins/prometheus.js';
import { dig, httpGet, sendRaw, sleep, startStub, type Stub } from './helpers.js';
import { tempDir } from '../../helpers/tmp.js';

const servers: DnsServer[] = [];
const stubs: Stub[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await Promise.all(stubs.map((s) => s.close()));
});

async function start(corefile: string | { path: string }, logs: string[] = [], plugins = {}): Promise<DnsServer> {
  const s = await startDnsServer({ corefile, host: '127.0.0.1', portOverride: 0, log: (l) => logs.push(l), plugins });
  servers.push(s);
  return s;
}

test('hosts: inline entries, A/AAAA/PTR, NODATA, SERVFAIL without fallthrough', async () => {
  const s = await start(`.:53 {
    hosts {
      10.1.2.3 web.example.org web
      fd00::1 web.example.org
      ttl 42
    }
  }`);
  const r = await dig(s.port, 'web.example.org', 'A');
  assert.equal(r.status, 'NOERROR');
  assert.ok(r.flags.includes('aa'));
  assert.deepEqual(r.answers, [{ name: 'web.example.org.', ttl: 42, type: 'A', data: '10.1.2.3' }]);
  const r6 = await dig(s.port, 'WEB.example.org', 'AAAA');
  assert.deepEqual(r6.answers.map((x) => x.data), ['fd00::1']);
  assert.match(r6.raw, /;WEB\.example\.org\.\s+IN\s+AAAA/); // question case echoed
  const p = await dig(s.port, '3.2.1.10.in-addr.arpa', 'PTR');
  assert.deepEqual(p.answers.map((x) => x.data).sort(), ['web.', 'web.example.org.']);
  const nodata = await dig(s.port, 'web.example.org', 'TXT');
  assert.equal(nodata.status, 'NOERROR');
  assert.equal(nodata.answers.length, 0);
  const unknown = await dig(s.port, 'nothere.example.org', 'A');
  assert.equal(unknown.status, 'SERVFAIL');
});

test('hosts file, fallthrough to forward (stub on loopback), except, cache hits and metrics', async () => {
  const stub = await startStub();
  stubs.push(stub);
  const dir = tempDir('k8ts-dns-');
  writeFileSync(join(dir, 'hosts'), '# comment\n10.9.9.9 filehost.local\n');
  const s = await start(`.:53 {
    errors
    prometheus 127.0.0.1:0
    hosts ${join(dir, 'hosts')} {
      fallthrough
    }
    cache 30
    forward . 127.0.0.1:${stub.port} {
      except internal.corp
    }
  }`);
  assert.deepEqual((await dig(s.port, 'filehost.local')).answers.map((x) => x.data), ['10.9.9.9']);
  const f1 = await dig(s.port, 'www.example.com');
  assert.equal(f1.status, 'NOERROR');
  assert.deepEqual(f1.answers.map((x) => x.data), ['192.0.2.10']);
  assert.equal(f1.answers[0]!.ttl, 30); // capped by cache 30
  assert.equal(stub.queries.length, 1);
  const f2 = await dig(s.port, 'www.example.com');
  assert.deepEqual(f2.answers.map((x) => x.data), ['192.0.2.10']);
  assert.equal(stub.queries.length, 1, 'second query served from cache');
  // Denial cache.
  assert.equal((await dig(s.port, 'nx.example.com')).status, 'NXDOMAIN');
  assert.equal((await dig(s.port, 'nx.example.com')).status, 'NXDOMAIN');
  assert.equal(stub.queries.length, 2);
  // except: not forwarded, end of chain -> SERVFAIL.
  const ex = await dig(s.port, 'db.internal.corp');
  assert.equal(ex.status, 'SERVFAIL');
  assert.equal(stub.queries.some((q) => q.questions[0]!.name === 'db.internal.corp.'), false);

  const prom = s.plugin<PrometheusPlugin>('prometheus')!;
  const m = await httpGet(prom.address().port, '/metrics');
  assert.equal(m.status, 200);
  assert.match(m.body, /coredns_cache_hits_total\{server="dns:\/\/:\d+",type="success",view="",zones="\."\} 1/);
  assert.match(m.body, /coredns_cache_hits_total\{[^}]*type="denial"[^}]*\} 1/);
  assert.match(m.body, /coredns_cache_misses_total\{[^}]*\} [4-9]/);
  assert.match(m.body, /coredns_cache_entries\{[^}]*type="success"[^}]*\} [12]/);
  assert.match(m.body, /coredns_dns_requests_total\{family="1",proto="udp",server="dns:\/\/:\d+",type="A",view="",zone="\."\} [6-9]/);
  assert.match(m.body, /coredns_dns_responses_total\{plugin="forward",rcode="NOERROR",[^}]*\} 1/);
  assert.match(m.body, /coredns_dns_responses_total\{plugin="cache",rcode="NOERROR",[^}]*\} 1/);
  assert.match(m.body, /coredns_dns_responses_total\{plugin="hosts",rcode="NOERROR",[^}]*\} 1/);
  assert.match(m.body, /coredns_dns_request_duration_seconds_bucket\{[^}]*le="\+Inf"[^}]*\} \d+/);
  assert.match(m.body, /# TYPE coredns_dns_request_duration_seconds histogram/);
});

test('TC on UDP for a big answer, full answer over TCP (dig retries)', async () => {
  const lines = Array.from({ length: 120 }, (_, i) => `10.20.${i >> 8}.${i & 255} big.example.org`).join('\n      ');
  const s = await start(`.:53 {
    hosts {
      ${lines}
    }
  }`);
  const udp = await dig(s.port, 'big.example.org', 'A', ['+ignore', '+noedns']);
  assert.ok(udp.flags.includes('tc'), udp.raw);
  assert.ok(udp.answers.length < 120);
  const withRetry = await dig(s.port, 'big.example.org', 'A');
  assert.equal(withRetry.answers.length, 120);
  assert.match(withRetry.raw, /Truncated, retrying in TCP mode|TCP/);
  const tcp = await dig(s.port, 'big.example.org', 'A', ['+tcp']);
  assert.equal(tcp.answers.length, 120);
});

test('REFUSED outside the zones, NOTIMP for other opcodes, FORMERR for garbage', async () => {
  const s = await start(`example.org:53 {
    hosts {
      10.0.0.1 a.example.org
    }
  }`);
  assert.equal((await dig(s.port, 'a.example.org')).status, 'NOERROR');
  assert.equal((await dig(s.port, 'a.example.net')).status, 'REFUSED');
  assert.match((await dig(s.port, 'example.org', 'AXFR')).raw, /Transfer failed/);
  const axfr = decodeMessage((await sendRaw(s.port, encodeMessage(makeQuery('example.org', TYPE.AXFR))))!);
  assert.equal(axfr.rcode, RCODE.REFUSED);
  const status = makeQuery('a.example.org', TYPE.A, { id: 77 });
  status.opcode = 2;
  const r = decodeMessage((await sendRaw(s.port, encodeMessage(status)))!);
  assert.equal(r.rcode, RCODE.NOTIMP);
  assert.equal(r.id, 77);
  const garbage = Buffer.concat([Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0]), Buffer.from([0x40, 0xff, 0xff])]);
  const fe = (await sendRaw(s.port, garbage))!;
  assert.ok(fe, 'FORMERR expected');
  const fm = decodeMessage(fe);
  assert.equal(fm.rcode, RCODE.FORMERR);
  assert.equal(fm.id, 0x1234);
  assert.equal(await sendRaw(s.port, Buffer.from([1, 2, 3]), 300), undefined, 'short packets are dropped');
  const two = makeQuery('a.example.org', TYPE.A);
  two.questions.push({ ...two.questions[0]! });
  assert.equal(decodeMessage((await sendRaw(s.port, encodeMessage(two)))!).rcode, RCODE.FORMERR);
  const badvers = makeQuery('a.example.org', TYPE.A, { edns: { udpSize: 1232, version: 1, dnssecOk: false, options: [] } });
  assert.equal(decodeMessage((await sendRaw(s.port, encodeMessage(badvers)))!).rcode, 16);
});

test('health and ready endpoints', async () => {
  let isReady = false;
  const s = await start(
    `.:53 {
    health 127.0.0.1:0 {
      lameduck 200ms
    }
    ready 127.0.0.1:0
    fakek8s
    whoami
  }`,
    [],
    { fakek8s: () => ({ name: 'fakek8s', handler: (n: any) => n, ready: () => isReady }) },
  );
  const h = await httpGet(s.plugin<HealthPlugin>('health')!.address().port, '/health');
  assert.deepEqual(h, { status: 200, body: 'OK' });
  const rp = s.plugin<ReadyPlugin>('ready')!.address().port;
  assert.deepEqual(await httpGet(rp, '/ready'), { status: 503, body: 'fakek8s' });
  isReady = true;
  assert.deepEqual(await httpGet(rp, '/ready'), { status: 200, body: 'OK' });
  // whoami answers with the client's address.
  const w = await dig(s.port, 'who.example', 'A');
  assert.match(w.raw, /who\.example\.\s+0\s+IN\s+A\s+127\.0\.0\.1/);
  // Lameduck: health still answers during the delay after close() starts.
  const hp = s.plugin<HealthPlugin>('health')!.address().port;
  const closing = s.close();
  await sleep(50);
  assert.equal((await httpGet(hp, '/health')).status, 200);
  await closing;
  await assert.rejects(httpGet(hp, '/health'));
});

test('log plugin writes CoreDNS common log lines', async () => {
  const logs: string[] = [];
  const s = await start(`.:53 {
    log
    hosts {
      10.0.0.5 logme.example
    }
  }`, logs);
  await dig(s.port, 'logme.example', 'A');
  const line = logs.find((l) => l.includes('logme.example'));
  assert.ok(line, logs.join('\n'));
  assert.match(line!, /^\[INFO\] 127\.0\.0\.1:\d+ - \d+ "A IN logme\.example\. udp \d+ false \d+" NOERROR qr,aa,rd \d+ \d+(\.\d+)?s$/);
});

test('forward: fail fast when all upstreams are down, max_concurrent, TC retry over TCP', async () => {
  const stub = await startStub();
  stubs.push(stub);
  // A dead upstream: a stub we close right away (nothing listens on its port).
  const dead = await startStub();
  await dead.close();
  const s = await start(`.:53 {
    forward . 127.0.0.1:${dead.port} {
      health_check 10s
      max_fails 1
    }
  }`);
  const t0 = Date.now();
  assert.equal((await dig(s.port, 'x.example')).status, 'SERVFAIL');
  const t1 = Date.now();
  assert.equal((await dig(s.port, 'y.example')).status, 'SERVFAIL');
  assert.ok(Date.now() - t1 < 500, `second failure should be immediate (first took ${t1 - t0}ms)`);

  // max_concurrent 1 with a slow upstream: the second concurrent query is REFUSED.
  stub.answer = async (q) => {
    await sleep(400);
    const { defaultAnswer } = await import('./helpers.js');
    return defaultAnswer(q);
  };
  const s2 = await start(`.:53 {
    forward . 127.0.0.1:${stub.port} {
      max_concurrent 1
    }
  }`);
  const [r1, r2] = await Promise.all([dig(s2.port, 'one.example'), (async () => (await sleep(100), dig(s2.port, 'two.example')))()]);
  assert.equal(r1.status, 'NOERROR');
  assert.equal(r2.status, 'REFUSED');

  // Upstream truncates over UDP: forward retries over TCP and gets everything.
  const { defaultAnswer, a } = await import('./helpers.js');
  stub.answer = (q, proto) => {
    const r = defaultAnswer(q);
    r.answers = Array.from({ length: 60 }, (_, i) => a(q.questions[0]!.name, `198.51.100.${i}`));
    if (proto === 'udp') {
      r.answers = r.answers.slice(0, 3);
      r.tc = true;
    }
    return r;
  };
  const s3 = await start(`.:53 {
    forward . 127.0.0.1:${stub.port}
  }`);
  const big = await dig(s3.port, 'many.example', 'A', ['+tcp']);
  assert.equal(big.answers.length, 60);
  assert.ok(stub.queries.some((q) => q.questions[0]!.name === 'many.example.'));
});

test('loop detection stops the server with CoreDNS\'s message', async () => {
  const { freePort } = await import('../../helpers/ports.js');
  const port = await freePort();
  const logs: string[] = [];
  const s = await startDnsServer({
    corefile: `.:${port} {
    loop
    forward . 127.0.0.1:${port}
  }`,
    host: '127.0.0.1',
    log: (l) => logs.push(l),
  });
  servers.push(s);
  const err = await Promise.race([s.done, sleep(8000).then(() => new Error('timeout'))]);
  assert.ok(err);
  assert.match(err!.message, /Loop \(127\.0\.0\.1:\d+ -> :\d+\) detected for zone "\.", see https:\/\/coredns\.io\/plugins\/loop#troubleshooting\. Query: "HINFO \d+\.\d+\."/);
  assert.ok(logs.some((l) => l.startsWith('[FATAL] plugin/loop: Loop')));
});

test('reload of a changed Corefile file without dropping concurrent queries', async () => {
  const dir = tempDir('k8ts-dns-');
  const path = join(dir, 'Corefile');
  const cf = (ip: string) => `.:53 {
    reload 2s 1s
    hosts {
      ${ip} svc.example
    }
  }\n`;
  writeFileSync(path, cf('10.0.0.1'));
  const logs: string[] = [];
  const s = await start({ path }, logs);
  assert.ok(logs.some((l) => /^\[INFO\] plugin\/reload: Running configuration SHA512 = [0-9a-f]{128}$/.test(l)));
  const port = s.port;
  let stop = false;
  let answered = 0;
  const seen = new Set<string>();
  const failures: string[] = [];
  const loop = (async () => {
    const { exchange } = await import('../../../src/dns/plugins/forward.js');
    while (!stop) {
      const batch = await Promise.all(
        Array.from({ length: 5 }, () =>
          exchange({ host: '127.0.0.1', port }, makeQuery('svc.example', TYPE.A), 'udp', 2000).then(
            (r) => r,
            (e) => (failures.push(String(e)), undefined),
          ),
        ),
      );
      for (const r of batch) {
        if (!r) continue;
        answered++;
        if (r.rcode !== 0) failures.push(`rcode ${r.rcode}`);
        for (const x of r.answers) seen.add((x.data as { address: string }).address);
      }
    }
  })();
  await sleep(300);
  writeFileSync(path, cf('10.0.0.2'));
  const deadline = Date.now() + 8000;
  while (!seen.has('10.0.0.2') && Date.now() < deadline) await sleep(100);
  await sleep(200);
  stop = true;
  await loop;
  assert.ok(seen.has('10.0.0.1') && seen.has('10.0.0.2'), [...seen].join(','));
  assert.deepEqual(failures, []);
  assert.ok(answered > 20);
  assert.equal(s.port, port, 'same port after reload');
  assert.ok(logs.includes('[INFO] Reloading'), logs.join('\n'));
  assert.equal(logs.filter((l) => l.includes('Running configuration SHA512')).length, 2);
  // A broken Corefile is not applied.
  writeFileSync(path, '.:53 {\n  nosuchplugin\n}\n');
  const d2 = Date.now() + 6000;
  while (!logs.some((l) => l.startsWith('[ERROR] Restart failed')) && Date.now() < d2) await sleep(100);
  assert.ok(logs.some((l) => l === "[ERROR] Restart failed: Corefile:2 - Error during parsing: Unknown directive 'nosuchplugin'"), logs.join('\n'));
  assert.deepEqual((await dig(port, 'svc.example')).answers.map((x) => x.data), ['10.0.0.2']);
});

test('reload API: ports change only when the Corefile says so', async () => {
  const s = await startDnsServer({ corefile: `.:0 {\n  whoami\n}\n`, host: '127.0.0.1', log: () => {} });
  servers.push(s);
  const p = s.port;
  await s.reload(`.:0 {\n  hosts {\n    10.3.3.3 r.example\n  }\n}\n`);
  assert.equal(s.port, p);
  assert.deepEqual((await dig(p, 'r.example')).answers.map((x) => x.data), ['10.3.3.3']);
  await assert.rejects(s.reload(`.:0 {\n  bogus\n}\n`), /Unknown directive 'bogus'/);
  assert.deepEqual((await dig(p, 'r.example')).answers.map((x) => x.data), ['10.3.3.3']);
});

test('longest zone wins between server blocks on one port', async () => {
  const s = await start(`example.org {
    hosts {
      10.0.0.1 a.example.org
      10.0.0.1 a.sub.example.org
    }
  }
  sub.example.org {
    hosts {
      10.0.0.2 a.sub.example.org
    }
  }
  . {
    whoami
  }`);
  assert.deepEqual((await dig(s.port, 'a.example.org')).answers.map((x) => x.data), ['10.0.0.1']);
  assert.deepEqual((await dig(s.port, 'a.sub.example.org')).answers.map((x) => x.data), ['10.0.0.2']);
  assert.match((await dig(s.port, 'elsewhere.net')).raw, /elsewhere\.net\.\s+0\s+IN\s+A\s+127\.0\.0\.1/);
});

test('forward: an upstream marked down comes back through health checks', async () => {
  const stub = await startStub();
  stubs.push(stub);
  const { defaultAnswer } = await import('./helpers.js');
  stub.answer = () => undefined; // silent upstream
  const s = await start(`.:53 {
    forward . 127.0.0.1:${stub.port} {
      max_fails 1
      health_check 100ms
      timeout 300ms
    }
  }`);
  assert.equal((await dig(s.port, 'a.example')).status, 'SERVFAIL');
  const t = Date.now();
  assert.equal((await dig(s.port, 'b.example')).status, 'SERVFAIL');
  assert.ok(Date.now() - t < 250, 'fails fast while down');
  stub.answer = defaultAnswer;
  const deadline = Date.now() + 5000;
  let status = '';
  while (Date.now() < deadline && (status = (await dig(s.port, 'c.example')).status) !== 'NOERROR') await sleep(100);
  assert.equal(status, 'NOERROR');
  assert.ok(stub.queries.some((q) => q.questions[0]!.name === '.' && q.questions[0]!.type === TYPE.NS), 'health check query "." NS');
});
