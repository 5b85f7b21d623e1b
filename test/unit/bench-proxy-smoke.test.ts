// Smoke test of the proxy benchmark code (never of speed): in small mode, as
// `npm run bench -- proxy --small` would run it, it prints well-formed result
// lines with every expected metric for every backend, and leaves nothing
// behind: no network namespace (so no nft table or iptables chain either),
// no process it started, no temporary directory.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

import { checkResults, needsNetns, processesMentioning, runBench, tmpEntries } from '../helpers/bench.js';

function skipReason(): string | false {
  const netns = needsNetns('creates network namespaces');
  if (netns) return netns;
  for (const tool of ['nft', 'iptables-restore', 'curl']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `needs ${tool}`;
  }
  return false;
}

const benchTmpDirs = () => tmpEntries('k8ts-bench-proxy-');

const benchProcesses = (): number[] => processesMentioning(['_proxy-worker.js', '_proxy-pod.js', 'k8ts-bench-proxy-']);

const KERNEL = ['nftables', 'iptables'];
const EXPECTED: Array<[string, string[]]> = [
  ...['sync_full_1k_ms', 'sync_full_10k_ms', 'sync_incremental_1k_ms', 'sync_incremental_10k_ms'].map((m): [string, string[]] => [m, KERNEL]),
  ...['100svc', '1ksvc', '10ksvc'].flatMap((s) => [50, 99].map((p): [string, string[]] => [`connect_${s}_p${p}_ms`, KERNEL])),
  ['throughput_mibps', [...KERNEL, 'userspace']],
  ['programming_p50_ms', ['nftables']],
  ['programming_p99_ms', ['nftables']],
];

test('bench proxy (small) prints well-formed result lines and cleans up', { skip: skipReason(), timeout: 120_000 }, async () => {
  const before = benchTmpDirs();
  const procsBefore = new Set(benchProcesses());
  const outcome = await runBench(['proxy'], 90_000);
  const { pid } = outcome;
  const got = checkResults(outcome, 'proxy', {
    key: (r) => `${r.metric}/${r.backend}`,
    expect: EXPECTED.flatMap(([metric, backends]) => backends.map((b) => `${metric}/${b}`)),
    each: (r, line) => {
      assert.equal(typeof r.backend, 'string', line);
      assert.ok(Number.isFinite(r.value), `value is not a finite number: ${line}`);
    },
  });

  // Baselines and targets where the brief puts them.
  for (const b of KERNEL) {
    const t = got.get(`throughput_mibps/${b}`)!;
    assert.equal(t.baseline, 'direct-pod');
    assert.equal(t.target, 0.9);
    assert.equal(got.get(`connect_10ksvc_p99_ms/${b}`)!.baseline, 'direct-pod');
  }
  assert.equal(got.get('throughput_mibps/userspace')!.baseline, 'direct-pod');
  assert.equal(got.get('sync_incremental_10k_ms/nftables')!.target, 50);
  assert.equal(got.get('sync_incremental_10k_ms/nftables')!.baseline, 'iptables');
  assert.equal(got.get('sync_full_10k_ms/nftables')!.target, 2000);
  assert.equal(got.get('programming_p99_ms/nftables')!.target, 100);
  assert.equal(got.get('programming_p99_ms/nftables')!.failures, 0, 'every EndpointSlice change reached the data plane');

  // Nothing left behind: namespaces (and with them every nft table and
  // iptables chain), processes, temporary directories.
  const ns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  assert.ok(!ns.split('\n').some((l) => l.startsWith(`k8ts-bench-proxy-${pid}`)), `namespace k8ts-bench-proxy-${pid}* left behind:\n${ns}`);
  const procs = benchProcesses().filter((p) => !procsBefore.has(p));
  assert.deepEqual(procs, [], 'bench processes left running');
  const left = [...benchTmpDirs()].filter((d) => !before.has(d));
  assert.deepEqual(left, [], 'temporary directories left behind');
  // The host's own namespace got no bench table.
  const tables = spawnSync('nft', ['list', 'tables'], { encoding: 'utf8' }).stdout ?? '';
  assert.ok(!/k8ts-bench/.test(tables), `nft table left in the host namespace:\n${tables}`);
});
