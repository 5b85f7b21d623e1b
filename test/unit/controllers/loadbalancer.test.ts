import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LB_IPS_ANNOTATION, type Obj, inPools, parsePools, planLoadBalancers, requestedIp } from '../../../src/controllers/loadbalancer/plan.js';

let n = 0;
function svc(name: string, o: { type?: string; ip?: string; want?: string; annotation?: string; cls?: string; age?: number } = {}): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, o.age ?? n++)).toISOString(),
      ...(o.annotation ? { annotations: { [LB_IPS_ANNOTATION]: o.annotation } } : {}),
    },
    spec: { type: o.type ?? 'LoadBalancer', ...(o.want ? { loadBalancerIP: o.want } : {}), ...(o.cls ? { loadBalancerClass: o.cls } : {}) },
    status: { loadBalancer: o.ip ? { ingress: [{ ip: o.ip, ipMode: 'VIP' }] } : {} },
  };
}
const ips = (p: ReturnType<typeof planLoadBalancers>) => Object.fromEntries(p.updates.map((u) => [u.svc.metadata.name, u.ingress.map((i) => i.ip).join(',')]));
const POOL = parsePools(['192.0.2.200/30']);

test('parsePools: CIDRs, ranges, comma-separated values; bad ones throw', () => {
  const p = parsePools(['10.0.0.0/31,10.0.1.5-10.0.1.7', ' 10.0.2.9 ']);
  assert.deepEqual(p.length, 3);
  assert.ok(inPools(p, '10.0.0.1'));
  assert.ok(!inPools(p, '10.0.0.2'));
  assert.ok(inPools(p, '10.0.1.7'));
  assert.ok(!inPools(p, '10.0.1.8'));
  assert.ok(inPools(p, '10.0.2.9'));
  assert.throws(() => parsePools(['10.0.0.9-10.0.0.1']));
  assert.throws(() => parsePools(['10.0.0.300/24']));
  assert.throws(() => parsePools(['nonsense']));
});

test('each LoadBalancer service gets the next free address, in creation order, with ipMode VIP', () => {
  const p = planLoadBalancers([svc('b', { age: 2 }), svc('a', { age: 1 }), svc('c', { type: 'ClusterIP' }), svc('d', { cls: 'example.com/lb' })], POOL);
  assert.deepEqual(ips(p), { a: '192.0.2.200', b: '192.0.2.201' });
  assert.deepEqual(p.updates[0]!.ingress, [{ ip: '192.0.2.200', ipMode: 'VIP' }]);
  assert.deepEqual(
    p.events.map((e) => `${e.svc.metadata.name} ${e.reason} ${e.message}`),
    ['a IPAllocated Assigned IP ["192.0.2.200"]', 'b IPAllocated Assigned IP ["192.0.2.201"]'],
  );
});

test('addresses already held are kept, never given twice (state rebuilt from status)', () => {
  const p = planLoadBalancers([svc('a', { ip: '192.0.2.201', age: 1 }), svc('b', { age: 2 }), svc('c', { ip: '192.0.2.200', age: 3 })], POOL);
  assert.deepEqual(ips(p), { b: '192.0.2.202' });
  assert.equal(p.allocated.get('192.0.2.201'), 'default/a');
  // Nothing to do the second time.
  const q = planLoadBalancers([svc('a', { ip: '192.0.2.201' })], POOL);
  assert.deepEqual(q.updates, []);
  assert.deepEqual(q.events, []);
  // A clash (two services with one address): the older keeps it.
  const r = planLoadBalancers([svc('x', { ip: '192.0.2.200', age: 5 }), svc('y', { ip: '192.0.2.200', age: 4 })], POOL);
  assert.deepEqual(ips(r), { x: '192.0.2.201' });
});

test('requested addresses: honoured inside the pool and free, else AllocationFailed and pending', () => {
  const p = planLoadBalancers(
    [
      svc('a', { want: '192.0.2.202', age: 1 }),
      svc('b', { annotation: '192.0.2.203', age: 2 }),
      svc('c', { want: '198.51.100.1', age: 3 }),
      svc('d', { want: '192.0.2.202', age: 4 }),
      svc('e', { want: '192.0.2.200', annotation: '192.0.2.200', age: 5 }),
      svc('f', { age: 6 }),
    ],
    POOL,
  );
  assert.deepEqual(ips(p), { a: '192.0.2.202', b: '192.0.2.203', f: '192.0.2.200' });
  const failed = p.events.filter((e) => e.reason === 'AllocationFailed').map((e) => `${e.svc.metadata.name}: ${e.message}`);
  assert.deepEqual(failed, [
    'c: Failed to allocate IP for "default/c": "198.51.100.1" is not allowed in config',
    'd: Failed to allocate IP for "default/d": address "192.0.2.202" is already in use by default/a',
    `e: Failed to allocate IP for "default/e": service can not have both ${LB_IPS_ANNOTATION} and svc.Spec.LoadBalancerIP`,
  ]);
  assert.equal(p.events.find((e) => e.svc.metadata.name === 'c')!.type, 'Warning');
  assert.deepEqual(requestedIp(svc('z', { annotation: '2001:db8::1, 192.0.2.9' })), { ip: '192.0.2.9' });
  // A held address that no longer matches the request moves to the request.
  assert.deepEqual(ips(planLoadBalancers([svc('m', { ip: '192.0.2.200', want: '192.0.2.201' })], POOL)), { m: '192.0.2.201' });
});

test('exhausted pool: pending with AllocationFailed; freed addresses go to the waiting service', () => {
  const four = [0, 1, 2, 3].map((i) => svc(`s${i}`, { ip: `192.0.2.20${i}`, age: i }));
  const p = planLoadBalancers([...four, svc('late', { age: 9 })], POOL);
  assert.deepEqual(ips(p), {});
  assert.deepEqual(p.events.map((e) => `${e.reason} ${e.message}`), ['AllocationFailed Failed to allocate IP for "default/late": no available IPs']);
  // s1 is deleted: the next sync gives its address to `late`.
  const q = planLoadBalancers([four[0]!, four[2]!, four[3]!, svc('late', { age: 9 })], POOL);
  assert.deepEqual(ips(q), { late: '192.0.2.201' });
});

test('type changed away from LoadBalancer frees the address; outside-pool addresses are replaced', () => {
  const p = planLoadBalancers([svc('a', { type: 'ClusterIP', ip: '192.0.2.200' }), svc('b', { age: 99 })], POOL);
  assert.deepEqual(ips(p), { a: '', b: '192.0.2.200' });
  const q = planLoadBalancers([svc('c', { ip: '10.9.9.9' })], POOL);
  assert.deepEqual(ips(q), { c: '192.0.2.200' });
  // Services of another loadBalancerClass are left alone.
  assert.deepEqual(planLoadBalancers([svc('o', { cls: 'x.io/lb', ip: '10.1.1.1' })], POOL).updates, []);
});

test('no pools: nothing at all', () => {
  const p = planLoadBalancers([svc('a')], parsePools([]));
  assert.deepEqual(p.updates, []);
  assert.deepEqual(p.events, []);
});
