// Validation entry points: the seeds' manifests and other representative
// objects pass; dispatch by GroupResource; unknown resources get metadata
// checks only. Per-kind rules are tested under ./validation/.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RESOURCES, grOf } from '../../../src/api/registry.js';
import { validateCreate, validateStatusUpdate, validateUpdate } from '../../../src/api/validation/index.js';
import {
  RFC1123_SUBDOMAIN,
  defaulted,
  dnsNonePod,
  edited,
  expectCreate,
  expectDefaultedCreate,
  expectUpdate,
  fluentdDaemonSet,
  headlessService,
  messages,
  nginxDeployment,
  nginxService,
  piJob,
  simplePod,
  stored,
  webStatefulSet,
} from './validation/fixtures.js';

test("the seeds' manifests are valid once defaulted", () => {
  expectDefaultedCreate('apps/deployments', nginxDeployment(), []);
  expectDefaultedCreate('/services', nginxService(), []);
  expectDefaultedCreate('/services', headlessService(), []);
  expectDefaultedCreate('apps/statefulsets', webStatefulSet(), []);
  expectDefaultedCreate('/pods', dnsNonePod(), []);
});

test('other representative objects are valid once defaulted', () => {
  expectDefaultedCreate('/pods', simplePod(), []);
  expectDefaultedCreate('batch/jobs', piJob(), []);
  expectDefaultedCreate('apps/daemonsets', fluentdDaemonSet(), []);
  const rs = nginxDeployment();
  rs.kind = 'ReplicaSet';
  delete rs.spec.strategy;
  expectDefaultedCreate('apps/replicasets', rs, []);
  expectDefaultedCreate('/namespaces', { metadata: { name: 'team-a' } }, []);
  expectDefaultedCreate('/configmaps', { metadata: { name: 'cfg', namespace: 'default' }, data: { 'app.properties': 'a=b', KEY_1: 'v' } }, []);
  expectDefaultedCreate('/secrets', { metadata: { name: 's', namespace: 'default' }, stringData: { password: 'hunter2' } }, []);
  expectDefaultedCreate('/serviceaccounts', { metadata: { name: 'builder', namespace: 'default' } }, []);
  expectDefaultedCreate('/nodes', { metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } }, spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] } }, []);
  expectDefaultedCreate(
    '/endpoints',
    { metadata: { name: 'nginx', namespace: 'default' }, subsets: [{ addresses: [{ ip: '10.244.1.5', nodeName: 'node-1' }], ports: [{ port: 80 }] }] },
    [],
  );
  expectDefaultedCreate(
    'discovery.k8s.io/endpointslices',
    {
      metadata: { name: 'nginx-abc12', namespace: 'default', labels: { 'kubernetes.io/service-name': 'nginx' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.244.1.5'], conditions: { ready: true }, nodeName: 'node-1' }],
      ports: [{ name: 'http', port: 80 }],
    },
    [],
  );
  expectDefaultedCreate(
    'coordination.k8s.io/leases',
    { metadata: { name: 'node-1', namespace: 'kube-node-lease' }, spec: { holderIdentity: 'node-1', leaseDurationSeconds: 40 } },
    [],
  );
  expectDefaultedCreate(
    'networking.k8s.io/networkpolicies',
    { metadata: { name: 'deny-all', namespace: 'default' }, spec: { podSelector: {} } },
    [],
  );
  expectDefaultedCreate(
    'networking.k8s.io/ingresses',
    {
      metadata: { name: 'web', namespace: 'default' },
      spec: { rules: [{ host: 'web.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'nginx', port: { number: 80 } } } }] } }] },
    },
    [],
  );
  expectDefaultedCreate(
    '/events',
    {
      metadata: { name: 'web.17a', namespace: 'default' },
      involvedObject: { kind: 'Pod', namespace: 'default', name: 'web' },
      reason: 'Scheduled',
      message: 'Successfully assigned default/web to node-1',
      type: 'Normal',
      source: { component: 'default-scheduler' },
    },
    [],
  );
  expectDefaultedCreate(
    'events.k8s.io/events',
    {
      metadata: { name: 'web.17b', namespace: 'default' },
      eventTime: '2024-01-01T00:00:00.000000Z',
      regarding: { kind: 'Pod', namespace: 'default', name: 'web' },
      reason: 'Scheduled',
      action: 'Binding',
      note: 'Successfully assigned default/web to node-1',
      type: 'Normal',
      reportingController: 'default-scheduler',
      reportingInstance: 'default-scheduler-node-1',
    },
    [],
  );
  expectDefaultedCreate('apps/controllerrevisions', { metadata: { name: 'web-7d9f', namespace: 'default' }, data: { spec: {} }, revision: 1 }, []);
  expectDefaultedCreate('/bindings', { metadata: { name: 'web', namespace: 'default' }, target: { kind: 'Node', name: 'node-1' } }, []);
});

test('every served resource has validation that accepts its stored objects unchanged on update', () => {
  const valid: Record<string, object> = {
    'apps/deployments': nginxDeployment(),
    '/services': nginxService(),
    'apps/statefulsets': webStatefulSet(),
    '/pods': simplePod(),
    'batch/jobs': piJob(),
    'apps/daemonsets': fluentdDaemonSet(),
    '/namespaces': { metadata: { name: 'team-a' } },
    '/configmaps': { metadata: { name: 'cfg', namespace: 'default' }, data: { a: 'b' } },
  };
  for (const [gr, obj] of Object.entries(valid)) {
    const old = stored(gr, obj);
    const next = edited(old, () => {});
    assert.deepEqual(messages(validateUpdate(gr, next, old)), [], gr);
    assert.deepEqual(messages(validateStatusUpdate(gr, next, old)), [], `${gr} status`);
  }
  // Every GroupResource of the registry dispatches (no throw on an empty object).
  for (const r of RESOURCES) {
    assert.ok(Array.isArray(validateCreate(grOf(r), {})), grOf(r));
    assert.ok(Array.isArray(validateUpdate(grOf(r), {}, {})), grOf(r));
    assert.ok(Array.isArray(validateStatusUpdate(grOf(r), {}, {})), grOf(r));
  }
});

test('unknown resources get metadata checks only', () => {
  expectCreate('example.com/widgets', { metadata: { name: 'w', namespace: 'default' }, spec: { anything: ['goes'] } }, []);
  expectCreate('example.com/widgets', { metadata: { name: 'Bad' } }, [`metadata.name: Invalid value: "Bad": ${RFC1123_SUBDOMAIN}`]);
  expectUpdate('example.com/widgets', { metadata: { name: 'w', resourceVersion: '2' } }, { metadata: { name: 'w' } }, []);
  expectUpdate('example.com/widgets', { metadata: { name: 'x', resourceVersion: '2' } }, { metadata: { name: 'w' } }, [
    'metadata.name: Invalid value: "x": field is immutable',
  ]);
});

test('validation does not modify the object', () => {
  for (const [gr, obj] of [
    ['/services', nginxService()],
    ['/pods', simplePod()],
    ['batch/jobs', piJob()],
  ] as const) {
    const o = defaulted(gr, obj);
    const before = JSON.stringify(o);
    validateCreate(gr, o);
    validateUpdate(gr, o, stored(gr, obj));
    assert.equal(JSON.stringify(o), before, gr);
  }
});

test('errors carry upstream types, paths and values', () => {
  const pod = defaulted('/pods', simplePod());
  pod.spec.containers[0].ports[0].containerPort = 0;
  pod.spec.restartPolicy = 'Sometimes';
  const errs = validateCreate('/pods', pod);
  assert.deepEqual(
    errs.map((e) => [e.type, e.field]),
    [
      ['FieldValueRequired', 'spec.containers[0].ports[0].containerPort'],
      ['FieldValueNotSupported', 'spec.restartPolicy'],
    ],
  );
  assert.deepEqual(messages(errs), [
    'spec.containers[0].ports[0].containerPort: Required value',
    'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
  ]);
});
