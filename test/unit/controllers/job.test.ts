import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyDefaults, prepareForCreate } from '../../../src/api/defaults/index.js';
import {
  JOB_COMPLETION_INDEX,
  JOB_TRACKING_FINALIZER,
  type Obj,
  formatIndexes,
  isPodFailed,
  parseIndexes,
  planJob,
  podBackoffRemaining,
  podForJob,
  statusChanged,
  ttlRemaining,
} from '../../../src/controllers/job/plan.js';

const NOW = Date.parse('2026-01-01T00:10:00Z');
const ts = (sAgo: number) => new Date(NOW - sAgo * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
const UID = 'job-uid';

function job(spec: Obj = {}, status?: Obj, meta: Obj = {}): Obj {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'pi', namespace: 'default', uid: UID, resourceVersion: '10', ...meta },
    spec: {
      completions: 1,
      parallelism: 1,
      backoffLimit: 6,
      completionMode: 'NonIndexed',
      suspend: false,
      selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': UID } },
      template: {
        metadata: { labels: { 'batch.kubernetes.io/controller-uid': UID, 'batch.kubernetes.io/job-name': 'pi', 'job-name': 'pi', 'controller-uid': UID } },
        spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'busybox' }] },
      },
      ...spec,
    },
    ...(status ? { status } : {}),
  };
}

const owner = [{ apiVersion: 'batch/v1', kind: 'Job', name: 'pi', uid: UID, controller: true, blockOwnerDeletion: true }];
function pod(name: string, o: { phase?: string; ready?: boolean; finalizer?: boolean; deleting?: boolean; index?: number; created?: number; finished?: number } = {}): Obj {
  return {
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      labels: { 'batch.kubernetes.io/controller-uid': UID, ...(o.index !== undefined ? { [JOB_COMPLETION_INDEX]: String(o.index) } : {}) },
      ...(o.index !== undefined ? { annotations: { [JOB_COMPLETION_INDEX]: String(o.index) } } : {}),
      ownerReferences: owner,
      creationTimestamp: ts(o.created ?? 100),
      ...(o.finalizer === false ? {} : { finalizers: [JOB_TRACKING_FINALIZER] }),
      ...(o.deleting ? { deletionTimestamp: ts(0) } : {}),
    },
    spec: {},
    status: {
      phase: o.phase ?? 'Running',
      ...(o.ready ? { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: ts(50) }] } : {}),
      ...(o.finished !== undefined ? { containerStatuses: [{ state: { terminated: { finishedAt: ts(o.finished) } } }] } : {}),
    },
  };
}
const types = (s: Obj | undefined) => (s?.conditions ?? []).map((c: Obj) => `${c.type}=${c.status}`);

test('a new job: startTime, one pod with the finalizer and a Job controller reference', () => {
  const p = planJob(job(), [], NOW);
  assert.deepEqual(p.create, [undefined]);
  assert.equal(p.status?.startTime, ts(0));
  assert.equal(p.status?.active, 1);
  assert.deepEqual(p.status?.uncountedTerminatedPods, {});
  const pd = podForJob(job());
  assert.equal(pd.metadata.generateName, 'pi-');
  assert.deepEqual(pd.metadata.finalizers, [JOB_TRACKING_FINALIZER]);
  assert.equal(pd.metadata.ownerReferences[0].kind, 'Job');
  assert.equal(pd.metadata.ownerReferences[0].apiVersion, 'batch/v1');
  assert.equal(pd.metadata.labels['batch.kubernetes.io/job-name'], 'pi');
});

test('parallelism: active pods = min(parallelism, remaining completions)', () => {
  assert.equal(planJob(job({ completions: 5, parallelism: 2 }), [], NOW).create.length, 2);
  const st = { succeeded: 4, startTime: ts(10), uncountedTerminatedPods: {} };
  assert.equal(planJob(job({ completions: 5, parallelism: 2 }, st), [], NOW).create.length, 1);
  // Too many: not-ready ones go, without being counted.
  const p = planJob(job({ completions: 5, parallelism: 1 }, { startTime: ts(10) }), [pod('a', { ready: true }), pod('b')], NOW);
  assert.deepEqual(p.deleteUncounted.map((x) => x.metadata.name), ['b']);
  assert.equal(p.deleteCounted.length, 0);
  // Work queue (no completions): parallelism pods until one succeeds, then none more.
  assert.equal(planJob(job({ completions: undefined, parallelism: 3 }), [], NOW).create.length, 3);
});

