// The nftables proxy's pure core (snapshot + last state -> nft transaction)
// and the backend's use of nft/conntrack, with commands recorded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NftablesProxier, kernelAtLeast } from '../../../src/proxy/nftables/proxier.js';
import { computeSync } from '../../../src/proxy/nftables/ruleset.js';
import { hashAndTruncate, servicePortChainNameBase, servicePortEndpointChainNameBase } from '../../../src/proxy/nftables/names.js';
import type { EndpointInfo, ProxySnapshot, ServicePortInfo } from '../../../src/proxy/types.js';
import { recordCommands } from '../../../src/util/exec.js';
import { endpoint, servicePort, snapshotOfPairs } from './fixtures.js';

const T = 'kptest';
const opts = { table: T };

const svc = (name: string, o: Partial<ServicePortInfo> = {}) => servicePort('ns1', name, o.portName ?? 'p80', { clusterIPs: ['172.30.0.41'], ...o });
const ep = (ip: string, o: Partial<EndpointInfo> = {}) => endpoint(ip, 80, o);
const snap = (entries: Array<[ServicePortInfo, EndpointInfo[]]>, o: Partial<ProxySnapshot> = {}) =>
  snapshotOfPairs(entries, { nodeName: 'node-a', nodeIPs: ['192.168.0.2'], clusterCidr: '10.0.0.0/8' }, o);

const lines = (script: string) => script.split('\n').filter(Boolean);
/** The lines of a script that mention a string. */
const about = (script: string, s: string) => lines(script).filter((l) => l.includes(s));

const SVC1 = 'ULMVA6XW-ns1/svc1/tcp/p80';
const EP1 = '5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80';
const EP2 = '2ZNDXFAB-ns1/svc1/tcp/p80__10.180.0.2/80';

test('names hash and truncate as upstream', () => {
  assert.equal(servicePortChainNameBase('ns1', 'svc1', 'TCP', 'p80'), SVC1);
  assert.equal(servicePortEndpointChainNameBase('ns1', 'svc1', 'tcp', 'p80', '10.180.0.1', 80), EP1);
  const long = hashAndTruncate('x'.repeat(300));
  assert.equal(long.length, 240);
  assert.ok(long.endsWith('...'));
});

test('kernel version check', () => {
  assert.equal(kernelAtLeast(6, 2, '6.18.44-fc'), true);
  assert.equal(kernelAtLeast(6, 2, '6.1.0-17-amd64'), false);
  assert.equal(kernelAtLeast(6, 2, '5.15.0'), false);
  assert.equal(kernelAtLeast(6, 2, '7.0.1'), true);
});

test('full sync: fixed table layout', () => {
  const p = computeSync(snap([]), undefined, opts);
  assert.equal(p.full, true);
  assert.deepEqual(lines(p.script), [
    `add table ip ${T}`,
    `delete table ip ${T}`,
    `add table ip ${T} { comment "rules for kube-proxy" ; }`,
    `add chain ip ${T} filter-prerouting { type filter hook prerouting priority -110 ; policy accept ; }`,
    `add chain ip ${T} filter-input { type filter hook input priority -110 ; policy accept ; }`,
    `add chain ip ${T} filter-forward { type filter hook forward priority -110 ; policy accept ; }`,
    `add chain ip ${T} filter-output { type filter hook output priority -110 ; policy accept ; }`,
    `add chain ip ${T} filter-output-post-dnat { type filter hook output priority -90 ; policy accept ; }`,
    `add chain ip ${T} nat-prerouting { type nat hook prerouting priority -100 ; policy accept ; }`,
    `add chain ip ${T} nat-output { type nat hook output priority -100 ; policy accept ; }`,
    `add chain ip ${T} nat-postrouting { type nat hook postrouting priority 100 ; policy accept ; }`,
    `add chain ip ${T} nodeport-endpoints-check`,
    `add chain ip ${T} service-endpoints-check`,
    `add chain ip ${T} firewall-check`,
    `add chain ip ${T} services`,
    `add chain ip ${T} masquerading`,
    `add chain ip ${T} cluster-ips-check`,
    `add chain ip ${T} mark-for-masquerade`,
    `add chain ip ${T} reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }`,
    `add set ip ${T} cluster-ips { type ipv4_addr ; comment "Active ClusterIPs" ; }`,
    `add set ip ${T} nodeport-ips { type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }`,
    `add element ip ${T} nodeport-ips { 192.168.0.2 }`,
    `add map ip ${T} no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }`,
    `add map ip ${T} no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }`,
    `add map ip ${T} firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }`,
    `add map ip ${T} service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }`,
    `add map ip ${T} service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }`,
    `add rule ip ${T} filter-input ct state new jump nodeport-endpoints-check`,
    `add rule ip ${T} filter-input ct state new jump service-endpoints-check`,
    `add rule ip ${T} filter-forward ct state new jump service-endpoints-check`,
    `add rule ip ${T} filter-output ct state new jump service-endpoints-check`,
    `add rule ip ${T} filter-prerouting ct state new jump firewall-check`,
    `add rule ip ${T} filter-output ct state new jump firewall-check`,
    `add rule ip ${T} nat-output jump services`,
    `add rule ip ${T} nat-prerouting jump services`,
    `add rule ip ${T} nat-postrouting jump masquerading`,
    `add rule ip ${T} filter-forward ct state new jump cluster-ips-check`,
    `add rule ip ${T} filter-output-post-dnat ct state new jump cluster-ips-check`,
    `add rule ip ${T} mark-for-masquerade mark set mark or 0x4000`,
    `add rule ip ${T} masquerading mark and 0x4000 == 0 return`,
    `add rule ip ${T} masquerading mark set mark xor 0x4000`,
    `add rule ip ${T} masquerading masquerade fully-random`,
    `add rule ip ${T} cluster-ips-check ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"`,
    `add rule ip ${T} reject-chain reject`,
    `add rule ip ${T} service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services`,
    `add rule ip ${T} nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports`,
    `add rule ip ${T} firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips`,
    `add rule ip ${T} services ip daddr . meta l4proto . th dport vmap @service-ips`,
    `add rule ip ${T} services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports`,
  ]);
});

