import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  FieldSet,
  LAST_APPLIED_ANNOTATION,
  apply,
  conflictMessage,
  decodeElement,
  defaultManagerFromUserAgent,
  encodeElement,
  field,
  keyElement,
  managerOrUserAgent,
  pathString,
  recordUpdate,
  validateFieldManager,
  type ApplyResult,
  type ApplySuccess,
  type ManagedFieldsEntry,
} from '../../../src/api/apply/index.js';
import { PatchError } from '../../../src/api/patch/errors.js';

type Obj = Record<string, any>;

const T0 = '2024-05-01T10:00:00Z';
const T1 = '2024-05-01T11:00:00Z';
const T2 = '2024-05-01T12:00:00Z';

function deployment(spec: Obj = {}, meta: Obj = {}): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', ...meta },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'nginx', image: 'nginx:1.25' }] },
      },
      ...spec,
    },
  };
}

function ok(r: ApplyResult): ApplySuccess & { object: Obj } {
  if (!r.ok) assert.fail(`unexpected conflicts: ${r.message}`);
  return r;
}

const rec = (opts: Parameters<typeof recordUpdate>[0]): { object: Obj; managedFields: ManagedFieldsEntry[] } => recordUpdate(opts);

function entry(obj: Obj, manager: string): ManagedFieldsEntry | undefined {
  return (obj.metadata.managedFields as ManagedFieldsEntry[]).find((e) => e.manager === manager);
}

/** The live object as the server would store it after a write. */
function stored(obj: Obj, extra: Obj = {}): Obj {
  return { ...obj, metadata: { ...obj.metadata, uid: 'u-1', resourceVersion: '7', creationTimestamp: T0, ...extra } };
}

const applyDeploy = (live: Obj | undefined, applied: Obj, manager = 'kubectl', now = T1, force = false) =>
  apply({ gr: 'apps/deployments', live, applied, manager, apiVersion: 'apps/v1', now, force });

