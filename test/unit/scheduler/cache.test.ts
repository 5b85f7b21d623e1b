import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Obj, numFeasibleNodesToFind, schedule, scheduleOnNodeInfos } from '../../../src/scheduler/core.js';
import { SchedulerCache } from '../../../src/scheduler/cache.js';

const node = (name: string, cpu = '2'): Obj => ({
  metadata: { name },
  spec: {},
  status: { allocatable: { cpu, memory: '4Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] },
});
const pod = (name: string, cpu = '500m', nodeName?: string, phase?: string): Obj => ({
  metadata: { name, namespace: 'default', uid: `uid-${name}` },
  spec: { nodeName, containers: [{ name: 'c', image: 'x', resources: { requests: { cpu } } }] },
  status: phase ? { phase } : {},
});

test('numFeasibleNodesToFind: all below 100 nodes, then the adaptive percentage (min 5%, at least 100)', () => {
  assert.equal(numFeasibleNodesToFind(50), 50);
  assert.equal(numFeasibleNodesToFind(100), 100);
  assert.equal(numFeasibleNodesToFind(1000), 420);
  assert.equal(numFeasibleNodesToFind(5000), 500);
  assert.equal(numFeasibleNodesToFind(10_000), 500);
  assert.equal(numFeasibleNodesToFind(200), 100);
});

test('cache: bound pods count on their node; assumed pods too until forgotten; finished and deleted pods do not', () => {
  const c = new SchedulerCache();
  c.setNode(node('b'));
  c.setNode(node('a'));
  assert.deepEqual(
    c.nodeList().map((n) => n.name),
    ['a', 'b'],
  );
  c.setPod('default/p1', pod('p1', '1', 'a'));
  c.assume('default/p2', pod('p2', '500m'), 'b');
  assert.ok(c.isAssumed('default/p2'));
  const [a, b] = c.nodeList();
  assert.equal(a!.reqCpu, 1000);
  assert.equal(b!.reqCpu, 500);
  // The informer still shows p2 unbound: the assumption stays.
  c.setPod('default/p2', pod('p2', '500m'));
  assert.equal(b!.reqCpu, 500);
  // Seen bound: no longer assumed, still counted once.
  c.setPod('default/p2', pod('p2', '500m', 'b'));
  assert.ok(!c.isAssumed('default/p2'));
  assert.equal(b!.reqCpu, 500);
  assert.equal(b!.pods.size, 1);
  // Finished: freed.
  c.setPod('default/p1', pod('p1', '1', 'a', 'Succeeded'));
  assert.equal(a!.reqCpu, 0);
  c.assume('default/p3', pod('p3'), 'a');
  c.forget('default/p3');
  assert.equal(a!.pods.size, 0);
  c.removePod('default/p2');
  assert.equal(b!.pods.size, 0);
  c.removeNode('a');
  assert.deepEqual(
    c.nodeList().map((n) => n.name),
    ['b'],
  );
});

test('scheduling on the cache picks what schedule() picks on the same state', () => {
  const nodes = [node('n1', '2'), node('n2', '4'), node('n3', '1')];
  const bound = [pod('x1', '1', 'n2'), pod('x2', '500m', 'n1')];
  const c = new SchedulerCache();
  for (const n of nodes) c.setNode(n);
  for (const p of bound) c.setPod(`default/${p.metadata.name}`, p);
  const onNodes: Record<string, Obj[]> = {};
  for (const p of bound) (onNodes[p.spec.nodeName] ??= []).push(p);
  for (let i = 0; i < 4; i++) {
    const p = pod(`new${i}`, '700m');
    const viaCache = scheduleOnNodeInfos(p, c.nodeList(), { tieBreak: i });
    const direct = schedule(p, nodes, onNodes, { tieBreak: i });
    assert.deepEqual({ ...viaCache, processed: undefined }, { ...direct, processed: undefined });
  }
  const tooBig = pod('huge', '8');
  const r = scheduleOnNodeInfos(tooBig, c.nodeList());
  assert.ok('unschedulable' in r);
  assert.equal((r as { unschedulable: string }).unschedulable, (schedule(tooBig, nodes, onNodes) as { unschedulable: string }).unschedulable);
});

test('sampling: a cycle stops after numToFind feasible nodes and reports how many it examined', () => {
  const c = new SchedulerCache();
  for (let i = 0; i < 300; i++) c.setNode(node(`n${String(i).padStart(3, '0')}`));
  const list = c.nodeList();
  const r = scheduleOnNodeInfos(pod('p'), list, { startIndex: 250, numToFind: 100, withScores: false });
  assert.equal(r.processed, 100);
  assert.ok('node' in r);
  // Examined n250..n299 then n000..n049.
  const idx = Number((r as { node: string }).node.slice(1));
  assert.ok(idx >= 250 || idx < 50, `picked ${idx}`);
});
