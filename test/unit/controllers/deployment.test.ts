import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Action,
  DESIRED_REPLICAS,
  MAX_REPLICAS,
  REVISION,
  computeHash,
  equalIgnoreHash,
  planDeployment,
  resolveFenceposts,
  safeEncodeString,
  scaledValue,
} from '../../../src/controllers/deployment/plan.js';

const NOW = Date.parse('2026-01-01T01:00:00Z');
const ts = (sAgo: number) => new Date(NOW - sAgo * 1000).toISOString().replace(/\.\d+Z$/, 'Z');

const template = (image: string) => ({ metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image }] } });

function deploy(o: { replicas?: number; image?: string; strategy?: any; paused?: boolean; revision?: string; status?: any; limit?: number } = {}) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', uid: 'd-uid', generation: 1, annotations: o.revision ? { [REVISION]: o.revision } : {} },
    spec: {
      replicas: o.replicas ?? 3,
      selector: { matchLabels: { app: 'web' } },
      template: template(o.image ?? 'v1'),
      strategy: o.strategy ?? { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      revisionHistoryLimit: o.limit ?? 10,
      progressDeadlineSeconds: 600,
      paused: o.paused,
    },
    status: o.status ?? {},
  };
}

/** A ReplicaSet of the deployment for `image`, with `replicas` of which `available` are available. */
function rs(image: string, revision: number, replicas: number, available = replicas, o: { created?: number; desired?: number; max?: number; current?: number } = {}) {
  const hash = computeHash(template(image));
  const t = template(image);
  t.metadata.labels = { ...t.metadata.labels, 'pod-template-hash': hash } as never;
  return {
    metadata: {
      name: `web-${hash}`,
      namespace: 'default',
      uid: `uid-${image}`,
      creationTimestamp: ts(o.created ?? 1000 - revision),
      annotations: {
        [REVISION]: String(revision),
        ...(o.desired !== undefined ? { [DESIRED_REPLICAS]: String(o.desired) } : {}),
        ...(o.max !== undefined ? { [MAX_REPLICAS]: String(o.max) } : {}),
      },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd-uid', controller: true }],
    },
    spec: { replicas, selector: { matchLabels: { app: 'web', 'pod-template-hash': hash } }, template: t },
    status: { replicas: o.current ?? replicas, readyReplicas: available, availableReplicas: available },
  };
}

const scales = (actions: Action[]) =>
  actions.filter((a): a is Extract<Action, { type: 'scaleReplicaSet' }> => a.type === 'scaleReplicaSet').map((a) => `${a.name}:${a.from}->${a.to}`);
const cond = (st: any, type: string) => st.conditions?.find((c: any) => c.type === type);

test('hash: stable, safe characters, changes with the template and the collision count', () => {
  const h = computeHash(template('v1'));
  assert.equal(h, computeHash(template('v1')));
  assert.match(h, /^[bcdfghjklmnpqrstvwxz2456789]+$/);
  assert.notEqual(h, computeHash(template('v2')));
  assert.notEqual(h, computeHash(template('v1'), 1));
  assert.equal(computeHash({ b: 1, a: 2 }), computeHash({ a: 2, b: 1 }), 'key order does not matter');
  assert.equal(safeEncodeString('0123'), '4567', "'0' is byte 48, 48 % 27 = 21");
});

test('equalIgnoreHash: ignores the hash label and nil-versus-empty differences', () => {
  const a = template('v1');
  const b = structuredClone(a) as any;
  b.metadata.labels['pod-template-hash'] = 'xyz';
  b.metadata.creationTimestamp = null;
  b.spec.containers[0].resources = {};
  assert.equal(equalIgnoreHash(a, b), true);
  assert.equal(equalIgnoreHash(a, template('v2')), false);
});