describe('field sets', () => {
  test('path elements encode as in managedFields and print as in conflicts', () => {
    const k = keyElement([
      ['protocol', 'TCP'],
      ['containerPort', 80],
    ]);
    assert.equal(encodeElement(k), 'k:{"containerPort":80,"protocol":"TCP"}');
    assert.equal(encodeElement(field('spec')), 'f:spec');
    assert.equal(encodeElement({ kind: 'value', value: 'a<b' }), 'v:"a\\u003cb"');
    assert.equal(encodeElement({ kind: 'index', index: 3 }), 'i:3');
    assert.deepEqual(decodeElement('k:{"name":"nginx"}'), { kind: 'key', fields: [['name', 'nginx']] });
    assert.deepEqual(decodeElement('v:5'), { kind: 'value', value: 5 });
    assert.throws(() => decodeElement('x:1'), /unknown path element type/);
    assert.equal(pathString([field('spec'), field('ports'), k, field('name')]), '.spec.ports[containerPort=80,protocol="TCP"].name');
    assert.equal(pathString([field('metadata'), field('finalizers'), { kind: 'value', value: 'x' }]), '.metadata.finalizers[="x"]');
  });

  test('fieldsV1 round trip, with "." for nodes owned besides their children, in upstream order', () => {
    const fv1 = {
      'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
      'f:spec': {
        'f:containers': {
          'k:{"name":"nginx"}': { '.': {}, 'f:image': {}, 'f:name': {}, 'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } } },
        },
        'f:replicas': {},
      },
    };
    const s = FieldSet.fromFieldsV1(fv1);
    assert.deepEqual(s.toFieldsV1(), fv1);
    assert.equal(JSON.stringify(s.toFieldsV1()), JSON.stringify(fv1));
    assert.ok(s.has([field('spec'), field('replicas')]));
    assert.ok(s.has([field('metadata'), field('labels')]));
    assert.ok(!s.has([field('spec')]));
    // Sorted: fields before keys, keys by content.
    const t = FieldSet.fromPaths([[field('b')], [field('a')], [field('l'), keyElement([['n', 'z']])], [field('l'), keyElement([['n', 'a']])]]);
    assert.equal(JSON.stringify(t.toFieldsV1()), '{"f:a":{},"f:b":{},"f:l":{"k:{\\"n\\":\\"a\\"}":{},"k:{\\"n\\":\\"z\\"}":{}}}');
  });

  test('set algebra', () => {
    const a = FieldSet.fromPaths([[field('x')], [field('y'), field('z')]]);
    const b = FieldSet.fromPaths([[field('y')]]);
    assert.deepEqual(a.difference(b).toFieldsV1(), a.toFieldsV1());
    assert.deepEqual(a.recursiveDifference(b).toFieldsV1(), { 'f:x': {} });
    assert.deepEqual(a.intersection(FieldSet.fromPaths([[field('y'), field('z')]])).toFieldsV1(), { 'f:y': { 'f:z': {} } });
    assert.deepEqual(a.union(b).toFieldsV1(), { 'f:x': {}, 'f:y': { '.': {}, 'f:z': {} } });
    assert.ok(new FieldSet().isEmpty());
  });
});

describe('server-side apply', () => {
  test('first apply creates the object and records an Apply entry', () => {
    const cfg = deployment({ replicas: 2 }, { labels: { team: 'a' } });
    const r = ok(applyDeploy(undefined, cfg));
    const { managedFields, ...meta } = r.object.metadata;
    assert.deepEqual({ ...r.object, metadata: meta }, cfg);
    assert.deepEqual(managedFields, r.managedFields);
    assert.deepEqual(r.managedFields, [
      {
        manager: 'kubectl',
        operation: 'Apply',
        apiVersion: 'apps/v1',
        time: T1,
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': { 'f:team': {} } },
          'f:spec': {
            'f:replicas': {},
            'f:selector': {},
            'f:template': {
              'f:metadata': { 'f:labels': { 'f:app': {} } },
              'f:spec': { 'f:containers': { 'k:{"name":"nginx"}': { '.': {}, 'f:image': {}, 'f:name': {} } } },
            },
          },
        },
      },
    ]);
    assert.equal(r.changed, true);
  });

  test('re-applying without a field removes it; re-applying the same thing changes nothing', () => {
    const first = ok(applyDeploy(undefined, deployment({ replicas: 2 }, { labels: { team: 'a', tier: 'web' } })));
    const cfg = deployment({}, { labels: { team: 'a' } });
    cfg.spec.template.spec.containers[0].env = [{ name: 'A', value: '1' }];
    const second = ok(applyDeploy(stored(first.object), cfg, 'kubectl', T2));
    assert.equal(second.object.spec.replicas, undefined);
    assert.deepEqual(second.object.metadata.labels, { team: 'a' });
    assert.deepEqual(second.object.spec.template.spec.containers[0].env, [{ name: 'A', value: '1' }]);
    assert.equal(second.object.metadata.uid, 'u-1');
    assert.equal(entry(second.object, 'kubectl')?.time, T2);
    const fv1 = entry(second.object, 'kubectl')!.fieldsV1 as Obj;
    assert.equal(fv1['f:spec']['f:replicas'], undefined);

    const third = ok(applyDeploy(second.object, cfg, 'kubectl', '2024-05-01T13:00:00Z'));
    assert.equal(third.changed, false);
    assert.equal(third.managedFieldsChanged, false);
    assert.deepEqual(third.object, second.object); // time not bumped by a no-op
  });

  test('removing a container removes it; fields another applier owns stay', () => {
    const cfgA = deployment();
    cfgA.spec.template.spec.containers.push({ name: 'sidecar', image: 'busybox' });
    const a = ok(applyDeploy(undefined, cfgA, 'alice'));
    // bob applies the same sidecar: shared ownership, no conflict.
    const cfgB = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' }, spec: { template: { spec: { containers: [{ name: 'sidecar', image: 'busybox' }] } } } };
    const b = ok(applyDeploy(a.object, cfgB, 'bob'));
    assert.equal(b.changed, false);
    assert.equal(b.managedFieldsChanged, true);
    // A no-op apply records ownership but no time (so the entry sorts first).
    assert.deepEqual(
      b.object.metadata.managedFields.map((e: ManagedFieldsEntry) => [e.manager, e.time]),
      [
        ['bob', undefined],
        ['alice', T1],
      ],
    );
    // alice drops the sidecar: bob still owns it, so it stays; nginx stays as alice applies it.
    const c = ok(applyDeploy(b.object, deployment(), 'alice', T2));
    assert.deepEqual(
      c.object.spec.template.spec.containers.map((x: Obj) => x.name),
      ['nginx', 'sidecar'],
    );
    // bob drops it too: now it goes.
    // (An empty `spec: {}` would still own .spec as a leaf; leave it out entirely.)
    const d = ok(applyDeploy(c.object, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' } }, 'bob', T2));
    assert.deepEqual(
      d.object.spec.template.spec.containers.map((x: Obj) => x.name),
      ['nginx'],
    );
    assert.equal(entry(d.object, 'bob'), undefined);
  });

  test('a conflicting value is refused with upstream wording; force takes the field over', () => {
    // Created by client-side apply (an Update by "kubectl-client-side-apply").
    const created = rec({ gr: 'apps/deployments', oldObj: undefined, newObj: deployment({ replicas: 1 }), manager: 'kubectl-client-side-apply', apiVersion: 'apps/v1', now: T0 });
    const live = stored(created.object);
    const r = applyDeploy(live, deployment({ replicas: 3 }), 'my-applier');
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.message, 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas');
    assert.deepEqual(r.status, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: r.message,
      reason: 'Conflict',
      details: { causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "kubectl-client-side-apply" using apps/v1', field: '.spec.replicas' }] },
      code: 409,
    });

    // Applying the values already there is not a conflict: ownership is shared.
    const same = ok(applyDeploy(live, deployment({ replicas: 1 }), 'my-applier'));
    assert.equal(same.changed, false);
    assert.ok((entry(same.object, 'kubectl-client-side-apply')!.fieldsV1 as Obj)['f:spec']['f:replicas']);
    assert.ok((entry(same.object, 'my-applier')!.fieldsV1 as Obj)['f:spec']['f:replicas']);

    const forced = ok(applyDeploy(live, deployment({ replicas: 3 }), 'my-applier', T1, true));
    assert.equal(forced.object.spec.replicas, 3);
    const csa = entry(forced.object, 'kubectl-client-side-apply')!.fieldsV1 as Obj;
    assert.equal(csa['f:spec']['f:replicas'], undefined);
    assert.ok(csa['f:spec']['f:template']);
    assert.ok((entry(forced.object, 'my-applier')!.fieldsV1 as Obj)['f:spec']['f:replicas']);
  });

  test('several conflicts are grouped by manager', () => {
    let obj = ok(applyDeploy(undefined, deployment({ replicas: 1 }), 'alice', T0)).object;
    // bob co-owns the image by applying the same value.
    const bobCfg = deployment();
    obj = ok(applyDeploy(obj, bobCfg, 'bob', T0)).object;
    const scaled = structuredClone(obj);
    scaled.spec.replicas = 5;
    obj = rec({ gr: 'apps/deployments', oldObj: obj, newObj: scaled, manager: 'kubectl-scale', apiVersion: 'apps/v1', now: T1 }).object;

    const cfg = deployment({ replicas: 2 });
    cfg.spec.template.spec.containers[0].image = 'nginx:1.27';
    cfg.metadata.labels = { x: 'y' };
    const r = applyDeploy(obj, cfg, 'carol');
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(
      r.message,
      'Apply failed with 3 conflicts: conflicts with "alice":\n' +
        '- .spec.template.spec.containers[name="nginx"].image\n' +
        'conflicts with "bob":\n' +
        '- .spec.template.spec.containers[name="nginx"].image\n' +
        'conflicts with "kubectl-scale" using apps/v1:\n' +
        '- .spec.replicas',
    );
    assert.deepEqual(
      r.conflicts.map((c) => [c.field, c.message]),
      [
        ['.spec.template.spec.containers[name="nginx"].image', 'conflict with "alice"'],
        ['.spec.template.spec.containers[name="nginx"].image', 'conflict with "bob"'],
        ['.spec.replicas', 'conflict with "kubectl-scale" using apps/v1'],
      ],
    );
    // An Update took the image from both appliers' sets; alice (whose replicas the scaler took) keeps the rest.
    const bumped = structuredClone(obj);
    bumped.spec.template.spec.containers[0].image = 'nginx:1.26';
    const set = rec({ gr: 'apps/deployments', oldObj: obj, newObj: bumped, manager: 'kubectl-set', apiVersion: 'apps/v1', now: T2 }).object;
    const aliceFields = entry(set, 'alice')!.fieldsV1 as Obj;
    assert.deepEqual(aliceFields['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"nginx"}'], { '.': {}, 'f:name': {} });
    assert.equal(aliceFields['f:spec']['f:replicas'], undefined);
    assert.equal(conflictMessage(r.conflicts), r.message);
  });

  test('an update after an apply takes ownership of what it changed', () => {
    const a = ok(applyDeploy(undefined, deployment({ replicas: 2 }), 'kubectl', T0));
    const scaled = structuredClone(a.object);
    scaled.spec.replicas = 5;
    const u = rec({ gr: 'apps/deployments', oldObj: a.object, newObj: scaled, manager: 'kubectl-scale', apiVersion: 'apps/v1', now: T1 });
    assert.equal(u.object.spec.replicas, 5);
    const kubectl = entry(u.object, 'kubectl')!.fieldsV1 as Obj;
    assert.equal(kubectl['f:spec']['f:replicas'], undefined);
    assert.deepEqual(entry(u.object, 'kubectl-scale'), {
      manager: 'kubectl-scale',
      operation: 'Update',
      apiVersion: 'apps/v1',
      time: T1,
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:spec': { 'f:replicas': {} } },
    });
    // Apply entries sort before Update entries.
    assert.deepEqual(
      u.object.metadata.managedFields.map((e: ManagedFieldsEntry) => e.operation),
      ['Apply', 'Update'],
    );
    // kubectl now conflicts with the scaler when it applies another count...
    const r = applyDeploy(u.object, deployment({ replicas: 2 }), 'kubectl', T2);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.message, 'Apply failed with 1 conflict: conflict with "kubectl-scale" using apps/v1: .spec.replicas');
    // ...and leaving replicas out of its configuration leaves the scaler's value alone.
    const r2 = ok(applyDeploy(u.object, deployment(), 'kubectl', T2));
    assert.equal(r2.object.spec.replicas, 5);
  });

  test('apply to an object without managedFields conflicts with "before-first-apply"', () => {
    const live = stored(deployment({ replicas: 1 }));
    const r = applyDeploy(live, deployment({ replicas: 4 }), 'kubectl');
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.message, 'Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: .spec.replicas');
    const same = ok(applyDeploy(live, deployment({ replicas: 1 }), 'kubectl'));
    assert.deepEqual(
      same.object.metadata.managedFields.map((e: ManagedFieldsEntry) => `${e.manager}/${e.operation}`),
      ['kubectl/Apply', 'before-first-apply/Update'],
    );
  });

  test('kubectl server-side apply takes over from client-side apply without conflicts', () => {
    const cfg = deployment({ replicas: 1 });
    const created = rec({
      gr: 'apps/deployments',
      oldObj: undefined,
      newObj: { ...cfg, metadata: { ...cfg.metadata, annotations: { [LAST_APPLIED_ANNOTATION]: JSON.stringify(cfg) } } },
      manager: 'kubectl-client-side-apply',
      apiVersion: 'apps/v1',
      now: T0,
    });
    const next = deployment({ replicas: 3 });
    const r = ok(applyDeploy(stored(created.object), next, 'kubectl', T1));
    assert.equal(r.object.spec.replicas, 3);
    // The annotation follows the server-side applied configuration.
    assert.equal(r.object.metadata.annotations[LAST_APPLIED_ANNOTATION], JSON.stringify(sortKeys(next)) + '\n');
    // Another manager gets no such pass.
    assert.equal(applyDeploy(stored(created.object), next, 'other').ok, false);
  });

  test('container ports are keyed by containerPort and protocol (TCP by default)', () => {
    const cfg = deployment();
    cfg.spec.template.spec.containers[0].ports = [{ containerPort: 53 }, { containerPort: 53, protocol: 'UDP' }];
    const r = ok(applyDeploy(undefined, cfg));
    const c = (entry(r.object, 'kubectl')!.fieldsV1 as Obj)['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"nginx"}'];
    assert.deepEqual(Object.keys(c['f:ports']), ['k:{"containerPort":53,"protocol":"TCP"}', 'k:{"containerPort":53,"protocol":"UDP"}']);
    // Dropping the UDP port removes only it.
    const cfg2 = deployment();
    cfg2.spec.template.spec.containers[0].ports = [{ containerPort: 53 }];
    const r2 = ok(applyDeploy(r.object, cfg2, 'kubectl', T2));
    assert.deepEqual(r2.object.spec.template.spec.containers[0].ports, [{ containerPort: 53 }]);
  });

  test('sets and maps: finalizers and labels are owned item by item', () => {
    const cm = (md: Obj, data?: Obj) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default', ...md }, ...(data ? { data } : {}) });
    const applyCM = (live: Obj | undefined, cfg: Obj, manager: string) => ok(apply({ gr: '/configmaps', live, applied: cfg, manager, apiVersion: 'v1', now: T1 }));
    const a = applyCM(undefined, cm({ finalizers: ['a/x'], labels: { l1: 'a' } }, { k1: 'v' }), 'alice');
    assert.deepEqual(entry(a.object, 'alice')!.fieldsV1, {
      'f:data': { 'f:k1': {} },
      'f:metadata': { 'f:finalizers': { 'v:"a/x"': {} }, 'f:labels': { 'f:l1': {} } },
    });
    const b = applyCM(a.object, cm({ finalizers: ['b/y'], labels: { l2: 'b' } }, { k2: 'v' }), 'bob');
    assert.deepEqual(b.object.metadata.finalizers, ['a/x', 'b/y']);
    assert.deepEqual(b.object.metadata.labels, { l1: 'a', l2: 'b' });
    assert.deepEqual(b.object.data, { k1: 'v', k2: 'v' });
    const c = applyCM(b.object, cm({}), 'alice');
    assert.deepEqual(c.object.metadata.finalizers, ['b/y']);
    assert.deepEqual(c.object.metadata.labels, { l2: 'b' });
    assert.deepEqual(c.object.data, { k2: 'v' });
    assert.equal(entry(c.object, 'alice'), undefined);
  });

  test('switching a union member: the struct the applier stopped applying goes as a whole', () => {
    const rolling = deployment({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } });
    const a = ok(applyDeploy(undefined, rolling));
    const b = ok(applyDeploy(a.object, deployment({ strategy: { type: 'Recreate' } }), 'kubectl', T2));
    assert.deepEqual(b.object.spec.strategy, { type: 'Recreate' });
    assert.deepEqual((entry(b.object, 'kubectl')!.fieldsV1 as Obj)['f:spec']['f:strategy'], { 'f:type': {} });
  });

  test('service ports are keyed by port and protocol', () => {
    const svc = (ports: Obj[]) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'dns', namespace: 'kube-system' }, spec: { selector: { k8s: 'dns' }, ports } });
    const a = ok(apply({ gr: '/services', live: undefined, applied: svc([{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53 }]), manager: 'm', apiVersion: 'v1', now: T0 }));
    assert.deepEqual(Object.keys((entry(a.object, 'm')!.fieldsV1 as Obj)['f:spec']['f:ports']), [
      'k:{"port":53,"protocol":"TCP"}',
      'k:{"port":53,"protocol":"UDP"}',
    ]);
    // The selector is an atomic map: owned as one field and replaced as a whole.
    assert.deepEqual((entry(a.object, 'm')!.fieldsV1 as Obj)['f:spec']['f:selector'], {});
    const b = ok(apply({ gr: '/services', live: a.object, applied: { ...svc([{ name: 'dns', port: 53, protocol: 'UDP' }]), spec: { ...svc([]).spec, selector: { app: 'x' }, ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] } }, manager: 'm', apiVersion: 'v1', now: T1 }));
    assert.deepEqual(b.object.spec.ports, [{ name: 'dns', port: 53, protocol: 'UDP' }]);
    assert.deepEqual(b.object.spec.selector, { app: 'x' });
  });

  test('status is not applied through the main resource', () => {
    const cfg = { ...deployment({ replicas: 1 }), status: { replicas: 9 } };
    const live = stored(ok(applyDeploy(undefined, deployment({ replicas: 1 }))).object, {});
    live.status = { replicas: 1 };
    const r = ok(applyDeploy(live, cfg, 'kubectl', T2));
    assert.deepEqual(r.object.status, { replicas: 1 });
    assert.equal((entry(r.object, 'kubectl')!.fieldsV1 as Obj)['f:status'], undefined);
  });

  test('a null in the configuration owns the field and leaves it unset', () => {
    const a = ok(applyDeploy(undefined, deployment({ replicas: 1 }), 'scaler'));
    const r = ok(applyDeploy(a.object, deployment({ replicas: null, paused: true }), 'kubectl', T1, true));
    assert.equal('replicas' in r.object.spec, false);
    assert.ok((entry(r.object, 'kubectl')!.fieldsV1 as Obj)['f:spec']['f:replicas']);
  });

  test('bad configurations are 400s', () => {
    const bad = (applied: unknown, message: string | RegExp) =>
      assert.throws(
        () => applyDeploy(undefined, applied as Obj),
        (e: unknown) => e instanceof PatchError && e.code === 400 && (typeof message === 'string' ? e.message === message : message.test(e.message)),
      );
    const noName = deployment();
    delete noName.spec.template.spec.containers[0].name;
    bad(
      noName,
      'failed to create typed patch object (apps/v1, Kind=Deployment; default/web): .spec.template.spec.containers: element 0: associative list with keys has an element that omits key field "name" (and doesn\'t have default value)',
    );
    const dup = deployment();
    dup.spec.template.spec.containers.push({ name: 'nginx', image: 'x' });
    bad(dup, /\.spec\.template\.spec\.containers: duplicate entries for key \[name="nginx"\]$/);
    bad({ ...deployment(), metadata: { name: 'web', managedFields: [] } }, 'metadata.managedFields must be nil');
    bad({ ...deployment(), kind: 'StatefulSet' }, 'invalid object type: apps/v1, Kind=StatefulSet');
    bad({ ...deployment(), apiVersion: 'apps/v1beta1' }, 'invalid object type: apps/v1beta1, Kind=Deployment');
  });

  test('custom resources without a schema: maps granular, lists atomic', () => {
    const w = (spec: Obj) => ({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec });
    const a = ok(apply({ gr: 'example.com/widgets', live: undefined, applied: w({ size: 1, tags: ['a'] }), manager: 'alice', apiVersion: 'example.com/v1', now: T0 }));
    assert.deepEqual(entry(a.object, 'alice')!.fieldsV1, { 'f:spec': { 'f:size': {}, 'f:tags': {} } });
    const b = ok(apply({ gr: 'example.com/widgets', live: a.object, applied: w({ color: 'red' }), manager: 'bob', apiVersion: 'example.com/v1', now: T1 }));
    assert.deepEqual(b.object.spec, { size: 1, tags: ['a'], color: 'red' });
  });
});