test('finished pods are counted through uncountedTerminatedPods and the finalizer', () => {
  const j = job({ completions: 2, parallelism: 2 }, { startTime: ts(60), active: 2, uncountedTerminatedPods: {} });
  // 1: the succeeded pod's uid goes into uncounted; its finalizer may go.
  const p1 = planJob(j, [pod('a', { phase: 'Succeeded' }), pod('b')], NOW);
  assert.deepEqual(p1.status?.uncountedTerminatedPods, { succeeded: ['uid-a'] });
  assert.equal(p1.status?.succeeded, 0);
  assert.deepEqual(p1.removeFinalizers.map((x) => x.metadata.name), ['a']);
  assert.equal(p1.create.length, 0, 'the succeeded pod counts: no replacement');
  // 2: the finalizer is gone: the uid moves into succeeded.
  const j2 = { ...j, status: p1.status };
  const p2 = planJob(j2, [pod('a', { phase: 'Succeeded', finalizer: false }), pod('b')], NOW);
  assert.deepEqual(p2.status?.uncountedTerminatedPods, {});
  assert.equal(p2.status?.succeeded, 1);
  assert.equal(p2.status?.active, 1);
  // 2': the pod was deleted outright after losing its finalizer: still counted.
  const p2b = planJob(j2, [pod('b')], NOW);
  assert.equal(p2b.status?.succeeded, 1);
  // A terminal pod without the finalizer that was never in uncounted is not counted again.
  const p3 = planJob({ ...j, status: p2.status }, [pod('a', { phase: 'Succeeded', finalizer: false }), pod('b')], NOW);
  assert.equal(p3.status, undefined, 'nothing changed');
});

test('completion: SuccessCriteriaMet first, Complete with completionTime once nothing is left', () => {
  const j = job({}, { startTime: ts(60), active: 1, uncountedTerminatedPods: {} });
  const p1 = planJob(j, [pod('a', { phase: 'Succeeded' })], NOW);
  assert.deepEqual(types(p1.status), ['SuccessCriteriaMet=True']);
  assert.equal(p1.status?.completionTime, undefined);
  const p2 = planJob({ ...j, status: p1.status }, [pod('a', { phase: 'Succeeded', finalizer: false })], NOW);
  assert.deepEqual(types(p2.status), ['SuccessCriteriaMet=True', 'Complete=True']);
  const complete = p2.status!.conditions[1];
  assert.equal(complete.reason, 'CompletionsReached');
  assert.equal(complete.message, 'Reached expected number of succeeded pods');
  assert.equal(p2.status?.completionTime, ts(0));
  assert.equal(p2.status?.succeeded, 1);
  assert.deepEqual(p2.events.map((e) => e.reason), ['Completed']);
  // A finished job does nothing more (but releases leftover finalizers).
  const p3 = planJob({ ...j, status: p2.status }, [pod('a', { phase: 'Succeeded' })], NOW);
  assert.equal(p3.status, undefined);
  assert.equal(p3.create.length, 0);
  assert.equal(p3.removeFinalizers.length, 1);
});

test('work queue job: complete once one pod succeeded and the others finished', () => {
  const j = job({ completions: undefined, parallelism: 2 }, { startTime: ts(60), uncountedTerminatedPods: {} });
  const p1 = planJob(j, [pod('a', { phase: 'Succeeded' }), pod('b')], NOW);
  assert.equal(p1.create.length, 0);
  assert.equal(p1.deleteUncounted.length, 0);
  assert.deepEqual(types(p1.status), []);
  const p2 = planJob(j, [pod('a', { phase: 'Succeeded' }), pod('b', { phase: 'Succeeded' })], NOW);
  assert.deepEqual(types(p2.status), ['SuccessCriteriaMet=True']);
});

test('backoffLimit: FailureTarget, active pods deleted and counted, then Failed', () => {
  const j = job({ backoffLimit: 1, parallelism: 2, completions: 3 }, { startTime: ts(60), failed: 1, uncountedTerminatedPods: {} });
  const p1 = planJob(j, [pod('a', { phase: 'Failed' }), pod('b')], NOW);
  assert.deepEqual(types(p1.status), ['FailureTarget=True']);
  assert.equal(p1.status!.conditions[0].reason, 'BackoffLimitExceeded');
  assert.deepEqual(p1.deleteCounted.map((x) => x.metadata.name), ['b']);
  assert.equal(p1.create.length, 0);
  assert.deepEqual(p1.events.map((e) => `${e.type}/${e.reason}`), ['Warning/BackoffLimitExceeded']);
  assert.equal(p1.status?.active, 0);
  // b is being deleted: counted as failed, and both lose the finalizer.
  const j2 = { ...j, status: p1.status };
  const p2 = planJob(j2, [pod('a', { phase: 'Failed', finalizer: false }), pod('b', { deleting: true })], NOW);
  assert.deepEqual(p2.status?.uncountedTerminatedPods, { failed: ['uid-b'] });
  assert.deepEqual(types(p2.status), ['FailureTarget=True']);
  // a's uid from p1 moved: p1 put uid-a in uncounted, then its finalizer went.
  assert.equal(p1.status?.uncountedTerminatedPods?.failed?.[0], 'uid-a');
  const p3 = planJob({ ...j, status: p2.status }, [pod('a', { phase: 'Failed', finalizer: false })], NOW);
  assert.deepEqual(types(p3.status), ['FailureTarget=True', 'Failed=True']);
  assert.equal(p3.status!.conditions[1].reason, 'BackoffLimitExceeded');
  assert.equal(p3.status!.conditions[1].message, 'Job has reached the specified backoff limit');
  assert.equal(p3.status?.failed, 3);
  assert.equal(p3.status?.completionTime, undefined);
});

