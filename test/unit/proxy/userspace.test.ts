// The userspace proxy's pure parts: IPVS-style schedulers, session affinity,
// the snapshot -> listeners/addresses computation and its diff, the rules
// table, and the IPVS check's explanation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EndpointInfo, ServicePortInfo } from '../../../src/proxy/types.js';
import { renderRules } from '../../../src/proxy/userspace/backend.js';
import { desiredState, diffAddresses, diffListeners, routeEndpoints } from '../../../src/proxy/userspace/desired.js';
import { ipvsAvailable } from '../../../src/proxy/userspace/ipvs.js';
import { UserspaceBackend } from '../../../src/proxy/userspace/backend.js';
import {
  AffinityTable,
  ConnTracker,
  LeastConnection,
  RoundRobin,
  SourceHash,
  chooseEndpoint,
  endpointKey,
  newScheduler,
  sourceHashBucket,
} from '../../../src/proxy/userspace/scheduler.js';
import { endpoint as ep, servicePort, snapshotOf } from './fixtures.js';

const svc = (name: string, more: Partial<ServicePortInfo> = {}) => servicePort('default', name, 'http', more);
const snapshot = (services: ServicePortInfo[], endpoints: Record<string, EndpointInfo[]> = {}, nodeIPs: string[] = []) =>
  snapshotOf(services, endpoints, { nodeName: 'n1', nodeIPs, clusterCidr: '10.244.0.0/16' });

const eps3 = [ep('10.244.1.1'), ep('10.244.1.2'), ep('10.244.1.3')];

test('rr: endpoints in turn, and after the last one picked when the set changes', () => {
  const rr = new RoundRobin();
  const ctx = { clientIP: '1.1.1.1', conns: new ConnTracker() };
  const picks = Array.from({ length: 6 }, () => rr.pick(eps3)!.ip);
  assert.deepEqual(picks, ['10.244.1.1', '10.244.1.2', '10.244.1.3', '10.244.1.1', '10.244.1.2', '10.244.1.3']);
  // Last pick was .3; a new endpoint .4 appears after it.
  const four = [...eps3, ep('10.244.1.4')];
  assert.equal(rr.pick(four, ctx)!.ip, '10.244.1.4');
  assert.equal(rr.pick(four, ctx)!.ip, '10.244.1.1');
  // The cursor's endpoint goes away: still cycles through the rest.
  const seen = new Set(Array.from({ length: 2 }, () => rr.pick([ep('10.244.1.2'), ep('10.244.1.3')], ctx)!.ip));
  assert.equal(seen.size, 2);
  assert.equal(rr.pick([]), undefined);
});

test('lc: least active connections first (ties to the first), UDP sessions weigh less', () => {
  const lc = new LeastConnection();
  const conns = new ConnTracker();
  const ctx = { clientIP: '1.1.1.1', conns };
  assert.equal(lc.pick(eps3, ctx)!.ip, '10.244.1.1');
  conns.open('10.244.1.1:80', 'active');
  assert.equal(lc.pick(eps3, ctx)!.ip, '10.244.1.2');
  conns.open('10.244.1.2:80', 'active');
  conns.open('10.244.1.3:80', 'active');
  conns.open('10.244.1.3:80', 'active');
  assert.equal(lc.pick(eps3, ctx)!.ip, '10.244.1.1');
  conns.close('10.244.1.3:80', 'active');
  conns.close('10.244.1.3:80', 'active');
  assert.equal(lc.pick(eps3, ctx)!.ip, '10.244.1.3');
  // 255 inactive (UDP) sessions weigh less than one active connection (active*256 + inactive).
  const c2 = new ConnTracker();
  for (let i = 0; i < 255; i++) c2.open('10.244.1.1:80', 'inactive');
  c2.open('10.244.1.2:80', 'active');
  c2.open('10.244.1.3:80', 'active');
  assert.equal(lc.pick(eps3, { clientIP: 'x', conns: c2 })!.ip, '10.244.1.1');
  assert.deepEqual(c2.get('10.244.1.1:80'), { active: 0, inactive: 255, total: 255 });
  // Counts never go negative; prune forgets idle endpoints that are gone.
  c2.close('10.244.1.9:80', 'active');
  c2.close('10.244.1.3:80', 'active');
  c2.close('10.244.1.3:80', 'active');
  assert.equal(c2.get('10.244.1.3:80').active, 0);
  c2.prune(new Set(['10.244.1.1:80']));
  assert.equal(c2.get('10.244.1.3:80').total, 0);
  assert.equal(c2.get('10.244.1.2:80').active, 1, 'kept: still has a connection');
});