test('full sync: NodePorts on every local address, service CIDRs, masquerade bit', () => {
  const p = computeSync(snap([], { nodeIPs: [] }), undefined, { table: T, serviceCIDRs: ['172.30.0.0/16'], masqueradeMark: '0x8000' });
  assert.ok(!p.script.includes('nodeport-ips'));
  assert.ok(p.script.includes(`add rule ip ${T} services fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports\n`));
  assert.ok(p.script.includes(`add rule ip ${T} nodeport-endpoints-check ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports\n`));
  assert.ok(p.script.includes(`add rule ip ${T} cluster-ips-check ip daddr { 172.30.0.0/16 } drop comment "Drop traffic to unallocated ClusterIPs"\n`));
  assert.ok(p.script.includes('mark set mark or 0x8000'));
});

test('full sync: ClusterIP service with two endpoints', () => {
  const p = computeSync(snap([[svc('svc1'), [ep('10.180.0.1'), ep('10.180.0.2')]]]), undefined, opts);
  assert.deepEqual(about(p.script, 'svc1'), [
    `add chain ip ${T} endpoint-${EP1}`,
    `add chain ip ${T} endpoint-${EP2}`,
    `add chain ip ${T} service-${SVC1}`,
    `add rule ip ${T} endpoint-${EP1} ip saddr 10.180.0.1 jump mark-for-masquerade`,
    `add rule ip ${T} endpoint-${EP1} meta l4proto tcp dnat to 10.180.0.1:80`,
    `add rule ip ${T} endpoint-${EP2} ip saddr 10.180.0.2 jump mark-for-masquerade`,
    `add rule ip ${T} endpoint-${EP2} meta l4proto tcp dnat to 10.180.0.2:80`,
    `add rule ip ${T} service-${SVC1} ip daddr 172.30.0.41 tcp dport 80 ip saddr != 10.0.0.0/8 jump mark-for-masquerade`,
    `add rule ip ${T} service-${SVC1} numgen random mod 2 vmap { 0 : goto endpoint-${EP1}, 1 : goto endpoint-${EP2} }`,
    `add element ip ${T} service-ips { 172.30.0.41 . tcp . 80 : goto service-${SVC1} }`,
  ]);
  assert.ok(p.script.includes(`add element ip ${T} cluster-ips { 172.30.0.41 }\n`));
  assert.equal(p.changed, 1);
  assert.deepEqual(p.conntrack, []);
});