test('backoffLimit 0: the first failure fails the job', () => {
  const j = job({ backoffLimit: 0 }, { startTime: ts(60), uncountedTerminatedPods: {} });
  const p = planJob(j, [pod('a', { phase: 'Failed' })], NOW);
  assert.deepEqual(types(p.status), ['FailureTarget=True']);
});

test('a pod deleted by someone else counts as failed and is replaced after the backoff', () => {
  const j = job({}, { startTime: ts(60), uncountedTerminatedPods: {} });
  const p = planJob(j, [pod('a', { deleting: true })], NOW);
  assert.deepEqual(p.status?.uncountedTerminatedPods, { failed: ['uid-a'] });
  assert.equal(p.create.length, 1, 'a terminating pod is not active: replaced at once (no failure yet in phase)');
  assert.equal(p.status?.terminating, 1);
  // podReplacementPolicy Failed: a terminating pod is not yet a failure.
  assert.equal(isPodFailed(pod('a', { deleting: true }), job({ podReplacementPolicy: 'Failed' })), false);
});

test('pod failure backoff: 10 s after the first failure, doubling', () => {
  const j = job();
  assert.equal(podBackoffRemaining(j, [pod('a', { phase: 'Failed', finished: 4 })], NOW), 6000);
  assert.equal(podBackoffRemaining(j, [pod('a', { phase: 'Failed', finished: 4 }), pod('b', { phase: 'Failed', finished: 30 })], NOW), 16000);
  assert.equal(podBackoffRemaining(j, [pod('a', { phase: 'Failed', finished: 60 })], NOW), 0);
  const p = planJob(job({}, { startTime: ts(60), failed: 1, uncountedTerminatedPods: {} }), [pod('a', { phase: 'Failed', finished: 4, finalizer: false })], NOW);
  assert.equal(p.create.length, 0);
  assert.equal(p.requeueAfterMs, 6000);
});

test('activeDeadlineSeconds: DeadlineExceeded, and a requeue at the deadline before', () => {
  const j = job({ activeDeadlineSeconds: 30 }, { startTime: ts(20), active: 1, uncountedTerminatedPods: {} });
  const before = planJob(j, [pod('a')], NOW);
  assert.equal(before.requeueAfterMs, 10_000);
  const after = planJob(job({ activeDeadlineSeconds: 30 }, { startTime: ts(40), active: 1, uncountedTerminatedPods: {} }), [pod('a')], NOW);
  assert.equal(after.status!.conditions[0].reason, 'DeadlineExceeded');
  assert.equal(after.status!.conditions[0].message, 'Job was active longer than specified deadline');
  assert.deepEqual(after.deleteCounted.map((x) => x.metadata.name), ['a']);
});

test('suspend deletes active pods uncounted; resume resets startTime', () => {
  const j = job({ suspend: true }, { startTime: ts(60), active: 1, uncountedTerminatedPods: {} });
  const p = planJob(j, [pod('a')], NOW);
  assert.deepEqual(p.deleteUncounted.map((x) => x.metadata.name), ['a']);
  assert.deepEqual(types(p.status), ['Suspended=True']);
  assert.equal(p.status?.active, 0);
  assert.deepEqual(p.events.map((e) => e.reason), ['Suspended']);
  // Created suspended: no pods, no startTime.
  const fresh = planJob(job({ suspend: true }), [], NOW);
  assert.equal(fresh.create.length, 0);
  assert.equal(fresh.status?.startTime, undefined);
  const resumed = planJob(job({ suspend: false }, p.status), [], NOW + 5000);
  assert.deepEqual(types(resumed.status), ['Suspended=False']);
  assert.equal(resumed.status!.conditions[0].reason, 'JobResumed');
  assert.equal(resumed.status?.startTime, new Date(NOW + 5000).toISOString().replace(/\.\d+Z$/, 'Z'));
  assert.equal(resumed.create.length, 1);
});