describe('recordUpdate', () => {
  test('create: the writer owns everything it set; list items and new maps get "."', () => {
    const obj = deployment({ replicas: 1 });
    obj.spec.template.spec.containers[0].ports = [{ containerPort: 80 }];
    const r = rec({ gr: 'apps/deployments', oldObj: undefined, newObj: obj, manager: 'kubectl-create', apiVersion: 'apps/v1', now: T0 });
    assert.deepEqual(r.managedFields, [
      {
        manager: 'kubectl-create',
        operation: 'Update',
        apiVersion: 'apps/v1',
        time: T0,
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:spec': {
            'f:replicas': {},
            'f:selector': {},
            'f:template': {
              'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
              'f:spec': {
                'f:containers': {
                  'k:{"name":"nginx"}': {
                    '.': {},
                    'f:image': {},
                    'f:name': {},
                    'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
                  },
                },
              },
            },
          },
        },
      },
    ]);
    assert.deepEqual(r.object.metadata.managedFields, r.managedFields);
  });

  test('an update merges into the same manager entry; a no-op leaves the time alone', () => {
    const c = rec({ gr: '/configmaps', oldObj: undefined, newObj: { metadata: { name: 'c' }, data: { a: '1' } }, manager: 'm', apiVersion: 'v1', now: T0 });
    const u = rec({ gr: '/configmaps', oldObj: c.object, newObj: { ...c.object, data: { a: '1', b: '2' } }, manager: 'm', apiVersion: 'v1', now: T1 });
    assert.equal(u.managedFields.length, 1);
    assert.deepEqual(u.managedFields[0].fieldsV1, { 'f:data': { '.': {}, 'f:a': {}, 'f:b': {} } });
    assert.equal(u.managedFields[0].time, T1);
    const n = rec({ gr: '/configmaps', oldObj: u.object, newObj: u.object, manager: 'm', apiVersion: 'v1', now: T2 });
    assert.equal(n.managedFields[0].time, T1);
    // Deleting a key another manager set takes it from that manager.
    const d = rec({ gr: '/configmaps', oldObj: u.object, newObj: { ...u.object, data: { a: '1' } }, manager: 'other', apiVersion: 'v1', now: T2 });
    assert.deepEqual(d.managedFields.map((e) => e.manager), ['m']);
    assert.deepEqual(d.managedFields[0].fieldsV1, { 'f:data': { '.': {}, 'f:a': {} } });
  });

  test('subresource writes are recorded with the subresource; status is not owned through the main resource', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i' }] } };
    const created = rec({ gr: '/pods', oldObj: undefined, newObj: { ...pod, status: { phase: 'Pending' } }, manager: 'kubectl-run', apiVersion: 'v1', now: T0 });
    assert.equal((created.managedFields[0].fieldsV1 as Obj)['f:status'], undefined);
    const withStatus = { ...created.object, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } };
    const s = rec({ gr: '/pods', oldObj: created.object, newObj: withStatus, manager: 'kubelet', apiVersion: 'v1', now: T1, subresource: 'status' });
    assert.deepEqual(entry(s.object, 'kubelet'), {
      manager: 'kubelet',
      operation: 'Update',
      apiVersion: 'v1',
      time: T1,
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:status': { 'f:conditions': { 'k:{"type":"Ready"}': { '.': {}, 'f:status': {}, 'f:type': {} } }, 'f:phase': {} } },
      subresource: 'status',
    });
  });

  test('clients may reset managedFields with an empty list', () => {
    const c = rec({ gr: '/configmaps', oldObj: undefined, newObj: { metadata: { name: 'c' }, data: { a: '1' } }, manager: 'm', apiVersion: 'v1', now: T0 });
    const r = rec({ gr: '/configmaps', oldObj: c.object, newObj: { ...c.object, metadata: { name: 'c', managedFields: [] } }, manager: 'n', apiVersion: 'v1', now: T1 });
    assert.equal(r.object.metadata.managedFields, undefined);
  });

  test('more than ten updaters: the oldest go to "ancient-changes"', () => {
    let obj: Obj = { metadata: { name: 'c' }, data: {} };
    for (let i = 0; i < 12; i++) {
      const next = { ...obj, data: { ...obj.data, [`k${i}`]: 'v' } };
      obj = rec({ gr: '/configmaps', oldObj: i === 0 ? undefined : obj, newObj: next, manager: `m${i}`, apiVersion: 'v1', now: new Date(Date.parse(T0) + i * 1000) }).object;
    }
    const entries = obj.metadata.managedFields as ManagedFieldsEntry[];
    assert.equal(entries.length, 10);
    const ancient = entries.find((e) => e.manager === 'ancient-changes')!;
    assert.deepEqual(Object.keys((ancient.fieldsV1 as Obj)['f:data']).filter((k) => k !== '.').sort(), ['f:k0', 'f:k1', 'f:k2']);
    assert.ok(!entries.some((e) => ['m0', 'm1', 'm2'].includes(e.manager!)));
  });

  test('objects the bookkeeping cannot handle are written without managedFields', () => {
    const bad = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', managedFields: [{ manager: 'x', operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: {} }] }, spec: { containers: [{ image: 'x' }] } };
    const r = rec({ gr: '/pods', oldObj: undefined, newObj: bad, manager: 'm', apiVersion: 'v1', now: T0 });
    assert.equal(r.object.metadata.managedFields, undefined);
    assert.deepEqual(r.object.spec, bad.spec);
  });
});