test('masquerade: all traffic with masqueradeAll, none without a cluster CIDR', () => {
  const s = snap([[svc('svc1'), [ep('10.180.0.1')]]]);
  const all = computeSync(s, undefined, { table: T, masqueradeAll: true });
  assert.deepEqual(about(all.script, 'dport 80'), [`add rule ip ${T} service-${SVC1} ip daddr 172.30.0.41 tcp dport 80 jump mark-for-masquerade`]);
  const none = computeSync({ ...s, clusterCidr: '' }, undefined, opts);
  assert.deepEqual(about(none.script, 'dport 80'), []);
});

test('incremental sync touches only the changed service', () => {
  const s2 = svc('svc2', { clusterIPs: ['172.30.0.42'] });
  const first = computeSync(
    snap([
      [svc('svc1'), [ep('10.180.0.1'), ep('10.180.0.2')]],
      [s2, [ep('10.180.0.3')]],
    ]),
    undefined,
    opts,
  );
  // Unchanged: nothing to do.
  const same = computeSync(
    snap([
      [svc('svc1'), [ep('10.180.0.1'), ep('10.180.0.2')]],
      [s2, [ep('10.180.0.3')]],
    ]),
    first.state,
    opts,
  );
  assert.equal(same.full, false);
  assert.equal(same.script, '');
  assert.equal(same.changed, 0);

  // svc1 loses an endpoint.
  const next = computeSync(
    snap([
      [svc('svc1'), [ep('10.180.0.1')]],
      [s2, [ep('10.180.0.3')]],
    ]),
    first.state,
    opts,
  );
  assert.equal(next.full, false);
  assert.equal(next.changed, 1);
  assert.deepEqual(lines(next.script), [
    `add chain ip ${T} endpoint-${EP1}`,
    `flush chain ip ${T} endpoint-${EP1}`,
    `add chain ip ${T} service-${SVC1}`,
    `flush chain ip ${T} service-${SVC1}`,
    `flush chain ip ${T} endpoint-${EP2}`,
    `add rule ip ${T} endpoint-${EP1} ip saddr 10.180.0.1 jump mark-for-masquerade`,
    `add rule ip ${T} endpoint-${EP1} meta l4proto tcp dnat to 10.180.0.1:80`,
    `add rule ip ${T} service-${SVC1} ip daddr 172.30.0.41 tcp dport 80 ip saddr != 10.0.0.0/8 jump mark-for-masquerade`,
    `add rule ip ${T} service-${SVC1} numgen random mod 1 vmap { 0 : goto endpoint-${EP1} }`,
    `delete chain ip ${T} endpoint-${EP2}`,
  ]);
  assert.deepEqual(next.conntrack, []); // TCP
  // The unchanged service's rendering is reused as is.
  assert.equal(next.state.services.get(s2.key), first.state.services.get(s2.key));
});

test('incremental sync: service added, then deleted', () => {
  const base = computeSync(snap([]), undefined, opts);
  const added = computeSync(snap([[svc('svc1'), [ep('10.180.0.1')]]]), base.state, opts);
  assert.equal(added.full, false);
  assert.deepEqual(lines(added.script), [
    `add chain ip ${T} endpoint-${EP1}`,
    `flush chain ip ${T} endpoint-${EP1}`,
    `add chain ip ${T} service-${SVC1}`,
    `flush chain ip ${T} service-${SVC1}`,
    `add rule ip ${T} endpoint-${EP1} ip saddr 10.180.0.1 jump mark-for-masquerade`,
    `add rule ip ${T} endpoint-${EP1} meta l4proto tcp dnat to 10.180.0.1:80`,
    `add rule ip ${T} service-${SVC1} ip daddr 172.30.0.41 tcp dport 80 ip saddr != 10.0.0.0/8 jump mark-for-masquerade`,
    `add rule ip ${T} service-${SVC1} numgen random mod 1 vmap { 0 : goto endpoint-${EP1} }`,
    `add element ip ${T} cluster-ips { 172.30.0.41 }`,
    `add element ip ${T} service-ips { 172.30.0.41 . tcp . 80 : goto service-${SVC1} }`,
  ]);
  const deleted = computeSync(snap([]), added.state, opts);
  assert.equal(deleted.changed, 1);
  assert.deepEqual(lines(deleted.script), [
    `flush chain ip ${T} endpoint-${EP1}`,
    `flush chain ip ${T} service-${SVC1}`,
    `delete element ip ${T} cluster-ips { 172.30.0.41 }`,
    `delete element ip ${T} service-ips { 172.30.0.41 . tcp . 80 }`,
    `delete chain ip ${T} endpoint-${EP1}`,
    `delete chain ip ${T} service-${SVC1}`,
  ]);
});

