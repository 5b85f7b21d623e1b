import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addDefaultTolerations } from '../../../src/apiserver/strategies.js';
import {
  TAINT_NOT_READY,
  TAINT_UNREACHABLE,
  TAINT_UNSCHEDULABLE,
  TokenBucket,
  checkNodeHealth,
  computeDisruption,
  computeZoneState,
  conditionTaints,
  kubeTime,
  needsNewNoExecuteTaint,
  planNodeTaints,
  planTaintEviction,
  podStatusNotReady,
  toleratesTaint,
  zoneOf,
} from '../../../src/controllers/nodelifecycle/plan.js';
import { ORPHAN_CONDITION, failedStatus, planPodGc } from '../../../src/controllers/podgc/plan.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (s: number) => T0 + s * 1000;
const ts = (s: number) => kubeTime(at(s));
const OPTS = { gracePeriodMs: 40_000, startupGracePeriodMs: 60_000 };

function node(o: { name?: string; ready?: string; hb?: number; tr?: number; taints?: any[]; unschedulable?: boolean; zone?: string; extra?: any[]; noReady?: boolean } = {}) {
  const c = (type: string, status: string) => ({ type, status, lastHeartbeatTime: ts(o.hb ?? 0), lastTransitionTime: ts(o.tr ?? -100), reason: 'r', message: 'm' });
  return {
    metadata: { name: o.name ?? 'n1', creationTimestamp: ts(-1000), labels: o.zone ? { 'topology.kubernetes.io/zone': o.zone } : {} },
    spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) },
    status: {
      conditions: o.noReady
        ? []
        : [c('MemoryPressure', 'False'), c('DiskPressure', 'False'), c('PIDPressure', 'False'), c('Ready', o.ready ?? 'True'), ...(o.extra ?? [])],
    },
  };
}
const lease = (renew: number) => ({ spec: { renewTime: new Date(at(renew)).toISOString().replace('Z', '000Z') } });

// ---- node health ---------------------------------------------------------------------

test('checkNodeHealth: a node first seen is healthy for the grace period, on the controller clock', () => {
  // Its heartbeat is old (the kubelet clock may be off): the controller counts from when it saw it.
  const n = node({ hb: -3600 });
  const c1 = checkNodeHealth(undefined, n, undefined, at(0), OPTS);
  assert.equal(c1.health.probeTimestamp, at(0));
  assert.equal(c1.conditions, undefined);
  const c2 = checkNodeHealth(c1.health, n, undefined, at(40), OPTS);
  assert.equal(c2.conditions, undefined, 'exactly the grace period is still fine');
  const c3 = checkNodeHealth(c2.health, n, undefined, at(41), OPTS);
  assert.ok(c3.conditions);
  assert.equal(c3.observedReady, 'True');
  assert.equal(c3.currentReady, 'Unknown');
  for (const type of ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure']) {
    const c: any = c3.conditions!.find((x) => x.type === type)!;
    assert.equal(c.status, 'Unknown');
    assert.equal(c.reason, 'NodeStatusUnknown');
    assert.equal(c.message, 'Kubelet stopped posting node status.');
    assert.equal(c.lastTransitionTime, ts(41));
    assert.equal(c.lastHeartbeatTime, ts(-3600), 'the heartbeat time is kept');
  }
});

test('checkNodeHealth: a new heartbeat or a renewed lease resets the probe time', () => {
  let h = checkNodeHealth(undefined, node({ hb: 0 }), lease(0), at(0), OPTS).health;
  h = checkNodeHealth(h, node({ hb: 30 }), lease(0), at(30), OPTS).health;
  assert.equal(h.probeTimestamp, at(30), 'heartbeat changed');
  h = checkNodeHealth(h, node({ hb: 30 }), lease(60), at(60), OPTS).health;
  assert.equal(h.probeTimestamp, at(60), 'lease renewed');
  const same = checkNodeHealth(h, node({ hb: 30 }), lease(60), at(95), OPTS);
  assert.equal(same.health.probeTimestamp, at(60));
  assert.equal(same.conditions, undefined);
  const stale = checkNodeHealth(same.health, node({ hb: 30 }), lease(60), at(101), OPTS);
  assert.equal(stale.conditions?.find((c) => c.type === 'Ready')?.status, 'Unknown');
});

