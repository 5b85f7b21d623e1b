import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Obj, podRequests, schedule, tolerates } from '../../../src/scheduler/core.js';

const READY = [{ type: 'Ready', status: 'True' }];
function node(name: string, o: { labels?: Obj; taints?: Obj[]; unschedulable?: boolean; cpu?: string; memory?: string; pods?: string; ready?: string } = {}): Obj {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(o.labels ?? {}) } },
    spec: { taints: o.taints, unschedulable: o.unschedulable },
    status: {
      allocatable: { cpu: o.cpu ?? '2', memory: o.memory ?? '4Gi', pods: o.pods ?? '110' },
      conditions: o.ready ? [{ type: 'Ready', status: o.ready }] : READY,
    },
  };
}
function pod(name: string, spec: Obj = {}, meta: Obj = {}): Obj {
  const { cpu, memory, ...rest } = spec;
  const requests: Obj = {};
  if (cpu) requests.cpu = cpu;
  if (memory) requests.memory = memory;
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}`, ...meta },
    spec: { containers: [{ name: 'c', image: 'x', resources: { requests } }], ...rest },
  };
}
const nodes3 = () => [node('a'), node('b'), node('c')];
const unsched = (r: Obj) => {
  assert.ok('unschedulable' in r, `expected unschedulable, got ${JSON.stringify(r)}`);
  return (r as { unschedulable: string }).unschedulable;
};
const chosen = (r: Obj) => {
  assert.ok('node' in r, `expected a node, got ${JSON.stringify(r)}`);
  return (r as { node: string }).node;
};

test('a plain pod goes to some node; ties are broken by the rotating index', () => {
  const got = [0, 1, 2, 3].map((i) => chosen(schedule(pod('p'), nodes3(), {}, { tieBreak: i })));
  assert.deepEqual(got, ['a', 'b', 'c', 'a']);
});

test('the exact upstream message: taint + insufficient cpu, sorted, with the preemption part', () => {
  const ns = [
    node('cp', { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] }),
    node('w1', { cpu: '1' }),
    node('w2', { cpu: '1' }),
  ];
  const msg = unsched(schedule(pod('p', { cpu: '1500m' }), ns, {}));
  assert.equal(
    msg,
    '0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. ' +
      'preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.',
  );
});

test('nodeSelector matching nothing', () => {
  const msg = unsched(schedule(pod('p', { nodeSelector: { disk: 'ssd' } }), nodes3(), {}));
  assert.equal(
    msg,
    "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
  );
  const ns = nodes3();
  ns[1]!.metadata.labels.disk = 'ssd';
  assert.equal(chosen(schedule(pod('p', { nodeSelector: { disk: 'ssd' } }), ns, {})), 'b');
});

test('required node affinity: In/NotIn/Exists/DoesNotExist/Gt/Lt and matchFields; terms are ORed', () => {
  const ns = [node('a', { labels: { zone: 'z1', gen: '3' } }), node('b', { labels: { zone: 'z2', gen: '5' } }), node('c', { labels: { gpu: '' } })];
  const aff = (terms: Obj[]) => pod('p', { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } });
  const only = (terms: Obj[]) => {
    const fits: string[] = [];
    for (const n of ns) if ('node' in schedule(aff(terms), [n], {})) fits.push(n.metadata.name);
    return fits;
  };
  assert.deepEqual(only([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }] }]), ['a']);
  assert.deepEqual(only([{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['z1'] }] }]), ['b', 'c']);
  assert.deepEqual(only([{ matchExpressions: [{ key: 'gpu', operator: 'Exists' }] }]), ['c']);
  assert.deepEqual(only([{ matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' }] }]), ['a', 'b']);
  assert.deepEqual(only([{ matchExpressions: [{ key: 'gen', operator: 'Gt', values: ['4'] }] }]), ['b']);
  assert.deepEqual(only([{ matchExpressions: [{ key: 'gen', operator: 'Lt', values: ['4'] }] }]), ['a']);
  assert.deepEqual(only([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['c'] }] }]), ['c']);
  assert.deepEqual(
    only([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z2'] }] }, { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['a'] }] }]),
    ['a', 'b'],
  );
  // Within a term, everything must match; an empty term matches nothing.
  assert.deepEqual(only([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z2'] }], matchFields: [{ key: 'metadata.name', operator: 'In', values: ['a'] }] }]), []);
  assert.deepEqual(only([{}]), []);
});

test('taints: NoSchedule and NoExecute filter, tolerations lift them, PreferNoSchedule only scores', () => {
  const t = { key: 'dedicated', value: 'db', effect: 'NoSchedule' };
  const ns = [node('a', { taints: [t] }), node('b', { taints: [{ key: 'x', effect: 'NoExecute' }] })];
  assert.equal(
    unsched(schedule(pod('p'), ns, {})),
    '0/2 nodes are available: 1 node(s) had untolerated taint {dedicated: db}, 1 node(s) had untolerated taint {x: }. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.',
  );
  assert.equal(chosen(schedule(pod('p', { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }] }), ns, {})), 'a');
  assert.equal(chosen(schedule(pod('p', { tolerations: [{ key: 'x', operator: 'Exists' }] }), ns, {})), 'b');
  assert.equal(tolerates({ operator: 'Exists' }, t), true);
  assert.equal(tolerates({ key: 'dedicated', value: 'other' }, t), false);
  assert.equal(tolerates({ key: 'dedicated', value: 'db', effect: 'NoExecute' }, t), false);
  // PreferNoSchedule: avoided whenever another node will do, regardless of the tie index.
  const soft = [node('a', { taints: [{ key: 'soft', effect: 'PreferNoSchedule' }] }), node('b')];
  for (const i of [0, 1, 2]) assert.equal(chosen(schedule(pod('p'), soft, {}, { tieBreak: i })), 'b');
  assert.equal(chosen(schedule(pod('p'), [soft[0]!], {})), 'a');
});

test('unschedulable nodes, unless the pod tolerates node.kubernetes.io/unschedulable', () => {
  const ns = [node('a', { unschedulable: true })];
  assert.equal(
    unsched(schedule(pod('p'), ns, {})),
    '0/1 nodes are available: 1 node(s) were unschedulable. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.',
  );
  assert.equal(chosen(schedule(pod('p', { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] }), ns, {})), 'a');
});

test('nodes not Ready count as carrying the not-ready / unreachable taint', () => {
  const ns = [node('a', { ready: 'False' }), node('b', { ready: 'Unknown' }), node('c')];
  ns[2]!.status.conditions = [];
  assert.equal(
    unsched(schedule(pod('p'), ns, {})),
    '0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 2 node(s) had untolerated taint {node.kubernetes.io/unreachable: }. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.',
  );
  assert.equal(chosen(schedule(pod('p', { tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists' }] }), ns, {})), 'a');
});

test('resources: requests of pods already there count; memory and pod count too', () => {
  const ns = [node('a', { cpu: '1', memory: '1Gi', pods: '2' })];
  const on = { a: [pod('x', { cpu: '600m', memory: '512Mi' })] };
  assert.equal(chosen(schedule(pod('p', { cpu: '400m', memory: '512Mi' }), ns, on)), 'a');
  assert.match(unsched(schedule(pod('p', { cpu: '401m' }), ns, on)), /^0\/1 nodes are available: 1 Insufficient cpu\./);
  assert.match(unsched(schedule(pod('p', { memory: '513Mi' }), ns, on)), /^0\/1 nodes are available: 1 Insufficient memory\./);
  assert.equal(
    unsched(schedule(pod('p', { cpu: '2', memory: '2Gi' }), ns, on)),
    '0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.',
  );
  const full = { a: [pod('x'), pod('y')] };
  assert.match(unsched(schedule(pod('p'), ns, full)), /^0\/1 nodes are available: 1 Too many pods\./);
  // Finished pods free their node.
  const done = { a: [pod('x'), { ...pod('y'), status: { phase: 'Succeeded' } }] };
  assert.equal(chosen(schedule(pod('p'), ns, done)), 'a');
  // Pods default to 110 when allocatable.pods is missing.
  const n = node('d');
  delete n.status.allocatable.pods;
  const many = { d: Array.from({ length: 110 }, (_, i) => pod(`q${i}`)) };
  assert.match(unsched(schedule(pod('p'), [n], many)), /1 Too many pods/);
});

test('init containers: max of the init container vs the sum of the app containers; overhead adds', () => {
  const p = {
    spec: {
      initContainers: [{ name: 'i', resources: { requests: { cpu: '1500m' } } }],
      containers: [
        { name: 'a', resources: { requests: { cpu: '500m', memory: '1Gi' } } },
        { name: 'b', resources: { requests: { cpu: '500m' } } },
      ],
      overhead: { cpu: '100m' },
    },
  };
  const r = podRequests(p);
  assert.equal(r.cpu, 1600);
  assert.equal(r.memory, 1024 * 1024 * 1024 * 1000);
  const small = { spec: { initContainers: [{ name: 'i', resources: { requests: { cpu: '200m' } } }], containers: p.spec.containers } };
  assert.equal(podRequests(small).cpu, 1000);
  // Sidecars (restartable init containers) add to the sum.
  const side = { spec: { initContainers: [{ name: 's', restartPolicy: 'Always', resources: { requests: { cpu: '300m' } } }], containers: p.spec.containers } };
  assert.equal(podRequests(side).cpu, 1300);
  assert.match(unsched(schedule({ metadata: { name: 'p' }, ...p }, [node('a', { cpu: '1500m' })], {})), /Insufficient cpu/);
});

test('host ports conflict on the same port, protocol and overlapping hostIP', () => {
  const withPort = (name: string, port: number, protocol?: string, hostIP?: string) =>
    ({ metadata: { name }, spec: { containers: [{ name: 'c', ports: [{ containerPort: 80, hostPort: port, protocol, hostIP }] }] } });
  const ns = [node('a')];
  const on = { a: [withPort('x', 8080)] };
  assert.equal(
    unsched(schedule(withPort('p', 8080), ns, on)),
    "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
  );
  assert.equal(chosen(schedule(withPort('p', 8080, 'UDP'), ns, on)), 'a');
  assert.equal(chosen(schedule(withPort('p', 8081), ns, on)), 'a');
  assert.equal(chosen(schedule(withPort('p', 9000, 'TCP', '10.0.0.1'), ns, { a: [withPort('x', 9000, 'TCP', '10.0.0.2')] })), 'a');
  assert.ok('unschedulable' in schedule(withPort('p', 9000, 'TCP', '10.0.0.1'), ns, { a: [withPort('x', 9000)] }));
});

test('filters stop at the first failure per node, in upstream order', () => {
  const ns = [node('a', { unschedulable: true, taints: [{ key: 'k', effect: 'NoSchedule' }], cpu: '100m' })];
  assert.match(unsched(schedule(pod('p', { cpu: '1', nodeSelector: { x: 'y' } }), ns, {})), /^0\/1 nodes are available: 1 node\(s\) were unschedulable\./);
});

test('pods of one controller spread across nodes', () => {
  const owner = { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'rs-1', controller: true }] };
  const ns = nodes3();
  const on: Record<string, Obj[]> = { a: [], b: [], c: [] };
  const placed: string[] = [];
  for (let i = 0; i < 3; i++) {
    const p = pod(`p${i}`, {}, owner);
    const n = chosen(schedule(p, ns, on, { tieBreak: 0 }));
    on[n]!.push({ ...p, spec: { ...p.spec, nodeName: n } });
    placed.push(n);
  }
  assert.deepEqual([...placed].sort(), ['a', 'b', 'c']);
});

test('least allocated: the emptier node wins', () => {
  const ns = [node('a'), node('b')];
  const on = { a: [pod('big', { cpu: '1', memory: '2Gi' })] };
  for (const i of [0, 1]) assert.equal(chosen(schedule(pod('p', { cpu: '100m', memory: '100Mi' }), ns, on, { tieBreak: i })), 'b');
});

test('preferred node affinity weighs in', () => {
  const ns = [node('a'), node('b', { labels: { fast: 'yes' } })];
  const p = pod('p', {
    affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, preference: { matchExpressions: [{ key: 'fast', operator: 'In', values: ['yes'] }] } }] } },
  });
  for (const i of [0, 1]) assert.equal(chosen(schedule(p, ns, {}, { tieBreak: i })), 'b');
});

test('no nodes; preemptionPolicy Never', () => {
  assert.equal(unsched(schedule(pod('p'), [], {})), 'no nodes available to schedule pods');
  assert.equal(
    unsched(schedule(pod('p', { nodeSelector: { a: 'b' }, preemptionPolicy: 'Never' }), [node('a')], {})),
    "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: not eligible due to preemptionPolicy=Never.",
  );
});

test('needsScheduling: default-scheduler (or unset), no node, not deleting, not finished', async () => {
  const { needsScheduling } = await import('../../../src/scheduler/scheduler.js');
  assert.equal(needsScheduling(pod('p')), true);
  assert.equal(needsScheduling(pod('p', { schedulerName: 'default-scheduler' })), true);
  assert.equal(needsScheduling(pod('p', { schedulerName: 'other' })), false);
  assert.equal(needsScheduling(pod('p', { schedulerName: 'other' }), 'other'), true);
  assert.equal(needsScheduling(pod('p', { nodeName: 'a' })), false);
  assert.equal(needsScheduling(pod('p', {}, { deletionTimestamp: '2024-01-01T00:00:00Z' })), false);
  assert.equal(needsScheduling({ ...pod('p'), status: { phase: 'Failed' } }), false);
});
