import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REVISION_HASH_LABEL, revisionsToTruncate, sortRevisions, templatePatch } from '../../../src/controllers/history.js';
import { type Obj, type StatefulSetPlan, newStatefulSetPod, parentAndOrdinal, planStatefulSet, statusChanged } from '../../../src/controllers/statefulset/plan.js';

const NOW = Date.parse('2026-01-01T00:10:00Z');
const ts = (sAgo: number) => new Date(NOW - sAgo * 1000).toISOString().replace(/\.\d+Z$/, 'Z');

function sts(o: { replicas?: number; policy?: string; partition?: number; onDelete?: boolean; image?: string; minReadySeconds?: number; status?: Obj; claims?: boolean; limit?: number } = {}): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', namespace: 'default', uid: 'sts-uid', generation: 1 },
    spec: {
      replicas: o.replicas ?? 2,
      serviceName: 'myapp',
      podManagementPolicy: o.policy ?? 'OrderedReady',
      minReadySeconds: o.minReadySeconds ?? 0,
      revisionHistoryLimit: o.limit ?? 10,
      updateStrategy: o.onDelete ? { type: 'OnDelete' } : { type: 'RollingUpdate', rollingUpdate: { partition: o.partition ?? 0 } },
      selector: { matchLabels: { app: 'nginx' } },
      template: {
        metadata: { labels: { app: 'nginx' } },
        spec: { containers: [{ name: 'nginx', image: o.image ?? 'nginx:1', ...(o.claims ? { volumeMounts: [{ name: 'www', mountPath: '/usr/share/nginx/html' }] } : {}) }] },
      },
      ...(o.claims ? { volumeClaimTemplates: [{ metadata: { name: 'www' }, spec: { accessModes: ['ReadWriteOnce'] } }] } : {}),
    },
    status: o.status ?? {},
  };
}

/** A tiny world: revisions and pods, with the plan's actions applied (pods come up Running+Ready unless told). */
class World {
  pods: Obj[] = [];
  revisions: Obj[] = [];
  private n = 0;
  constructor(public set: Obj) {}
  plan(): StatefulSetPlan {
    return planStatefulSet(this.set, this.pods, this.revisions, NOW);
  }
  /** One sync: applies the actions and the status; returns the plan. */
  step(opts: { ready?: boolean } = {}): StatefulSetPlan {
    const p = this.plan();
    for (const a of p.actions) {
      if (a.type === 'createRevision') this.revisions.push({ ...a.revision, metadata: { ...a.revision.metadata, uid: `rev-${++this.n}`, creationTimestamp: ts(100 - this.n) } });
      else if (a.type === 'updateRevisionNumber') this.revisions = this.revisions.map((r) => (r.metadata.name === a.name ? { ...r, revision: a.revision } : r));
      else if (a.type === 'deleteRevision') this.revisions = this.revisions.filter((r) => r.metadata.name !== a.name);
      else if (a.type === 'createPod') {
        const ready = opts.ready ?? true;
        this.pods.push({ ...a.pod, metadata: { ...a.pod.metadata, uid: `pod-${++this.n}`, creationTimestamp: ts(60) }, status: ready ? running() : { phase: 'Pending' } });
      } else if (a.type === 'deletePod') this.pods = this.pods.filter((x) => x !== a.pod);
    }
    this.set = { ...this.set, status: p.status };
    return p;
  }
  names(): string[] {
    return this.pods.map((p) => p.metadata.name).sort();
  }
  pod(name: string): Obj {
    return this.pods.find((p) => p.metadata.name === name)!;
  }
}

const running = (readyAgo = 60) => ({ phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: ts(readyAgo) }] });
const podActions = (p: StatefulSetPlan) => p.actions.filter((a) => a.type === 'createPod' || a.type === 'deletePod').map((a) => `${a.type}:${a.pod.metadata.name}`);

test('parentAndOrdinal parses <set>-<ordinal>', () => {
  assert.deepEqual(parentAndOrdinal({ metadata: { name: 'web-12' } }), { parent: 'web', ordinal: 12 });
  assert.deepEqual(parentAndOrdinal({ metadata: { name: 'my-web-0' } }), { parent: 'my-web', ordinal: 0 });
  assert.equal(parentAndOrdinal({ metadata: { name: 'web' } }).ordinal, -1);
  assert.equal(parentAndOrdinal({ metadata: { name: 'web-x' } }).ordinal, -1);
});

