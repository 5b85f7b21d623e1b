import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Expectations,
  EXPECTATIONS_TIMEOUT_MS,
  claim,
  compareForDeletion,
  computeStatus,
  isPodAvailable,
  planReplicaSet,
  podFromTemplate,
  selectorOf,
  statusChanged,
} from '../../../src/controllers/replicaset/plan.js';

const NOW = Date.parse('2026-01-01T00:10:00Z');
const ts = (sAgo: number) => new Date(NOW - sAgo * 1000).toISOString().replace(/\.\d+Z$/, 'Z');

function rs(extra: { replicas?: number; minReadySeconds?: number; deleting?: boolean } = {}) {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web', namespace: 'default', uid: 'rs-uid', generation: 2, ...(extra.deleting ? { deletionTimestamp: ts(0) } : {}) },
    spec: {
      replicas: extra.replicas ?? 3,
      minReadySeconds: extra.minReadySeconds ?? 0,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web', tier: 'fe' }, annotations: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'img' }] } },
    },
  };
}

const mine = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: 'rs-uid', controller: true, blockOwnerDeletion: true }];
function pod(name: string, o: { labels?: Record<string, string>; owner?: 'mine' | 'other' | 'none'; ready?: number; phase?: string; node?: string; created?: number; restarts?: number; deleting?: boolean } = {}) {
  const owner = o.owner ?? 'mine';
  return {
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      labels: o.labels ?? { app: 'web', tier: 'fe' },
      creationTimestamp: ts(o.created ?? 100),
      ...(owner === 'mine' ? { ownerReferences: mine } : owner === 'other' ? { ownerReferences: [{ ...mine[0], uid: 'other', name: 'x' }] } : {}),
      ...(o.deleting ? { deletionTimestamp: ts(0) } : {}),
    },
    spec: { ...(o.node ? { nodeName: o.node } : {}) },
    status: {
      phase: o.phase ?? (o.ready !== undefined ? 'Running' : 'Pending'),
      ...(o.ready !== undefined ? { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: ts(o.ready) }] } : {}),
      ...(o.restarts ? { containerStatuses: [{ restartCount: o.restarts }] } : {}),
    },
  };
}

test('podFromTemplate: generateName, labels, annotations and a controller ownerReference', () => {
  const p = podFromTemplate(rs());
  assert.equal(p.metadata.generateName, 'web-');
  assert.equal(p.metadata.namespace, 'default');
  assert.deepEqual(p.metadata.labels, { app: 'web', tier: 'fe' });
  assert.deepEqual(p.metadata.annotations, { a: 'b' });
  assert.deepEqual(p.metadata.ownerReferences, mine);
  assert.deepEqual(p.spec, { containers: [{ name: 'c', image: 'img' }] });
});

test('planReplicaSet: creates the missing pods', () => {
  const p = planReplicaSet(rs({ replicas: 3 }), [pod('a')], NOW);
  assert.equal(p.create, 2);
  assert.deepEqual(p.delete, []);
});

test('planReplicaSet: terminal and terminating pods do not count', () => {
  const p = planReplicaSet(rs({ replicas: 2 }), [pod('a'), pod('b', { phase: 'Failed' }), pod('c', { deleting: true })], NOW);
  assert.equal(p.create, 1);
  assert.equal(p.status.replicas, 1);
});

test('planReplicaSet: deletes the surplus, unscheduled/pending/not-ready/newest first', () => {
  const pods = [
    pod('ready-old', { ready: 500, node: 'n', created: 600 }),
    pod('ready-new', { ready: 10, node: 'n', created: 50 }),
    pod('pending-scheduled', { node: 'n' }),
    pod('unscheduled'),
    pod('running-notready', { node: 'n', phase: 'Running' }),
  ];
  const p = planReplicaSet(rs({ replicas: 1 }), pods, NOW);
  assert.deepEqual(
    p.delete.map((x) => x.metadata.name),
    ['unscheduled', 'pending-scheduled', 'running-notready', 'ready-new'],
  );
  assert.equal(p.create, 0);
});

test('compareForDeletion: more restarts first, then newer first', () => {
  const a = pod('a', { node: 'n', phase: 'Running', restarts: 5, created: 10 });
  const b = pod('b', { node: 'n', phase: 'Running', created: 5 });
  const c = pod('c', { node: 'n', phase: 'Running', created: 100 });
  assert.deepEqual([c, b, a].sort(compareForDeletion).map((x) => x.metadata.name), ['a', 'b', 'c']);
});

