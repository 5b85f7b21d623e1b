import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONTROLLER_NAME, LABEL_MANAGED_BY, LABEL_SERVICE_NAME, desiredGroups, planSlices } from '../../../src/controllers/endpointslice/plan.js';

const svc = (spec: Record<string, any> = {}, meta: Record<string, any> = {}) => ({
  metadata: { name: 'web', namespace: 'default', uid: 'svc-uid', ...meta },
  spec: { selector: { app: 'web' }, clusterIP: '10.0.0.10', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }], ...spec },
});
function pod(name: string, ip: string | undefined, o: { ready?: boolean; deleting?: boolean; ports?: any[]; hostname?: string; subdomain?: string; node?: string; phase?: string } = {}) {
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}`, labels: { app: 'web' }, ...(o.deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}) },
    spec: { nodeName: o.node ?? 'node-a', hostname: o.hostname, subdomain: o.subdomain, containers: [{ name: 'c', ports: o.ports ?? [] }] },
    status: { phase: o.phase ?? 'Running', podIP: ip, conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
  };
}
let rv = 1;
/** What the server would hold after creating the planned slices. */
const materialize = (objs: any[]) => objs.map((s, i) => ({ ...s, metadata: { ...s.metadata, name: `${s.metadata.generateName}x${i}${rv}`, resourceVersion: String(rv++), uid: `slice-${rv}` } }));

test('a slice with endpoint conditions, labels, owner, generateName, zone and hostname', () => {
  const nodes = new Map([['node-a', { metadata: { name: 'node-a', labels: { 'topology.kubernetes.io/zone': 'z1' } } }]]);
  const p = planSlices(
    svc({ clusterIP: 'None' }, { labels: { team: 't' } }),
    [pod('a', '10.1.0.1', { hostname: 'a', subdomain: 'web' }), pod('b', '10.1.0.2', { ready: false, node: 'node-b' }), pod('t', '10.1.0.3', { deleting: true }), pod('noip', undefined), pod('f', '10.1.0.9', { phase: 'Failed' })],
    [],
    { nodes, now: '2024-01-01T00:00:00Z' },
  );
  assert.equal(p.create.length, 1);
  assert.equal(p.update.length + p.delete.length, 0);
  const s = p.create[0]!;
  assert.equal(s.addressType, 'IPv4');
  assert.equal(s.metadata.generateName, 'web-');
  assert.deepEqual(s.metadata.labels, { team: 't', 'service.kubernetes.io/headless': '', [LABEL_SERVICE_NAME]: 'web', [LABEL_MANAGED_BY]: CONTROLLER_NAME });
  assert.deepEqual(s.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'svc-uid', controller: true, blockOwnerDeletion: true }]);
  assert.deepEqual(s.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
  assert.deepEqual(
    s.endpoints.map((e: any) => [e.addresses[0], e.conditions, e.hostname, e.nodeName, e.zone, e.targetRef.name]),
    [
      ['10.1.0.1', { ready: true, serving: true, terminating: false }, 'a', 'node-a', 'z1', 'a'],
      ['10.1.0.2', { ready: false, serving: false, terminating: false }, undefined, 'node-b', undefined, 'b'],
      ['10.1.0.3', { ready: false, serving: true, terminating: true }, undefined, 'node-a', 'z1', 't'],
    ],
  );
});

test('publishNotReadyAddresses: ready even when not ready or terminating; serving still the container readiness', () => {
  const g = desiredGroups(svc({ publishNotReadyAddresses: true }), [pod('a', '10.1.0.1', { ready: false }), pod('t', '10.1.0.2', { deleting: true })])!;
  assert.deepEqual(g[0]!.endpoints.map((e) => e.conditions), [
    { ready: true, serving: false, terminating: false },
    { ready: true, serving: true, terminating: true },
  ]);
});

test('named targetPort per pod: one slice per resolved port set', () => {
  const s = svc({ ports: [{ name: 'http', port: 80, targetPort: 'web', protocol: 'TCP' }] });
  const p = planSlices(s, [pod('a', '10.1.0.1', { ports: [{ name: 'web', containerPort: 8080 }] }), pod('b', '10.1.0.2', { ports: [{ name: 'web', containerPort: 9090 }] })], []);
  assert.equal(p.create.length, 2);
  assert.deepEqual(p.create.map((x) => [x.ports[0].port, x.endpoints.map((e: any) => e.addresses[0])]).sort(), [
    [8080, ['10.1.0.1']],
    [9090, ['10.1.0.2']],
  ]);
});

test('more than 100 endpoints split into slices of at most 100; a second pass is a no-op', () => {
  const pods = Array.from({ length: 250 }, (_, i) => pod(`p${i}`, `10.3.${Math.floor(i / 200)}.${i % 200}`));
  const p = planSlices(svc(), pods, []);
  assert.deepEqual(p.create.map((s) => s.endpoints.length), [100, 100, 50]);
  const existing = materialize(p.create);
  const again = planSlices(svc(), pods, JSON.parse(JSON.stringify(existing)));
  assert.deepEqual(again, { create: [], update: [], delete: [] });
  // One pod becomes not ready: exactly one slice updated, keeping its name and resourceVersion.
  const changed = pods.map((x, i) => (i === 120 ? pod(`p${i}`, x.status.podIP, { ready: false }) : x));
  const upd = planSlices(svc(), changed, existing);
  assert.equal(upd.create.length + upd.delete.length, 0);
  assert.equal(upd.update.length, 1);
  assert.equal(upd.update[0]!.metadata.name, existing[1]!.metadata.name);
  assert.equal(upd.update[0]!.metadata.resourceVersion, existing[1]!.metadata.resourceVersion);
  // Pods go away: surplus slices are deleted.
  const shrink = planSlices(svc(), pods.slice(0, 30), existing);
  assert.equal(shrink.create.length, 0);
  assert.equal(shrink.update.length, 1);
  assert.equal(shrink.delete.length, 2);
});

test('no endpoints: one empty placeholder slice, kept across passes', () => {
  const p = planSlices(svc(), [], []);
  assert.equal(p.create.length, 1);
  assert.deepEqual(p.create[0]!.endpoints, []);
  const again = planSlices(svc(), [], materialize(p.create));
  assert.deepEqual(again, { create: [], update: [], delete: [] });
});

test('selector-less service: nothing created, unmanaged slices untouched; ExternalName: managed slices deleted', () => {
  const userSlice = { metadata: { name: 'manual', namespace: 'default', labels: { [LABEL_SERVICE_NAME]: 'web' } }, addressType: 'IPv4', endpoints: [], ports: [] };
  assert.deepEqual(planSlices(svc({ selector: undefined }), [pod('a', '10.1.0.1')], [userSlice]), { create: [], update: [], delete: [] });
  const managed = materialize(planSlices(svc(), [pod('a', '10.1.0.1')], []).create);
  const ext = planSlices(svc({ type: 'ExternalName', externalName: 'x.example' }), [pod('a', '10.1.0.1')], [...managed, userSlice]);
  assert.equal(ext.create.length + ext.update.length, 0);
  assert.deepEqual(ext.delete.map((s) => s.metadata.name), [managed[0]!.metadata.name]);
});