test('checkNodeHealth: only the lease renewing keeps a node healthy (status posted rarely)', () => {
  let h = checkNodeHealth(undefined, node({ hb: 0 }), lease(0), at(0), OPTS).health;
  for (let s = 10; s <= 200; s += 10) {
    const c = checkNodeHealth(h, node({ hb: 0 }), lease(s), at(s), OPTS);
    assert.equal(c.conditions, undefined, `healthy at ${s}s`);
    h = c.health;
  }
});

test('checkNodeHealth: an already Unknown node is not written again; Ready False stays False until stale', () => {
  const unknown = node({ ready: 'Unknown', hb: 0 });
  for (const c of unknown.status.conditions) if (c.type !== 'Ready') c.status = 'Unknown';
  const h = checkNodeHealth(undefined, unknown, undefined, at(0), OPTS).health;
  assert.equal(checkNodeHealth(h, unknown, undefined, at(100), OPTS).conditions, undefined);
  const nf = node({ ready: 'False' });
  const c = checkNodeHealth(undefined, nf, undefined, at(0), OPTS);
  assert.equal(c.currentReady, 'False');
  assert.equal(c.conditions, undefined);
});

test('checkNodeHealth: a node that never posted a Ready condition gets the startup grace period from its creation', () => {
  const n = node({ noReady: true });
  n.metadata.creationTimestamp = ts(0);
  const c1 = checkNodeHealth(undefined, n, undefined, at(59), OPTS);
  assert.equal(c1.conditions, undefined);
  assert.equal(c1.gracePeriodMs, 60_000);
  const c2 = checkNodeHealth(c1.health, n, undefined, at(61), OPTS);
  const ready = c2.conditions!.find((c) => c.type === 'Ready')!;
  assert.equal(ready.status, 'Unknown');
  assert.equal(ready.reason, 'NodeStatusNeverUpdated');
  assert.equal(ready.message, 'Kubelet never posted node status.');
  assert.equal(c2.conditions!.length, 4);
});

test('checkNodeHealth: the kubelet coming back (new heartbeat, Ready True) is healthy again', () => {
  let c = checkNodeHealth(undefined, node({ hb: 0 }), undefined, at(0), OPTS);
  c = checkNodeHealth(c.health, node({ hb: 0 }), undefined, at(50), OPTS);
  assert.equal(c.currentReady, 'Unknown');
  const back = checkNodeHealth(c.health, node({ hb: 60, tr: 60 }), undefined, at(61), OPTS);
  assert.equal(back.conditions, undefined);
  assert.equal(back.currentReady, 'True');
  assert.equal(back.health.probeTimestamp, at(61));
  assert.equal(back.health.readyTransitionTimestamp, at(61));
});

test('checkNodeHealth: a Ready condition that disappears starts the node over on the controller clock', () => {
  const h = checkNodeHealth(undefined, node({ hb: 0 }), undefined, at(0), OPTS).health;
  const gone = checkNodeHealth(h, node({ noReady: true }), undefined, at(30), OPTS);
  assert.equal(gone.health.probeTimestamp, at(30));
  assert.equal(gone.gracePeriodMs, 60_000);
  assert.equal(checkNodeHealth(gone.health, node({ noReady: true }), undefined, at(90), OPTS).conditions, undefined);
  assert.ok(checkNodeHealth(gone.health, node({ noReady: true }), undefined, at(91), OPTS).conditions);
});

// ---- taints ---------------------------------------------------------------------------

const keys = (taints: any[] | undefined) => (taints ?? []).map((t) => `${t.key}:${t.effect}`).sort();

test('conditionTaints: NoSchedule taints by condition and spec.unschedulable', () => {
  assert.deepEqual(keys(conditionTaints(node())), []);
  assert.deepEqual(keys(conditionTaints(node({ ready: 'False' }))), [`${TAINT_NOT_READY}:NoSchedule`]);
  assert.deepEqual(keys(conditionTaints(node({ ready: 'Unknown', unschedulable: true }))), [`${TAINT_UNREACHABLE}:NoSchedule`, `${TAINT_UNSCHEDULABLE}:NoSchedule`]);
  const pressure = node({ extra: [{ type: 'NetworkUnavailable', status: 'True' }] });
  pressure.status.conditions[0].status = 'True';
  assert.deepEqual(keys(conditionTaints(pressure)), ['node.kubernetes.io/memory-pressure:NoSchedule', 'node.kubernetes.io/network-unavailable:NoSchedule']);
});

