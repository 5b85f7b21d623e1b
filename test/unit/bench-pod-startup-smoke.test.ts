// Smoke test of the pod-startup benchmark code (never of speed): in small mode,
// as `npm run bench -- pod-startup --small` runs it (3 real demoapp pods), it
// prints well-formed result lines with every expected metric, and leaves no
// network namespace, pod process, cgroup or temporary directory behind.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';

import { checkResults, needsNetns, netnsNamed, runBench, tmpEntries } from '../helpers/bench.js';
import { cgroupDirs } from '../helpers/host.js';

function canRun(): string | false {
  const netns = needsNetns('network namespaces, pods');
  if (netns) return netns;
  if (!['/usr/lib/cni/bridge', '/opt/cni/bin/bridge'].some((f) => fs.existsSync(f))) return 'needs the CNI plugins (bridge, host-local)';
  return false;
}

const benchTmpDirs = () => tmpEntries('k8ts-bench-pod-startup-');

const METRICS = [
  'pod_startup_p50_ms',
  'pod_startup_p99_ms',
  'pods_all_running_ms',
  'sandbox_setup_p50_ms',
  'sandbox_setup_p99_ms',
  'teardown_ms',
  'rss_running_mib',
  'first_pod_startup_ms',
];

const cgroupsNamed = (prefix: string): string[] => cgroupDirs((n) => n.startsWith(prefix));

test('bench pod-startup (small) prints well-formed result lines and cleans up', { skip: canRun(), timeout: 200_000 }, async () => {
  const before = benchTmpDirs();
  const outcome = await runBench(['pod-startup'], 170_000);
  const byMetric = checkResults(outcome, 'pod-startup', {
    each: (r, line) => {
      assert.ok(Number.isFinite(r.value) && (r.value as number) > 0, `value is not a positive number: ${line}`);
      assert.equal(r.better, 'lower', line);
    },
    expect: METRICS,
  });
  for (const m of ['pod_startup_p50_ms', 'pod_startup_p99_ms', 'sandbox_setup_p50_ms', 'sandbox_setup_p99_ms']) assert.equal(byMetric.get(m)!.baseline, 'netns-add+cni-add', m);
  assert.equal(byMetric.get('pod_startup_p99_ms')!.target, 1000);
  assert.equal(byMetric.get('pod_startup_p50_ms')!.pods, 3);
  assert.equal(byMetric.get('sandbox_setup_p50_ms')!.samples, 3);
  assert.equal(byMetric.get('teardown_ms')!.baseline, 'cni-del+netns-del total');
  assert.equal(byMetric.get('rss_running_mib')!.unit, 'MiB');

  // Nothing left behind: namespaces (the bench's and its pods'), cgroups, the temporary directory.
  const pid = outcome.pid;
  assert.deepEqual(netnsNamed(`k8ts-bench-pods-${pid}`), [], `namespaces of k8ts-bench-pods-${pid} left behind`);
  assert.deepEqual(cgroupsNamed(`k8ts-bench-pods-${pid}`), [], 'cgroups left behind');
  assert.deepEqual([...benchTmpDirs()].filter((d) => !before.has(d)), [], 'temporary directories left behind');
});
