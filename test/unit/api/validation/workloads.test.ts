// Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs, ControllerRevisions.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateCreate, validateUpdate } from '../../../../src/api/validation/index.js';
import {
  RFC1123_LABEL,
  type Obj,
  defaulted,
  edited,
  expectCreate,
  expectDefaultedCreate,
  expectStatusUpdate,
  expectUpdate,
  fluentdDaemonSet,
  messages,
  nginxDeployment,
  piJob,
  stored,
  webStatefulSet,
} from './fixtures.js';

const dep = 'apps/deployments';

function deploymentWith(change: (d: Obj) => void): Obj {
  const d = defaulted(dep, nginxDeployment());
  change(d);
  return d;
}

test('deployments: selector required, non-empty, matching the template', () => {
  expectCreate(dep, deploymentWith((d) => delete d.spec.selector), [
    'spec.selector: Required value',
    'spec.template.metadata.labels: Invalid value: {"app":"nginx"}: `selector` does not match template `labels`',
  ]);
  expectCreate(dep, deploymentWith((d) => (d.spec.selector = {})), ['spec.selector: Invalid value: {}: empty selector is invalid for deployment']);
  expectCreate(dep, deploymentWith((d) => (d.spec.template.metadata.labels = { app: 'x' })), [
    'spec.template.metadata.labels: Invalid value: {"app":"x"}: `selector` does not match template `labels`',
  ]);
  expectCreate(dep, deploymentWith((d) => (d.spec.selector = { matchExpressions: [{ key: 'app', operator: 'In', values: ['nginx', 'web'] }] })), []);
  expectCreate(dep, deploymentWith((d) => (d.spec.selector = { matchExpressions: [{ key: 'app', operator: 'Is', values: ['nginx'] }] })), [
    'spec.selector.matchExpressions[0].operator: Invalid value: "Is": not a valid selector operator',
    'spec.selector: Invalid value: {"matchExpressions":[{"key":"app","operator":"Is","values":["nginx"]}]}: invalid label selector',
  ]);
  expectCreate(dep, deploymentWith((d) => (d.spec.selector = { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['x'] }] })), [
    "spec.selector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
    'spec.selector: Invalid value: {"matchExpressions":[{"key":"app","operator":"Exists","values":["x"]}]}: invalid label selector',
  ]);
});

test('deployments: replicas, strategy, limits, template', () => {
  expectCreate(dep, deploymentWith((d) => (d.spec.replicas = -1)), ['spec.replicas: Invalid value: -1: must be greater than or equal to 0']);
  expectCreate(dep, deploymentWith((d) => (d.spec.strategy.rollingUpdate = { maxUnavailable: 0, maxSurge: '0%' })), [
    'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0',
  ]);
  expectCreate(dep, deploymentWith((d) => (d.spec.strategy.rollingUpdate = { maxUnavailable: '150%', maxSurge: 'lots' })), [
    "spec.strategy.rollingUpdate.maxSurge: Invalid value: \"lots\": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
    'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "150%": must not be greater than 100%',
  ]);
  expectCreate(dep, deploymentWith((d) => (d.spec.strategy = { type: 'Recreate', rollingUpdate: { maxSurge: 1 } })), [
    "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'",
  ]);
  expectCreate(dep, deploymentWith((d) => (d.spec.strategy = { type: 'BlueGreen' })), [
    'spec.strategy: Unsupported value: {"type":"BlueGreen"}: supported values: "Recreate", "RollingUpdate"',
  ]);
  expectCreate(dep, deploymentWith((d) => (d.spec.minReadySeconds = 700)), ['spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds']);
  expectCreate(dep, deploymentWith((d) => (d.spec.revisionHistoryLimit = -2)), ['spec.revisionHistoryLimit: Invalid value: -2: must be greater than or equal to 0']);
  expectCreate(dep, deploymentWith((d) => (d.spec.template.spec.restartPolicy = 'OnFailure')), [
    'spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"',
  ]);
  expectCreate(dep, deploymentWith((d) => (d.spec.template.spec.activeDeadlineSeconds = 10)), [
    'spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported',
  ]);
  // The template is validated as a pod spec.
  expectCreate(dep, deploymentWith((d) => (d.spec.template.spec.containers[0].ports[0].containerPort = 0)), [
    'spec.template.spec.containers[0].ports[0].containerPort: Required value',
  ]);
  expectCreate(dep, deploymentWith((d) => (d.spec.template.spec.ephemeralContainers = [{ name: 'x', image: 'y', imagePullPolicy: 'Always', terminationMessagePolicy: 'File' }])), [
    'spec.template.spec.ephemeralContainers: Forbidden: ephemeral containers not allowed in pod template',
  ]);
  // Templates may leave hostPort unset on the host network (pods get it defaulted).
  expectCreate(dep, deploymentWith((d) => (d.spec.template.spec.hostNetwork = true)), []);
});

