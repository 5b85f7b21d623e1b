// Smoke test of the apiserver benchmark code (never of speed): in small mode,
// as `npm run bench -- apiserver` would run it, it prints well-formed result
// lines with every expected metric, and leaves neither its network namespace
// nor its temporary directory behind.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { checkResults, needsNetns, netnsNamed, runBench, tmpEntries } from '../helpers/bench.js';

const benchTmpDirs = () => tmpEntries('k8ts-bench-apiserver-');

const METRICS = [
  ...[1, 10, 50].flatMap((c) => ['create', 'get', 'update', 'list'].flatMap((v) => ['rate', 'p50_ms', 'p99_ms'].map((m) => `${v}_c${c}_${m}`))),
  'watch_fanout_p50_ms',
  'watch_fanout_p99_ms',
  'paced_write_p50_ms',
  'paced_write_p99_ms',
  'rss_idle_mib',
  'rss_loaded_mib',
  'readyz_ms',
];

test('bench apiserver (small) prints well-formed result lines and cleans up', { skip: needsNetns('creates a network namespace'), timeout: 120_000 }, async () => {
  const before = benchTmpDirs();
  const outcome = await runBench(['apiserver'], 90_000);
  const byMetric = checkResults(outcome, 'apiserver', {
    each: (r, line) => assert.ok(Number.isFinite(r.value), `value is not a finite number: ${line}`),
    expect: METRICS,
  });

  for (const c of [1, 10, 50]) {
    const create = byMetric.get(`create_c${c}_rate`)!;
    assert.equal(create.baseline, 'store-sqlite');
    assert.equal(create.unit, '1/s');
    assert.equal(create.clients, c);
  }
  assert.equal(byMetric.get('create_c50_rate')!.target, 1000);
  assert.equal(byMetric.get('paced_write_p99_ms')!.target, 25);
  assert.equal(byMetric.get('rss_idle_mib')!.target, 100);
  assert.equal(byMetric.get('readyz_ms')!.target, 2000);
  assert.equal(byMetric.get('watch_fanout_p99_ms')!.unit, 'ms');

  // Nothing left behind: the bench's namespace and its temporary directory.
  assert.deepEqual(netnsNamed(`k8ts-bench-api-${outcome.pid}`), [], `namespace k8ts-bench-api-${outcome.pid} left behind`);
  const left = [...benchTmpDirs()].filter((d) => !before.has(d));
  assert.deepEqual(left, [], 'temporary directories left behind');
});