test('a cluster IP shared by two ports stays while one port remains', () => {
  const a = svc('svc1', { portName: 'a', port: 80 });
  const b = svc('svc1', { portName: 'b', port: 81 });
  const first = computeSync(snap([[a, [ep('10.180.0.1')]], [b, [ep('10.180.0.1', { port: 81 })]]]), undefined, opts);
  assert.equal(about(first.script, 'cluster-ips { 172.30.0.41 }').length, 1);
  const next = computeSync(snap([[a, [ep('10.180.0.1')]]]), first.state, opts);
  assert.deepEqual(about(next.script, 'cluster-ips {'), []);
  assert.deepEqual(about(next.script, 'element'), [`delete element ip ${T} service-ips { 172.30.0.41 . tcp . 81 }`]);
});

test('stale chains wait for the delay, then a later sync deletes them', () => {
  const o = { table: T, staleChainDelayMs: 1000 };
  const first = computeSync(snap([[svc('svc1'), [ep('10.180.0.1')]]]), undefined, o, 0);
  const gone = computeSync(snap([]), first.state, o, 100);
  assert.ok(!gone.script.includes('delete chain'));
  assert.deepEqual([...gone.state.staleChains.keys()].sort(), [`endpoint-${EP1}`, `service-${SVC1}`]);
  const early = computeSync(snap([]), gone.state, o, 500);
  assert.equal(early.script, '');
  assert.equal(early.state.staleChains.size, 2);
  const later = computeSync(snap([]), early.state, o, 1200);
  assert.deepEqual(lines(later.script), [`delete chain ip ${T} endpoint-${EP1}`, `delete chain ip ${T} service-${SVC1}`]);
  assert.equal(later.state.staleChains.size, 0);
  // A stale chain used again is rewritten, not deleted.
  const back = computeSync(snap([[svc('svc1'), [ep('10.180.0.1')]]]), gone.state, o, 1200);
  assert.ok(!back.script.includes('delete chain'));
  assert.ok(back.script.includes(`flush chain ip ${T} service-${SVC1}\n`));
  assert.equal(back.state.staleChains.size, 0);
});

test('a change outside the services (node IPs) resyncs everything', () => {
  const first = computeSync(snap([[svc('svc1'), [ep('10.180.0.1')]]]), undefined, opts);
  const next = computeSync(snap([[svc('svc1'), [ep('10.180.0.1')]]], { nodeIPs: ['192.168.0.3'] }), first.state, opts);
  assert.equal(next.full, true);
  assert.ok(next.script.includes(`add element ip ${T} nodeport-ips { 192.168.0.3 }`));
  assert.ok(next.script.includes(`add chain ip ${T} service-${SVC1}`));
  const forced = computeSync(snap([[svc('svc1'), [ep('10.180.0.1')]]], { nodeIPs: ['192.168.0.3'] }), next.state, opts, Date.now(), true);
  assert.equal(forced.full, true);
});

test('sessionAffinity ClientIP: per-endpoint affinity sets', () => {
  const s = svc('svc1', { stickySeconds: 10800 });
  const p = computeSync(snap([[s, [ep('10.180.0.1'), ep('10.180.0.2')]]]), undefined, opts);
  assert.deepEqual(about(p.script, 'affinity-'), [
    `add set ip ${T} affinity-${EP1} { type ipv4_addr ; flags dynamic,timeout ; timeout 10800s ; }`,
    `add set ip ${T} affinity-${EP2} { type ipv4_addr ; flags dynamic,timeout ; timeout 10800s ; }`,
    `add rule ip ${T} endpoint-${EP1} update @affinity-${EP1} { ip saddr }`,
    `add rule ip ${T} endpoint-${EP2} update @affinity-${EP2} { ip saddr }`,
    `add rule ip ${T} service-${SVC1} ip saddr @affinity-${EP1} goto endpoint-${EP1}`,
    `add rule ip ${T} service-${SVC1} ip saddr @affinity-${EP2} goto endpoint-${EP2}`,
  ]);
  // The update comes between the hairpin rule and the DNAT.
  assert.deepEqual(about(p.script, `add rule ip ${T} endpoint-${EP1}`), [
    `add rule ip ${T} endpoint-${EP1} ip saddr 10.180.0.1 jump mark-for-masquerade`,
    `add rule ip ${T} endpoint-${EP1} update @affinity-${EP1} { ip saddr }`,
    `add rule ip ${T} endpoint-${EP1} meta l4proto tcp dnat to 10.180.0.1:80`,
  ]);
  // Removing an endpoint deletes its set; changing the timeout redefines the sets.
  const fewer = computeSync(snap([[s, [ep('10.180.0.1')]]]), p.state, opts);
  assert.deepEqual(about(fewer.script, ' set '), [`delete set ip ${T} affinity-${EP2}`]);
  const longer = computeSync(snap([[svc('svc1', { stickySeconds: 60 }), [ep('10.180.0.1')]]]), fewer.state, opts);
  assert.deepEqual(about(longer.script, ' set '), [
    `delete set ip ${T} affinity-${EP1}`,
    `add set ip ${T} affinity-${EP1} { type ipv4_addr ; flags dynamic,timeout ; timeout 60s ; }`,
  ]);
  // Affinity off: sets go, chains are rewritten without them.
  const off = computeSync(snap([[svc('svc1'), [ep('10.180.0.1')]]]), longer.state, opts);
  assert.deepEqual(about(off.script, 'affinity-'), [`delete set ip ${T} affinity-${EP1}`]);
});