test('maxSurge rounds up, maxUnavailable rounds down; both zero means one unavailable', () => {
  assert.equal(scaledValue('25%', 10, true), 3);
  assert.equal(scaledValue('25%', 10, false), 2);
  assert.equal(scaledValue(4, 10, true), 4);
  const d = deploy({ replicas: 10, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } } });
  assert.deepEqual(resolveFenceposts(d), { maxSurge: 3, maxUnavailable: 2 });
  const z = deploy({ replicas: 3, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '10%', maxUnavailable: '10%' } } });
  assert.deepEqual(resolveFenceposts(z), { maxSurge: 1, maxUnavailable: 0 });
  const zz = deploy({ replicas: 3, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 0 } } });
  assert.deepEqual(resolveFenceposts(zz), { maxSurge: 0, maxUnavailable: 1 });
});

test('a new deployment: its first ReplicaSet, revision 1, NewReplicaSetCreated', () => {
  const d = deploy();
  const p = planDeployment(d, [], NOW);
  const create = p.actions.find((a) => a.type === 'createReplicaSet') as any;
  const hash = computeHash(d.spec.template);
  assert.equal(create.replicaSet.metadata.name, `web-${hash}`);
  assert.equal(create.replicaSet.spec.replicas, 3);
  assert.equal(create.replicaSet.spec.template.metadata.labels['pod-template-hash'], hash);
  assert.deepEqual(create.replicaSet.spec.selector.matchLabels, { app: 'web', 'pod-template-hash': hash });
  assert.equal(create.replicaSet.metadata.annotations[REVISION], '1');
  assert.deepEqual(create.replicaSet.metadata.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd-uid', controller: true, blockOwnerDeletion: true }]);
  assert.ok(p.actions.some((a) => a.type === 'annotateDeployment' && a.annotations[REVISION] === '1'));
  assert.equal(cond(p.status, 'Progressing').reason, 'NewReplicaSetCreated');
  assert.equal(cond(p.status, 'Available').reason, 'MinimumReplicasUnavailable');
  assert.equal(p.status.replicas, 0);
  assert.equal(p.status.unavailableReplicas, 3);
});

test('rolling update: surge a new ReplicaSet, then scale the old one down as the new becomes available', () => {
  // Step 1: the template changed; the new ReplicaSet starts at maxSurge (1).
  const d = deploy({ image: 'v2', revision: '1' });
  const old = rs('v1', 1, 3);
  let p = planDeployment(d, [old], NOW);
  const create = p.actions.find((a) => a.type === 'createReplicaSet') as any;
  assert.equal(create.replicaSet.spec.replicas, 1);
  assert.equal(create.replicaSet.metadata.annotations[REVISION], '2');
  assert.deepEqual(scales(p.actions), [], 'nothing scaled down in the same step');
  // Step 2: the new pod is not available yet: maxUnavailable 0 keeps the old ones.
  const newRS = rs('v2', 2, 1, 0);
  p = planDeployment(d, [old, newRS], NOW);
  assert.deepEqual(scales(p.actions).filter((s) => !s.endsWith('1->1') && !s.endsWith('3->3')), []);
  // Step 3: it is available: one old replica goes.
  p = planDeployment(d, [old, rs('v2', 2, 1, 1)], NOW);
  assert.deepEqual(scales(p.actions), [`${old.metadata.name}:3->2`]);
  // Step 4: the old one at 2, the new one scales up to 2.
  p = planDeployment(d, [rs('v1', 1, 2), rs('v2', 2, 1, 1)], NOW);
  assert.deepEqual(scales(p.actions), [`web-${computeHash(template('v2'))}:1->2`]);
  assert.equal(cond(p.status, 'Progressing').reason, 'ReplicaSetUpdated');
});

test('rolling update with maxUnavailable: unhealthy old replicas go first', () => {
  const d = deploy({ image: 'v2', revision: '2', strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } } });
  const old = rs('v1', 1, 3, 1); // 2 of 3 unavailable
  const p = planDeployment(d, [old, rs('v2', 2, 0, 0)], NOW);
  // allPods 3, minAvailable 2 -> 1 may go, and an unhealthy one goes first.
  assert.deepEqual(scales(p.actions), [`${old.metadata.name}:3->2`]);
});

