import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Node, plan } from '../../../src/controllers/gc/plan.js';

const node = (name: string, uid: string, meta: Record<string, unknown> = {}): Node => ({
  ref: { gr: '/configmaps', namespace: 'default', name, uid },
  obj: { metadata: { name, namespace: 'default', uid, ...meta } },
});
const owned = (uid: string, block = false) => ({ ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid, ...(block ? { blockOwnerDeletion: true } : {}) }] });

test('orphan: dependents lose the reference first, then the finalizer goes', () => {
  const owner = node('owner', 'u1', { deletionTimestamp: 'now', finalizers: ['orphan'] });
  const dep = node('dep', 'u2', owned('u1'));
  assert.deepEqual(plan([owner, dep]), [{ type: 'removeOwnerRefs', target: dep.ref, ownerUids: ['u1'] }]);
  assert.deepEqual(plan([owner, node('dep', 'u2')]), [{ type: 'removeFinalizer', target: owner.ref, finalizer: 'orphan' }]);
});

test('foreground: dependents are deleted; blocking ones hold the owner until they are gone', () => {
  const owner = node('owner', 'u1', { deletionTimestamp: 'now', finalizers: ['foregroundDeletion'] });
  const dep = node('dep', 'u2', owned('u1', true));
  assert.deepEqual(plan([owner, dep]).map((a) => a.type), ['delete']);
  const going = node('dep', 'u2', { ...owned('u1', true), deletionTimestamp: 'now' });
  assert.deepEqual(plan([owner, going]), [], 'waits for the blocking dependent to disappear');
  assert.deepEqual(plan([owner]), [{ type: 'removeFinalizer', target: owner.ref, finalizer: 'foregroundDeletion' }]);
  const nonBlocking = node('dep', 'u2', owned('u1'));
  assert.deepEqual(plan([owner, nonBlocking]).map((a) => a.type), ['delete', 'removeFinalizer']);
});

test('background: an object whose owners are all gone is deleted; one with a live owner is kept', () => {
  const dep = node('dep', 'u2', owned('u1'));
  const acts = plan([dep]);
  assert.equal(acts.length, 1);
  assert.equal(acts[0].type, 'delete');
  assert.deepEqual(plan([node('owner', 'u1'), dep]), []);
  const twoOwners = node('dep', 'u3', { ownerReferences: [{ uid: 'u1', kind: 'ConfigMap', name: 'owner' }, { uid: 'gone', kind: 'ConfigMap', name: 'x' }] });
  assert.deepEqual(plan([node('owner', 'u1'), twoOwners]), [], 'one live owner is enough');
});
