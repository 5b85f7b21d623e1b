// Service cluster IP and node port allocation through the REST storage: no
// duplicates under concurrent creates, releases on delete and type change,
// and claims that outlive a restart (a new allocator over the same store).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lookupResource } from '../../../src/api/registry.js';
import { NodePortAllocator, ServiceIPAllocator } from '../../../src/apiserver/allocator.js';
import { type RequestContext, ResourceStorage } from '../../../src/apiserver/rest.js';
import { ApiError } from '../../../src/apiserver/status.js';
import { serviceStrategy } from '../../../src/apiserver/strategies.js';
import { openMemoryStore } from '../../../src/storage/memory/memory-store.js';
import type { Store } from '../../../src/storage/types.js';

const ctx = (): RequestContext => ({ dryRun: false, warnings: [] });

function services(store: Store, cidr = '10.96.0.0/24', ports: [number, number] = [30000, 30099]) {
  const ips = new ServiceIPAllocator(store, cidr);
  const np = new NodePortAllocator(store, ...ports);
  return new ResourceStorage(lookupResource('', 'services')!, { store, cacheIsConsistent: true, namespacePhase: async () => 'Active' }, serviceStrategy(ips, np));
}

const svc = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: { type: 'NodePort', selector: { app: name }, ports: [{ port: 80 }], ...spec },
});

test('concurrent creates never share a cluster IP or a node port', async () => {
  const store = openMemoryStore();
  const s = services(store);
  const made = await Promise.all(Array.from({ length: 80 }, (_, i) => s.create('default', svc(`s${i}`), ctx())));
  const ips = made.map((o) => o.spec.clusterIP);
  const ports = made.map((o) => o.spec.ports[0].nodePort);
  assert.equal(new Set(ips).size, 80);
  assert.equal(new Set(ports).size, 80);
  for (const ip of ips) assert.match(ip, /^10\.96\.0\.\d+$/);
  for (const p of ports) assert.ok(p >= 30000 && p <= 30099);
  // Dynamic allocation avoids the low band kept for requests (.10 is cluster DNS).
  assert.ok(!ips.includes('10.96.0.10'));
});

test('requested values are honoured if free, refused with 422 if taken or out of range', async () => {
  const store = openMemoryStore();
  const s = services(store);
  const a = await s.create('default', svc('a', { clusterIP: '10.96.0.10', ports: [{ port: 53, nodePort: 30053 }] }), ctx());
  assert.equal(a.spec.clusterIP, '10.96.0.10');
  assert.deepEqual(a.spec.clusterIPs, ['10.96.0.10']);
  const taken = await s.create('default', svc('b', { clusterIP: '10.96.0.10' }), ctx()).catch((e) => e);
  assert.ok(taken instanceof ApiError && taken.code === 422);
  assert.match(taken.message, /spec\.clusterIPs: Invalid value: \["10\.96\.0\.10"\]: failed to allocate IP 10\.96\.0\.10: provided IP is already allocated/);
  const range = await s.create('default', svc('c', { clusterIP: '10.97.0.1' }), ctx()).catch((e) => e);
  assert.match(range.message, /the provided IP \(10\.97\.0\.1\) is not in the valid range\. The range of valid IPs is 10\.96\.0\.0\/24/);
  const port = await s.create('default', svc('d', { ports: [{ port: 80, nodePort: 30053 }] }), ctx()).catch((e) => e);
  assert.match(port.message, /spec\.ports\[0\]\.nodePort: Invalid value: 30053: provided port is already allocated/);
  // The failed creates left no claims behind: d's would-be cluster IP is free again.
  assert.equal((await s.list({})).items.length, 1);
});

test('delete and type changes release what the service no longer holds; claims survive a restart', async () => {
  const store = openMemoryStore();
  let s = services(store);
  const a = await s.create('default', svc('a', { ports: [{ port: 80, nodePort: 30080 }] }), ctx());
  // NodePort -> ClusterIP drops and releases the node port, keeps the cluster IP.
  const b = await s.guaranteedUpdate('default', 'a', ctx(), (cur) => ({ ...cur, spec: { ...cur.spec, type: 'ClusterIP' } }));
  assert.equal(b.spec.ports[0].nodePort, undefined);
  assert.equal(b.spec.clusterIP, a.spec.clusterIP);
  await s.create('default', svc('other', { ports: [{ port: 80, nodePort: 30080 }] }), ctx());
  // A "restart": new allocators and storage over the same store still see every claim.
  s = services(store);
  const dup = await s.create('default', svc('dup', { clusterIP: a.spec.clusterIP }), ctx()).catch((e) => e);
  assert.match(dup.message, /provided IP is already allocated/);
  await s.delete('default', 'a', {}, ctx());
  const reuse = await s.create('default', svc('reuse', { clusterIP: a.spec.clusterIP }), ctx());
  assert.equal(reuse.spec.clusterIP, a.spec.clusterIP);
});
