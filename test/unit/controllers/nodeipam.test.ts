import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CidrSet, RangeAllocator, podCidrsOf } from '../../../src/controllers/nodeipam/allocator.js';

test('CidrSet: sequential /24s from the cluster CIDR', () => {
  const s = new CidrSet('10.244.0.0/16', 24);
  assert.equal(s.maxSubnets, 256);
  assert.deepEqual([s.allocateNext(), s.allocateNext(), s.allocateNext()], ['10.244.0.0/24', '10.244.1.0/24', '10.244.2.0/24']);
  const t = new CidrSet('10.0.0.0/8', 20);
  assert.deepEqual([t.allocateNext(), t.allocateNext()], ['10.0.0.0/20', '10.0.16.0/20']);
});

test('CidrSet: invalid mask sizes are refused', () => {
  assert.throws(() => new CidrSet('10.244.0.0/16', 8));
  assert.throws(() => new CidrSet('10.0.0.0/8', 26), /16 bits/);
  assert.throws(() => new CidrSet('nonsense', 24));
});

test('CidrSet: a released subnet is reused once the range wraps; exhaustion gives undefined', () => {
  const s = new CidrSet('10.244.0.0/22', 24);
  const all = [s.allocateNext(), s.allocateNext(), s.allocateNext(), s.allocateNext()];
  assert.deepEqual(all, ['10.244.0.0/24', '10.244.1.0/24', '10.244.2.0/24', '10.244.3.0/24']);
  assert.equal(s.allocateNext(), undefined);
  s.release('10.244.1.0/24');
  assert.equal(s.allocateNext(), '10.244.1.0/24');
  assert.equal(s.allocateNext(), undefined);
});

test('CidrSet: occupied subnets are skipped; foreign ones are refused', () => {
  const s = new CidrSet('10.244.0.0/16', 24);
  assert.ok(s.occupy('10.244.0.0/24'));
  assert.ok(s.occupy('10.244.2.0/24'));
  assert.equal(s.occupy('10.245.0.0/24'), false, 'outside the cluster CIDR');
  assert.equal(s.occupy('10.244.4.0/23'), false, 'another mask size');
  assert.equal(s.allocateNext(), '10.244.1.0/24');
  assert.equal(s.allocateNext(), '10.244.3.0/24');
});

test('RangeAllocator: existing assignments kept across a restart, new nodes get free subnets, never a duplicate', () => {
  const a = new RangeAllocator('10.244.0.0/16', 24);
  // As at start: occupy what the nodes already hold.
  assert.ok(a.occupy({ name: 'n0', podCIDRs: ['10.244.0.0/24'] }));
  assert.ok(a.occupy({ name: 'n1', podCIDRs: ['10.244.1.0/24'] }));
  assert.equal(a.occupy({ name: 'n9', podCIDRs: ['10.244.1.0/24'] }), false, 'another node holds it');
  assert.deepEqual(a.decide({ name: 'n0', podCIDRs: ['10.244.0.0/24'] }), { type: 'none' });
  assert.deepEqual(a.decide({ name: 'n2', podCIDRs: [] }), { type: 'assign', cidr: '10.244.2.0/24' });
  // A retried decision (the write failed) hands the same subnet to the same node.
  assert.deepEqual(a.decide({ name: 'n2', podCIDRs: [] }), { type: 'assign', cidr: '10.244.2.0/24' });
  assert.deepEqual(a.decide({ name: 'n3', podCIDRs: [] }), { type: 'assign', cidr: '10.244.3.0/24' });
  const seen = new Set<string>();
  for (let i = 4; i < 256; i++) {
    const d = a.decide({ name: `n${i}`, podCIDRs: [] });
    assert.equal(d.type, 'assign');
    if (d.type === 'assign') {
      assert.ok(!seen.has(d.cidr), `duplicate ${d.cidr}`);
      seen.add(d.cidr);
    }
  }
  assert.deepEqual(a.decide({ name: 'late', podCIDRs: [] }), { type: 'exhausted' });
  // Deleting a node releases its subnet for the next node.
  assert.equal(a.release('n1'), '10.244.1.0/24');
  assert.equal(a.release('n1'), undefined, 'released once');
  assert.deepEqual(a.decide({ name: 'late', podCIDRs: [] }), { type: 'assign', cidr: '10.244.1.0/24' });
  assert.equal(a.cidrOf('late'), '10.244.1.0/24');
});

test('RangeAllocator: a release by a node that does not hold the subnet does nothing', () => {
  const a = new RangeAllocator('10.244.0.0/23', 24);
  a.occupy({ name: 'a', podCIDRs: ['10.244.0.0/24'] });
  assert.equal(a.release('b'), undefined);
  assert.deepEqual(a.decide({ name: 'b', podCIDRs: [] }), { type: 'assign', cidr: '10.244.1.0/24' });
  assert.deepEqual(a.decide({ name: 'c', podCIDRs: [] }), { type: 'exhausted' });
});

test('podCidrsOf: podCIDRs, else the single podCIDR', () => {
  assert.deepEqual(podCidrsOf({ spec: { podCIDRs: ['10.0.0.0/24'], podCIDR: '10.0.0.0/24' } }), ['10.0.0.0/24']);
  assert.deepEqual(podCidrsOf({ spec: { podCIDR: '10.0.1.0/24' } }), ['10.0.1.0/24']);
  assert.deepEqual(podCidrsOf({ spec: {} }), []);
  assert.deepEqual(podCidrsOf({}), []);
});
