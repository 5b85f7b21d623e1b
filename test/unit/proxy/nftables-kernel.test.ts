// The nftables proxy on the real kernel, inside network namespaces the test
// creates: the scenario namespace is the node; two "pod" namespaces hang off
// it on point-to-point veths (/32 routes, so all pod traffic is routed through
// the node and its conntrack), each serving its own name with busybox httpd.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NftablesProxier, nftVersion } from '../../../src/proxy/nftables/proxier.js';
import type { EndpointInfo, ServicePortInfo } from '../../../src/proxy/types.js';
import { type ExecOptions, type ExecResult, exec } from '../../../src/util/exec.js';
import { type Scenario, withNetns } from '../../helpers/netns.js';
import { endpoint, servicePort, snapshotOfPairs } from './fixtures.js';
import { addHttpdPods } from './kernel-pods.js';

const TABLE = 'kptest';
const NODE_IP = '192.168.77.1';
const GW = '10.244.0.1';
const POD = { pod1: '10.244.0.11', pod2: '10.244.0.12' } as const;
type PodName = keyof typeof POD;

async function skipReason(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  const v = await nftVersion();
  if (!v) return 'nft not installed';
  const bb = await exec('busybox', ['--list'], { allowFailure: true }).catch(() => undefined);
  if (!bb || !/^httpd$/m.test(bb.stdout) || !/^wget$/m.test(bb.stdout)) return 'busybox httpd/wget missing';
  return undefined;
}

const svc = (name: string, clusterIP: string, o: Partial<ServicePortInfo> = {}) => servicePort('ns1', name, 'http', { clusterIPs: [clusterIP], ...o });
const ep = (pod: PodName): EndpointInfo => endpoint(POD[pod], 80, { isLocal: true, nodeName: 'node-a' });
const snapshot = (entries: Array<[ServicePortInfo, EndpointInfo[]]>) => snapshotOfPairs(entries, { nodeName: 'node-a', nodeIPs: [NODE_IP], clusterCidr: '10.244.0.0/16' });

/** Node and pods: veth pairs, /32 routes, httpd in each pod. */
async function setUp(s: Scenario): Promise<Record<PodName, string>> {
  let i = 0;
  const names = await addHttpdPods(
    s,
    (Object.keys(POD) as PodName[]).map((pod) => ({ name: pod, hostLink: `hv${++i}`, gateway: GW, podIP: POD[pod] })),
    { pointToPoint: true },
  );
  // The node's own interface (a veth pair kept inside the node namespace).
  await s.exec('ip', ['link', 'add', 'node0', 'type', 'veth', 'peer', 'name', 'node0p']);
  await s.exec('ip', ['addr', 'add', `${NODE_IP}/24`, 'dev', 'node0']);
  await s.exec('ip', ['link', 'set', 'node0p', 'up']);
  await s.exec('ip', ['link', 'set', 'node0', 'up']);
  // Cluster IPs need a route on the node (in a cluster, its default route).
  await s.exec('ip', ['route', 'add', '172.30.0.0/16', 'dev', 'node0']);
  return names as Record<PodName, string>;
}

type Get = (url: string) => Promise<{ ok: boolean; body: string; err: string; ms: number }>;
type Run = (cmd: string, args: string[], opts: ExecOptions) => Promise<ExecResult>;

/** busybox wget (its -T crashes some builds: the exec timeout bounds it instead). */
function getter(run: Run): Get {
  return async (url) => {
    const t0 = Date.now();
    try {
      const r = await run('busybox', ['wget', '-qO-', url], { allowFailure: true, timeoutMs: 5000 });
      return { ok: r.code === 0, body: r.stdout.trim(), err: r.stderr.trim(), ms: Date.now() - t0 };
    } catch (e) {
      return { ok: false, body: '', err: (e as Error).message, ms: Date.now() - t0 };
    }
  };
}

async function seen(get: Get, url: string, tries: number): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < tries; i++) {
    const r = await get(url);
    assert.ok(r.ok, `${url}: ${r.err}`);
    out.add(r.body);
  }
  return out;
}