test('deployment, replica set and daemon set updates keep the selector', () => {
  const old = stored(dep, nginxDeployment());
  expectUpdate(dep, edited(old, (d) => (d.spec.replicas = 5)), old, []);
  expectUpdate(dep, edited(old, (d) => (d.spec.template.spec.containers[0].image = 'nginx:1.26')), old, []);
  expectUpdate(
    dep,
    edited(old, (d) => {
      d.spec.selector.matchLabels.tier = 'web';
      d.spec.template.metadata.labels.tier = 'web';
    }),
    old,
    ['spec.selector: Invalid value: {"matchLabels":{"app":"nginx","tier":"web"}}: field is immutable'],
  );
  const ds = stored('apps/daemonsets', fluentdDaemonSet());
  expectUpdate('apps/daemonsets', edited(ds, (d) => (d.spec.selector = { matchLabels: { name: 'fluentd', x: 'y' } })), ds, [
    'spec.template.metadata.labels: Invalid value: {"name":"fluentd"}: `selector` does not match template `labels`',
    'spec.selector: Invalid value: {"matchLabels":{"name":"fluentd","x":"y"}}: field is immutable',
  ]);
});

test('status updates of replicated kinds', () => {
  const old = stored(dep, nginxDeployment());
  expectStatusUpdate(dep, edited(old, (d) => (d.status = { replicas: 3, readyReplicas: 3, availableReplicas: 3, updatedReplicas: 3, observedGeneration: 1 })), old, []);
  expectStatusUpdate(dep, edited(old, (d) => (d.status = { replicas: 1, readyReplicas: 2, availableReplicas: 3 })), old, [
    'status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas',
    'status.availableReplicas: Invalid value: 3: cannot be greater than status.replicas',
    'status.availableReplicas: Invalid value: 3: cannot be greater than readyReplicas',
  ]);
  const withCollisions = edited(old, (d) => (d.status = { collisionCount: 2 }));
  expectStatusUpdate(dep, edited(withCollisions, (d) => (d.status.collisionCount = 1)), withCollisions, [
    'status.collisionCount: Invalid value: 1: cannot be decremented',
  ]);
  const rs = stored('apps/replicasets', edited(nginxDeployment(), (d) => (d.kind = 'ReplicaSet')));
  expectStatusUpdate('apps/replicasets', edited(rs, (r) => (r.status = { replicas: -1 })), rs, ['status.replicas: Invalid value: -1: must be greater than or equal to 0']);
});