test('sh: a client always gets the same endpoint; clients spread over endpoints', () => {
  const sh = new SourceHash();
  const conns = new ConnTracker();
  for (const client of ['10.244.0.5', '192.168.1.20', '172.16.0.1']) {
    const first = sh.pick(eps3, { clientIP: client, conns })!;
    for (let i = 0; i < 10; i++) assert.equal(sh.pick(eps3, { clientIP: client, conns }), first);
  }
  const counts = new Map<string, number>();
  for (let i = 1; i < 250; i++) {
    const e = sh.pick(eps3, { clientIP: `10.0.${i}.${(i * 7) % 250}`, conns })!;
    counts.set(e.ip, (counts.get(e.ip) ?? 0) + 1);
  }
  assert.equal(counts.size, 3, 'every endpoint gets some clients');
  for (const n of counts.values()) assert.ok(n > 30, `spread: ${[...counts.values()]}`);
  // ip_vs_sh's hash: (addr * 2654435761) >> 24 (the 256-bucket table).
  assert.equal(sourceHashBucket('0.0.0.1'), 2654435761 >>> 24);
  assert.ok(sourceHashBucket('10.1.2.3') >= 0 && sourceHashBucket('10.1.2.3') < 256);
  assert.throws(() => newScheduler('wrr' as never), /unknown proxy scheduler "wrr"/);
});

test('affinity: a sticky client keeps its endpoint until the timeout, then the scheduler picks again', () => {
  const affinity = new AffinityTable();
  const scheduler = new RoundRobin();
  const conns = new ConnTracker();
  let now = 1_000_000;
  const pick = (clientIP: string, eps = eps3, exclude?: Set<string>) => chooseEndpoint(eps, { clientIP, conns, scheduler, affinity, stickySeconds: 10, now, exclude })?.ip;
  const a = pick('1.1.1.1');
  assert.equal(a, '10.244.1.1');
  assert.equal(pick('2.2.2.2'), '10.244.1.2');
  for (let i = 0; i < 5; i++) {
    now += 5_000; // each use restarts the timer
    assert.equal(pick('1.1.1.1'), a);
  }
  now += 10_001;
  assert.notEqual(pick('1.1.1.1'), a, 'expired: rr moves on');
  // The endpoint went away: reassigned.
  const b = pick('3.3.3.3')!;
  assert.notEqual(pick('3.3.3.3', eps3.filter((e) => e.ip !== b)), b);
  // Excluded (failed to connect): another one, and that becomes the entry.
  const c = pick('4.4.4.4')!;
  const d = pick('4.4.4.4', eps3, new Set([`${c}:80`]))!;
  assert.notEqual(d, c);
  assert.equal(pick('4.4.4.4'), d);
  // Not sticky: no entries.
  const t2 = new AffinityTable();
  chooseEndpoint(eps3, { clientIP: '1.1.1.1', conns, scheduler, affinity: t2, stickySeconds: undefined, now });
  assert.equal(t2.size, 0);
  // sweep drops expired and invalid entries.
  const t3 = new AffinityTable();
  t3.record('a', 'x:1', 0, 1);
  t3.record('b', 'y:1', 0, 100);
  t3.record('c', 'z:1', 0, 100);
  t3.sweep(2000, new Set(['y:1']));
  assert.equal(t3.size, 1);
  assert.equal(t3.lookup('b', 2000), 'y:1');
  assert.equal(chooseEndpoint([], { clientIP: 'a', conns, scheduler, now }), undefined);
});

