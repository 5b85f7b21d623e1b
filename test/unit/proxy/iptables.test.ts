// The iptables backend's pure core (snapshot -> iptables-restore input) against
// expected text in upstream kube-proxy's layout, and the backend's commands
// (recorded, no kernel).
//
// Chain names are not computed with the code under test: they were computed
// independently with Python's hashlib/base64, as upstream's portProtoHash does
// (sha256 of ServicePortName.String() + lower-case protocol [+ "ip:port" for a
// SEP], base32, first 16 characters):
//   python3 -c 'import hashlib,base64; print(base64.b32encode(hashlib.sha256(b"ns1/svc1:p80tcp").digest())[:16])'
// and the first ones are also the values upstream's own proxier_test.go uses
// (KUBE-SVC-XPGD46QRK7WJZT7O for ns1/svc1:p80, KUBE-SEP-SXIVWICOYRO3J4NJ for
// its endpoint 10.180.0.1:80).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IptablesBackend, JUMP_RULES, base32, endpointChain, probability, renderRestore, serviceChain, servicePortNameString } from '../../../src/proxy/iptables/index.js';
import type { EndpointInfo, ServicePortInfo } from '../../../src/proxy/types.js';
import { recordCommands } from '../../../src/util/exec.js';
import { setLogSink } from '../../../src/util/log.js';
import { endpoint as ep, servicePort, snapshotOfPairs } from './fixtures.js';

const SVC1 = 'KUBE-SVC-XPGD46QRK7WJZT7O'; // ns1/svc1:p80 tcp
const SEP1 = 'KUBE-SEP-SXIVWICOYRO3J4NJ'; // ns1/svc1:p80 tcp 10.180.0.1:80
const SEP2 = 'KUBE-SEP-LXVODXWDISEETFEF'; // ns1/svc1:p80 tcp 10.180.0.2:80
const H2 = 'GNZBNJ2PO5MGZ6GT'; // ns2/svc2:p80 tcp
const SEP2_LOCAL = 'KUBE-SEP-2GOKER2KF7NAANZN'; // ns2/svc2:p80 tcp 10.180.0.3:80
const SEP2_REMOTE = 'KUBE-SEP-YDJMLMWEN3VRAOCU'; // ns2/svc2:p80 tcp 10.180.1.4:80
const SVC3 = 'KUBE-SVC-VPTTR3NBFDP2YVL2'; // ns3/svc3 (unnamed port) udp
const SEP3 = 'KUBE-SEP-5EMHL5MUPPLQZSCG'; // ns3/svc3 udp 10.180.0.5:53

const svc = (ns: string, name: string, portName: string, over: Partial<ServicePortInfo> = {}) => servicePort(ns, name, portName, { clusterIPs: ['172.30.0.41'], ...over });
const snap = (entries: Array<[ServicePortInfo, EndpointInfo[]]>) => snapshotOfPairs(entries, { nodeName: 'node1', nodeIPs: ['192.168.0.2'], clusterCidr: '10.180.0.0/16' });
const lines = (text: string) => text.split('\n').filter(Boolean);

/** As upstream's checkIPTablesRuleJumps: every jump target and filled chain is declared; no declared chain unused. */
function checkJumps(text: string): void {
  for (const table of text.split('COMMIT\n').filter((t) => t.trim())) {
    const ls = lines(table);
    const created = new Set(ls.filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0]));
    for (const l of ls) if (l.startsWith('-X ')) created.delete(l.split(' ')[1]);
    const filled = new Set(ls.filter((l) => l.startsWith('-A ')).map((l) => l.split(' ')[1]));
    const jumped = new Set(ls.map((l) => / -j (\S+)/.exec(l)?.[1]).filter((x): x is string => !!x));
    for (const t of ['ACCEPT', 'REJECT', 'DROP', 'MARK', 'RETURN', 'DNAT', 'SNAT', 'MASQUERADE']) jumped.delete(t);
    for (const c of [...jumped, ...filled]) assert.ok(created.has(c), `${ls[0]}: ${c} used but not created`);
    for (const c of jumped) if (c !== 'KUBE-NODEPORTS') assert.ok(filled.has(c), `${ls[0]}: ${c} jumped to but empty`);
    const top = ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-FORWARD', 'KUBE-MARK-MASQ', 'KUBE-PROXY-FIREWALL'];
    for (const c of created) if (!top.includes(c)) assert.ok(jumped.has(c), `${ls[0]}: ${c} created but not used`);
  }
}