test('no endpoints: REJECT via the no-endpoint maps, no chains', () => {
  const s = svc('svc1', { nodePort: 30080, externalIPs: ['192.168.99.11'], loadBalancerIPs: ['192.168.99.12'] });
  const p = computeSync(snap([[s, []]]), undefined, opts);
  assert.deepEqual(about(p.script, 'svc1'), [
    `add element ip ${T} no-endpoint-services { 172.30.0.41 . tcp . 80 comment "ns1/svc1:p80" : goto reject-chain }`,
    `add element ip ${T} no-endpoint-services { 192.168.99.11 . tcp . 80 comment "ns1/svc1:p80" : goto reject-chain }`,
    `add element ip ${T} no-endpoint-services { 192.168.99.12 . tcp . 80 comment "ns1/svc1:p80" : goto reject-chain }`,
    `add element ip ${T} no-endpoint-nodeports { tcp . 30080 comment "ns1/svc1:p80" : goto reject-chain }`,
  ]);
  // Not-ready endpoints count as none; an unnamed port's comment has no colon.
  const q = computeSync(snap([[svc('svc1', { portName: '' }), [ep('10.180.0.1', { ready: false, serving: false })]]]), undefined, opts);
  assert.deepEqual(about(q.script, `element ip ${T} no-endpoint-services {`), [
    `add element ip ${T} no-endpoint-services { 172.30.0.41 . tcp . 80 comment "ns1/svc1" : goto reject-chain }`,
  ]);
  // Endpoints arrive: the reject element goes, the service element comes.
  const up = computeSync(snap([[svc('svc1'), [ep('10.180.0.1')]]]), computeSync(snap([[svc('svc1'), []]]), undefined, opts).state, opts);
  assert.deepEqual(about(up.script, 'element'), [
    `delete element ip ${T} no-endpoint-services { 172.30.0.41 . tcp . 80 }`,
    `add element ip ${T} service-ips { 172.30.0.41 . tcp . 80 : goto service-${SVC1} }`,
  ]);
});

test('terminating endpoints are a fallback when none is ready', () => {
  const eps = [ep('10.180.0.1', { ready: false, serving: true, terminating: true }), ep('10.180.0.2', { ready: false, serving: false, terminating: true })];
  const p = computeSync(snap([[svc('svc1'), eps]]), undefined, opts);
  assert.deepEqual(about(p.script, 'numgen'), [`add rule ip ${T} service-${SVC1} numgen random mod 1 vmap { 0 : goto endpoint-${EP1} }`]);
  const withReady = computeSync(snap([[svc('svc1'), [...eps, ep('10.180.0.3')]]]), undefined, opts);
  assert.equal(about(withReady.script, 'numgen')[0].includes('10.180.0.3/80'), true);
  assert.equal(about(withReady.script, 'numgen')[0].includes('mod 1'), true);
});