test('desired state: listeners for cluster, external and LB IPs and NodePorts; addresses; conflicts; SCTP left out', () => {
  const web = svc('web', { clusterIPs: ['10.96.0.12'], nodePort: 30080, externalIPs: ['192.0.2.10'], loadBalancerIPs: ['192.0.2.20'] });
  const dns = svc('dns', { key: 'kube-system/dns:dns', protocol: 'UDP', port: 53, clusterIPs: ['10.96.0.10'] });
  const dup = svc('dup', { externalIPs: ['192.0.2.10'], clusterIPs: ['10.96.0.13'] });
  const sctp = svc('sctp', { protocol: 'SCTP', clusterIPs: ['10.96.0.14'] });
  const d = desiredState(snapshot([web, dns, dup, sctp], {}, ['172.18.0.2']));
  assert.deepEqual([...d.listeners.keys()].sort(), [
    'TCP/10.96.0.12:80',
    'TCP/10.96.0.13:80',
    'TCP/172.18.0.2:30080',
    'TCP/192.0.2.10:80',
    'TCP/192.0.2.20:80',
    'UDP/10.96.0.10:53',
  ]);
  assert.equal(d.listeners.get('TCP/192.0.2.10:80')!.serviceKey, 'default/dup:http', 'first in key order wins');
  assert.deepEqual(d.conflicts, [{ id: 'TCP/192.0.2.10:80', serviceKey: 'default/web:http', winner: 'default/dup:http' }]);
  assert.equal(d.listeners.get('TCP/172.18.0.2:30080')!.kind, 'nodePort');
  assert.equal(d.listeners.get('TCP/192.0.2.20:80')!.kind, 'loadBalancer');
  assert.deepEqual(d.addresses, ['10.96.0.10', '10.96.0.12', '10.96.0.13', '192.0.2.10', '192.0.2.20']);
  assert.deepEqual(d.unsupported, ['default/sctp:http']);
  // Node IPs unknown: NodePorts on every address; an override wins.
  assert.ok(desiredState(snapshot([web])).listeners.has('TCP/0.0.0.0:30080'));
  assert.ok(desiredState(snapshot([web]), { nodePortAddresses: ['127.0.0.1'] }).listeners.has('TCP/127.0.0.1:30080'));
});

test('diff: only changed listeners and addresses; a socket re-pointed to another service port is updated in place', () => {
  const a = svc('a', { clusterIPs: ['10.96.0.1'] });
  const b = svc('b', { clusterIPs: ['10.96.0.2'], nodePort: 30001 });
  const before = desiredState(snapshot([a, b], {}, ['172.18.0.2']));
  assert.deepEqual(diffListeners(before.listeners, before.listeners), { add: [], remove: [], update: [], unchanged: 3 });
  // b loses its NodePort, c arrives, a's IP now belongs to a2 (a deleted, a2 created in one sync).
  const a2 = svc('a2', { clusterIPs: ['10.96.0.1'] });
  const c = svc('c', { clusterIPs: ['10.96.0.3'], protocol: 'UDP' });
  const after = desiredState(snapshot([a2, { ...b, nodePort: 0 }, c], {}, ['172.18.0.2']));
  const d = diffListeners(before.listeners, after.listeners);
  assert.deepEqual(d.add.map((s) => s.id), ['UDP/10.96.0.3:80']);
  assert.deepEqual(d.remove, ['TCP/172.18.0.2:30001']);
  assert.deepEqual(d.update.map((s) => [s.id, s.serviceKey]), [['TCP/10.96.0.1:80', 'default/a2:http']]);
  assert.equal(d.unchanged, 1);
  assert.deepEqual(diffAddresses(before.addresses, after.addresses), { add: ['10.96.0.3'], remove: [] });
  assert.deepEqual(diffAddresses(['10.96.0.1', '10.96.0.9'], ['10.96.0.1']), { add: [], remove: ['10.96.0.9'] });
});

test('routeEndpoints: cluster vs local per traffic policy, terminating fallback, stable order', () => {
  const local = ep('10.244.1.9', 80, { isLocal: true });
  const remote = [ep('10.244.2.2'), ep('10.244.2.1')];
  const all = [...remote, local];
  const r = routeEndpoints(svc('x', { clusterIPs: ['10.96.0.1'] }), all);
  assert.deepEqual(r.internal.map(endpointKey), ['10.244.1.9:80', '10.244.2.1:80', '10.244.2.2:80']);
  assert.deepEqual(r.external, r.internal);
  const etp = routeEndpoints(svc('x', { clusterIPs: ['10.96.0.1'], nodePort: 30000, externalPolicyLocal: true }), all);
  assert.equal(etp.internal.length, 3);
  assert.deepEqual(etp.external.map(endpointKey), ['10.244.1.9:80']);
  const itp = routeEndpoints(svc('x', { clusterIPs: ['10.96.0.1'], internalPolicyLocal: true }), remote);
  assert.deepEqual(itp.internal, [], 'iTP Local without local endpoints: nothing');
  const term = routeEndpoints(svc('x', { clusterIPs: ['10.96.0.1'] }), [ep('10.244.3.1', 80, { ready: false, serving: true, terminating: true }), ep('10.244.3.2', 80, { ready: false, serving: false })]);
  assert.deepEqual(term.internal.map((e) => e.ip), ['10.244.3.1']);
});

