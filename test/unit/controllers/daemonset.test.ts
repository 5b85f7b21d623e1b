import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type DaemonSetPlan,
  type Obj,
  daemonPodTolerations,
  newDaemonPod,
  nodeNameAffinity,
  nodeShouldRunDaemonPod,
  planDaemonSet,
  surgeAndUnavailable,
  targetNode,
} from '../../../src/controllers/daemonset/plan.js';
import { REVISION_HASH_LABEL } from '../../../src/controllers/history.js';
import { matchesNodeSelectorAndAffinity } from '../../../src/scheduler/core.js';

const NOW = Date.parse('2026-01-01T00:10:00Z');
const ts = (sAgo: number) => new Date(NOW - sAgo * 1000).toISOString().replace(/\.\d+Z$/, 'Z');

function ds(o: { image?: string; nodeSelector?: Obj; maxUnavailable?: number | string; maxSurge?: number | string; onDelete?: boolean; hostNetwork?: boolean; tolerations?: Obj[] } = {}): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: 'kube-system', uid: 'ds-uid', generation: 1 },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      updateStrategy: o.onDelete ? { type: 'OnDelete' } : { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: o.maxUnavailable ?? 1, maxSurge: o.maxSurge ?? 0 } },
      revisionHistoryLimit: 10,
      template: {
        metadata: { labels: { app: 'agent' } },
        spec: {
          containers: [{ name: 'a', image: o.image ?? 'agent:1' }],
          ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
          ...(o.hostNetwork ? { hostNetwork: true } : {}),
          ...(o.tolerations ? { tolerations: o.tolerations } : {}),
        },
      },
    },
    status: {},
  };
}

const node = (name: string, o: { labels?: Obj; taints?: Obj[] } = {}): Obj => ({ metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(o.labels ?? {}) } }, spec: { taints: o.taints ?? [] } });
const running = () => ({ phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: ts(60) }] });

/** Applies a plan's actions: created pods are bound (the scheduler) and come up Running+Ready unless told. */
class World {
  pods: Obj[] = [];
  revisions: Obj[] = [];
  private n = 0;
  constructor(
    public set: Obj,
    public nodes: Obj[],
  ) {}
  plan(): DaemonSetPlan {
    return planDaemonSet(this.set, this.nodes, this.pods, this.revisions, NOW);
  }
  step(opts: { ready?: boolean } = {}): DaemonSetPlan {
    const p = this.plan();
    for (const a of p.actions) {
      if (a.type === 'createRevision') this.revisions.push({ ...a.revision, metadata: { ...a.revision.metadata, uid: `rev-${++this.n}` } });
      else if (a.type === 'updateRevisionNumber') this.revisions = this.revisions.map((r) => (r.metadata.name === a.name ? { ...r, revision: a.revision } : r));
      else if (a.type === 'deleteRevision') this.revisions = this.revisions.filter((r) => r.metadata.name !== a.name);
      else if (a.type === 'createPod') {
        const name = `agent-${++this.n}`;
        this.pods.push({ ...a.pod, metadata: { ...a.pod.metadata, name, uid: name, creationTimestamp: ts(100 - this.n) }, spec: { ...a.pod.spec, nodeName: a.node }, status: (opts.ready ?? true) ? running() : { phase: 'Pending' } });
      } else if (a.type === 'deletePod') this.pods = this.pods.filter((x) => x !== a.pod);
    }
    this.set = { ...this.set, status: p.status };
    return p;
  }
  onNode(n: string): Obj[] {
    return this.pods.filter((p) => p.spec.nodeName === n);
  }
}

const summary = (p: DaemonSetPlan) => p.actions.flatMap((a) => (a.type === 'createPod' ? [`create:${a.node}`] : a.type === 'deletePod' ? [`delete:${a.pod.spec?.nodeName}`] : []));

test('daemon pods get upstream default tolerations (network-unavailable only with hostNetwork)', () => {
  const keys = (t: Obj[]) => t.map((x) => `${x.key}:${x.effect}`);
  assert.deepEqual(keys(daemonPodTolerations({})), [
    'node.kubernetes.io/not-ready:NoExecute',
    'node.kubernetes.io/unreachable:NoExecute',
    'node.kubernetes.io/disk-pressure:NoSchedule',
    'node.kubernetes.io/memory-pressure:NoSchedule',
    'node.kubernetes.io/pid-pressure:NoSchedule',
    'node.kubernetes.io/unschedulable:NoSchedule',
  ]);
  assert.ok(keys(daemonPodTolerations({ hostNetwork: true })).includes('node.kubernetes.io/network-unavailable:NoSchedule'));
  const own = { key: 'x', operator: 'Exists' };
  assert.deepEqual(daemonPodTolerations({ tolerations: [own] })[0], own);
  // A toleration already there is not doubled.
  assert.equal(daemonPodTolerations({ tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] }).length, 6);
});

