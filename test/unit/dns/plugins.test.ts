import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import '../../../src/dns/index.js';
import { parseCorefile } from '../../../src/dns/corefile.js';
import { lookupPlugin } from '../../../src/dns/registry.js';
import { SHARED } from '../../../src/dns/server.js';
import { makeQuery } from '../../../src/dns/wire.js';
import { metricsOf, MetricsRegistry } from '../../../src/dns/plugins/prometheus.js';
import { roundRobin } from '../../../src/dns/plugins/loadbalance.js';
import { parseHosts, reverseName, type HostsPlugin } from '../../../src/dns/plugins/hosts.js';
import { parseResolvConf, parseUpstream } from '../../../src/dns/plugins/forward.js';
import { formatLogLine } from '../../../src/dns/plugins/log.js';
import { CLASS, RCODE, TYPE, reply, type DnsMessage, type DnsRequest, type Handler, type Plugin, type ResourceRecord } from '../../../src/dns/types.js';
import { a, startStub, type Stub } from './helpers.js';
import { tempDir } from '../../helpers/tmp.js';

const shutdowns: Array<() => unknown> = [];
const stubs: Stub[] = [];
after(async () => {
  for (const f of shutdowns) await f();
  for (const s of stubs) await s.close();
});

async function mk<T extends Plugin = Plugin>(text: string, logs: string[] = [], shared = new Map<string, unknown>()): Promise<T> {
  const [b] = parseCorefile(`.:53 {\n${text}\n}\n`);
  const d = b!.directives[0]!;
  shared.set(SHARED.log, (l: string) => logs.push(l));
  const p = await lookupPlugin(d.name)!(d, { zones: ['.'], port: 53, onShutdown: (f) => shutdowns.push(f), shared });
  return p as T;
}

function req(name: string, type: number = TYPE.A, protocol: 'udp' | 'tcp' = 'udp'): DnsRequest {
  const msg = makeQuery(name, type, { id: 99 });
  return { msg, question: msg.questions[0]!, client: { address: '127.0.0.1', port: 5353, protocol }, zone: '.' };
}

const answerWith =
  (rrs: ResourceRecord[], rcode: number = RCODE.NOERROR, authority: ResourceRecord[] = []): Handler =>
  async (r) => ({ ...reply(r, rcode), answers: rrs.map((x) => ({ ...x })), authority });

const failNext: Handler = async () => {
  throw new Error('no next plugin found');
};

test('errors: a failure below becomes SERVFAIL and a CoreDNS-style log line', async () => {
  const logs: string[] = [];
  const p = await mk('errors', logs);
  const r = await p.handler(failNext)(req('x.example'));
  assert.equal(r.rcode, RCODE.SERVFAIL);
  assert.deepEqual(logs, ['[ERROR] plugin/errors: 2 x.example. A: no next plugin found']);
  await assert.rejects(mk('errors a b'), /Corefile:2 - Error during parsing: errors: too many arguments/);
});

test('log: common format and name filter', async () => {
  const logs: string[] = [];
  const p = await mk('log only.example', logs);
  await p.handler(answerWith([a('only.example.', '1.1.1.1')]))(req('only.example'));
  await p.handler(answerWith([]))(req('other.example'));
  assert.equal(logs.length, 1);
  assert.match(logs[0]!, /^\[INFO\] 127\.0\.0\.1:5353 - 99 "A IN only\.example\. udp 0 false 512" NOERROR qr,rd \d+ [\d.]+s$/);
  const line = formatLogLine('{type} {name} {rcode} {>rflags}', req('z.'), { ...reply(req('z.')), aa: true }, 0.001);
  assert.equal(line, 'A z. NOERROR qr,aa,rd');
});

test('loadbalance: shuffles address records, keeps CNAMEs first', async () => {
  const cname: ResourceRecord = { name: 'w.', type: TYPE.CNAME, class: CLASS.IN, ttl: 5, data: { type: 5, target: 't.' } };
  const addrs = Array.from({ length: 8 }, (_, i) => a('t.', `10.0.0.${i}`));
  const orders = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const out = roundRobin([cname, ...addrs]);
    assert.equal(out[0], cname);
    assert.equal(out.length, 9);
    orders.add(out.map((x) => (x.data as { address?: string }).address).join(','));
  }
  assert.ok(orders.size > 1);
  const p = await mk('loadbalance');
  const r = await p.handler(answerWith(addrs))(req('t.'));
  assert.equal(r.answers.length, 8);
  await assert.rejects(mk('loadbalance weighted'), /unknown policy/);
});

