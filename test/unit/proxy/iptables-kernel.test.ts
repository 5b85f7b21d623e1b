// The iptables backend on the kernel, inside namespaces the test creates and
// removes: the scenario namespace is the node; two "pod" namespaces hang off
// it on veth pairs (10.244.1.2 and 10.244.2.2, the node routes between them)
// and each runs a busybox httpd answering its own name. The node's address
// for NodePorts (192.168.77.10) sits on the node namespace's loopback. Nothing leaves these
// namespaces.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withNetns } from '../../helpers/netns.js';
import { poll } from '../../helpers/poll.js';
import { IptablesBackend } from '../../../src/proxy/iptables/index.js';
import type { EndpointInfo, ServicePortInfo } from '../../../src/proxy/types.js';
import { exec } from '../../../src/util/exec.js';
import { endpoint, servicePort, snapshotOfPairs } from './fixtures.js';
import { addHttpdPods } from './kernel-pods.js';

const NODE_IP = '192.168.77.10';
const CLUSTER_IP = '10.96.0.10';
const EMPTY_IP = '10.96.0.11';
const STICKY_IP = '10.96.0.12';
const A = '10.244.1.2';
const B = '10.244.2.2';

const haveTools = await exec('sh', ['-c', 'command -v iptables-restore && command -v busybox && command -v conntrack'], { allowFailure: true }).then((r) => r.code === 0);
const skip = process.getuid?.() !== 0 ? 'needs root' : !haveTools ? 'needs iptables-restore, busybox and conntrack' : false;

const svc = (name: string, clusterIP: string, over: Partial<ServicePortInfo> = {}) => servicePort('default', name, 'http', { clusterIPs: [clusterIP], ...over });
const ep = (ip: string): EndpointInfo => endpoint(ip, 80, { nodeName: 'node1', isLocal: true });
const snap = (entries: Array<[ServicePortInfo, EndpointInfo[]]>) => snapshotOfPairs(entries, { nodeName: 'node1', nodeIPs: [NODE_IP], clusterCidr: '10.244.0.0/16' });