describe('iptables names', () => {
  it('hashes service port names as upstream', () => {
    assert.equal(serviceChain('ns1/svc1:p80', 'TCP'), SVC1);
    assert.equal(endpointChain('ns1/svc1:p80', 'tcp', '10.180.0.1:80'), SEP1);
    assert.equal(endpointChain('ns1/svc1:p80', 'tcp', '10.180.0.2:80'), SEP2);
    assert.equal(serviceChain('ns3/svc3', 'udp'), SVC3);
    // An unnamed port has no ":" in upstream's ServicePortName.String().
    assert.equal(servicePortNameString(svc('ns3', 'svc3', '')), 'ns3/svc3');
    assert.equal(servicePortNameString(svc('ns1', 'svc1', 'p80')), 'ns1/svc1:p80');
  });
  it('base32 is RFC 4648', () => {
    // RFC 4648 section 10 test vectors.
    const v: Array<[string, string]> = [['', ''], ['f', 'MY======'], ['fo', 'MZXQ===='], ['foo', 'MZXW6==='], ['foob', 'MZXW6YQ='], ['fooba', 'MZXW6YTB'], ['foobar', 'MZXW6YTBOI======']];
    for (const [i, o] of v) assert.equal(base32(Buffer.from(i)), o);
  });
  it('formats probabilities as %0.10f', () => {
    assert.equal(probability(2), '0.5000000000');
    assert.equal(probability(3), '0.3333333333');
    assert.equal(probability(6), '0.1666666667');
  });
});