describe('field managers', () => {
  test('default manager from the user agent', () => {
    assert.equal(defaultManagerFromUserAgent('kubectl/v1.30.0 (linux/amd64) kubernetes/7c48c2b'), 'kubectl');
    assert.equal(defaultManagerFromUserAgent('kube-controller-manager/v1.30.0 (linux/amd64) kubernetes/7c48c2b/system:serviceaccount:kube-system:deployment-controller'), 'kube-controller-manager');
    assert.equal(defaultManagerFromUserAgent('Go-http-client/1.1'), 'Go-http-client');
    assert.equal(defaultManagerFromUserAgent('weird\u0007agent/1'), 'weirdagent');
    assert.equal(defaultManagerFromUserAgent('x'.repeat(200)), 'x'.repeat(128));
    assert.equal(defaultManagerFromUserAgent(undefined), '');
    assert.equal(managerOrUserAgent('kubectl-edit', 'kubectl/v1.30.0'), 'kubectl-edit');
    assert.equal(managerOrUserAgent('', 'kubectl/v1.30.0'), 'kubectl');
  });

  test('fieldManager validation', () => {
    assert.deepEqual(validateFieldManager('', true), [{ type: 'FieldValueRequired', field: 'fieldManager', detail: 'is required for apply patch' }]);
    assert.deepEqual(validateFieldManager('', false), []);
    assert.equal(validateFieldManager('x'.repeat(129), false)[0].type, 'FieldValueTooLong');
    assert.equal(validateFieldManager('a\nb', false)[0].field, 'fieldManager[1]');
  });
});

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Obj)[k])]));
  return v;
}
