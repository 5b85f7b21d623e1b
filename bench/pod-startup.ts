// Pod startup benchmark: `k8ts server` with its node agent (process runtime,
// CNI bridge network) running real k8ts/demoapp pods.
//
//   pod_startup_p50_ms, pod_startup_p99_ms
//                       per pod, from the start of its create call to the watch
//                       event that shows it Running with Ready=True (no
//                       readiness probe: Ready as soon as the container runs, as
//                       upstream's pod startup SLI, which excludes image pulls;
//                       upstream SLO p99 <= 5 s, target here p99 <= 1 s). Pods
//                       are created open-loop at `rate` per second, after one
//                       warm-up pod has been through its whole life.
//   pods_all_running_ms first create call -> last pod ready.
//   sandbox_setup_p50_ms, sandbox_setup_p99_ms
//                       the agent's own timing of each pod's sandbox (netns +
//                       UTS namespace + pause process, CNI ADD, pod files), from
//                       its "pod sandbox ready" log lines (field ms).
//   teardown_ms         delete calls for every pod -> the watch saw the last go
//                       (SIGTERM, CNI DEL, sandbox removal, final delete).
//   rss_running_mib     the server's (API server + controllers + agent) VmRSS
//                       with every pod running.
//   first_pod_startup_ms the warm-up pod (first start of the image on a fresh node).
//
// Baseline (same run, same machine, same conflist): for as many sandboxes,
// `ip netns add` + CNI ADD through CniRuntime (src/network/cni.ts), then CNI
// DEL + `ip netns del`, 4 at a time as the agent's pod workers, inside the
// bench's namespace after the server has stopped. Startup and sandbox
// latencies compare with the per-sandbox set-up time, pods_all_running_ms
// with the total set-up time, teardown_ms with the total tear-down time.
//
// Safety and cleanup: everything runs inside a network namespace the bench
// creates (k8ts-bench-pods-<pid>); the node's address (192.0.2.10, TEST-NET-1)
// sits on a veth pair that stays inside it; the pods' namespaces are named
// k8ts-bench-pods-<pid>-p..., the baseline's k8ts-bench-pods-<pid>-b<i>. The
// server runs with the host's cgroups visible (test/helpers/netns.ts's
// keepCgroups: nsenter + a private mount namespace), so containers get real
// cgroups under a parent named after the bench's namespace. Cleanup (finally,
// and on SIGINT/SIGTERM) ends the processes the bench started by PID, the
// agent's pods by their recorded PID + start time, then whatever is left in
// the bench's namespaces, deletes the namespaces, the cgroups and the temp dir.
// Namespaces of earlier runs that died are swept first.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec } from '../src/util/exec.js';
import type { CniArgs, CniResult, PodsArgs, PodsResult } from './_pod-startup-load.js';
import { inNetnsKeepingCgroups, killRecordedPods, netnsList, removeCgroups, removeNetns, serverRssMiB } from '../test/helpers/host.js';
import { sandboxTimes } from './_pod-startup-env.js';
import { exitError, jsonChild, stopAll, stopProcess, sweepOrphanNetns, tail, track } from './procs.js';
import { type BenchOptions, deferCleanup, emit, log, percentile, sleep, smallFromEnv } from './lib.js';

const BENCH = 'pod-startup';
const NETNS_PREFIX = 'k8ts-bench-pods-';
const NODE_IP = '192.0.2.10';
const NODE_NAME = 'node-0';
const POD_NAMESPACE = 'bench';
const CNI_BIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const root = path.resolve(here, '../..');
const K8TS = path.join(root, 'bin', 'k8ts');
const HELPER = path.join(here, '_pod-startup-load.js');

interface Sizes {
  pods: number;
  rate: number;
  timeoutMs: number;
}
const FULL: Sizes = { pods: 100, rate: 20, timeoutMs: 420_000 };
const SMALL: Sizes = { pods: 3, rate: 10, timeoutMs: 120_000 };

// ---------------------------------------------------------------- processes