describe('renderRestore', () => {
  it('renders a ClusterIP service with two endpoints exactly as upstream', () => {
    const out = renderRestore(snap([[svc('ns1', 'svc1', 'p80'), [ep('10.180.0.1'), ep('10.180.0.2')]]]));
    const expected = `*filter
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:${SVC1} - [0:0]
:${SEP1} - [0:0]
:${SEP2} - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j ${SVC1}
-A ${SVC1} -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.180.0.0/16 -j KUBE-MARK-MASQ
-A ${SVC1} -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m statistic --mode random --probability 0.5000000000 -j ${SEP1}
-A ${SVC1} -m comment --comment "ns1/svc1:p80 -> 10.180.0.2:80" -j ${SEP2}
-A ${SEP1} -m comment --comment ns1/svc1:p80 -s 10.180.0.1 -j KUBE-MARK-MASQ
-A ${SEP1} -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80
-A ${SEP2} -m comment --comment ns1/svc1:p80 -s 10.180.0.2 -j KUBE-MARK-MASQ
-A ${SEP2} -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.2:80
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS
COMMIT
`;
    assert.equal(out.text, expected);
    assert.deepEqual([...out.activeNatChains].sort(), [SEP2, SEP1, SVC1].sort());
    assert.equal(out.written, 1);
    checkJumps(out.text);
  });

  it('uses three-way probabilities and --random-fully when asked', () => {
    const out = renderRestore(snap([[svc('ns1', 'svc1', 'p80'), [ep('10.180.0.1'), ep('10.180.0.2'), ep('10.180.0.3')]]]), { randomFully: true });
    const l = lines(out.text);
    assert.ok(l.includes('-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully'));
    const probs = l.filter((x) => x.startsWith(`-A ${SVC1}`) && x.includes('statistic')).map((x) => /--probability (\S+)/.exec(x)![1]);
    assert.deepEqual(probs, ['0.3333333333', '0.5000000000']);
    checkJumps(out.text);
  });

  it('REJECTs a service without endpoints in the filter table and writes no nat chains for it', () => {
    const s = svc('ns1', 'svc1', 'p80', { nodePort: 30080, externalIPs: ['192.168.99.11'] });
    const out = renderRestore(snap([[s, []]]));
    const l = lines(out.text);
    assert.ok(l.includes('-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j REJECT'));
    assert.ok(l.includes('-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" -m tcp -p tcp -d 192.168.99.11 --dport 80 -j REJECT'));
    assert.ok(l.includes('-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30080 -j REJECT'));
    assert.ok(!out.text.includes('KUBE-SVC-'));
    assert.ok(!out.text.includes('KUBE-EXT-'));
    assert.equal(out.activeNatChains.size, 0);
    checkJumps(out.text);
  });

  it('renders NodePort + externalIP with externalTrafficPolicy Local (EXT, SVL, short-circuit)', () => {
    const s = svc('ns2', 'svc2', 'p80', { clusterIPs: ['172.30.0.42'], nodePort: 3001, externalIPs: ['192.168.99.22'], externalPolicyLocal: true, healthCheckNodePort: 30000 });
    const out = renderRestore(snap([[s, [ep('10.180.0.3', 80, { isLocal: true, nodeName: 'node1' }), ep('10.180.1.4', 80, { nodeName: 'node2' })]]]));
    const l = lines(out.text);
    const nat = l.slice(l.indexOf('*nat'));
    const want = [
      `-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 80 -j KUBE-SVC-${H2}`,
      `-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 external IP" -m tcp -p tcp -d 192.168.99.22 --dport 80 -j KUBE-EXT-${H2}`,
      `-A KUBE-NODEPORTS -m comment --comment ns2/svc2:p80 -m tcp -p tcp --dport 3001 -j KUBE-EXT-${H2}`,
      `-A KUBE-SVC-${H2} -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 80 ! -s 10.180.0.0/16 -j KUBE-MARK-MASQ`,
      `-A KUBE-EXT-${H2} -m comment --comment "pod traffic for ns2/svc2:p80 external destinations" -s 10.180.0.0/16 -j KUBE-SVC-${H2}`,
      `-A KUBE-EXT-${H2} -m comment --comment "masquerade LOCAL traffic for ns2/svc2:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ`,
      `-A KUBE-EXT-${H2} -m comment --comment "route LOCAL traffic for ns2/svc2:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-${H2}`,
      `-A KUBE-EXT-${H2} -j KUBE-SVL-${H2}`,
      `-A KUBE-SVC-${H2} -m comment --comment "ns2/svc2:p80 -> 10.180.0.3:80" -m statistic --mode random --probability 0.5000000000 -j ${SEP2_LOCAL}`,
      `-A KUBE-SVC-${H2} -m comment --comment "ns2/svc2:p80 -> 10.180.1.4:80" -j ${SEP2_REMOTE}`,
      `-A KUBE-SVL-${H2} -m comment --comment "ns2/svc2:p80 -> 10.180.0.3:80" -j ${SEP2_LOCAL}`,
      `-A ${SEP2_LOCAL} -m comment --comment ns2/svc2:p80 -s 10.180.0.3 -j KUBE-MARK-MASQ`,
      `-A ${SEP2_LOCAL} -m comment --comment ns2/svc2:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.3:80`,
      `-A ${SEP2_REMOTE} -m comment --comment ns2/svc2:p80 -s 10.180.1.4 -j KUBE-MARK-MASQ`,
      `-A ${SEP2_REMOTE} -m comment --comment ns2/svc2:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.1.4:80`,
    ];
    assert.deepEqual(
      nat.filter((x) => x.startsWith('-A') && !x.includes('POSTROUTING') && !x.startsWith('-A KUBE-MARK-MASQ') && !x.includes('NOTE: this must')),
      want,
    );
    assert.ok(l.includes('-A KUBE-NODEPORTS -m comment --comment "ns2/svc2:p80 health check node port" -m tcp -p tcp --dport 30000 -j ACCEPT'));
    checkJumps(out.text);
  });

  it('DROPs external traffic of an externalTrafficPolicy Local service without local endpoints', () => {
    const s = svc('ns2', 'svc2', 'p80', { nodePort: 3001, externalPolicyLocal: true });
    const out = renderRestore(snap([[s, [ep('10.180.1.4', 80, { nodeName: 'node2' })]]]));
    const l = lines(out.text);
    assert.ok(l.includes('-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/svc2:p80 has no local endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 3001 -j DROP'));
    // The EXT chain still short-circuits pod and host traffic, but has no jump to SVL.
    assert.ok(l.includes(`:KUBE-EXT-${H2} - [0:0]`));
    assert.ok(!out.text.includes(`KUBE-SVL-${H2}`));
    checkJumps(out.text);
  });

  it('DROPs cluster IP traffic of an internalTrafficPolicy Local service without local endpoints', () => {
    const s = svc('ns1', 'svc1', 'p80', { internalPolicyLocal: true });
    const out = renderRestore(snap([[s, [ep('10.180.1.4', 80, { nodeName: 'node2' })]]]));
    const l = lines(out.text);
    assert.ok(l.includes('-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 has no local endpoints" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j DROP'));
    assert.ok(!out.text.includes('KUBE-SEP-'));
    checkJumps(out.text);
    // With a local endpoint the cluster IP goes to the SVL chain.
    const out2 = renderRestore(snap([[s, [ep('10.180.0.1', 80, { isLocal: true }), ep('10.180.1.4')]]]));
    assert.ok(lines(out2.text).includes(`-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVL-XPGD46QRK7WJZT7O`));
    assert.ok(!out2.text.includes(`:${SVC1}`));
    checkJumps(out2.text);
  });

  it('writes ClientIP session affinity with recent matches', () => {
    const s = svc('ns1', 'svc1', 'p80', { stickySeconds: 10800 });
    const l = lines(renderRestore(snap([[s, [ep('10.180.0.1'), ep('10.180.0.2')]]])).text);
    const chain = l.filter((x) => x.startsWith(`-A ${SVC1} `) && !x.includes('KUBE-MARK-MASQ'));
    assert.deepEqual(chain, [
      `-A ${SVC1} -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m recent --name ${SEP1} --rcheck --seconds 10800 --reap -j ${SEP1}`,
      `-A ${SVC1} -m comment --comment "ns1/svc1:p80 -> 10.180.0.2:80" -m recent --name ${SEP2} --rcheck --seconds 10800 --reap -j ${SEP2}`,
      `-A ${SVC1} -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m statistic --mode random --probability 0.5000000000 -j ${SEP1}`,
      `-A ${SVC1} -m comment --comment "ns1/svc1:p80 -> 10.180.0.2:80" -j ${SEP2}`,
    ]);
    assert.ok(l.includes(`-A ${SEP1} -m comment --comment ns1/svc1:p80 -m recent --name ${SEP1} --set -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80`));
  });

  it('falls back to serving terminating endpoints, ignores not-serving ones', () => {
    const s = svc('ns1', 'svc1', 'p80');
    const out = renderRestore(snap([[s, [ep('10.180.0.1', 80, { ready: false, serving: true, terminating: true }), ep('10.180.0.2', 80, { ready: false, serving: false, terminating: true })]]]));
    const l = lines(out.text);
    assert.ok(l.includes(`-A ${SVC1} -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j ${SEP1}`));
    assert.ok(!out.text.includes(SEP2));
    // A ready endpoint wins over terminating ones.
    const out2 = renderRestore(snap([[s, [ep('10.180.0.1', 80, { ready: false, serving: true, terminating: true }), ep('10.180.0.2')]]]));
    assert.ok(!out2.text.includes(SEP1));
    assert.ok(out2.text.includes(SEP2));
  });

  it('renders a UDP service with an unnamed port', () => {
    const s = svc('ns3', 'svc3', '', { protocol: 'UDP', port: 53, clusterIPs: ['172.30.0.43'] });
    const l = lines(renderRestore(snap([[s, [ep('10.180.0.5', 53)]]])).text);
    assert.ok(l.includes(`-A KUBE-SERVICES -m comment --comment "ns3/svc3 cluster IP" -m udp -p udp -d 172.30.0.43 --dport 53 -j ${SVC3}`));
    assert.ok(l.includes(`-A ${SEP3} -m comment --comment ns3/svc3 -m udp -p udp -j DNAT --to-destination 10.180.0.5:53`));
  });

  it('renders load balancer IPs, source ranges (KUBE-FW) and masquerades Cluster-policy external traffic', () => {
    const s = svc('ns2', 'svc2', 'p80', { nodePort: 3001, loadBalancerIPs: ['1.2.3.4'], loadBalancerSourceRanges: ['192.168.0.0/24'] });
    const out = renderRestore(snap([[s, [ep('10.180.1.4')]]]));
    const l = lines(out.text);
    assert.ok(l.includes(`-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 loadbalancer IP" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j KUBE-FW-${H2}`));
    assert.ok(l.includes(`-A KUBE-FW-${H2} -m comment --comment "ns2/svc2:p80 loadbalancer IP" -s 192.168.0.0/24 -j KUBE-EXT-${H2}`));
    // The node (192.168.0.2) is in the allowed range: the LB IP as source is allowed too.
    assert.ok(l.includes(`-A KUBE-FW-${H2} -m comment --comment "ns2/svc2:p80 loadbalancer IP" -s 1.2.3.4 -j KUBE-EXT-${H2}`));
    assert.ok(l.includes(`-A KUBE-FW-${H2} -m comment --comment "other traffic to ns2/svc2:p80 will be dropped by KUBE-PROXY-FIREWALL"`));
    assert.ok(l.includes(`-A KUBE-PROXY-FIREWALL -m comment --comment "ns2/svc2:p80 traffic not accepted by KUBE-FW-${H2}" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j DROP`));
    assert.ok(l.includes(`-A KUBE-EXT-${H2} -m comment --comment "masquerade traffic for ns2/svc2:p80 external destinations" -j KUBE-MARK-MASQ`));
    assert.ok(l.includes(`-A KUBE-EXT-${H2} -j KUBE-SVC-${H2}`));
  });

  it('partial sync writes only the changed services and deletes stale chains', () => {
    const s1 = svc('ns1', 'svc1', 'p80');
    const s2 = svc('ns2', 'svc2', 'p80', { clusterIPs: ['172.30.0.42'] });
    const full = renderRestore(snap([[s1, [ep('10.180.0.1'), ep('10.180.0.2')]], [s2, [ep('10.180.1.4')]]]));
    // ns1 lost 10.180.0.2; ns2 is unchanged and not written, but its chains stay active.
    const part = renderRestore(snap([[s1, [ep('10.180.0.1')]], [s2, [ep('10.180.1.4')]]]), {
      writeServices: new Set([s1.key]),
      existingNatChains: [...full.activeNatChains, 'KUBE-SERVICES', 'PREROUTING', 'KUBE-SEP-NOTOURS00000000'.replace('KUBE-SEP-', 'OTHER-')],
    });
    const l = lines(part.text);
    assert.equal(part.written, 1);
    assert.ok(l.includes(`:${SVC1} - [0:0]`));
    assert.ok(!l.includes(`:KUBE-SVC-${H2} - [0:0]`), 'unchanged chain not declared (kept as is)');
    assert.ok(l.includes(`-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 80 -j KUBE-SVC-${H2}`), 'KUBE-SERVICES is always whole');
    assert.deepEqual(part.deletedChains, [SEP2]);
    assert.ok(l.includes(`:${SEP2} - [0:0]`) && l.includes(`-X ${SEP2}`));
    assert.ok(part.activeNatChains.has(`KUBE-SVC-${H2}`));
    assert.ok(!l.some((x) => x.includes('OTHER-')));
    // The deletion comes before the final nodeports rule.
    assert.ok(l.indexOf(`-X ${SEP2}`) < l.findIndex((x) => x.includes('NOTE: this must be the last rule')));
  });
});