test('the daemon pod: generateName, owner, hash label, no nodeName, node affinity on metadata.name that the scheduler honours', () => {
  const d = ds();
  d.spec.template.spec.affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'a', operator: 'Exists' }] }] } }, podAffinity: { x: 1 } };
  const p = newDaemonPod(d, 'h4sh', 'n2');
  assert.equal(p.metadata.generateName, 'agent-');
  assert.equal(p.metadata.ownerReferences[0].kind, 'DaemonSet');
  assert.equal(p.metadata.labels[REVISION_HASH_LABEL], 'h4sh');
  assert.equal(p.spec.nodeName, undefined);
  assert.deepEqual(p.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution, { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n2'] }] }] });
  assert.deepEqual(p.spec.affinity.podAffinity, { x: 1 });
  assert.equal(targetNode(p), 'n2');
  assert.equal(matchesNodeSelectorAndAffinity(p, node('n2')), true);
  assert.equal(matchesNodeSelectorAndAffinity(p, node('n1')), false);
  assert.deepEqual(nodeNameAffinity(undefined, 'x').nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].values, ['x']);
});

test('node eligibility: nodeSelector, taints (NoSchedule stops new pods, NoExecute evicts), default tolerations', () => {
  assert.deepEqual(nodeShouldRunDaemonPod(node('a'), ds()), { run: true, keep: true });
  assert.deepEqual(nodeShouldRunDaemonPod(node('a'), ds({ nodeSelector: { disk: 'ssd' } })), { run: false, keep: false });
  assert.deepEqual(nodeShouldRunDaemonPod(node('a', { labels: { disk: 'ssd' } }), ds({ nodeSelector: { disk: 'ssd' } })), { run: true, keep: true });
  assert.deepEqual(nodeShouldRunDaemonPod(node('a', { taints: [{ key: 'k', effect: 'NoSchedule' }] }), ds()), { run: false, keep: true });
  assert.deepEqual(nodeShouldRunDaemonPod(node('a', { taints: [{ key: 'k', effect: 'NoExecute' }] }), ds()), { run: false, keep: false });
  assert.deepEqual(nodeShouldRunDaemonPod(node('a', { taints: [{ key: 'k', effect: 'PreferNoSchedule' }] }), ds()), { run: true, keep: true });
  assert.deepEqual(nodeShouldRunDaemonPod(node('a', { taints: [{ key: 'k', effect: 'NoSchedule' }] }), ds({ tolerations: [{ key: 'k', operator: 'Exists' }] })), { run: true, keep: true });
  assert.deepEqual(nodeShouldRunDaemonPod(node('a', { taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] }), ds()), { run: true, keep: true });
  assert.deepEqual(nodeShouldRunDaemonPod(node('a', { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }] }), ds()), { run: true, keep: true });
  assert.deepEqual(nodeShouldRunDaemonPod(node('a', { taints: [{ key: 'node.kubernetes.io/network-unavailable', effect: 'NoSchedule' }] }), ds({ hostNetwork: true })), { run: true, keep: true });
});

test('one pod per eligible node; a NoSchedule-tainted node is skipped; status counts', () => {
  const w = new World(ds(), [node('n1'), node('n2'), node('n3', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] })]);
  const p = w.step();
  assert.ok(p.actions.some((a) => a.type === 'createRevision'));
  assert.deepEqual(summary(p), ['create:n1', 'create:n2']);
  const s = w.step().status;
  assert.deepEqual(
    { ...s },
    { observedGeneration: 1, desiredNumberScheduled: 2, currentNumberScheduled: 2, numberMisscheduled: 0, numberReady: 2, updatedNumberScheduled: 2, numberAvailable: 2, numberUnavailable: 0 },
  );
  assert.deepEqual(summary(w.plan()), []);
});

test('pods leave nodes that no longer qualify; failed pods are replaced; extra pods on a node go', () => {
  const w = new World(ds({ nodeSelector: { role: 'x' } }), [node('n1', { labels: { role: 'x' } }), node('n2', { labels: { role: 'x' } })]);
  w.step();
  w.nodes = [node('n1', { labels: { role: 'x' } }), node('n2')];
  let p = w.plan();
  assert.deepEqual(summary(p), ['delete:n2']);
  assert.equal(p.status.numberMisscheduled, 1);
  w.step();
  w.onNode('n1')[0]!.status = { phase: 'Failed' };
  assert.deepEqual(summary(w.step()), ['delete:n1']);
  assert.deepEqual(summary(w.step()), ['create:n1']);
  // Two pods on one node (no surge): the newer goes.
  const extra = { ...structuredClone(w.onNode('n1')[0]!), metadata: { ...w.onNode('n1')[0]!.metadata, name: 'agent-x', uid: 'x', creationTimestamp: ts(1) } };
  w.pods.push(extra);
  p = w.plan();
  assert.equal(p.actions.find((a) => a.type === 'deletePod')?.pod, extra);
});