test('externalTrafficPolicy Local: external chain keeps the source, short-circuits pods and the node', () => {
  const s = svc('svc1', { nodePort: 30080, externalIPs: ['192.168.99.11'], externalPolicyLocal: true, healthCheckNodePort: 30000 });
  const p = computeSync(snap([[s, [ep('10.180.0.1'), ep('10.180.0.2', { isLocal: true })]]]), undefined, opts);
  assert.deepEqual(about(p.script, `add rule ip ${T} external-`), [
    `add rule ip ${T} external-${SVC1} ip saddr 10.0.0.0/8 goto service-${SVC1} comment "short-circuit pod traffic"`,
    `add rule ip ${T} external-${SVC1} fib saddr type local jump mark-for-masquerade comment "masquerade local traffic"`,
    `add rule ip ${T} external-${SVC1} fib saddr type local goto service-${SVC1} comment "short-circuit local traffic"`,
    `add rule ip ${T} external-${SVC1} goto local-${SVC1}`,
  ]);
  assert.deepEqual(about(p.script, `add rule ip ${T} local-`), [`add rule ip ${T} local-${SVC1} numgen random mod 1 vmap { 0 : goto endpoint-${EP2} }`]);
  assert.deepEqual(about(p.script, 'add element').filter((l) => !l.includes('nodeport-ips')), [
    `add element ip ${T} cluster-ips { 172.30.0.41 }`,
    `add element ip ${T} service-ips { 172.30.0.41 . tcp . 80 : goto service-${SVC1} }`,
    `add element ip ${T} service-ips { 192.168.99.11 . tcp . 80 : goto external-${SVC1} }`,
    `add element ip ${T} service-nodeports { tcp . 30080 : goto external-${SVC1} }`,
  ]);

  // No local endpoint: external traffic that is not short-circuited is dropped.
  const none = computeSync(snap([[s, [ep('10.180.0.1')]]]), undefined, opts);
  assert.deepEqual(about(none.script, `add rule ip ${T} external-`), [
    `add rule ip ${T} external-${SVC1} ip saddr 10.0.0.0/8 goto service-${SVC1} comment "short-circuit pod traffic"`,
    `add rule ip ${T} external-${SVC1} fib saddr type local jump mark-for-masquerade comment "masquerade local traffic"`,
    `add rule ip ${T} external-${SVC1} fib saddr type local goto service-${SVC1} comment "short-circuit local traffic"`,
  ]);
  assert.deepEqual(about(none.script, 'no-endpoint'), [
    ...about(none.script, 'no-endpoint').filter((l) => !l.includes('svc1')),
    `add element ip ${T} no-endpoint-services { 192.168.99.11 . tcp . 80 comment "ns1/svc1:p80" : drop }`,
    `add element ip ${T} no-endpoint-nodeports { tcp . 30080 comment "ns1/svc1:p80" : drop }`,
  ]);
  assert.ok(none.script.includes(`add element ip ${T} service-ips { 172.30.0.41 . tcp . 80 : goto service-${SVC1} }`));

  // externalTrafficPolicy Cluster: masquerade, then any endpoint.
  const cluster = computeSync(snap([[svc('svc1', { nodePort: 30080 }), [ep('10.180.0.1')]]]), undefined, opts);
  assert.deepEqual(about(cluster.script, `add rule ip ${T} external-`), [
    `add rule ip ${T} external-${SVC1} jump mark-for-masquerade`,
    `add rule ip ${T} external-${SVC1} goto service-${SVC1}`,
  ]);
});

test('internalTrafficPolicy Local: only local endpoints, DROP when there are none', () => {
  const s = svc('svc1', { internalPolicyLocal: true });
  const p = computeSync(snap([[s, [ep('10.180.0.1'), ep('10.180.0.2', { isLocal: true })]]]), undefined, opts);
  assert.deepEqual(about(p.script, 'svc1'), [
    `add chain ip ${T} endpoint-${EP2}`,
    `add chain ip ${T} local-${SVC1}`,
    `add rule ip ${T} endpoint-${EP2} ip saddr 10.180.0.2 jump mark-for-masquerade`,
    `add rule ip ${T} endpoint-${EP2} meta l4proto tcp dnat to 10.180.0.2:80`,
    `add rule ip ${T} local-${SVC1} ip daddr 172.30.0.41 tcp dport 80 ip saddr != 10.0.0.0/8 jump mark-for-masquerade`,
    `add rule ip ${T} local-${SVC1} numgen random mod 1 vmap { 0 : goto endpoint-${EP2} }`,
    `add element ip ${T} service-ips { 172.30.0.41 . tcp . 80 : goto local-${SVC1} }`,
  ]);
  const none = computeSync(snap([[s, [ep('10.180.0.1')]]]), undefined, opts);
  assert.deepEqual(about(none.script, 'svc1'), [`add element ip ${T} no-endpoint-services { 172.30.0.41 . tcp . 80 comment "ns1/svc1:p80" : drop }`]);
});

