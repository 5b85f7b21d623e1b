// Smoke test of the benchmark code (never of speed): the store bench runs in
// small mode as `npm run bench` would, and prints well-formed result lines for
// both backends; the runner rejects an unknown bench name clearly.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { haveEtcd } from '../helpers/etcd.js';

import { runBench } from '../helpers/bench.js';

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
  const { code, stdout, stderr } = await runBench(['store'], 25_000);
  assert.equal(code, 0, `bench exited with ${code}\nstderr:\n${stderr}`);
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  assert.ok(lines.length > 0, `no result lines; stderr:\n${stderr}`);
  const seen = new Set<string>();
  for (const line of lines) {
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line);
    } catch {
      assert.fail(`stdout line is not JSON: ${line}`);
    }
    assert.equal(r.bench, 'store', line);
    assert.equal(typeof r.metric, 'string', line);
    assert.equal(typeof r.unit, 'string', line);
    assert.equal(typeof r.value, 'number', line);
    assert.ok(r.better === 'higher' || r.better === 'lower', line);
    assert.ok(r.backend === 'sqlite' || r.backend === 'etcd', line);
    if ('baseline' in r) {
      assert.equal(typeof r.baseline, 'string', line);
      assert.equal(typeof r.baseline_value, 'number', line);
      assert.equal(typeof r.ratio, 'number', line);
    }
    if ('target' in r) assert.equal(typeof r.target, 'number', line);
    seen.add(`${r.backend} ${r.metric}`);
  }
  for (const backend of ['sqlite', 'etcd']) {
    for (const metric of METRICS) assert.ok(seen.has(`${backend} ${metric}`), `missing ${metric} for ${backend}; got:\n${lines.join('\n')}`);
  }
  const sqliteCreate = lines.map((l) => JSON.parse(l)).find((r) => r.backend === 'sqlite' && r.metric === 'create_rate');
  assert.equal(sqliteCreate.baseline, 'raw-better-sqlite3');
  assert.equal(sqliteCreate.target, 0.5);
});

test('bench runner rejects an unknown bench and lists the available ones', async () => {
  const { code, stdout, stderr } = await runBench(['no-such-bench'], 10_000);
  assert.equal(code, 2);
  assert.equal(stdout, '');
  assert.match(stderr, /unknown bench "no-such-bench"; available: .*\bstore\b/);
});