test('planNodeTaints: an unreachable node gets unreachable NoSchedule and NoExecute (with timeAdded)', () => {
  const t = planNodeTaints(node({ ready: 'Unknown' }), { now: at(5), allowNewNoExecute: true })!;
  assert.deepEqual(keys(t), [`${TAINT_UNREACHABLE}:NoExecute`, `${TAINT_UNREACHABLE}:NoSchedule`]);
  assert.equal(t.find((x) => x.effect === 'NoExecute')!.timeAdded, ts(5));
  assert.equal(t.find((x) => x.effect === 'NoSchedule')!.timeAdded, undefined);
});

test('planNodeTaints: the rate limiter holds back a first NoExecute taint, never a swap', () => {
  const held = planNodeTaints(node({ ready: 'Unknown' }), { now: at(5), allowNewNoExecute: false })!;
  assert.deepEqual(keys(held), [`${TAINT_UNREACHABLE}:NoSchedule`]);
  const swapped = planNodeTaints(
    node({ ready: 'False', taints: [{ key: TAINT_UNREACHABLE, effect: 'NoExecute', timeAdded: ts(0) }, { key: TAINT_UNREACHABLE, effect: 'NoSchedule' }] }),
    { now: at(5), allowNewNoExecute: false },
  )!;
  assert.deepEqual(keys(swapped), [`${TAINT_NOT_READY}:NoExecute`, `${TAINT_NOT_READY}:NoSchedule`]);
});