test('stateful sets', () => {
  const sts = 'apps/statefulsets';
  const ss = defaulted(sts, webStatefulSet());
  expectCreate(sts, ss, []);
  expectCreate(sts, edited(ss, (s) => (s.metadata.name = 'web.v1')), ['metadata.name: Invalid value: "web.v1": must not contain dots']);
  expectCreate(sts, edited(ss, (s) => (s.spec.podManagementPolicy = 'Random')), [
    "spec.podManagementPolicy: Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'",
  ]);
  expectCreate(sts, edited(ss, (s) => (s.spec.updateStrategy = { type: 'OnDelete', rollingUpdate: { partition: 0 } })), [
    'spec.updateStrategy.rollingUpdate: Invalid value: {"partition":0}: only allowed for updateStrategy \'RollingUpdate\'',
  ]);
  expectCreate(sts, edited(ss, (s) => (s.spec.updateStrategy.rollingUpdate.partition = -1)), [
    'spec.updateStrategy.rollingUpdate.partition: Invalid value: -1: must be greater than or equal to 0',
  ]);
  expectCreate(sts, edited(ss, (s) => (s.spec.persistentVolumeClaimRetentionPolicy.whenDeleted = 'Keep')), [
    'spec.persistentVolumeClaimRetentionPolicy.whenDeleted: Unsupported value: "Keep": supported values: "Retain", "Delete"',
  ]);
  expectCreate(sts, edited(ss, (s) => (s.spec.selector = {})), ['spec.selector: Invalid value: {}: empty selector is invalid for statefulset']);
  expectCreate(sts, edited(ss, (s) => (s.spec.template.metadata.labels = { app: 'other' })), [
    'spec.template.metadata.labels: Invalid value: {"app":"other"}: `selector` does not match template `labels`',
  ]);
  expectCreate(sts, edited(ss, (s) => (s.spec.template.spec.restartPolicy = 'Never')), [
    'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
  ]);

  const old = stored(sts, webStatefulSet());
  expectUpdate(sts, edited(old, (s) => (s.spec.replicas = 5)), old, []);
  expectUpdate(sts, edited(old, (s) => (s.spec.template.spec.containers[0].image = 'nginx:2')), old, []);
  expectUpdate(sts, edited(old, (s) => (s.spec.updateStrategy = { type: 'OnDelete' })), old, []);
  const forbidden =
    "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";
  expectUpdate(sts, edited(old, (s) => (s.spec.serviceName = 'other')), old, [forbidden]);
  expectUpdate(sts, edited(old, (s) => (s.spec.volumeClaimTemplates[0].spec.resources.requests.storage = '2Gi')), old, [forbidden]);
  expectUpdate(sts, edited(old, (s) => (s.spec.podManagementPolicy = 'Parallel')), old, [forbidden]);
});

test('daemon sets', () => {
  const gr = 'apps/daemonsets';
  const ds = defaulted(gr, fluentdDaemonSet());
  expectCreate(gr, ds, []);
  expectCreate(gr, edited(ds, (d) => (d.spec.updateStrategy.rollingUpdate = { maxUnavailable: 0, maxSurge: 0 })), [
    'spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0',
  ]);
  expectCreate(gr, edited(ds, (d) => (d.spec.updateStrategy.rollingUpdate = { maxUnavailable: 1, maxSurge: 1 })), [
    'spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero',
  ]);
  expectCreate(gr, edited(ds, (d) => (d.spec.updateStrategy = { type: 'Whenever' })), [
    'spec.updateStrategy: Unsupported value: {"type":"Whenever"}: supported values: "RollingUpdate", "OnDelete"',
  ]);
  expectCreate(gr, edited(ds, (d) => (d.spec.selector = {})), ['spec.selector: Invalid value: {}: empty selector is invalid for daemonset']);
  expectCreate(gr, edited(ds, (d) => (d.spec.template.spec.activeDeadlineSeconds = 5)), [
    'spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in DaemonSet is not Supported',
  ]);
});

