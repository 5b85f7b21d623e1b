// Smoke test of the benchmark code (never of speed): the store bench runs in
// small mode as `npm run bench` would, and prints well-formed result lines for
// both backends; the runner rejects an unknown bench name clearly.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { haveEtcd } from '../helpers/etcd.js';

import { type BenchResult, checkResults, runBench } from '../helpers/bench.js';

const METRICS = [
  'create_rate',
  'update_rate',
  'create_p50_ms',
  'create_p99_ms',
  'update_p50_ms',
  'update_p99_ms',
  'list_ms',
  'watch_p50_ms',
  'watch_p99_ms',
];

test('bench store (small) prints well-formed result lines for sqlite and etcd', { skip: haveEtcd() ? false : 'etcd is not installed' }, async () => {
  const results = checkResults(await runBench(['store'], 25_000), 'store', {
    each: (r, line) => assert.ok(r.backend === 'sqlite' || r.backend === 'etcd', line),
    key: (r: BenchResult) => `${r.backend} ${r.metric}`,
    expect: ['sqlite', 'etcd'].flatMap((backend) => METRICS.map((metric) => `${backend} ${metric}`)),
  });
  const sqliteCreate = results.get('sqlite create_rate')!;
  assert.equal(sqliteCreate.baseline, 'raw-better-sqlite3');
  assert.equal(sqliteCreate.target, 0.5);
});

test('bench runner rejects an unknown bench and lists the available ones', async () => {
  const { code, stdout, stderr } = await runBench(['no-such-bench'], 10_000);
  assert.equal(code, 2);
  assert.equal(stdout, '');
  assert.match(stderr, /unknown bench "no-such-bench"; available: .*\bstore\b/);
});