test('LoadBalancer IPs and loadBalancerSourceRanges', () => {
  const s = svc('svc1', { loadBalancerIPs: ['1.2.3.4'], loadBalancerSourceRanges: ['203.0.113.0/25', '192.168.0.0/24'] });
  const p = computeSync(snap([[s, [ep('10.180.0.1')]]]), undefined, opts);
  // The node (192.168.0.2) is in a source range, so the LB IP itself is allowed too.
  assert.deepEqual(about(p.script, `firewall-${SVC1}`), [
    `add chain ip ${T} firewall-${SVC1}`,
    `add rule ip ${T} firewall-${SVC1} ip saddr != { 203.0.113.0/25, 192.168.0.0/24, 1.2.3.4 } drop`,
    `add element ip ${T} firewall-ips { 1.2.3.4 . tcp . 80 : goto firewall-${SVC1} }`,
  ]);
  assert.ok(p.script.includes(`add element ip ${T} service-ips { 1.2.3.4 . tcp . 80 : goto external-${SVC1} }`));
});

test('UDP: conntrack entries are flushed as upstream', () => {
  const u = svc('dns', { protocol: 'UDP', port: 53, portName: 'dns', clusterIPs: ['172.30.0.10'], nodePort: 30053 });
  const noEps = computeSync(snap([[u, []]]), undefined, opts);
  assert.deepEqual(noEps.conntrack, []);
  // From no endpoints to some: flows the REJECT left behind go.
  const up = computeSync(snap([[u, [ep('10.180.0.1', { port: 53 }), ep('10.180.0.2', { port: 53 })]]]), noEps.state, opts);
  assert.deepEqual(up.conntrack, [
    ['-D', '-p', 'udp', '--orig-dst', '172.30.0.10', '--dport', '53'],
    ['-D', '-p', 'udp', '--dport', '30053'],
  ]);
  assert.ok(up.script.includes(`meta l4proto udp dnat to 10.180.0.1:53`));
  assert.ok(up.script.includes(`add element ip ${T} service-ips { 172.30.0.10 . udp . 53 : goto service-`));
  assert.ok(up.script.includes(`add element ip ${T} service-nodeports { udp . 30053 : goto external-`));
  // An endpoint goes: flows NATed to it go.
  const down = computeSync(snap([[u, [ep('10.180.0.1', { port: 53 })]]]), up.state, opts);
  assert.deepEqual(down.conntrack, [
    ['-D', '-p', 'udp', '--orig-dst', '172.30.0.10', '--dst-nat', '10.180.0.2'],
    ['-D', '-p', 'udp', '--dport', '30053', '--dst-nat', '10.180.0.2'],
  ]);
  // The service goes.
  const gone = computeSync(snap([]), down.state, opts);
  assert.deepEqual(gone.conntrack, [
    ['-D', '-p', 'udp', '--orig-dst', '172.30.0.10', '--dport', '53'],
    ['-D', '-p', 'udp', '--orig-dst', '172.30.0.10', '--dst-nat', '10.180.0.1'],
    ['-D', '-p', 'udp', '--dport', '30053', '--dst-nat', '10.180.0.1'],
  ]);
});