test('jobs: restart policy, selector, counts', () => {
  const gr = 'batch/jobs';
  const job = defaulted(gr, piJob());
  expectCreate(gr, job, []);
  assert.equal(job.spec.selector.matchLabels['batch.kubernetes.io/controller-uid'], job.metadata.uid);
  expectCreate(gr, edited(job, (j) => (j.spec.template.spec.restartPolicy = 'Always')), [
    'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"',
  ]);
  expectCreate(gr, edited(job, (j) => (j.spec.parallelism = -1)), ['spec.parallelism: Invalid value: -1: must be greater than or equal to 0']);
  expectCreate(gr, edited(job, (j) => (j.spec.completionMode = 'Sometimes')), [
    'spec.completionMode: Unsupported value: "Sometimes": supported values: "NonIndexed", "Indexed"',
  ]);
  expectCreate(gr, edited(job, (j) => (j.spec.backoffLimitPerIndex = 1)), ['spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode']);
  expectCreate(gr, edited(job, (j) => (j.spec.selector.matchLabels['batch.kubernetes.io/controller-uid'] = 'other')), [
    'spec.selector: Invalid value: {"matchLabels":{"batch.kubernetes.io/controller-uid":"other"}}: `selector` not auto-generated',
    'spec.template.metadata.labels: Invalid value: {"job-name":"pi","batch.kubernetes.io/job-name":"pi","controller-uid":"a1b2c3d4-0000-4000-8000-000000000002","batch.kubernetes.io/controller-uid":"a1b2c3d4-0000-4000-8000-000000000002"}: `selector` does not match template `labels`',
  ]);
  // With manualSelector the user's selector must match the template, nothing more.
  const manual = defaulted(gr, {
    metadata: { name: 'manual', namespace: 'default', uid: 'u-2' },
    spec: {
      manualSelector: true,
      selector: { matchLabels: { app: 'batch' } },
      template: { metadata: { labels: { app: 'batch' } }, spec: { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: 'busybox' }] } },
    },
  });
  expectCreate(gr, manual, []);
  expectCreate(gr, edited(manual, (j) => delete j.spec.selector), [
    'spec.selector: Required value',
    'spec.template.metadata.labels: Invalid value: {"app":"batch"}: `selector` does not match template `labels`',
  ]);
  // Before the server has assigned a uid (and so generated the selector), selector rules wait.
  const pending = defaulted(gr, edited(piJob(), (j) => delete j.metadata.uid));
  expectCreate(gr, pending, []);
  const indexed = defaulted(gr, edited(piJob(), (j) => {
    j.metadata.name = 'x'.repeat(62);
    j.spec.completionMode = 'Indexed';
    j.spec.completions = 10;
  }));
  expectCreate(gr, indexed, [`metadata.name: Invalid value: "${'x'.repeat(62)}": will not able to create pod with invalid DNS label: ${'x'.repeat(62)}-9`]);
});

test('job updates: template and selector are immutable, status counters checked', () => {
  const gr = 'batch/jobs';
  const old = stored(gr, piJob());
  expectUpdate(gr, edited(old, (j) => (j.spec.parallelism = 3)), old, []);
  expectUpdate(gr, edited(old, (j) => (j.spec.suspend = true)), old, []);
  const errs = validateUpdate(gr, edited(old, (j) => (j.spec.template.spec.containers[0].image = 'perl:5.36')), old);
  assert.deepEqual(
    errs.map((e) => [e.type, e.field, e.detail]),
    [['FieldValueInvalid', 'spec.template', 'field is immutable']],
  );
  expectUpdate(gr, edited(old, (j) => (j.spec.completions = 2)), old, ['spec.completions: Invalid value: 2: field is immutable']);
  // A suspended job that never ran may have its scheduling directives changed.
  const suspended = edited(old, (j) => (j.spec.suspend = true));
  expectUpdate(gr, edited(suspended, (j) => (j.spec.template.spec.nodeSelector = { zone: 'a' })), suspended, []);
  const running = edited(old, (j) => (j.status = { active: 1, startTime: '2024-01-01T00:00:00Z' }));
  expectStatusUpdate(gr, edited(running, (j) => (j.status.ready = 2)), running, ['status.ready: Invalid value: 2: cannot set more ready pods than active']);
  expectStatusUpdate(gr, edited(running, (j) => (j.status = { ...j.status, failed: 1 })), running, []);
  const failed = edited(running, (j) => (j.status.failed = 2));
  expectStatusUpdate(gr, edited(failed, (j) => (j.status.failed = 1)), failed, ['status.failed: Invalid value: 1: cannot decrease the failed counter']);
});

test('controller revisions: data is required and immutable', () => {
  const gr = 'apps/controllerrevisions';
  const cr = { metadata: { name: 'web-1', namespace: 'default' }, revision: 1, data: { spec: { template: {} } } };
  expectDefaultedCreate(gr, edited(cr, (c) => delete c.data), ['data: Required value: data is mandatory']);
  expectDefaultedCreate(gr, edited(cr, (c) => (c.revision = -1)), ['revision: Invalid value: -1: must be greater than or equal to 0']);
  const old = stored(gr, cr);
  expectUpdate(gr, edited(old, (c) => (c.data = { spec: { x: 1 } })), old, ['data: Invalid value: {"spec":{"x":1}}: field is immutable']);
});

test('invalid container names inside a workload template are reported with the template path', () => {
  const d = deploymentWith((x) => (x.spec.template.spec.containers[0].name = 'Nginx'));
  assert.deepEqual(messages(validateCreate(dep, d)), [`spec.template.spec.containers[0].name: Invalid value: "Nginx": ${RFC1123_LABEL}`]);
});