test('planReplicaSet: nothing to do when the count is right; expectations pending means no manage', () => {
  const pods = [pod('a'), pod('b'), pod('c')];
  const p = planReplicaSet(rs(), pods, NOW);
  assert.equal(p.create, 0);
  assert.equal(p.delete.length, 0);
  const q = planReplicaSet(rs({ replicas: 5 }), pods, NOW, false);
  assert.equal(q.create, 0, 'not managing while expectations are pending');
  assert.equal(q.status.replicas, 3, 'status is still computed');
  const r = planReplicaSet(rs({ replicas: 5, deleting: true }), pods, NOW);
  assert.equal(r.create, 0, 'a ReplicaSet being deleted creates nothing');
});

test('claim: adopts matching orphans, releases non-matching owned pods, ignores others', () => {
  const pods = [
    pod('orphan'),
    pod('orphan-nomatch', { owner: 'none', labels: { app: 'other' } }),
    pod('orphan-deleting', { owner: 'none', deleting: true }),
    pod('mine'),
    pod('mine-nomatch', { labels: { app: 'changed' } }),
    pod('theirs', { owner: 'other' }),
  ];
  pods[0]!.metadata.ownerReferences = undefined as never;
  const c = claim(rs(), pods, selectorOf(rs()));
  assert.deepEqual(c.adopt.map((p) => p.metadata.name), ['orphan']);
  assert.deepEqual(c.release.map((p) => p.metadata.name), ['mine-nomatch']);
  assert.deepEqual(c.owned.map((p) => p.metadata.name).sort(), ['mine', 'orphan']);
  const p = planReplicaSet(rs({ replicas: 2 }), pods, NOW);
  assert.equal(p.create, 0, 'the adopted orphan counts');
  // An owner being deleted adopts nothing and releases nothing.
  const d = claim(rs({ deleting: true }), pods, selectorOf(rs()));
  assert.deepEqual(d.adopt, []);
  assert.deepEqual(d.release, []);
});

test('claim: pods in other namespaces are never claimed', () => {
  const p = pod('elsewhere', { owner: 'none' });
  p.metadata.namespace = 'kube-system';
  assert.deepEqual(claim(rs(), [p], selectorOf(rs())).owned, []);
});

test('computeStatus: ready, available after minReadySeconds, fully labeled, observedGeneration', () => {
  const pods = [
    pod('a', { ready: 100 }),
    pod('b', { ready: 5 }),
    pod('c'),
    pod('d', { labels: { app: 'web' } }), // matches the selector, not all template labels
  ];
  const s = computeStatus(rs({ minReadySeconds: 30 }), pods, NOW);
  assert.deepEqual(s, { replicas: 4, fullyLabeledReplicas: 3, readyReplicas: 2, availableReplicas: 1, observedGeneration: 2 });
  const p = planReplicaSet(rs({ minReadySeconds: 30, replicas: 4 }), pods, NOW);
  assert.equal(p.requeueAfterMs, 25_000, 'looks again when b becomes available');
  assert.equal(statusChanged({ status: s }, s), false);
  assert.equal(statusChanged({ status: { ...s, readyReplicas: 1 } }, s), true);
});

test('isPodAvailable: without minReadySeconds ready is available', () => {
  assert.equal(isPodAvailable(pod('a', { ready: 0 }), 0, NOW), true);
  assert.equal(isPodAvailable(pod('a', { ready: 0 }), 10, NOW), false);
  assert.equal(isPodAvailable(pod('a'), 0, NOW), false);
});

test('Expectations: satisfied once creations and deletions are observed, or after the timeout', () => {
  let now = 0;
  const e = new Expectations(() => now);
  assert.equal(e.satisfied('k'), true);
  e.expect('k', 2, 0);
  assert.equal(e.satisfied('k'), false);
  e.observedAdd('k');
  assert.equal(e.satisfied('k'), false);
  e.observedAdd('k');
  assert.equal(e.satisfied('k'), true);
  e.expect('k', 0, 1);
  e.lower('k', 0, 1);
  assert.equal(e.satisfied('k'), true, 'a failed deletion is not waited for');
  e.expect('k', 3, 0);
  now = EXPECTATIONS_TIMEOUT_MS + 1;
  assert.equal(e.satisfied('k'), true, 'expired');
});