test('a finished rollout: NewReplicaSetAvailable, and history beyond revisionHistoryLimit is cleaned up', () => {
  const d = deploy({ image: 'v4', revision: '4', limit: 1, status: { observedGeneration: 1 } });
  const rss = [rs('v1', 1, 0), rs('v2', 2, 0), rs('v3', 3, 0), rs('v4', 4, 3, 3, { desired: 3, max: 4 })];
  const p = planDeployment(d, rss, NOW);
  const deleted = p.actions.filter((a) => a.type === 'deleteReplicaSet').map((a: any) => a.name);
  assert.deepEqual(deleted, [rss[0]!.metadata.name, rss[1]!.metadata.name], 'the oldest go, one old revision stays');
  assert.equal(cond(p.status, 'Progressing').reason, 'NewReplicaSetAvailable');
  assert.equal(cond(p.status, 'Progressing').message, `ReplicaSet "${rss[3]!.metadata.name}" has successfully progressed.`);
  assert.equal(cond(p.status, 'Available').reason, 'MinimumReplicasAvailable');
  assert.deepEqual(
    { r: p.status.replicas, u: p.status.updatedReplicas, a: p.status.availableReplicas, un: p.status.unavailableReplicas, g: p.status.observedGeneration },
    { r: 3, u: 3, a: 3, un: 0, g: 1 },
  );
  assert.equal(p.actions.some((a) => a.type === 'annotateDeployment'), false, 'the revision is already right');
});

test('an old ReplicaSet whose scale-down is not yet observed is not cleaned up', () => {
  const d = deploy({ image: 'v3', revision: '3', limit: 0 });
  const unobserved: any = rs('v1', 1, 0, 0);
  unobserved.metadata.generation = 2;
  unobserved.status.observedGeneration = 1;
  const p = planDeployment(d, [unobserved, rs('v2', 2, 0), rs('v3', 3, 3, 3, { desired: 3, max: 4 })], NOW);
  assert.deepEqual(p.actions.filter((a) => a.type === 'deleteReplicaSet').map((a: any) => a.name), [`web-${computeHash(template('v2'))}`]);
});

test('Recreate: old ReplicaSets to 0 first, the new one only once their pods are gone', () => {
  const strategy = { type: 'Recreate' };
  const d = deploy({ image: 'v2', revision: '1', strategy });
  let p = planDeployment(d, [rs('v1', 1, 3)], NOW);
  assert.deepEqual(scales(p.actions), [`${rs('v1', 1, 3).metadata.name}:3->0`]);
  assert.equal(p.actions.some((a) => a.type === 'createReplicaSet'), false);
  p = planDeployment(d, [rs('v1', 1, 0, 0, { current: 2 })], NOW);
  assert.equal(p.actions.some((a) => a.type === 'createReplicaSet'), false, 'old pods still terminating');
  p = planDeployment(d, [rs('v1', 1, 0, 0)], NOW);
  const create = p.actions.find((a) => a.type === 'createReplicaSet') as any;
  assert.equal(create.replicaSet.spec.replicas, 3);
  assert.equal(create.replicaSet.metadata.annotations[REVISION], '2');
});

test('paused: a template change creates nothing; Progressing is Unknown/DeploymentPaused', () => {
  const d = deploy({ image: 'v2', revision: '1', paused: true });
  const p = planDeployment(d, [rs('v1', 1, 3, 3, { desired: 3, max: 4 })], NOW);
  assert.equal(p.actions.some((a) => a.type === 'createReplicaSet'), false);
  assert.deepEqual(scales(p.actions), []);
  assert.equal(cond(p.status, 'Progressing').status, 'Unknown');
  assert.equal(cond(p.status, 'Progressing').reason, 'DeploymentPaused');
  // Resuming is noted.
  const resumed = deploy({ image: 'v2', revision: '1', status: { conditions: p.status.conditions } });
  const q = planDeployment(resumed, [rs('v1', 1, 3, 3, { desired: 3, max: 4 })], NOW);
  assert.ok(q.actions.some((a) => a.type === 'createReplicaSet'));
});