test('hosts: parsing, reverse names, fallthrough zones, file reload', async () => {
  const t = parseHosts('127.0.0.1 localhost\n::1 localhost ip6-localhost # c\n::ffff:10.0.0.1 mapped\nbad line\n');
  assert.deepEqual(t.byName.get('localhost.'), { v4: ['127.0.0.1'], v6: ['::1'] });
  assert.deepEqual(t.byName.get('mapped.'), { v4: ['10.0.0.1'], v6: [] });
  assert.equal(reverseName('10.1.2.3'), '3.2.1.10.in-addr.arpa.');
  assert.equal(reverseName('2001:db8::1'), '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.');
  const dir = tempDir('k8ts-hosts-');
  const file = join(dir, 'hosts');
  writeFileSync(file, '10.0.0.1 one.test\n');
  const p = await mk<HostsPlugin>(`hosts ${file} test {\n  fallthrough other.test\n  reload 0\n  no_reverse\n}`);
  const next = answerWith([a('x.', '9.9.9.9')]);
  assert.equal((await p.handler(next)(req('one.test'))).answers[0]!.data.type, TYPE.A);
  assert.equal((await p.handler(next)(req('two.test'))).rcode, RCODE.SERVFAIL);
  assert.equal((await p.handler(next)(req('x.other.test'))).answers[0]!.ttl, 60); // fell through
  assert.equal((await p.handler(next)(req('outside.zone'))).answers.length, 1); // not our zone
  assert.equal((await p.handler(next)(req('1.0.0.10.in-addr.arpa', TYPE.PTR))).answers.length, 1); // no_reverse -> not ours
  writeFileSync(file, '10.0.0.2 two.test\n# longer file so the size changes\n');
  p.reloadFile();
  const r = await p.handler(next)(req('two.test'));
  assert.equal((r.answers[0]!.data as { address: string }).address, '10.0.0.2');
  await assert.rejects(mk('hosts {\n  ttl -1\n}'), /ttl must be in range/);
  await assert.rejects(mk('hosts {\n  bogus\n}'), /unknown property 'bogus'/);
});

test('forward: argument parsing', async () => {
  assert.deepEqual(parseUpstream('1.2.3.4'), { host: '1.2.3.4', port: 53 });
  assert.deepEqual(parseUpstream('dns://1.2.3.4:5353'), { host: '1.2.3.4', port: 5353 });
  assert.deepEqual(parseUpstream('[::1]:53'), { host: '::1', port: 53 });
  assert.equal(parseUpstream('example.com'), undefined);
  assert.deepEqual(parseResolvConf('# x\nsearch a\nnameserver 127.0.0.53\nnameserver fe80::1%eth0\n'), ['127.0.0.53', 'fe80::1']);
  await assert.rejects(mk('forward .'), /Wrong argument count/);
  await assert.rejects(mk('forward . example.com'), /not an IP address or file/);
  await assert.rejects(mk('forward . 127.0.0.1 {\n  policy weird\n}'), /unknown policy/);
  await assert.rejects(mk('forward . 127.0.0.1 {\n  nope\n}'), /Corefile:2 - Error during parsing: forward: unknown property 'nope'/);
  const dir = tempDir('k8ts-fwd-');
  writeFileSync(join(dir, 'resolv.conf'), 'nameserver 127.0.0.1\n');
  const p = await mk<Plugin & { upstreams: Array<{ host: string; port: number }> }>(`forward . ${join(dir, 'resolv.conf')}`);
  assert.deepEqual(p.upstreams.map((u) => `${u.host}:${u.port}`), ['127.0.0.1:53']);
});

test('forward: sequential and round_robin policies, FROM zone', async () => {
  const s1 = await startStub();
  const s2 = await startStub();
  stubs.push(s1, s2);
  const seq = await mk(`forward example 127.0.0.1:${s1.port} 127.0.0.1:${s2.port} {\n  policy sequential\n}`);
  for (let i = 0; i < 4; i++) assert.equal((await seq.handler(failNext)(req(`q${i}.example`))).rcode, RCODE.NOERROR);
  assert.equal(s1.queries.length, 4);
  assert.equal(s2.queries.length, 0);
  await assert.rejects(seq.handler(failNext)(req('not.under.from')), /no next plugin/);
  const rr = await mk(`forward . 127.0.0.1:${s1.port} 127.0.0.1:${s2.port} {\n  policy round_robin\n}`);
  for (let i = 0; i < 4; i++) await rr.handler(failNext)(req(`r${i}.example`));
  assert.equal(s1.queries.length, 6);
  assert.equal(s2.queries.length, 2);
  // Upstream answers keep the client's id.
  const r = await rr.handler(failNext)(req('id.example'));
  assert.equal(r.id, 99);
});