test('planNodeTaints: a recovered node loses the controller taints and keeps everyone else\'s', () => {
  const n = node({
    taints: [
      { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' },
      { key: TAINT_UNREACHABLE, effect: 'NoExecute', timeAdded: ts(0) },
      { key: TAINT_UNREACHABLE, effect: 'NoSchedule' },
      { key: 'custom', effect: 'NoExecute' },
    ],
  });
  assert.deepEqual(keys(planNodeTaints(n, { now: at(5), allowNewNoExecute: true })), ['custom:NoExecute', 'dedicated:NoSchedule']);
  assert.equal(planNodeTaints(node(), { now: at(5), allowNewNoExecute: true }), undefined, 'nothing to change');
  const tainted = node({ ready: 'Unknown', taints: [{ key: TAINT_UNREACHABLE, effect: 'NoExecute', timeAdded: ts(0) }, { key: TAINT_UNREACHABLE, effect: 'NoSchedule' }] });
  assert.equal(planNodeTaints(tainted, { now: at(5), allowNewNoExecute: true }), undefined, 'stable once tainted (timeAdded kept)');
});

test('planNodeTaints: cordon adds the unschedulable taint; uncordon removes it', () => {
  assert.deepEqual(keys(planNodeTaints(node({ unschedulable: true }), { now: at(0), allowNewNoExecute: true })), [`${TAINT_UNSCHEDULABLE}:NoSchedule`]);
  assert.deepEqual(planNodeTaints(node({ taints: [{ key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' }] }), { now: at(0), allowNewNoExecute: true }), []);
});

test('planNodeTaints: master disruption mode removes the NoExecute taints and adds none', () => {
  const n = node({ ready: 'Unknown', taints: [{ key: TAINT_UNREACHABLE, effect: 'NoExecute', timeAdded: ts(0) }, { key: TAINT_UNREACHABLE, effect: 'NoSchedule' }] });
  assert.deepEqual(keys(planNodeTaints(n, { now: at(5), allowNewNoExecute: true, masterDisruption: true })), [`${TAINT_UNREACHABLE}:NoSchedule`]);
  assert.equal(needsNewNoExecuteTaint(node({ ready: 'Unknown' })), true);
  assert.equal(needsNewNoExecuteTaint(n), false);
  assert.equal(needsNewNoExecuteTaint(node()), false);
});

// ---- disruption ------------------------------------------------------------------------

test('computeZoneState: full, partial and normal as upstream', () => {
  assert.equal(computeZoneState(['Unknown', 'False']), 'FullDisruption');
  assert.equal(computeZoneState(['True', 'Unknown', 'Unknown']), 'Normal', 'at most 2 unhealthy is normal');
  assert.equal(computeZoneState(['True', 'Unknown', 'Unknown', 'Unknown']), 'PartialDisruption');
  assert.equal(computeZoneState(['True', 'True', 'Unknown', 'Unknown', 'Unknown']), 'PartialDisruption', '60% >= 55%');
  assert.equal(computeZoneState(['True', 'True', 'True', 'Unknown', 'Unknown', 'Unknown']), 'Normal', '50% < 55%');
  assert.equal(computeZoneState([]), 'Normal');
});

test('computeDisruption: rates per zone, and master disruption when every zone is down', () => {
  const opts = { evictionQps: 0.1, secondaryEvictionQps: 0.01, largeClusterThreshold: 50, unhealthyZoneThreshold: 0.55 };
  const nodes = [node({ name: 'a', zone: 'z1' }), node({ name: 'b', zone: 'z2', ready: 'Unknown' })];
  const d = computeDisruption(nodes, (n) => (n.status.conditions.find((c: any) => c.type === 'Ready').status), opts);
  assert.equal(d.allFullyDisrupted, false);
  assert.equal(d.zones.get(zoneOf(nodes[0]))!.state, 'Normal');
  assert.equal(d.zones.get(zoneOf(nodes[1]))!.state, 'FullDisruption');
  assert.equal(d.zones.get(zoneOf(nodes[1]))!.qps, 0.1, 'one zone down while others are up: evict at the normal rate');
  const all = computeDisruption(nodes, () => 'Unknown', opts);
  assert.equal(all.allFullyDisrupted, true);
  assert.ok([...all.zones.values()].every((z) => z.qps === 0));
  const partial = computeDisruption(
    ['a', 'b', 'c', 'd'].map((n) => node({ name: n })),
    (n) => (n.metadata.name === 'a' ? 'True' : 'Unknown'),
    opts,
  );
  assert.equal(partial.zones.get('')!.state, 'PartialDisruption');
  assert.equal(partial.zones.get('')!.qps, 0, 'a small partially disrupted zone stops tainting');
  assert.notEqual(zoneOf(node({ zone: 'z1' })), zoneOf(node({ zone: 'z2' })));
});

test('TokenBucket: burst 1 then qps; a rate of 0 never accepts; a new rate starts full', () => {
  const b = new TokenBucket(0.1);
  assert.equal(b.tryAccept(at(0)), true);
  assert.equal(b.tryAccept(at(5)), false);
  assert.equal(b.tryAccept(at(10)), true);
  b.setQps(0, at(11));
  assert.equal(b.tryAccept(at(100)), false);
  b.setQps(0.1, at(101));
  assert.equal(b.tryAccept(at(101)), true);
});

// ---- pods -------------------------------------------------------------------------------

test('podStatusNotReady: Ready becomes False, other conditions kept; no Ready condition or already False: nothing', () => {
  const pod = { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: ts(0) }, { type: 'PodScheduled', status: 'True' }] } };
  const s = podStatusNotReady(pod, at(9))!;
  assert.deepEqual(s.conditions[0], { type: 'Ready', status: 'False', lastTransitionTime: ts(9) });
  assert.deepEqual(s.conditions[1], { type: 'PodScheduled', status: 'True' });
  assert.equal(s.phase, 'Running');
  assert.equal(podStatusNotReady({ status: { conditions: [{ type: 'Ready', status: 'False' }] } }, at(9)), undefined);
  assert.equal(podStatusNotReady({ status: {} }, at(9)), undefined);
});

test('toleratesTaint: upstream rules', () => {
  const taint = { key: 'k', value: 'v', effect: 'NoExecute' };
  assert.equal(toleratesTaint({ key: 'k', operator: 'Exists' }, taint), true);
  assert.equal(toleratesTaint({ key: 'k', value: 'v' }, taint), true, 'default operator Equal');
  assert.equal(toleratesTaint({ key: 'k', value: 'w' }, taint), false);
  assert.equal(toleratesTaint({ key: 'k', operator: 'Exists', effect: 'NoSchedule' }, taint), false);
  assert.equal(toleratesTaint({ operator: 'Exists' }, taint), true, 'empty key + Exists tolerates everything');
  assert.equal(toleratesTaint({ key: 'other', operator: 'Exists' }, taint), false);
});

test('planTaintEviction: untolerated -> now; tolerationSeconds from timeAdded; forever; earliest wins', () => {
  const unreachable = { key: TAINT_UNREACHABLE, effect: 'NoExecute', timeAdded: ts(0) };
  const notReady = { key: TAINT_NOT_READY, effect: 'NoExecute', timeAdded: ts(10) };
  const pod = (tolerations: any[]) => ({ spec: { nodeName: 'n1', tolerations } });
  assert.deepEqual(planTaintEviction(pod([]), [], at(0)), { action: 'none' });
  assert.equal(planTaintEviction(pod([]), [unreachable], at(1)).action, 'evict');
  const def = [
    { key: TAINT_NOT_READY, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    { key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 3 },
  ];
  assert.deepEqual(planTaintEviction(pod(def), [unreachable], at(1)), { action: 'evictAt', at: at(3), taint: unreachable });
  assert.equal(planTaintEviction(pod(def), [unreachable], at(3)).action, 'evict');
  assert.deepEqual(planTaintEviction(pod(def), [unreachable, notReady], at(1)), { action: 'evictAt', at: at(3), taint: unreachable });
  assert.deepEqual(planTaintEviction(pod([{ operator: 'Exists' }]), [unreachable, notReady], at(1000)), { action: 'none' }, 'tolerates everything forever');
  assert.equal(planTaintEviction(pod([{ key: TAINT_UNREACHABLE, operator: 'Exists', tolerationSeconds: 0 }]), [unreachable], at(0)).action, 'evict');
  // A taint without timeAdded counts from when the controller first saw it.
  const noTime = { key: 'k', effect: 'NoExecute' };
  assert.deepEqual(planTaintEviction(pod([{ key: 'k', operator: 'Exists', tolerationSeconds: 10 }]), [noTime], at(1), () => at(0)), { action: 'evictAt', at: at(10), taint: noTime });
});

// ---- DefaultTolerationSeconds admission --------------------------------------------------

test('addDefaultTolerations: adds both, with the configured seconds', () => {
  const pod: any = { spec: { containers: [] } };
  addDefaultTolerations(pod, { unreachableSeconds: 3 });
  assert.deepEqual(pod.spec.tolerations, [
    { key: TAINT_NOT_READY, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    { key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 3 },
  ]);
});

test('addDefaultTolerations: keeps what the pod already tolerates', () => {
  const own = { key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 6000 };
  const pod: any = { spec: { tolerations: [own] } };
  addDefaultTolerations(pod);
  assert.deepEqual(pod.spec.tolerations, [own, { key: TAINT_NOT_READY, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }]);
  const all: any = { spec: { tolerations: [{ operator: 'Exists' }] } };
  addDefaultTolerations(all);
  assert.deepEqual(all.spec.tolerations, [{ operator: 'Exists' }], 'an empty key tolerates both');
  const noEffect: any = { spec: { tolerations: [{ key: TAINT_NOT_READY, operator: 'Exists' }] } };
  addDefaultTolerations(noEffect);
  assert.deepEqual(keys(noEffect.spec.tolerations.filter((t: any) => t.effect)), [`${TAINT_UNREACHABLE}:NoExecute`]);
  const noSchedule: any = { spec: { tolerations: [{ key: TAINT_NOT_READY, operator: 'Exists', effect: 'NoSchedule' }] } };
  addDefaultTolerations(noSchedule);
  assert.equal(noSchedule.spec.tolerations.length, 3, 'a NoSchedule toleration does not count');
});

// ---- PodGC ----------------------------------------------------------------------------------

const gcPod = (name: string, o: { node?: string; phase?: string; deleting?: boolean; created?: number } = {}) => ({
  metadata: { name, namespace: 'default', uid: `uid-${name}`, creationTimestamp: ts(o.created ?? 0), ...(o.deleting ? { deletionTimestamp: ts(0) } : {}) },
  spec: { ...(o.node ? { nodeName: o.node } : {}) },
  status: { phase: o.phase ?? 'Running' },
});
const names = (l: any[]) => l.map((p) => p.metadata.name).sort();
const GC = { terminatedPodThreshold: 2, quarantineMs: 40_000 };

test('planPodGc: terminating pods on a not-ready out-of-service node', () => {
  const oos = node({ name: 'down', ready: 'Unknown', taints: [{ key: 'node.kubernetes.io/out-of-service', value: 'nodeshutdown', effect: 'NoExecute' }] });
  const readyOos = node({ name: 'up', taints: [{ key: 'node.kubernetes.io/out-of-service', effect: 'NoExecute' }] });
  const plainDown = node({ name: 'plain', ready: 'Unknown' });
  const nodes = new Map<string, any>([['down', oos], ['up', readyOos], ['plain', plainDown]]);
  const pods = [gcPod('a', { node: 'down', deleting: true }), gcPod('b', { node: 'down' }), gcPod('c', { node: 'up', deleting: true }), gcPod('d', { node: 'plain', deleting: true })];
  assert.deepEqual(names(planPodGc(pods, nodes, new Map(), at(0), GC).outOfService), ['a']);
});

test('planPodGc: terminated pods over the threshold, oldest first', () => {
  const nodes = new Map<string, any>([['n1', node()]]);
  const pods = [
    gcPod('new', { node: 'n1', phase: 'Succeeded', created: 30 }),
    gcPod('old', { node: 'n1', phase: 'Failed', created: 10 }),
    gcPod('mid', { node: 'n1', phase: 'Succeeded', created: 20 }),
    gcPod('oldest', { node: 'n1', phase: 'Succeeded', created: 5 }),
    gcPod('running', { node: 'n1', created: 0 }),
  ];
  assert.deepEqual(names(planPodGc(pods, nodes, new Map(), at(0), GC).terminated), ['old', 'oldest']);
  assert.deepEqual(planPodGc(pods, nodes, new Map(), at(0), { ...GC, terminatedPodThreshold: 0 }).terminated, []);
});

test('planPodGc: orphans only after the node has been missing for the quarantine period', () => {
  const nodes = new Map<string, any>([['n1', node()]]);
  const pods = [gcPod('ok', { node: 'n1' }), gcPod('orphan', { node: 'gone' }), gcPod('pending')];
  const p1 = planPodGc(pods, nodes, new Map(), at(0), GC);
  assert.deepEqual(p1.orphaned, []);
  assert.deepEqual([...p1.missingSince], [['gone', at(0)]]);
  const p2 = planPodGc(pods, nodes, p1.missingSince, at(39), GC);
  assert.deepEqual(p2.orphaned, []);
  const p3 = planPodGc(pods, nodes, p2.missingSince, at(40), GC);
  assert.deepEqual(names(p3.orphaned), ['orphan']);
  // The node came back: forgotten.
  const p4 = planPodGc(pods, new Map([...nodes, ['gone', node({ name: 'gone' })]]), p3.missingSince, at(41), GC);
  assert.equal(p4.missingSince.size, 0);
});

test('planPodGc: unscheduled terminating pods; a pod is picked once', () => {
  const pods = [gcPod('u', { deleting: true }), gcPod('u2'), gcPod('t', { node: 'gone', phase: 'Failed', created: 0 })];
  const plan = planPodGc(pods, new Map(), new Map([['gone', at(-100)]]), at(0), { ...GC, terminatedPodThreshold: 0 });
  assert.deepEqual(names(plan.unscheduledTerminating), ['u']);
  assert.deepEqual(names(plan.orphaned), ['t']);
  const both = planPodGc(pods, new Map(), new Map([['gone', at(-100)]]), at(0), { ...GC, terminatedPodThreshold: 0 + 1 });
  assert.deepEqual(names([...both.terminated, ...both.orphaned]), ['t'], 'not twice');
});

test('failedStatus: Failed with the PodGC condition; finished pods are left alone', () => {
  const s = failedStatus(gcPod('a', { node: 'gone' }), ORPHAN_CONDITION, at(1))!;
  assert.equal(s.phase, 'Failed');
  assert.deepEqual(s.conditions, [{ ...ORPHAN_CONDITION, lastTransitionTime: ts(1) }]);
  assert.equal(failedStatus(gcPod('b', { phase: 'Succeeded' }), ORPHAN_CONDITION, at(1)), undefined);
  assert.deepEqual(failedStatus(gcPod('c'), undefined, at(1)), { phase: 'Failed' });
});