test('Indexed: one pod per missing index with annotation, label, env and hostname', () => {
  const j = job({ completionMode: 'Indexed', completions: 4, parallelism: 3 }, { startTime: ts(60), completedIndexes: '0', succeeded: 1, uncountedTerminatedPods: {} });
  const p = planJob(j, [pod('x', { index: 2 })], NOW);
  assert.deepEqual(p.create, [1, 3]);
  const pd = podForJob(j, 3);
  assert.equal(pd.metadata.generateName, 'pi-3-');
  assert.equal(pd.metadata.annotations[JOB_COMPLETION_INDEX], '3');
  assert.equal(pd.metadata.labels[JOB_COMPLETION_INDEX], '3');
  assert.equal(pd.spec.hostname, 'pi-3');
  assert.deepEqual(pd.spec.containers[0].env, [
    { name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${JOB_COMPLETION_INDEX}']` } } },
  ]);
  // Duplicates and succeeded indexes go.
  const d = planJob(j, [pod('x', { index: 2, ready: true }), pod('y', { index: 2 }), pod('z', { index: 0 })], NOW);
  assert.deepEqual(d.deleteUncounted.map((x) => x.metadata.name).sort(), ['y', 'z']);
});

test('Indexed: completedIndexes and succeeded follow the succeeded indexes; complete at completions', () => {
  const j = job({ completionMode: 'Indexed', completions: 3, parallelism: 3 }, { startTime: ts(60), completedIndexes: '0', succeeded: 1, uncountedTerminatedPods: {} });
  const p = planJob(j, [pod('b', { index: 1, phase: 'Succeeded' }), pod('c', { index: 2, phase: 'Succeeded' }), pod('c2', { index: 2, phase: 'Succeeded' })], NOW);
  assert.equal(p.status?.completedIndexes, '0-2');
  assert.equal(p.status?.succeeded, 3);
  assert.deepEqual(types(p.status), ['SuccessCriteriaMet=True']);
  assert.deepEqual(formatIndexes([5, 1, 2, 3, 7, 8]), '1-3,5,7-8');
  assert.deepEqual([...parseIndexes('1-3,5,7-8', 8)], [1, 2, 3, 5, 7]);
});

test('ttlSecondsAfterFinished: requeue until the TTL, then delete the job', () => {
  const done = { conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: ts(5) }], completionTime: ts(5) };
  assert.equal(ttlRemaining(job({ ttlSecondsAfterFinished: 10 }, done), NOW), 5000);
  assert.equal(planJob(job({ ttlSecondsAfterFinished: 10 }, done), [], NOW).requeueAfterMs, 5000);
  assert.equal(planJob(job({ ttlSecondsAfterFinished: 3 }, done), [], NOW).deleteJob, true);
  assert.equal(planJob(job({}, done), [], NOW).deleteJob, undefined);
});

test('expectations not satisfied: status only, no creations', () => {
  const p = planJob(job({ completions: 3, parallelism: 3 }), [pod('a')], NOW, false);
  assert.equal(p.create.length, 0);
  assert.equal(p.status?.active, 1);
});

test('claim: pods of other jobs are ignored, matching orphans adopted', () => {
  const other = { ...pod('o'), metadata: { ...pod('o').metadata, ownerReferences: [{ ...owner[0], uid: 'x' }] } };
  const orphan = { ...pod('n'), metadata: { ...pod('n').metadata, ownerReferences: undefined } };
  const p = planJob(job({ parallelism: 1 }), [other, orphan], NOW);
  assert.deepEqual(p.adopt.map((x) => x.metadata.name), ['n']);
  assert.equal(p.status?.active, 1);
});

test('statusChanged ignores key order and missing zero fields', () => {
  assert.equal(statusChanged({}, { active: 0, uncountedTerminatedPods: {} }), true);
  assert.equal(statusChanged({ uncountedTerminatedPods: {} }, { active: 0, failed: 0, uncountedTerminatedPods: {} }), false);
});

test('API defaulting: a Job gets the generated controller-uid selector and pod labels', () => {
  const j: Obj = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'x', namespace: 'default', uid: 'u1' }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'x', image: 'busybox' }] } } } };
  applyDefaults('batch/jobs', j);
  prepareForCreate('batch/jobs', j);
  assert.deepEqual(j.spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u1' } });
  assert.equal(j.spec.template.metadata.labels['controller-uid'], 'u1');
  assert.equal(j.spec.template.metadata.labels['job-name'], 'x');
  assert.equal(j.spec.template.metadata.labels['batch.kubernetes.io/job-name'], 'x');
  assert.equal(j.spec.completions, 1);
  assert.equal(j.spec.backoffLimit, 6);
});