test('cache: TTL cap and floor, denial via SOA, capacity, no TC, servfail, metrics, disable', async () => {
  const shared = new Map<string, unknown>();
  const p = await mk('cache 30 {\n  success 2\n  denial 5 60 2\n}', [], shared);
  let calls = 0;
  let ttl = 300;
  const next: Handler = async (r) => {
    calls++;
    return { ...reply(r), answers: [a(r.question.name, '10.0.0.1', ttl)] };
  };
  const h = p.handler(next);
  const r1 = await h(req('a.example'));
  assert.equal(r1.answers[0]!.ttl, 30);
  const r2 = await h(req('a.example'));
  assert.equal(calls, 1);
  assert.ok(r2.answers[0]!.ttl <= 30 && r2.answers[0]!.ttl >= 29);
  assert.equal(r2.id, 99);
  // Different type is a different key.
  await h(req('a.example', TYPE.AAAA));
  assert.equal(calls, 2);
  // Capacity 2: a third name evicts the oldest (a.example A was touched last before AAAA).
  await h(req('b.example'));
  await h(req('a.example'));
  assert.equal(calls, 4);
  // Floor: ttl 1 -> 5s minimum (default MINTTL).
  ttl = 1;
  const low = await h(req('low.example'));
  assert.equal(low.answers[0]!.ttl, 5);
  // Denial uses the SOA MINIMUM.
  const soa: ResourceRecord = { name: 'example.', type: TYPE.SOA, class: CLASS.IN, ttl: 3600, data: { type: 6, mname: 'ns.', rname: 'h.', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 20 } };
  let dcalls = 0;
  const dh = p.handler(async (r) => (dcalls++, { ...reply(r, RCODE.NXDOMAIN), authority: [soa] }));
  assert.equal((await dh(req('nx.example'))).authority[0]!.ttl, 20);
  assert.equal((await dh(req('nx.example'))).rcode, RCODE.NXDOMAIN);
  assert.equal(dcalls, 1);
  // Truncated answers are never cached.
  let tcalls = 0;
  const th = p.handler(async (r) => (tcalls++, { ...reply(r), tc: true, answers: [a(r.question.name, '1.1.1.1')] }));
  await th(req('tc.example'));
  await th(req('tc.example'));
  assert.equal(tcalls, 2);
  // SERVFAIL is cached briefly (servfail 5s default).
  let scalls = 0;
  const sh = p.handler(async (r) => (scalls++, reply(r, RCODE.SERVFAIL)));
  await sh(req('sf.example'));
  await sh(req('sf.example'));
  assert.equal(scalls, 1);
  const body = metricsOf(shared).render();
  assert.match(body, /coredns_cache_hits_total\{server="dns:\/\/:53",type="success",view="",zones="\."\} 1/);
  assert.match(body, /coredns_cache_hits_total\{[^}]*type="denial"[^}]*\} 2/);
  assert.match(body, /coredns_cache_entries\{server="dns:\/\/:53",type="success",view="",zones="\."\} 2/);
  assert.match(body, /coredns_cache_misses_total\{[^}]*\} \d+/);
  // disable success
  const q = await mk('cache {\n  disable success\n}');
  let qc = 0;
  const qh = q.handler(async (r) => (qc++, { ...reply(r), answers: [a(r.question.name, '1.1.1.1')] }));
  await qh(req('d.example'));
  await qh(req('d.example'));
  assert.equal(qc, 2);
  await assert.rejects(mk('cache 0'), /can not be zero or negative/);
  await assert.rejects(mk('cache {\n  frob\n}'), /unknown property/);
});

test('prometheus registry renders the text format', () => {
  const reg = new MetricsRegistry();
  reg.counter('c_total', 'A counter.').inc({ b: '2', a: 'x"y' }, 3);
  reg.histogram('h_seconds', 'A histogram.', [0.1, 1]).observe({ z: '.' }, 0.5);
  const t = reg.render();
  assert.match(t, /# HELP c_total A counter\.\n# TYPE c_total counter\nc_total\{a="x\\"y",b="2"\} 3\n/);
  assert.match(t, /h_seconds_bucket\{z="\.",le="0\.1"\} 0\nh_seconds_bucket\{z="\.",le="1"\} 1\nh_seconds_bucket\{z="\.",le="\+Inf"\} 1\nh_seconds_sum\{z="\."\} 0\.5\nh_seconds_count\{z="\."\} 1/);
});

test('setup errors of health, ready, reload, loop carry the line', async () => {
  await assert.rejects(mk('health :0 {\n  lameduck soon\n}'), /Corefile:2 - Error during parsing: health: unable to parse lameduck duration value: 'soon'/);
  await assert.rejects(mk('ready a b'), /too many arguments/);
  await assert.rejects(mk('reload 1s'), /interval value must be greater or equal to 2 seconds/);
  await assert.rejects(mk('reload 10s 6s'), /jitter value must be smaller than half the interval/);
  await assert.rejects(mk('loop x'), /too many arguments/);
});

void ((): DnsMessage | undefined => undefined);