test('the pod of an ordinal: name, hostname, subdomain, identity labels, owner, claim volumes', () => {
  const s = sts({ claims: true });
  const p = newStatefulSetPod(s, 1, 'web-abc');
  assert.equal(p.metadata.name, 'web-1');
  assert.equal(p.metadata.generateName, undefined);
  assert.equal(p.spec.hostname, 'web-1');
  assert.equal(p.spec.subdomain, 'myapp');
  assert.deepEqual(p.metadata.labels, { app: 'nginx', 'statefulset.kubernetes.io/pod-name': 'web-1', 'apps.kubernetes.io/pod-index': '1', 'controller-revision-hash': 'web-abc' });
  assert.deepEqual(p.metadata.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'sts-uid', controller: true, blockOwnerDeletion: true }]);
  assert.deepEqual(p.spec.volumes, [{ name: 'www', persistentVolumeClaim: { claimName: 'www-web-1' } }]);
});

test('the first sync creates revision 1 and web-0 only (OrderedReady)', () => {
  const w = new World(sts());
  const p = w.plan();
  const rev = p.actions.find((a) => a.type === 'createRevision');
  assert.ok(rev && rev.type === 'createRevision');
  assert.equal(rev.revision.revision, 1);
  assert.match(rev.revision.metadata.name, /^web-[bcdfghjklmnpqrstvwxz2456789]+$/);
  assert.equal(rev.revision.metadata.labels[REVISION_HASH_LABEL], rev.revision.metadata.name.slice(4));
  assert.equal(rev.revision.metadata.labels.app, 'nginx');
  assert.deepEqual(rev.revision.data, templatePatch(w.set));
  assert.equal(rev.revision.data.spec.template.$patch, 'replace');
  assert.deepEqual(podActions(p), ['createPod:web-0']);
  const created = p.actions.find((a) => a.type === 'createPod')!;
  assert.equal(created.type === 'createPod' && created.pod.metadata.labels[REVISION_HASH_LABEL], rev.revision.metadata.name);
  assert.equal(p.status.updateRevision, rev.revision.metadata.name);
  assert.equal(p.status.currentRevision, rev.revision.metadata.name);
});

test('OrderedReady: web-1 waits for web-0 to be Running and Ready', () => {
  const w = new World(sts());
  w.step({ ready: false });
  assert.deepEqual(w.names(), ['web-0']);
  assert.deepEqual(podActions(w.plan()), [], 'web-0 not ready: nothing');
  w.pod('web-0').status = running();
  assert.deepEqual(podActions(w.step()), ['createPod:web-1']);
  const p = w.step();
  assert.deepEqual(podActions(p), []);
  assert.deepEqual(
    { replicas: p.status.replicas, ready: p.status.readyReplicas, current: p.status.currentReplicas, updated: p.status.updatedReplicas, available: p.status.availableReplicas },
    { replicas: 2, ready: 2, current: 2, updated: 2, available: 2 },
  );
  assert.equal(p.status.observedGeneration, 1);
});

test('Parallel creates every missing pod at once and deletes all condemned at once', () => {
  const w = new World(sts({ replicas: 3, policy: 'Parallel' }));
  assert.deepEqual(podActions(w.step({ ready: false })), ['createPod:web-0', 'createPod:web-1', 'createPod:web-2']);
  w.set = { ...w.set, spec: { ...w.set.spec, replicas: 1 } };
  assert.deepEqual(podActions(w.plan()), ['deletePod:web-2', 'deletePod:web-1']);
});

test('scale down: the highest ordinal first, one at a time, waiting for termination', () => {
  const w = new World(sts({ replicas: 3 }));
  for (let i = 0; i < 4; i++) w.step();
  assert.deepEqual(w.names(), ['web-0', 'web-1', 'web-2']);
  w.set = { ...w.set, spec: { ...w.set.spec, replicas: 1 } };
  const p = w.plan();
  assert.deepEqual(podActions(p), ['deletePod:web-2']);
  // web-2 terminating: web-1 waits.
  w.pod('web-2').metadata.deletionTimestamp = ts(0);
  assert.deepEqual(podActions(w.plan()), []);
  w.pods = w.pods.filter((x) => x.metadata.name !== 'web-2');
  assert.deepEqual(podActions(w.step()), ['deletePod:web-1']);
  assert.deepEqual(w.names(), ['web-0']);
});