test('a pod for a node that is gone is deleted only if unscheduled', () => {
  const w = new World(ds(), [node('n1')]);
  w.step();
  const stray = newDaemonPod(w.set, 'h', 'gone');
  stray.metadata = { ...stray.metadata, name: 'agent-s', uid: 's' };
  w.pods.push(stray);
  assert.equal(w.plan().actions.find((a) => a.type === 'deletePod')?.pod, stray);
});

test('rolling update (maxUnavailable 1): one node at a time, waiting for the new pod to be available', () => {
  const w = new World(ds(), [node('n1'), node('n2'), node('n3')]);
  w.step();
  w.set = { ...w.set, spec: ds({ image: 'agent:2' }).spec };
  let p = w.step();
  const hash2 = p.hash;
  assert.deepEqual(summary(p), ['delete:n1']);
  assert.equal(p.status.updatedNumberScheduled, 0);
  p = w.step({ ready: false });
  assert.deepEqual(summary(p), ['create:n1']);
  assert.equal(w.onNode('n1')[0]!.metadata.labels[REVISION_HASH_LABEL], hash2);
  assert.deepEqual(summary(w.plan()), [], 'the new pod on n1 is not available yet');
  w.onNode('n1')[0]!.status = running();
  assert.deepEqual(summary(w.step()), ['delete:n2']);
  w.step();
  assert.deepEqual(summary(w.step()), ['delete:n3']);
  w.step();
  p = w.step();
  assert.deepEqual(summary(p), []);
  assert.equal(p.status.updatedNumberScheduled, 3);
  assert.equal(p.status.numberAvailable, 3);
});

test('rolling update: unavailable old pods are replaced at once; maxUnavailable as a percentage rounds up', () => {
  assert.deepEqual(surgeAndUnavailable(ds({ maxUnavailable: '10%' }), 3), { maxSurge: 0, maxUnavailable: 1 });
  assert.deepEqual(surgeAndUnavailable(ds({ maxUnavailable: '50%' }), 3), { maxSurge: 0, maxUnavailable: 2 });
  assert.deepEqual(surgeAndUnavailable(ds({ maxUnavailable: 0, maxSurge: 0 }), 3), { maxSurge: 0, maxUnavailable: 1 });
  const w = new World(ds(), [node('n1'), node('n2'), node('n3')]);
  w.step();
  w.onNode('n2')[0]!.status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] };
  w.onNode('n3')[0]!.status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] };
  w.set = { ...w.set, spec: ds({ image: 'agent:2' }).spec };
  // As upstream, unavailable old pods do not count against maxUnavailable: n1 goes too.
  assert.deepEqual(summary(w.plan()), ['delete:n2', 'delete:n3', 'delete:n1']);
});

test('rolling update with maxSurge: the new pod starts beside the old one, which goes once the new one is available', () => {
  const w = new World(ds({ maxSurge: 1, maxUnavailable: 0 }), [node('n1'), node('n2')]);
  w.step();
  w.set = { ...w.set, spec: ds({ image: 'agent:2', maxSurge: 1, maxUnavailable: 0 }).spec };
  let p = w.step({ ready: false });
  assert.deepEqual(summary(p), ['create:n1']);
  assert.equal(w.onNode('n1').length, 2);
  assert.deepEqual(summary(w.plan()), [], 'both pods stay while the new one is not ready');
  w.onNode('n1').find((x) => x.spec.containers[0].image === 'agent:2')!.status = running();
  p = w.step();
  assert.deepEqual(summary(p), ['delete:n1']);
  assert.equal(w.onNode('n1')[0]!.spec.containers[0].image, 'agent:2');
  assert.deepEqual(summary(w.step()), ['create:n2']);
});

test('OnDelete: old pods stay; status shows them as not updated', () => {
  const w = new World(ds({ onDelete: true }), [node('n1')]);
  w.step();
  w.set = { ...w.set, spec: ds({ onDelete: true, image: 'agent:2' }).spec };
  const p = w.step();
  assert.deepEqual(summary(p), []);
  assert.equal(p.status.updatedNumberScheduled, 0);
});

test('manage false (expectations pending) only computes status and history', () => {
  const w = new World(ds(), [node('n1')]);
  const p = planDaemonSet(w.set, w.nodes, [], [], NOW, false);
  assert.deepEqual(summary(p), []);
  assert.equal(p.status.desiredNumberScheduled, 1);
});
