// Smoke test of the control-plane benchmark code (never of speed): in small
// mode, as `npm run bench -- control-plane` would run it, it prints
// well-formed result lines with every expected metric, and leaves neither its
// network namespace nor its temporary directory behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

import { checkResults, needsNetns, runBench, tmpEntries } from '../helpers/bench.js';

function canRun(): string | false {
  const netns = needsNetns('creates a network namespace');
  if (netns) return netns;
  if (spawnSync('sh', ['-c', 'command -v kubectl']).status !== 0) return 'needs kubectl';
  return false;
}

const benchTmpDirs = () => tmpEntries('k8ts-bench-control-plane-');

const METRICS = [
  ...['1000', '5000'].flatMap((n) => [`sched_rate_${n}_nodes`, `api_create_bind_rate_${n}_nodes`, `sched_core_rate_${n}_nodes`]),
  'rss_5000_nodes_mib',
  'deployment_ready_ms',
  'endpoints_propagation_p50_ms',
  'endpoints_propagation_p99_ms',
  'endpointslice_propagation_p50_ms',
  'endpointslice_propagation_p99_ms',
];

test('bench control-plane (small) prints well-formed result lines and cleans up', { skip: canRun(), timeout: 180_000 }, async () => {
  const before = benchTmpDirs();
  const outcome = await runBench(['control-plane'], 150_000);
  const { pid } = outcome;
  const byMetric = checkResults(outcome, 'control-plane', {
    expect: METRICS,
    each: (r, line) => assert.ok(Number.isFinite(r.value), `value is not a finite number: ${line}`),
  });

  for (const n of ['1000', '5000']) {
    const s = byMetric.get(`sched_rate_${n}_nodes`)!;
    assert.equal(s.unit, '1/s');
    assert.equal(s.target, 500);
    assert.equal(s.baseline, 'api-create-bind');
    assert.equal(s.baseline_value, byMetric.get(`api_create_bind_rate_${n}_nodes`)!.value);
    assert.equal(typeof s.nodes, 'number');
    assert.equal(typeof s.pods, 'number');
  }
  assert.equal(byMetric.get('endpoints_propagation_p99_ms')!.target, 50);
  assert.equal(byMetric.get('endpointslice_propagation_p99_ms')!.target, 50);
  assert.equal(byMetric.get('rss_5000_nodes_mib')!.unit, 'MiB');
  assert.equal(byMetric.get('rss_5000_nodes_mib')!.baseline, 'idle-server');
  assert.equal(byMetric.get('deployment_ready_ms')!.unit, 'ms');

  // Nothing left behind: the bench's namespace and its temporary directory.
  const ns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  assert.ok(!ns.split('\n').some((l) => l.startsWith(`k8ts-bench-cp-${pid}`)), `namespace k8ts-bench-cp-${pid} left behind:\n${ns}`);
  const left = [...benchTmpDirs()].filter((d) => !before.has(d));
  assert.deepEqual(left, [], 'temporary directories left behind');
});