test('scale down: an unhealthy condemned pod blocks unless it is the first unhealthy one', () => {
  const w = new World(sts({ replicas: 3 }));
  for (let i = 0; i < 4; i++) w.step();
  w.set = { ...w.set, spec: { ...w.set.spec, replicas: 1 } };
  w.pod('web-1').status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] };
  // web-2 is healthy: it goes, whatever web-1's health.
  assert.deepEqual(podActions(w.plan()), ['deletePod:web-2']);
  w.pod('web-2').status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] };
  assert.deepEqual(podActions(w.plan()), [], 'web-2 unhealthy and web-1 is the first unhealthy one: wait');
  w.pod('web-1').status = running();
  w.pod('web-2').status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] };
  assert.deepEqual(podActions(w.plan()), ['deletePod:web-2'], 'the first unhealthy pod may go');
});

test('a failed pod is deleted, then recreated with the same name', () => {
  const w = new World(sts());
  for (let i = 0; i < 3; i++) w.step();
  w.pod('web-0').status = { phase: 'Failed' };
  assert.deepEqual(podActions(w.step()), ['deletePod:web-0']);
  assert.deepEqual(podActions(w.step()), ['createPod:web-0']);
  assert.deepEqual(w.names(), ['web-0', 'web-1']);
});

test('rolling update: highest ordinal first, one at a time, waiting for Ready; status revisions follow', () => {
  const w = new World(sts({ replicas: 3 }));
  for (let i = 0; i < 4; i++) w.step();
  const rev1 = w.set.status.currentRevision;
  w.set = { ...w.set, metadata: { ...w.set.metadata, generation: 2 }, spec: { ...sts({ replicas: 3, image: 'nginx:2' }).spec } };
  let p = w.step();
  const create = p.actions.find((a) => a.type === 'createRevision');
  assert.ok(create && create.type === 'createRevision' && create.revision.revision === 2);
  const rev2 = p.status.updateRevision;
  assert.notEqual(rev1, rev2);
  assert.equal(p.status.currentRevision, rev1);
  assert.deepEqual(podActions(p), ['deletePod:web-2']);
  p = w.step({ ready: false });
  assert.deepEqual(podActions(p), ['createPod:web-2']);
  assert.equal(w.pod('web-2').metadata.labels[REVISION_HASH_LABEL], rev2);
  assert.equal(w.pod('web-2').spec.containers[0].image, 'nginx:2');
  assert.deepEqual(podActions(w.plan()), [], 'web-2 not ready yet');
  w.pod('web-2').status = running();
  assert.deepEqual(podActions(w.step()), ['deletePod:web-1']);
  w.step();
  assert.deepEqual(podActions(w.step()), ['deletePod:web-0']);
  w.step();
  p = w.step();
  assert.deepEqual(podActions(p), []);
  assert.equal(p.status.currentRevision, rev2, 'rollout complete: current = update');
  assert.equal(p.status.updatedReplicas, 3);
  assert.equal(p.status.currentReplicas, 3);
});

test('rolling update with a partition updates only ordinals >= partition; recreated low ordinals stay at the current revision', () => {
  const w = new World(sts({ replicas: 3 }));
  for (let i = 0; i < 4; i++) w.step();
  const rev1 = w.set.status.currentRevision;
  w.set = { ...w.set, spec: { ...sts({ replicas: 3, image: 'nginx:2', partition: 2 }).spec } };
  assert.deepEqual(podActions(w.step()), ['deletePod:web-2']);
  w.step();
  const p = w.step();
  assert.deepEqual(podActions(p), [], 'web-1 and web-0 are below the partition');
  assert.equal(p.status.updatedReplicas, 1);
  assert.equal(p.status.currentReplicas, 2);
  assert.equal(p.status.currentRevision, rev1);
  // web-0 deleted by hand: recreated at the current revision.
  w.pods = w.pods.filter((x) => x.metadata.name !== 'web-0');
  w.step();
  assert.equal(w.pod('web-0').metadata.labels[REVISION_HASH_LABEL], rev1);
  assert.equal(w.pod('web-0').spec.containers[0].image, 'nginx:1');
});

