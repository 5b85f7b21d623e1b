// Smoke test of the apiserver benchmark code (never of speed): in small mode,
// as `npm run bench -- apiserver` would run it, it prints well-formed result
// lines with every expected metric, and leaves neither its network namespace
// nor its temporary directory behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { test } from 'node:test';

import { ROOT as root, runBench } from '../helpers/bench.js';

function canUseNetns(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (creates a network namespace)';
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return 'needs iproute2 (ip netns)';
  return false;
}

const benchTmpDirs = () => new Set(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('k8ts-bench-apiserver-')));

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

test('bench apiserver (small) prints well-formed result lines and cleans up', { skip: canUseNetns(), timeout: 120_000 }, async () => {
  const before = benchTmpDirs();
  const { code, pid, stdout, stderr } = await runBench(['apiserver'], 90_000);
  assert.equal(code, 0, `bench exited with ${code}\nstderr:\n${stderr}`);
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  assert.ok(lines.length > 0, `no result lines; stderr:\n${stderr}`);

  const byMetric = new Map<string, Record<string, unknown>>();
  for (const line of lines) {
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line);
    } catch {
      assert.fail(`stdout line is not JSON: ${line}`);
    }
    assert.equal(r.bench, 'apiserver', line);
    assert.equal(typeof r.metric, 'string', line);
    assert.equal(typeof r.unit, 'string', line);
    assert.equal(typeof r.value, 'number', line);
    assert.ok(Number.isFinite(r.value), `value is not a finite number: ${line}`);
    assert.ok(r.better === 'higher' || r.better === 'lower', line);
    if ('baseline' in r) {
      assert.equal(typeof r.baseline, 'string', line);
      assert.equal(typeof r.baseline_value, 'number', line);
      assert.equal(typeof r.ratio, 'number', line);
    }
    if ('target' in r) assert.equal(typeof r.target, 'number', line);
    assert.ok(!byMetric.has(r.metric as string), `metric printed twice: ${r.metric}`);
    byMetric.set(r.metric as string, r);
  }
  for (const m of METRICS) assert.ok(byMetric.has(m), `missing ${m}; got:\n${lines.join('\n')}`);

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
  const ns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  assert.ok(!ns.split('\n').some((l) => l.startsWith(`k8ts-bench-api-${pid}`)), `namespace k8ts-bench-api-${pid} left behind:\n${ns}`);
  const left = [...benchTmpDirs()].filter((d) => !before.has(d));
  assert.deepEqual(left, [], 'temporary directories left behind');
});
