import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANNOTATION_OVER_CAPACITY, desiredEndpoints, endpointsUpToDate, mergeForWrite, truncateEndpoints } from '../../../src/controllers/endpoints/plan.js';

const svc = (spec: Record<string, any> = {}, meta: Record<string, any> = {}) => ({
  metadata: { name: 'web', namespace: 'default', uid: 'svc-uid', ...meta },
  spec: { selector: { app: 'web' }, clusterIP: '10.0.0.10', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }], ...spec },
});
let n = 0;
function pod(name: string, ip: string | undefined, o: { ready?: boolean; labels?: Record<string, string>; phase?: string; deleting?: boolean; ports?: any[]; hostname?: string; subdomain?: string; node?: string; ns?: string } = {}) {
  return {
    metadata: { name, namespace: o.ns ?? 'default', uid: `uid-${name}-${n++}`, labels: o.labels ?? { app: 'web' }, ...(o.deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}) },
    spec: { nodeName: o.node ?? 'node-a', hostname: o.hostname, subdomain: o.subdomain, containers: [{ name: 'c', ports: o.ports ?? [] }] },
    status: { phase: o.phase ?? 'Running', podIP: ip, conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
  };
}
const ips = (list?: any[]) => (list ?? []).map((a) => a.ip);

test('ready pods go to addresses, not-ready to notReadyAddresses; ports resolve targetPort', () => {
  const ep = desiredEndpoints(svc(), [pod('a', '10.1.0.2'), pod('b', '10.1.0.1'), pod('c', '10.1.0.3', { ready: false })])!;
  assert.equal(ep.metadata.name, 'web');
  assert.equal(ep.subsets.length, 1);
  assert.deepEqual(ips(ep.subsets[0].addresses), ['10.1.0.1', '10.1.0.2'], 'sorted by IP');
  assert.deepEqual(ips(ep.subsets[0].notReadyAddresses), ['10.1.0.3']);
  assert.deepEqual(ep.subsets[0].ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
  const a = ep.subsets[0].addresses[1];
  assert.equal(a.nodeName, 'node-a');
  assert.equal(a.targetRef.kind, 'Pod');
  assert.equal(a.targetRef.name, 'a');
  assert.equal(a.targetRef.namespace, 'default');
  assert.match(a.targetRef.uid, /^uid-a/);
  assert.equal(a.hostname, undefined);
});

test('pods without an IP, terminal pods, unmatched labels, other namespaces are excluded; terminating dropped', () => {
  const ep = desiredEndpoints(svc(), [
    pod('noip', undefined),
    pod('done', '10.1.0.4', { phase: 'Succeeded' }),
    pod('failed', '10.1.0.5', { phase: 'Failed' }),
    pod('other', '10.1.0.6', { labels: { app: 'db' } }),
    pod('elsewhere', '10.1.0.7', { ns: 'kube-system' }),
    pod('term', '10.1.0.8', { deleting: true }),
    pod('ok', '10.1.0.9'),
  ])!;
  assert.deepEqual(ips(ep.subsets[0].addresses), ['10.1.0.9']);
  assert.equal(ep.subsets[0].notReadyAddresses, undefined);
});

test('publishNotReadyAddresses publishes every pod, terminating ones included', () => {
  const ep = desiredEndpoints(svc({ publishNotReadyAddresses: true }), [pod('a', '10.1.0.1', { ready: false }), pod('b', '10.1.0.2'), pod('t', '10.1.0.3', { deleting: true, ready: false })])!;
  assert.deepEqual(ips(ep.subsets[0].addresses), ['10.1.0.1', '10.1.0.2', '10.1.0.3']);
  assert.equal(ep.subsets[0].notReadyAddresses, undefined);
});

test('named targetPort resolved per pod: different numbers end up in different subsets; pods without the port skipped', () => {
  const s = svc({ ports: [{ name: 'http', port: 80, targetPort: 'web', protocol: 'TCP' }] });
  const ep = desiredEndpoints(s, [
    pod('a', '10.1.0.1', { ports: [{ name: 'web', containerPort: 8080 }] }),
    pod('b', '10.1.0.2', { ports: [{ name: 'web', containerPort: 9090 }] }),
    pod('c', '10.1.0.3', { ports: [{ name: 'web', containerPort: 8080, protocol: 'TCP' }] }),
    pod('udp', '10.1.0.4', { ports: [{ name: 'web', containerPort: 8080, protocol: 'UDP' }] }),
    pod('none', '10.1.0.5'),
  ])!;
  assert.equal(ep.subsets.length, 2);
  assert.deepEqual(ep.subsets.map((x: any) => [ips(x.addresses), x.ports[0].port]), [
    [['10.1.0.1', '10.1.0.3'], 8080],
    [['10.1.0.2'], 9090],
  ]);
});

test('multiple service ports repack: addresses sharing the same port set share a subset', () => {
  const s = svc({ ports: [{ name: 'http', port: 80, targetPort: 'web', protocol: 'TCP' }, { name: 'metrics', port: 9100, targetPort: 9100, protocol: 'TCP' }] });
  const ep = desiredEndpoints(s, [pod('a', '10.1.0.1', { ports: [{ name: 'web', containerPort: 8080 }] }), pod('b', '10.1.0.2'), pod('c', '10.1.0.3', { ports: [{ name: 'web', containerPort: 8080 }], ready: false })])!;
  assert.equal(ep.subsets.length, 2);
  const both = ep.subsets.find((x: any) => x.ports.length === 2);
  assert.deepEqual(ips(both.addresses), ['10.1.0.1']);
  assert.deepEqual(ips(both.notReadyAddresses), ['10.1.0.3']);
  assert.deepEqual(both.ports.map((p: any) => p.name), ['http', 'metrics']);
  const onlyMetrics = ep.subsets.find((x: any) => x.ports.length === 1);
  assert.deepEqual(ips(onlyMetrics.addresses), ['10.1.0.2']);
});

test('hostname set only when the pod subdomain is the service name', () => {
  const ep = desiredEndpoints(svc({ clusterIP: 'None' }), [
    pod('a', '10.1.0.1', { hostname: 'a', subdomain: 'web' }),
    pod('b', '10.1.0.2', { hostname: 'b', subdomain: 'other' }),
    pod('c', '10.1.0.3', { subdomain: 'web' }),
  ])!;
  assert.deepEqual(ep.subsets[0].addresses.map((a: any) => a.hostname), ['a', undefined, undefined]);
  assert.equal(ep.metadata.labels['service.kubernetes.io/headless'], '');
});

test('headless service without ports publishes bare addresses', () => {
  const ep = desiredEndpoints(svc({ clusterIP: 'None', ports: [] }), [pod('a', '10.1.0.1')])!;
  assert.deepEqual(ep.subsets, [{ addresses: ep.subsets[0].addresses }]);
  assert.deepEqual(ips(ep.subsets[0].addresses), ['10.1.0.1']);
});

test('labels copied from the service; no pods -> no subsets', () => {
  const ep = desiredEndpoints(svc({}, { labels: { team: 'x' } }), [])!;
  assert.deepEqual(ep.metadata.labels, { team: 'x' });
  assert.equal(ep.subsets, undefined);
});

test('selector-less and ExternalName services get nothing', () => {
  assert.equal(desiredEndpoints(svc({ selector: undefined }), [pod('a', '10.1.0.1')]), null);
  assert.equal(desiredEndpoints(svc({ type: 'ExternalName', externalName: 'x.example' }), [pod('a', '10.1.0.1')]), null);
});

test('more than 1000 addresses are truncated, ready ones kept first, with the over-capacity annotation', () => {
  const pods = [];
  for (let i = 0; i < 1100; i++) pods.push(pod(`p${i}`, `10.2.${Math.floor(i / 250)}.${i % 250}`, { ready: i % 2 === 0 }));
  const ep = desiredEndpoints(svc(), pods)!;
  const total = ep.subsets.reduce((s: number, x: any) => s + (x.addresses?.length ?? 0) + (x.notReadyAddresses?.length ?? 0), 0);
  assert.equal(total, 1000);
  assert.equal(ep.subsets[0].addresses.length, 550, 'every ready address kept');
  assert.equal(ep.subsets[0].notReadyAddresses.length, 450);
  assert.equal(ep.metadata.annotations[ANNOTATION_OVER_CAPACITY], 'truncated');
  // Exactly 1000: no truncation.
  assert.equal(desiredEndpoints(svc(), pods.slice(0, 1000))!.metadata.annotations, undefined);
});

test('truncateEndpoints: more than capacity ready drops all not-ready, proportionally across subsets', () => {
  const mk = (k: number, p: string) => Array.from({ length: k }, (_, i) => ({ ip: `${p}.${i}`, targetRef: { kind: 'Pod' as const, namespace: 'd', name: `${p}${i}`, uid: `${p}${i}` } }));
  const subsets = [{ addresses: mk(6, 'a'), notReadyAddresses: mk(2, 'x') }, { addresses: mk(4, 'b') }];
  assert.equal(truncateEndpoints(subsets, 5), true);
  assert.equal(subsets[0]!.addresses!.length, 3);
  assert.equal(subsets[0]!.notReadyAddresses, undefined);
  assert.equal(subsets[1]!.addresses!.length, 2);
});

test('endpointsUpToDate and mergeForWrite', () => {
  const desired = desiredEndpoints(svc(), [pod('a', '10.1.0.1')])!;
  const current = mergeForWrite(undefined, desired, '2024-01-01T00:00:00Z');
  current.metadata.resourceVersion = '7';
  current.metadata.annotations.keep = 'me';
  assert.equal(endpointsUpToDate(JSON.parse(JSON.stringify(current)), desired), true);
  const changed = desiredEndpoints(svc(), [pod('a', '10.1.0.1', { ready: false })])!;
  assert.equal(endpointsUpToDate(current, changed), false);
  const w = mergeForWrite(current, changed, '2024-01-02T00:00:00Z');
  assert.equal(w.metadata.resourceVersion, '7');
  assert.equal(w.metadata.annotations.keep, 'me');
  assert.equal(w.metadata.annotations['endpoints.kubernetes.io/last-change-trigger-time'], '2024-01-02T00:00:00Z');
  assert.equal(endpointsUpToDate(current, desiredEndpoints(svc({}, { labels: { l: '1' } }), [pod('a', '10.1.0.1')])!), false, 'labels matter');
});