test('OnDelete: nothing is replaced until deleted; a deleted pod comes back at the update revision', () => {
  const w = new World(sts({ onDelete: true }));
  for (let i = 0; i < 3; i++) w.step();
  w.set = { ...w.set, spec: { ...sts({ onDelete: true, image: 'nginx:2' }).spec } };
  const p = w.step();
  assert.deepEqual(podActions(p), []);
  w.pods = w.pods.filter((x) => x.metadata.name !== 'web-1');
  w.step();
  assert.equal(w.pod('web-1').spec.containers[0].image, 'nginx:2');
  assert.equal(w.pod('web-0').spec.containers[0].image, 'nginx:1');
});

test('rollback renumbers the equal older revision instead of creating one', () => {
  const w = new World(sts({ replicas: 1 }));
  for (let i = 0; i < 2; i++) w.step();
  const rev1 = w.set.status.updateRevision;
  w.set = { ...w.set, spec: { ...sts({ replicas: 1, image: 'nginx:2' }).spec } };
  for (let i = 0; i < 4; i++) w.step();
  w.set = { ...w.set, spec: { ...sts({ replicas: 1 }).spec } };
  const p = w.step();
  const up = p.actions.find((a) => a.type === 'updateRevisionNumber');
  assert.ok(up && up.type === 'updateRevisionNumber');
  assert.equal(up.name, rev1);
  assert.equal(up.revision, 3);
  assert.ok(!p.actions.some((a) => a.type === 'createRevision'));
  assert.equal(p.status.updateRevision, rev1);
  assert.deepEqual(sortRevisions(w.revisions).map((r) => r.revision), [2, 3]);
});

test('history beyond revisionHistoryLimit is truncated, oldest unused first', () => {
  const w = new World(sts({ replicas: 1, limit: 1 }));
  for (const img of ['nginx:1', 'nginx:2', 'nginx:3', 'nginx:4']) {
    w.set = { ...w.set, spec: { ...sts({ replicas: 1, limit: 1, image: img }).spec } };
    for (let i = 0; i < 4; i++) w.step();
  }
  // Live: the update/current revision (4); history: 1 unused revision kept.
  assert.deepEqual(sortRevisions(w.revisions).map((r) => r.revision), [3, 4]);
  const live = new Set(['b']);
  const revs = [1, 2, 3].map((n) => ({ metadata: { name: ['a', 'b', 'c'][n - 1] }, revision: n }));
  assert.deepEqual(revisionsToTruncate(revs, (r) => live.has(r.metadata.name), 1).map((r) => r.metadata.name), ['a']);
  assert.deepEqual(revisionsToTruncate(revs, (r) => live.has(r.metadata.name), 1, true).map((r) => r.metadata.name), ['a', 'c']);
});

test('pods are adopted by selector and name; other owners and non-members are left alone', () => {
  const s = sts();
  const orphan = { metadata: { name: 'web-0', namespace: 'default', uid: 'o', labels: { app: 'nginx' } }, status: running() };
  const foreign = { metadata: { name: 'web-1', namespace: 'default', uid: 'f', labels: { app: 'nginx' }, ownerReferences: [{ kind: 'ReplicaSet', name: 'x', uid: 'x', controller: true }] }, status: running() };
  const p = planStatefulSet(s, [orphan, foreign], [], NOW);
  assert.deepEqual(p.adoptPods.map((x) => x.metadata.uid), ['o']);
  // web-1 belongs to someone else: web-1 is "missing", so the plan creates it (the create meets AlreadyExists).
  assert.deepEqual(podActions(p), ['createPod:web-1']);
});

test('a StatefulSet being deleted only gets its status', () => {
  const s = { ...sts(), metadata: { ...sts().metadata, deletionTimestamp: ts(0) } };
  assert.deepEqual(podActions(planStatefulSet(s, [], [], NOW)), []);
});

test('minReadySeconds: a ready pod not yet available holds OrderedReady and asks for a requeue', () => {
  const w = new World(sts({ minReadySeconds: 30 }));
  w.step();
  w.pod('web-0').status = running(10);
  const p = w.plan();
  assert.deepEqual(podActions(p), []);
  assert.equal(p.status.readyReplicas, 1);
  assert.equal(p.status.availableReplicas, 0);
  assert.equal(p.requeueAfterMs, 20_000);
});

test('statusChanged compares the owned fields only', () => {
  const w = new World(sts());
  const p = w.step();
  assert.equal(statusChanged({ status: p.status }, p.status), false);
  assert.equal(statusChanged({ status: { ...p.status, readyReplicas: 5 } }, p.status), true);
  assert.equal(statusChanged({}, p.status), true);
});