test('backend: one nft -f - per sync, full again after a failure, tolerant cleanup', async () => {
  let fail = false;
  const rec = recordCommands((c) => {
    if (c.cmd === 'nft' && c.args[0] === '-f' && fail) return { code: 1, stderr: 'Error: Could not process rule' };
    if (c.cmd === 'nft' && c.args[0] === 'delete') return { code: 1, stderr: 'Error: No such file or directory' };
    if (c.cmd === 'nft' && c.args[0] === 'list') return { stdout: 'table ip kptest {\n}\n' };
    if (c.cmd === 'conntrack') return { code: 1, stderr: '0 flow entries have been deleted.' };
    return undefined;
  });
  try {
    const b = new NftablesProxier({ table: T, staleChainDelayMs: 0 });
    assert.equal(b.name, 'nftables');
    const u = svc('dns', { protocol: 'UDP', port: 53, portName: 'dns', clusterIPs: ['172.30.0.10'] });
    const r1 = await b.sync(snap([[svc('svc1'), [ep('10.180.0.1')]], [u, [ep('10.180.0.9', { port: 53 })]]]));
    assert.equal(r1.full, true);
    assert.equal(r1.changed, 2);
    assert.deepEqual(rec.commands.map((c) => [c.cmd, ...c.args]), [
      ['nft', '-f', '-'],
      ['conntrack', '-D', '-p', 'udp', '--orig-dst', '172.30.0.10', '--dport', '53'],
    ]);
    assert.ok(rec.commands[0].input!.startsWith(`add table ip ${T}\ndelete table ip ${T}\n`));
    rec.commands.length = 0;

    // Nothing changed: no command at all.
    const r2 = await b.sync(snap([[svc('svc1'), [ep('10.180.0.1')]], [u, [ep('10.180.0.9', { port: 53 })]]]));
    assert.deepEqual(r2, { ...r2, full: false, changed: 0 });
    assert.equal(rec.commands.length, 0);

    // A failed transaction: the next sync is a full one.
    fail = true;
    await assert.rejects(b.sync(snap([[svc('svc1'), [ep('10.180.0.2')]]])), /Could not process rule/);
    fail = false;
    rec.commands.length = 0;
    const r3 = await b.sync(snap([[svc('svc1'), [ep('10.180.0.2')]]]));
    assert.equal(r3.full, true);
    assert.ok(rec.commands[0].input!.includes(`delete table ip ${T}`));
    // The UDP service went away since the last applied state: its flows go.
    assert.deepEqual(
      rec.commands.filter((c) => c.cmd === 'conntrack').map((c) => c.args),
      [
        ['-D', '-p', 'udp', '--orig-dst', '172.30.0.10', '--dport', '53'],
        ['-D', '-p', 'udp', '--orig-dst', '172.30.0.10', '--dst-nat', '10.180.0.9'],
      ],
    );

    assert.equal(await b.rules(), 'table ip kptest {\n}\n');
    rec.commands.length = 0;
    await b.cleanup(); // "No such file or directory" is fine
    assert.deepEqual(rec.commands.map((c) => [c.cmd, ...c.args]), [['nft', 'delete', 'table', 'ip', T]]);
    // After cleanup, the next sync rebuilds the table.
    const r4 = await b.sync(snap([]));
    assert.equal(r4.full, true);
  } finally {
    rec.restore();
  }
});

test('backend: concurrent syncs are serialized', async () => {
  const order: string[] = [];
  const rec = recordCommands((c) => {
    order.push(c.input?.includes('svc2') ? 'svc2' : 'svc1');
    return undefined;
  });
  try {
    const b = new NftablesProxier({ table: T, conntrack: false });
    await Promise.all([
      b.sync(snap([[svc('svc1'), [ep('10.180.0.1')]]])),
      b.sync(snap([[svc('svc1'), [ep('10.180.0.1')]], [svc('svc2', { clusterIPs: ['172.30.0.42'] }), [ep('10.180.0.3')]]])),
    ]);
    assert.deepEqual(order, ['svc1', 'svc2']);
    // The second sync was incremental on top of the first.
    assert.ok(!rec.commands[1].input!.includes('delete table'));
  } finally {
    rec.restore();
  }
});

test("the change tracker's hint limits what is compared", () => {
  const s2 = svc('svc2', { clusterIPs: ['172.30.0.42'] });
  const first = computeSync(snap([[svc('svc1'), [ep('10.180.0.1')]], [s2, [ep('10.180.0.3')]]]), undefined, opts);
  const next = snap([[svc('svc1'), [ep('10.180.0.2')]], [s2, [ep('10.180.0.4')]]]);
  const hinted = computeSync(next, first.state, opts, Date.now(), false, new Set([s2.key]));
  assert.equal(hinted.changed, 1);
  assert.ok(hinted.script.includes('10.180.0.4') && !hinted.script.includes('svc1'));
  assert.equal(hinted.state.services.get('ns1/svc1:p80'), first.state.services.get('ns1/svc1:p80'));
  // New and deleted ports are seen whatever the hint says.
  const s3 = svc('svc3', { clusterIPs: ['172.30.0.43'] });
  const added = computeSync(snap([[svc('svc1'), [ep('10.180.0.1')]], [s3, []]]), first.state, opts, Date.now(), false, new Set());
  assert.equal(added.changed, 2);
  assert.ok(added.script.includes(`add element ip ${T} no-endpoint-services { 172.30.0.43 . tcp . 80`));
  assert.ok(added.script.includes(`delete element ip ${T} service-ips { 172.30.0.42 . tcp . 80 }`));
  // Without a hint every port is compared.
  assert.equal(computeSync(next, first.state, opts).changed, 2);
});
