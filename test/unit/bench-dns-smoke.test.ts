// Smoke test of the DNS benchmark code (never of speed): in small mode, as
// `npm run bench -- dns --small` would run it, it prints well-formed result
// lines with every expected metric, baselines and targets where the brief
// puts them, and leaves nothing behind: no network namespace, no process it
// started (unbound, the k8ts DNS server, the API server, the worker), no
// temporary directory.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

import { checkResults, processesMentioning, runBench, tmpEntries } from '../helpers/bench.js';

function skipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (creates network namespaces)';
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return 'needs iproute2 (ip netns)';
  for (const tool of ['dig', 'curl']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `needs ${tool}`;
  }
  // unbound and dnsperf: the bench installs them, but only where apt cannot start the unbound service.
  const tools = ['dnsperf', 'unbound'].every((t) => spawnSync('sh', ['-c', `command -v ${t} || test -x /usr/sbin/${t}`]).status === 0);
  if (!tools && spawnSync('/usr/sbin/policy-rc.d', ['unbound', 'start']).status !== 101) return 'needs unbound and dnsperf (not installable here without starting a service)';
  return false;
}

const PREFIX = 'k8ts-bench-dns-';
const benchTmpDirs = () => tmpEntries(PREFIX);

const benchProcesses = (): number[] => processesMentioning(['_dns-server.js', '_dns-worker.js', PREFIX]);

const EXPECTED = ['qps_cached', 'latency_p50_ms', 'latency_p99_ms', 'rss_mb', 'programming_p50_ms', 'programming_p99_ms'];

test('bench dns (small) prints well-formed result lines and cleans up', { skip: skipReason(), timeout: 240_000 }, async () => {
  const before = benchTmpDirs();
  const procsBefore = new Set(benchProcesses());
  const outcome = await runBench(['dns'], 200_000);
  const { pid } = outcome;
  const got = checkResults(outcome, 'dns', {
    expect: EXPECTED,
    each: (r, line) => {
      assert.ok(Number.isFinite(r.value) && (r.value as number) > 0, `value is not a positive number: ${line}`);
      if ('baseline' in r) assert.equal(r.baseline, 'unbound', line);
    },
  }) as Map<string, Record<string, any>>;

  const qps = got.get('qps_cached')!;
  assert.equal(qps.baseline, 'unbound');
  assert.equal(qps.target, 0.5);
  assert.equal(qps.better, 'higher');
  assert.equal(qps.target_qps, 33_700);
  assert.equal(got.get('latency_p99_ms')!.baseline, 'unbound');
  const rss = got.get('rss_mb')!;
  assert.equal(rss.target, (rss.pods + rss.services) / 1000 + 54, 'CoreDNS sizing formula');
  assert.equal(got.get('programming_p99_ms')!.target, 100);
  assert.equal(got.get('programming_p99_ms')!.failures, 0, 'every created Service became resolvable');

  // Nothing left behind.
  const ns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  assert.ok(!ns.split('\n').some((l) => l.startsWith(`${PREFIX}${pid}`)), `namespace ${PREFIX}${pid} left behind:\n${ns}`);
  assert.deepEqual(benchProcesses().filter((p) => !procsBefore.has(p)), [], 'bench processes left running');
  assert.deepEqual([...benchTmpDirs()].filter((d) => !before.has(d)), [], 'temporary directories left behind');
});
