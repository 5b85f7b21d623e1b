import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PodIpAllocator, isSimRunning, kubeTime, microTime, nodeConditions, runningPodStatus, simLeaseObject, simNodeAddress, simNodeObject } from '../../src/sim/model.js';
import { cidrContains, parseCidr } from '../../src/util/cidr.js';

const NOW = new Date('2026-11-23T10:00:00.123Z');

test('node addresses come from the documentation ranges, distinct per node', () => {
  assert.equal(simNodeAddress(0), '192.0.2.100');
  assert.equal(simNodeAddress(154), '192.0.2.254');
  assert.equal(simNodeAddress(155), '198.51.100.1');
  const all = new Set(Array.from({ length: 500 }, (_, i) => simNodeAddress(i)));
  assert.equal(all.size, 500);
  for (const ip of all) assert.match(ip, /^(192\.0\.2|198\.51\.100|203\.0\.113)\.\d+$/);
  assert.throws(() => simNodeAddress(100_000), /too many/);
});

test('the Node object: labels, capacity, addresses, nodeInfo, healthy conditions', () => {
  const n = simNodeObject('sim-node-0', 0, { cpu: '4', memory: '16Gi', pods: 110 }, NOW);
  assert.equal(n.metadata.labels['kubernetes.io/hostname'], 'sim-node-0');
  assert.equal(n.metadata.labels['kubernetes.io/os'], 'linux');
  assert.equal(n.metadata.labels['node.kubernetes.io/instance-type'], 'sim');
  assert.deepEqual(n.status.capacity, { cpu: '4', memory: '16Gi', pods: '110', 'ephemeral-storage': '100Gi' });
  assert.deepEqual(n.status.allocatable, n.status.capacity);
  assert.deepEqual(n.status.addresses[0], { type: 'InternalIP', address: '192.0.2.100' });
  assert.equal(n.status.nodeInfo.kubeletVersion, 'v1.33.0');
  const ready = n.status.conditions.find((c: any) => c.type === 'Ready');
  assert.deepEqual([ready.status, ready.reason, ready.message], ['True', 'KubeletReady', 'kubelet is posting ready status']);
  for (const t of ['MemoryPressure', 'DiskPressure', 'PIDPressure']) {
    assert.equal(n.status.conditions.find((c: any) => c.type === t).status, 'False');
  }
  assert.equal(ready.lastHeartbeatTime, '2026-11-23T10:00:00Z');
});

test('node conditions keep upstream reasons and messages', () => {
  const byType = Object.fromEntries(nodeConditions(NOW).map((c) => [c.type, [c.reason, c.message]]));
  assert.deepEqual(byType, {
    MemoryPressure: ['KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
    DiskPressure: ['KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
    PIDPressure: ['KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
    Ready: ['KubeletReady', 'kubelet is posting ready status'],
  });
});

test('the Lease: in kube-node-lease, held by the node, 40 s, owned by the node', () => {
  const l = simLeaseObject('sim-node-1', 'uid-1', NOW);
  assert.equal(l.metadata.namespace, 'kube-node-lease');
  assert.deepEqual(l.spec, { holderIdentity: 'sim-node-1', leaseDurationSeconds: 40, renewTime: '2026-11-23T10:00:00.123000Z' });
  assert.equal(l.metadata.ownerReferences[0].uid, 'uid-1');
  assert.equal(microTime(NOW), '2026-11-23T10:00:00.123000Z');
  assert.equal(kubeTime(NOW), '2026-11-23T10:00:00Z');
});

test('PodIpAllocator: sequential from .2, skips .0/.1/broadcast, reuses released addresses after wrapping', () => {
  const a = new PodIpAllocator('10.244.3.0/24');
  assert.deepEqual([a.allocate(), a.allocate(), a.allocate()], ['10.244.3.2', '10.244.3.3', '10.244.3.4']);
  a.release('10.244.3.3');
  assert.equal(a.allocate(), '10.244.3.5', 'sequential, not first-free');
  const small = new PodIpAllocator('10.0.0.0/29'); // usable .2 .. .6
  const got = Array.from({ length: 5 }, () => small.allocate());
  assert.deepEqual(got, ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
  assert.equal(small.allocate(), undefined);
  small.release('10.0.0.4');
  assert.equal(small.allocate(), '10.0.0.4');
  const o = new PodIpAllocator('10.0.0.0/29');
  assert.ok(o.occupy('10.0.0.2'));
  assert.equal(o.occupy('10.0.0.1'), false);
  assert.equal(o.occupy('10.0.0.7'), false);
  assert.equal(o.allocate(), '10.0.0.3');
});

test('running pod status: Running, Ready, IPs, container statuses', () => {
  const pod = {
    metadata: { name: 'p', namespace: 'default', uid: 'u1' },
    spec: { nodeName: 'sim-node-0', containers: [{ name: 'c', image: 'nginx' }, { name: 'd', image: 'busybox' }] },
    status: { phase: 'Pending', qosClass: 'BestEffort' },
  };
  const st = runningPodStatus(pod, '10.244.0.2', '192.0.2.100', NOW);
  assert.equal(st.phase, 'Running');
  assert.equal(st.qosClass, 'BestEffort', 'other status fields kept');
  assert.deepEqual([st.podIP, st.podIPs, st.hostIP, st.hostIPs], ['10.244.0.2', [{ ip: '10.244.0.2' }], '192.0.2.100', [{ ip: '192.0.2.100' }]]);
  assert.equal(st.startTime, '2026-11-23T10:00:00Z');
  for (const t of ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled']) {
    assert.equal(st.conditions.find((c: any) => c.type === t).status, 'True', t);
  }
  assert.equal(st.containerStatuses.length, 2);
  const c = st.containerStatuses[0];
  assert.deepEqual([c.name, c.image, c.ready, c.started, c.restartCount], ['c', 'nginx', true, true, 0]);
  assert.ok(c.state.running.startedAt);
  assert.match(c.containerID, /^sim:\/\//);
  assert.match(c.imageID, /^sim:\/\//);
  assert.notEqual(st.containerStatuses[1].containerID, c.containerID);
  assert.ok(isSimRunning({ status: st }));
  assert.equal(isSimRunning(pod), false);
  assert.ok(cidrContains(parseCidr('10.244.0.0/24'), st.podIP));
});

test('sim-nodes command: flags, defaults and errors', async () => {
  const { simNodesCommand } = await import('../../src/sim/command.js');
  const parse = (args: string[]) => {
    const cmd = simNodesCommand().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    cmd.action(() => {}); // parse only
    cmd.parse(args, { from: 'user' });
    return cmd.opts();
  };
  assert.deepEqual(parse(['--kubeconfig', 'k']), { count: 3, kubeconfig: 'k', namePrefix: 'sim-node-', heartbeat: 10_000 });
  assert.deepEqual(parse(['--kubeconfig', 'k', '--count', '7', '--name-prefix', 'x-', '--heartbeat', '1m30s']), {
    count: 7,
    kubeconfig: 'k',
    namePrefix: 'x-',
    heartbeat: 90_000,
  });
  assert.throws(() => parse([]), /kubeconfig/);
  assert.throws(() => parse(['--kubeconfig', 'k', '--count', 'many']), /whole number/);
  assert.throws(() => parse(['--kubeconfig', 'k', '--heartbeat', '10']), /duration/);
});