test('backend routing without sockets: eTP Local short-circuit for pods and the node, LB source ranges', async () => {
  const b = new UserspaceBackend({ scheduler: 'rr' });
  // Fill the service state as sync does, without touching the kernel: through the private map.
  const s = svc('w', { clusterIPs: ['10.96.0.5'], nodePort: 30005, loadBalancerIPs: ['192.0.2.5'], loadBalancerSourceRanges: ['198.51.100.0/24'], externalPolicyLocal: true });
  const local = ep('10.244.1.9', 80, { isLocal: true });
  const remote = ep('10.244.2.1');
  const routed = routeEndpoints(s, [local, remote]);
  const internals = b as unknown as { services: Map<string, unknown>; nodeIPs: Set<string>; clusterCidr: unknown };
  internals.services.set(s.key, { svc: s, fingerprint: '', routed, scheduler: new RoundRobin(), affinity: new AffinityTable(), conns: new ConnTracker() });
  internals.nodeIPs = new Set(['172.18.0.2']);
  internals.clusterCidr = { base: (10 << 24) + (244 << 16), prefix: 16, size: 65536, text: '10.244.0.0/16' };
  const np = { id: 'TCP/172.18.0.2:30005', protocol: 'TCP' as const, ip: '172.18.0.2', port: 30005, serviceKey: s.key, kind: 'nodePort' as const };
  const lb = { ...np, id: 'TCP/192.0.2.5:80', ip: '192.0.2.5', port: 80, kind: 'loadBalancer' as const };
  const cip = { ...np, id: 'TCP/10.96.0.5:80', ip: '10.96.0.5', port: 80, kind: 'clusterIP' as const };
  assert.deepEqual(b.endpointsFor(np, '203.0.113.7')!.map((e) => e.ip), ['10.244.1.9'], 'external client: local only');
  assert.equal(b.endpointsFor(np, '10.244.3.3')!.length, 2, 'pod: cluster-wide');
  assert.equal(b.endpointsFor(np, '172.18.0.2')!.length, 2, 'the node itself: cluster-wide');
  assert.equal(b.endpointsFor(cip, '203.0.113.7')!.length, 2);
  assert.equal(b.endpointsFor(lb, '203.0.113.7'), undefined, 'outside loadBalancerSourceRanges: refused');
  assert.deepEqual(b.endpointsFor(lb, '198.51.100.9')!.map((e) => e.ip), ['10.244.1.9']);
  const o = b.open(cip, '10.244.3.3', 'active')!;
  assert.equal(b.table()[0], undefined, 'no listeners: empty table');
  o.release();
  o.release();
  assert.equal((internals.services.get(s.key) as { conns: ConnTracker }).conns.get(endpointKey(o.ep)).active, 0);
});

test('rules table looks like ipvsadm -Ln', () => {
  const text = renderRules(
    [
      { protocol: 'TCP', address: '10.96.0.12:80', scheduler: 'rr', serviceKey: 'default/web:http', kind: 'clusterIP', policyLocal: false, endpoints: [{ address: '10.244.1.5:80', active: 2, inactive: 0, total: 7 }] },
      { protocol: 'UDP', address: '10.96.0.10:53', scheduler: 'rr', persistent: 10800, serviceKey: 'kube-system/dns:dns', kind: 'clusterIP', policyLocal: false, endpoints: [] },
    ],
    { interfaceName: 'k8ts-svc0', mode: 'bridge', addresses: ['10.96.0.10', '10.96.0.12'] },
  );
  assert.match(text, /^Prot LocalAddress:Port Scheduler Flags$/m);
  assert.match(text, /^TCP  10\.96\.0\.12:80 rr\s+# default\/web:http clusterIP$/m);
  assert.match(text, /^ {2}-> 10\.244\.1\.5:80\s+Proxy\s+1\s+2\s+0$/m);
  assert.match(text, /^UDP  10\.96\.0\.10:53 rr persistent 10800\s+# kube-system\/dns:dns clusterIP \(no endpoints: reject\)$/m);
});

test('ipvsAvailable explains itself and points to the userspace mode', async () => {
  const r = await ipvsAvailable({ procDir: '/nonexistent-proc', sysDir: '/nonexistent-sys' });
  assert.equal(r.ok, false);
  assert.match(r.reason, /IPVS is not available/);
  assert.match(r.reason, /--proxy-mode userspace/);
  const here = await ipvsAvailable();
  assert.match(here.reason, /--proxy-mode userspace/);
});