test('scaling: one active ReplicaSet takes the new count; several share it proportionally', () => {
  const d = deploy({ replicas: 5, revision: '1' });
  const p = planDeployment(d, [rs('v1', 1, 3, 3, { desired: 3, max: 4 })], NOW);
  assert.deepEqual(scales(p.actions), [`${rs('v1', 1, 3).metadata.name}:3->5`]);
  const a = p.actions.find((x) => x.type === 'scaleReplicaSet') as any;
  assert.deepEqual(a.annotations, { [DESIRED_REPLICAS]: '5', [MAX_REPLICAS]: '6' });

  // Mid-rollout (3 replicas, surge 1): 2 old + 2 new; scaled to 6 -> allowed 7.
  const d2 = deploy({ replicas: 6, image: 'v2', revision: '2' });
  const q = planDeployment(d2, [rs('v1', 1, 2, 2, { desired: 3, max: 4 }), rs('v2', 2, 2, 0, { desired: 3, max: 4 })], NOW);
  assert.deepEqual(scales(q.actions).sort(), [`${rs('v1', 1, 0).metadata.name}:2->3`, `${rs('v2', 2, 0).metadata.name}:2->4`].sort());
});

test('undo: the ReplicaSet of the old template becomes the new one, with the next revision', () => {
  const d = deploy({ image: 'v1', revision: '2' });
  const p = planDeployment(d, [rs('v1', 1, 0, 0, { desired: 3, max: 4 }), rs('v2', 2, 3, 3, { desired: 3, max: 4 })], NOW);
  const ann = p.actions.find((a) => a.type === 'annotateReplicaSet') as any;
  assert.equal(ann.name, rs('v1', 1, 0).metadata.name);
  assert.equal(ann.annotations[REVISION], '3');
  assert.ok(p.actions.some((a) => a.type === 'annotateDeployment' && a.annotations[REVISION] === '3'));
  assert.equal(p.actions.some((a) => a.type === 'createReplicaSet'), false);
  assert.deepEqual(scales(p.actions), [`${rs('v1', 1, 0).metadata.name}:0->1`], 'surges the reused ReplicaSet');
});

test('an existing new ReplicaSet without a Progressing condition: FoundNewReplicaSet', () => {
  const d = deploy({ revision: '1', status: { replicas: 3, updatedReplicas: 3, readyReplicas: 0, availableReplicas: 0 } });
  const p = planDeployment(d, [rs('v1', 1, 3, 0, { desired: 3, max: 4 })], NOW);
  assert.equal(cond(p.status, 'Progressing').reason, 'FoundNewReplicaSet');
  assert.equal(p.requeueAfterMs !== undefined, true, 'waits for the deadline');
});

test('progressDeadlineSeconds: no progress past the deadline -> ProgressDeadlineExceeded', () => {
  const status = {
    observedGeneration: 1,
    replicas: 3,
    updatedReplicas: 3,
    readyReplicas: 0,
    availableReplicas: 0,
    conditions: [{ type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: 'x', lastUpdateTime: ts(700), lastTransitionTime: ts(700) }],
  };
  const d = deploy({ revision: '1', status });
  const p = planDeployment(d, [rs('v1', 1, 3, 0, { desired: 3, max: 4 })], NOW);
  const c = cond(p.status, 'Progressing');
  assert.equal(c.status, 'False');
  assert.equal(c.reason, 'ProgressDeadlineExceeded');
  assert.equal(c.message, `ReplicaSet "${rs('v1', 1, 0).metadata.name}" has timed out progressing.`);
  // Before the deadline: still progressing, and a look again when it would pass.
  status.conditions[0]!.lastUpdateTime = ts(100);
  const q = planDeployment(deploy({ revision: '1', status }), [rs('v1', 1, 3, 0, { desired: 3, max: 4 })], NOW);
  assert.equal(cond(q.status, 'Progressing').reason, 'ReplicaSetUpdated');
  assert.equal(q.requeueAfterMs, 501_000);
});