test('nftables proxy on the kernel: ClusterIP, NodePort, affinity, REJECT, hairpin, updates, cleanup', async (t) => {
  const reason = await skipReason();
  if (reason) return t.skip(reason);
  await withNetns(async (s) => {
    const names = await setUp(s);
    const fromNode = getter(s.exec);
    const fromPod = (pod: PodName) => getter((cmd, args, opts) => exec('ip', ['netns', 'exec', names[pod], cmd, ...args], opts));

    const proxy = new NftablesProxier({ table: TABLE, exec: s.exec });
    s.onCleanup(() => proxy.cleanup());
    const web = svc('web', '172.30.0.10', { nodePort: 30080 });
    const empty = svc('empty', '172.30.0.11');
    const sticky = svc('sticky', '172.30.0.12', { stickySeconds: 600 });
    const self = svc('self', '172.30.0.13');
    const udp = svc('udp', '172.30.0.20', { protocol: 'UDP', port: 5353 });
    const all: Array<[ServicePortInfo, EndpointInfo[]]> = [
      [web, [ep('pod1'), ep('pod2')]],
      [empty, []],
      [sticky, [ep('pod1'), ep('pod2')]],
      [self, [ep('pod1')]],
      [udp, [{ ...ep('pod1'), port: 5353 }]],
    ];
    const r1 = await proxy.sync(snapshot(all));
    assert.equal(r1.full, true);
    const rules = await proxy.rules();
    assert.match(rules, new RegExp(`table ip ${TABLE}`));
    assert.match(rules, /172\.30\.0\.10 \. tcp \. 80 : goto service-[A-Z2-7]{8}-ns1\/web\/tcp\/http/);

    // ClusterIP from the node (masqueraded) and from a pod: both endpoints answer.
    assert.deepEqual([...(await seen(fromNode, 'http://172.30.0.10/', 40))].sort(), ['pod1', 'pod2']);
    assert.deepEqual([...(await seen(fromPod('pod1'), 'http://172.30.0.10/', 40))].sort(), ['pod1', 'pod2']);

    // NodePort on the node's address, from the node and from a pod.
    assert.deepEqual([...(await seen(fromNode, `http://${NODE_IP}:30080/`, 30))].sort(), ['pod1', 'pod2']);
    assert.deepEqual([...(await seen(fromPod('pod2'), `http://${NODE_IP}:30080/`, 30))].sort(), ['pod1', 'pod2']);

    // sessionAffinity ClientIP sticks to one endpoint per client.
    assert.equal((await seen(fromPod('pod1'), 'http://172.30.0.12/', 15)).size, 1);
    assert.equal((await seen(fromNode, 'http://172.30.0.12/', 15)).size, 1);

    // Hairpin: a pod reaching itself through its service.
    assert.deepEqual([...(await seen(fromPod('pod1'), 'http://172.30.0.13/', 5))], ['pod1']);

    // No endpoints: refused at once (REJECT), from the node and from a pod.
    for (const get of [fromNode, fromPod('pod2')]) {
      const r = await get('http://172.30.0.11/');
      assert.equal(r.ok, false);
      assert.match(r.err, /refused/i);
      assert.ok(r.ms < 3000, `took ${r.ms} ms`);
    }
    // A cluster IP on a port the service does not have is rejected too.
    const wrongPort = await fromNode('http://172.30.0.10:81/');
    assert.equal(wrongPort.ok, false);
    assert.match(wrongPort.err, /refused/i);

    // UDP: a flow through the service is NATed to pod1; when pod1 leaves the
    // service, its conntrack entry goes too (else replies would keep flowing to it).
    // (busybox nc has no UDP here: node's dgram serves and sends.)
    const echo = "const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send(m,r.port,r.address));s.bind(5353)";
    s.spawn('ip', ['netns', 'exec', names.pod1, process.execPath, '-e', echo]);
    const send =
      "const s=require('dgram').createSocket('udp4');s.on('message',()=>process.exit(0));s.send('hi',5353,'172.30.0.20');setTimeout(()=>process.exit(1),1000)";
    const udpFlows = async () =>
      (await s.exec('conntrack', ['-L', '-p', 'udp', '--orig-dst', '172.30.0.20'], { allowFailure: true })).stdout.split('\n').filter((l) => l.includes('dport=5353'));
    for (let i = 0; i < 20 && (await udpFlows()).length === 0; i++) {
      await s.exec(process.execPath, ['-e', send], { allowFailure: true, timeoutMs: 5000 }).catch(() => undefined);
    }
    const flows = await udpFlows();
    assert.equal(flows.length, 1, 'a UDP flow to the service');
    assert.match(flows[0], /src=10\.244\.0\.11 dst=\S+ sport=5353/); // replies come from pod1
    all[4] = [udp, []];
    await proxy.sync(snapshot(all));
    assert.deepEqual(await udpFlows(), []);

    // Removing an endpoint: an incremental sync; only pod1 answers.
    all[0] = [web, [ep('pod1')]];
    const r2 = await proxy.sync(snapshot(all), new Set([web.key]));
    assert.equal(r2.full, false);
    assert.equal(r2.changed, 1);
    assert.deepEqual([...(await seen(fromPod('pod2'), 'http://172.30.0.10/', 20))], ['pod1']);
    assert.ok(!(await proxy.rules()).includes('ns1/web/tcp/http__10.244.0.12/80'));

    // The endpoint set for the service without endpoints changes from REJECT to working.
    all[1] = [empty, [ep('pod2')]];
    await proxy.sync(snapshot(all));
    assert.deepEqual([...(await seen(fromNode, 'http://172.30.0.11/', 5))], ['pod2']);

    // Deleting the service removes its chains and elements.
    all.splice(0, 1);
    await proxy.sync(snapshot(all), new Set([web.key]));
    const after = await proxy.rules();
    assert.ok(!after.includes('ns1/web/'), after);
    assert.ok(!after.includes('172.30.0.10'), after);
    assert.ok(!after.includes('30080'), after);
    const gone = await fromNode('http://172.30.0.10/');
    assert.equal(gone.ok, false);

    // A second backend (e.g. after a restart) takes over the table with a full sync.
    const again = new NftablesProxier({ table: TABLE, exec: s.exec });
    assert.equal((await again.sync(snapshot(all))).full, true);
    assert.deepEqual([...(await seen(fromNode, 'http://172.30.0.13/', 3))], ['pod1']);

    // cleanup() leaves no table, and is fine when there is none.
    await proxy.cleanup();
    const list = await s.exec('nft', ['list', 'table', 'ip', TABLE], { allowFailure: true });
    assert.notEqual(list.code, 0);
    assert.equal(await proxy.rules(), '');
    await again.cleanup();
  });
});