describe('IptablesBackend (recorded commands)', () => {
  const s1 = svc('ns1', 'svc1', 'p80');
  const u = svc('ns3', 'svc3', '', { protocol: 'UDP', port: 53, clusterIPs: ['172.30.0.43'], nodePort: 30053 });

  it('full sync: iptables-save, jump checks, one restore with jump inserts; then partial syncs', async () => {
    const prevSink = setLogSink(() => {});
    const rec = recordCommands((c) => {
      if (c.cmd === 'iptables' && c.args.includes('-C')) return { code: 1 };
      if (c.cmd === 'iptables-save') return { stdout: `*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SVC-STALE0000000000 - [0:0]\nCOMMIT\n` };
      return undefined;
    });
    try {
      const b = new IptablesBackend();
      const r1 = await b.sync(snap([[s1, [ep('10.180.0.1'), ep('10.180.0.2')]]]), new Set());
      assert.equal(r1.full, true, 'the first sync is full');
      assert.deepEqual(rec.commands.map((c) => c.cmd), ['iptables-save', ...JUMP_RULES.map(() => 'iptables'), 'iptables-restore']);
      const restore = rec.commands.at(-1)!;
      assert.deepEqual(restore.args, ['-w', '5', '--noflush', '--counters']);
      const l = lines(restore.input!);
      assert.ok(l.includes('-I INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES'));
      assert.ok(l.includes('-I PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES'));
      assert.ok(l.includes('-I OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES'));
      assert.ok(l.includes('-I POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING'));
      assert.ok(l.includes('-X KUBE-SVC-STALE0000000000'));
      // The -I lines sit in their own table.
      assert.ok(l.indexOf('-I FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD') < l.indexOf('*nat'));
      assert.ok(l.indexOf('-I PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES') > l.indexOf('*nat'));

      // Nothing changed: a partial sync rewrites no service chain and runs only the restore.
      rec.commands.length = 0;
      const r2 = await b.sync(snap([[s1, [ep('10.180.0.1'), ep('10.180.0.2')]]]), new Set());
      assert.deepEqual({ full: r2.full, changed: r2.changed }, { full: false, changed: 0 });
      assert.deepEqual(rec.commands.map((c) => c.cmd), ['iptables-restore']);
      assert.ok(!rec.commands[0].input!.includes(`:${SVC1}`));

      // An endpoint goes: only that service's chains, and the stale SEP chain is deleted.
      rec.commands.length = 0;
      const r3 = await b.sync(snap([[s1, [ep('10.180.0.1')]]]), new Set([s1.key]));
      assert.deepEqual({ full: r3.full, changed: r3.changed }, { full: false, changed: 1 });
      const l3 = lines(rec.commands[0].input!);
      assert.ok(l3.includes(`:${SVC1} - [0:0]`) && l3.includes(`-X ${SEP2}`));

      // changed undefined: a full sync again.
      rec.commands.length = 0;
      const r4 = await b.sync(snap([[s1, [ep('10.180.0.1')]]]));
      assert.equal(r4.full, true);
      assert.equal(rec.commands[0].cmd, 'iptables-save');
    } finally {
      rec.restore();
      setLogSink(prevSink);
    }
  });

  it('a failed restore makes the next sync full', async () => {
    let fail = false;
    const rec = recordCommands((c) => (c.cmd === 'iptables-restore' && fail ? { code: 2, stderr: 'iptables-restore: line 3 failed' } : undefined));
    try {
      const b = new IptablesBackend();
      await b.sync(snap([[s1, [ep('10.180.0.1')]]]), new Set());
      fail = true;
      await assert.rejects(b.sync(snap([[s1, [ep('10.180.0.2')]]]), new Set([s1.key])), /line 3 failed/);
      fail = false;
      const r = await b.sync(snap([[s1, [ep('10.180.0.2')]]]), new Set());
      assert.equal(r.full, true);
    } finally {
      rec.restore();
    }
  });

  it('flushes UDP conntrack entries when endpoints appear or go', async () => {
    const rec = recordCommands((c) => (c.cmd === 'conntrack' ? { code: 1, stderr: '0 flow entries have been deleted.' } : undefined));
    try {
      const b = new IptablesBackend();
      await b.sync(snap([[u, []], [s1, [ep('10.180.0.1')]]]), new Set());
      assert.equal(rec.commands.filter((c) => c.cmd === 'conntrack').length, 0);
      rec.commands.length = 0;
      await b.sync(snap([[u, [ep('10.180.0.5', 53), ep('10.180.0.6', 53)]], [s1, [ep('10.180.0.2')]]]), new Set([u.key, s1.key]));
      assert.deepEqual(
        rec.commands.filter((c) => c.cmd === 'conntrack').map((c) => c.args.join(' ')),
        ['-D -p udp --orig-dst 172.30.0.43 --dport 53', '-D -p udp --dport 30053'],
        'no endpoints -> some: the service IP and node port; TCP endpoint changes: nothing',
      );
      rec.commands.length = 0;
      await b.sync(snap([[u, [ep('10.180.0.6', 53)]]]), new Set([u.key, s1.key]));
      assert.deepEqual(
        rec.commands.filter((c) => c.cmd === 'conntrack').map((c) => c.args.join(' ')),
        ['-D -p udp --orig-dst 172.30.0.43 --dport 53 --dst-nat 10.180.0.5', '-D -p udp --dport 30053 --dst-nat 10.180.0.5'],
      );
    } finally {
      rec.restore();
    }
  });

  it('runs inside a network namespace when asked; cleanup removes jumps and chains', async () => {
    const rec = recordCommands((c) => {
      const args = c.args.slice(3);
      if (args[0] === 'iptables' && args.includes('-D')) return { code: 1 };
      if (args[0] === 'iptables-save' && args.includes('nat'))
        return { stdout: '*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n:KUBE-SVC-X - [0:0]\n:KUBE-SEP-Y - [0:0]\n:DOCKER - [0:0]\nCOMMIT\n' };
      if (args[0] === 'iptables-save') return { stdout: '*filter\n:INPUT ACCEPT [0:0]\n:KUBE-FORWARD - [0:0]\n:KUBE-FIREWALL - [0:0]\nCOMMIT\n' };
      return undefined;
    });
    try {
      const b = new IptablesBackend({ netns: 'testns' });
      await b.cleanup();
      assert.ok(rec.commands.every((c) => c.cmd === 'ip' && c.args.slice(0, 3).join(' ') === 'netns exec testns'));
      const restores = rec.commands.filter((c) => c.args[3] === 'iptables-restore').map((c) => c.input);
      assert.deepEqual(restores, [
        '*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n:KUBE-SVC-X - [0:0]\n:KUBE-SEP-Y - [0:0]\n-X KUBE-SERVICES\n-X KUBE-MARK-MASQ\n-X KUBE-SVC-X\n-X KUBE-SEP-Y\nCOMMIT\n',
        '*filter\n:KUBE-FORWARD - [0:0]\n-X KUBE-FORWARD\nCOMMIT\n',
      ]);
      assert.equal(rec.commands.filter((c) => c.args[3] === 'iptables' && c.args.includes('-D')).length, JUMP_RULES.length);
    } finally {
      rec.restore();
    }
  });
});