test('iptables backend on the kernel', { skip, timeout: 120_000 }, async () => {
  await withNetns(async (s) => {
    await s.exec('ip', ['addr', 'add', `${NODE_IP}/32`, 'dev', 'lo']);
    const pods = await addHttpdPods(s, [
      { name: 'pa', hostLink: 'va', gateway: '10.244.1.1', podIP: A },
      { name: 'pb', hostLink: 'vb', gateway: '10.244.2.1', podIP: B },
    ]);
    const podA = pods.pa!;
    // Any route for the service range will do: OUTPUT's DNAT reroutes.
    await s.exec('ip', ['route', 'add', '10.96.0.0/12', 'dev', 'va']);

    // (busybox 1.35's wget crashes with -T: the exec timeout bounds it instead.)
    const get = (argv: string[]) =>
      exec(argv[0], argv.slice(1), { allowFailure: true, timeoutMs: 4000 }).catch((e: Error) => ({ code: -1, stdout: '', stderr: e.message }));
    const fromNode = (url: string) => get(['ip', 'netns', 'exec', s.netns, 'busybox', 'wget', '-qO-', url]);
    const fromPodA = (url: string) => get(['ip', 'netns', 'exec', podA, 'busybox', 'wget', '-qO-', url]);
    const collect = async (get: (u: string) => Promise<{ code: number; stdout: string; stderr: string }>, url: string, n: number) => {
      const seen = new Map<string, number>();
      for (let i = 0; i < n; i++) {
        const r = await get(url);
        const k = r.code === 0 ? r.stdout.trim() : `error: ${r.stderr.trim()}`;
        seen.set(k, (seen.get(k) ?? 0) + 1);
      }
      return seen;
    };
    // The pods answer directly first.
    await poll(async () => (await fromNode(`http://${A}/`)).stdout.trim() === 'pa' && (await fromNode(`http://${B}/`)).stdout.trim() === 'pb', { what: 'pods answering' });

    const backend = new IptablesBackend({ netns: s.netns });
    s.onCleanup(() => backend.cleanup());
    const web = svc('web', CLUSTER_IP, { nodePort: 30080 });
    const empty = svc('empty', EMPTY_IP);
    const sticky = svc('sticky', STICKY_IP, { stickySeconds: 600 });
    const r1 = await backend.sync(snap([[web, [ep(A), ep(B)]], [empty, []], [sticky, [ep(A), ep(B)]]]));
    assert.equal(r1.full, true);

    // ClusterIP from the node: both endpoints.
    const n1 = await collect(fromNode, `http://${CLUSTER_IP}/`, 40);
    assert.deepEqual([...n1.keys()].sort(), ['pa', 'pb'], JSON.stringify([...n1]));
    // From a pod (including to itself: hairpin, masqueraded by its SEP chain).
    const p1 = await collect(fromPodA, `http://${CLUSTER_IP}/`, 40);
    assert.deepEqual([...p1.keys()].sort(), ['pa', 'pb'], JSON.stringify([...p1]));
    // NodePort on the node's address, from the node and from a pod.
    const np = await collect(fromNode, `http://${NODE_IP}:30080/`, 20);
    assert.deepEqual([...np.keys()].sort(), ['pa', 'pb'], JSON.stringify([...np]));
    const npPod = await collect(fromPodA, `http://${NODE_IP}:30080/`, 20);
    assert.deepEqual([...npPod.keys()].sort(), ['pa', 'pb'], JSON.stringify([...npPod]));
    // Session affinity: one client, one endpoint.
    const st = await collect(fromNode, `http://${STICKY_IP}/`, 15);
    assert.equal(st.size, 1, JSON.stringify([...st]));
    // No endpoints: REJECTed, refused at once.
    const t0 = Date.now();
    const rej = await fromNode(`http://${EMPTY_IP}/`);
    assert.notEqual(rej.code, 0);
    assert.match(rej.stderr, /refused/i);
    assert.ok(Date.now() - t0 < 2000, `refused quickly (${Date.now() - t0} ms)`);

    const rules = await backend.rules();
    assert.match(rules, /-A KUBE-SERVICES .*"default\/web:http cluster IP"/);
    assert.match(rules, /-A KUBE-SERVICES .*"default\/empty:http has no endpoints".* -j REJECT/);

    // An endpoint goes: the next (partial) sync sends everything to the other.
    const r2 = await backend.sync(snap([[web, [ep(B)]], [empty, []], [sticky, [ep(A), ep(B)]]]), new Set([web.key]));
    assert.deepEqual({ full: r2.full, changed: r2.changed }, { full: false, changed: 1 });
    const n2 = await collect(fromNode, `http://${CLUSTER_IP}/`, 15);
    assert.deepEqual([...n2], [['pb', 15]]);

    // The service goes: its chains go too.
    const before = (await s.exec('iptables-save', ['-t', 'nat'])).stdout;
    const webChains = [...before.matchAll(/^:(KUBE-(?:SVC|SEP|EXT)-\S+)/gm)].map((m) => m[1]).filter((c) => before.includes(`"default/web:http`) && new RegExp(`-A ${c} .*default/web:http`).test(before));
    assert.ok(webChains.length >= 3, `web has SVC, EXT and SEP chains: ${webChains}`);
    await backend.sync(snap([[empty, []], [sticky, [ep(A), ep(B)]]]), new Set([web.key]));
    const after = (await s.exec('iptables-save', ['-t', 'nat'])).stdout;
    for (const c of webChains) assert.ok(!after.includes(`:${c} `), `${c} deleted`);
    assert.ok(!after.includes('default/web:http'));
    assert.notEqual((await fromNode(`http://${CLUSTER_IP}/`)).code, 0);

    // A second full sync does not duplicate the jump rules.
    await backend.sync(snap([[empty, []], [sticky, [ep(A), ep(B)]]]));
    const all = (await s.exec('iptables-save', [])).stdout;
    assert.equal(all.split('\n').filter((l) => l === '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES').length, 1, all);

    // cleanup: no KUBE chain or jump left.
    await backend.cleanup();
    const clean = (await s.exec('iptables-save', [])).stdout;
    assert.ok(!clean.includes('KUBE-'), clean);
    assert.equal((await fromNode(`http://${A}/`)).stdout.trim(), 'pa', 'pods still reachable directly');
  });
});