/** Runs a helper mode in the namespace; `onLine` sees each JSON line; resolves with the last one. */
const helper = <T>(ns: string, mode: string, args: unknown, timeoutMs: number, onLine?: (line: Record<string, unknown>, proc: ChildProcess) => void): Promise<T> =>
  jsonChild<T>(ns, HELPER, mode, args, timeoutMs, { onLine, stdin: true, cwd: root, env: { ...process.env, K8TS_LOG_LEVEL: 'warn' } }).result;

/** Namespaces (and their cgroups) that earlier runs of this bench left behind when they died. */
async function sweepOrphans(): Promise<void> {
  for (const name of await sweepOrphanNetns(BENCH, NETNS_PREFIX, removeNetns)) removeCgroups(name);
}

// ---------------------------------------------------------------- run

export async function run(opts: BenchOptions = { small: smallFromEnv() }): Promise<void> {
  const sizes = opts.small ? SMALL : FULL;
  await sweepOrphans();
  const ns = `${NETNS_PREFIX}${process.pid}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'k8ts-bench-pod-startup-'));
  const dataDir = path.join(tmp, 'data');
  const logFile = path.join(tmp, 'server.log');
  const cniConfDir = path.join(dataDir, 'cni', 'net.d');
  const resolvConf = path.join(tmp, 'resolv.conf');
  fs.writeFileSync(resolvConf, 'nameserver 127.0.0.53\nsearch example.test\n');
  let nsAdded = false;
  const cleanup = deferCleanup(async () => {
    await stopAll(5000);
    const killed = killRecordedPods(dataDir);
    if (killed) log(BENCH, `cleanup: killed ${killed} leftover pod processes`);
    if (nsAdded) for (const n of (await netnsList()).filter((x) => x === ns || x.startsWith(`${ns}-`))) await removeNetns(n);
    removeCgroups(ns);
    // For a closer look at where the time goes: BENCH_KEEP_LOG=<file> keeps the server's log.
    if (process.env.BENCH_KEEP_LOG) fs.copyFileSync(logFile, process.env.BENCH_KEEP_LOG);
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  try {
    await exec('ip', ['netns', 'add', ns]);
    nsAdded = true;
    const inNs = (args: string[]) => exec('ip', ['netns', 'exec', ns, ...args]);
    await inNs(['ip', 'link', 'set', 'lo', 'up']);
    // The node's own address on a veth pair that stays inside the namespace (as test/helpers/cluster.ts).
    await inNs(['ip', 'link', 'add', 'node0', 'type', 'veth', 'peer', 'name', 'node0-peer']);
    await inNs(['ip', 'addr', 'add', `${NODE_IP}/24`, 'dev', 'node0']);
    await inNs(['ip', 'link', 'set', 'node0-peer', 'up']);
    await inNs(['ip', 'link', 'set', 'node0', 'up']);

    log(BENCH, `starting k8ts server with its agent in namespace ${ns}`);
    const fd = fs.openSync(logFile, 'a');
    const argv = inNetnsKeepingCgroups(ns, process.execPath, [
      // No coredns addon: the bench measures its own pods only.
      K8TS, 'server', '--disable', 'coredns', '--data-dir', dataDir, '--bind-address', '127.0.0.1',
      '--pod-netns-prefix', `${ns}-p`, '--cgroup-root', ns, '--cni-conf-dir', cniConfDir, '--resolv-conf', resolvConf, '--node-name', NODE_NAME,
    ]);
    const server = track(spawn(argv[0], argv.slice(1), { stdio: ['ignore', fd, fd], cwd: root }));
    fs.closeSync(fd);
    const serverDied = exitError(server, 'k8ts server', () => `; its log ends:\n${tail(logFile)}`);
    serverDied.catch(() => {});
    const kubeconfig = path.join(dataDir, 'admin.kubeconfig');
    for (let t = Date.now(); !fs.existsSync(kubeconfig); await sleep(50)) {
      if (server.exitCode !== null || server.signalCode !== null) await serverDied;
      if (Date.now() - t > 60_000) throw new Error('no admin kubeconfig after 60 s');
    }

    let rssRunning = NaN;
    const podsArgs: PodsArgs = { kubeconfig, namespace: POD_NAMESPACE, count: sizes.pods, rate: sizes.rate, nodeName: NODE_NAME, timeoutMs: sizes.timeoutMs };
    const pods = await Promise.race([
      helper<PodsResult>(ns, 'pods', podsArgs, sizes.timeoutMs + 30_000, (line, proc) => {
        if (line.phase !== 'running') return;
        try {
          rssRunning = serverRssMiB(server.pid!);
        } catch (err) {
          log(BENCH, `WARNING: no RSS: ${(err as Error).message}`);
        }
        log(BENCH, `${line.count} pods running; server RSS ${rssRunning.toFixed(1)} MiB`);
        proc.stdin!.write('go\n');
      }),
      serverDied,
    ]);
    const sandboxMs = sandboxTimes(fs.readFileSync(logFile, 'utf8'), `${POD_NAMESPACE}/demo-`);
    log(BENCH, `pods: p50 ${percentile(pods.startupMs, 50).toFixed(0)} ms, p99 ${percentile(pods.startupMs, 99).toFixed(0)} ms; teardown ${pods.teardownMs.toFixed(0)} ms; ${sandboxMs.length} sandbox timings`);

    log(BENCH, 'stopping the server');
    await stopProcess(server, 10_000);
    killRecordedPods(dataDir);

    log(BENCH, `baseline: ${sizes.pods} x (ip netns add + CNI ADD), then CNI DEL + ip netns del, 4 at a time`);
    const cniArgs: CniArgs = { confDir: cniConfDir, binDirs: CNI_BIN_DIRS, cacheDir: path.join(tmp, 'baseline-cni-cache'), prefix: `${ns}-b`, count: sizes.pods, concurrency: 4 };
    const base = await helper<CniResult>(ns, 'cni', cniArgs, 300_000);
    log(BENCH, `baseline: set-up p50 ${percentile(base.setUpMs, 50).toFixed(0)} ms, total ${base.setUpTotalMs.toFixed(0)} ms; tear-down total ${base.tearDownTotalMs.toFixed(0)} ms`);

    const extra = { pods: pods.count, create_rate_per_s: sizes.rate };
    const bsetup = 'netns-add+cni-add';
    for (const p of [50, 99] as const) {
      emit({
        bench: BENCH,
        metric: `pod_startup_p${p}_ms`,
        unit: 'ms',
        value: percentile(pods.startupMs, p),
        baseline: bsetup,
        baseline_value: percentile(base.setUpMs, p),
        ...(p === 99 ? { target: 1000 } : {}),
        better: 'lower',
        extra: p === 99 ? { ...extra, target_applies_to: 'value', upstream_slo_ms: 5000 } : extra,
      });
    }
    emit({ bench: BENCH, metric: 'pods_all_running_ms', unit: 'ms', value: pods.allRunningMs, baseline: `${bsetup} total`, baseline_value: base.setUpTotalMs, better: 'lower', extra });
    for (const p of [50, 99] as const) {
      emit({
        bench: BENCH,
        metric: `sandbox_setup_p${p}_ms`,
        unit: 'ms',
        value: sandboxMs.length ? percentile(sandboxMs, p) : NaN,
        baseline: bsetup,
        baseline_value: percentile(base.setUpMs, p),
        better: 'lower',
        extra: { samples: sandboxMs.length },
      });
    }
    emit({ bench: BENCH, metric: 'teardown_ms', unit: 'ms', value: pods.teardownMs, baseline: 'cni-del+netns-del total', baseline_value: base.tearDownTotalMs, better: 'lower', extra });
    emit({ bench: BENCH, metric: 'rss_running_mib', unit: 'MiB', value: rssRunning, better: 'lower', extra: { pods: pods.count, process: 'k8ts server (apiserver, controllers, scheduler, agent)' } });
    emit({ bench: BENCH, metric: 'first_pod_startup_ms', unit: 'ms', value: pods.warmupMs, better: 'lower' });
  } catch (err) {
    const t = tail(logFile, 2000);
    if (t) log(BENCH, `server log ends:\n${t}`);
    throw err;
  } finally {
    await cleanup();
  }
}
