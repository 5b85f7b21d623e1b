// Control-plane benchmark: the scheduler, the controllers and the API server
// of one `k8ts server` (SQLite datastore), with simulated nodes (src/sim,
// kwok-style) standing in for kubelets.
//
//   sched_rate_1000_nodes, sched_rate_5000_nodes   (pods/s, target 500)
//       10,000 pods (upstream scheduler_perf's SchedulingBasic pod: 100m cpu,
//       500Mi) created by 50 concurrent clients; the server's own scheduler
//       (the one `k8ts server` runs) places them. From the first create to the
//       last binding seen by a watch. Upstream's scheduler_perf threshold at
//       5,000 nodes is 270 pods/s. The simulated kubelets do not run the pods
//       here (as in scheduler_perf: nodes only, with lease heartbeats).
//       Baseline ("api-create-bind"): the same number of clients creating and
//       binding pods themselves (round-robin nodes, no scheduling decisions,
//       no events) against the same server just before, i.e. the API's own
//       create+bind rate; also printed alone as api_create_bind_rate_*.
//   sched_core_rate_1000_nodes, sched_core_rate_5000_nodes (pods/s)
//       the scheduler core alone (filter + score + assume on NodeInfos, with
//       upstream's adaptive percentageOfNodesToScore), in-process, no API.
//   deployment_ready_ms        `kubectl apply` of a 100-replica Deployment to
//       all 100 pods Ready (100 simulated nodes that run pods).
//   endpoints_propagation_p{50,99}_ms, endpointslice_propagation_p{50,99}_ms
//       from the start of the status update that makes a pod Ready (with its
//       IP) to that IP in the Service's Endpoints / EndpointSlice, as seen by
//       a watch; pods made Ready one at a time (target p99 <= 50 ms).
//   rss_5000_nodes_mib         server VmRSS holding 5,000 nodes (and their
//       leases) and 10,000 bound pods; baseline: the same server just started.
//
// Every phase runs its own fresh server, without its node agent
// (--disable-agent): only simulated nodes, nothing runs. Safety: the servers and the load
// generator (bench/_control-plane-load.ts) run inside a network namespace this
// bench creates (k8ts-bench-cp-<pid>) and removes; they talk over its loopback
// only. Cleanup ends only the processes this bench started, by PID.
import { type ChildProcess, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec } from '../src/util/exec.js';
import type { SchedArgs, SchedResult, WorkloadArgs, WorkloadResult } from './_control-plane-load.js';
import { removeNetns, serverRssMiB } from '../test/helpers/host.js';
import { type BenchOptions, deferCleanup, emit, log, sleep, smallFromEnv } from './lib.js';
import { exitError, inNetns, jsonChild, stopAll, stopProcess, sweepOrphanNetns, tail } from './procs.js';

const BENCH = 'control-plane';
const NETNS_PREFIX = 'k8ts-bench-cp-';
const PORT = 6443;
/** Room for 5,000+ /24 node subnets, clear of the default service range (10.96.0.0/12). */
const CLUSTER_CIDR = '10.128.0.0/9';

/**
 * Controllers of the scheduling phases' servers: all but the garbage
 * collector, which makes a full pass over every object on each change to an
 * object with an owner, and every node's Lease is owned by its Node: with
 * thousands of lease renewals it took ~60% of the server's CPU at 3,000 nodes
 * (and node registration slowed to a crawl). The workload phase runs them all.
 */
const SCHED_CONTROLLERS = '*,-garbage-collector';

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const root = path.resolve(here, '../..');
const K8TS = path.join(root, 'bin', 'k8ts');
const LOADGEN = path.join(here, '_control-plane-load.js');

interface Sizes {
  scales: Array<{ label: string; nodes: number }>;
  pods: number;
  clients: number;
  baselinePods: number;
  corePods: number;
  workloadNodes: number;
  replicas: number;
  epPods: number;
  epGapMs: number;
  /** Lease renewal period of the simulated nodes (under the 40 s node grace period). */
  heartbeatMs: number;
  settleMs: number;
  timeoutMs: number;
}

const FULL: Sizes = {
  scales: [
    { label: '1000', nodes: 1000 },
    { label: '5000', nodes: 5000 },
  ],
  pods: 10_000,
  clients: 50,
  baselinePods: 5000,
  corePods: 2000,
  workloadNodes: 100,
  replicas: 100,
  epPods: 200,
  epGapMs: 20,
  heartbeatMs: 30_000,
  settleMs: 3000,
  timeoutMs: 600_000,
};

const SMALL: Sizes = {
  scales: [
    { label: '1000', nodes: 20 },
    { label: '5000', nodes: 50 },
  ],
  pods: 200,
  clients: 10,
  baselinePods: 100,
  corePods: 100,
  workloadNodes: 5,
  replicas: 10,
  epPods: 10,
  epGapMs: 10,
  heartbeatMs: 30_000,
  settleMs: 200,
  timeoutMs: 60_000,
};

// ---------------------------------------------------------------- processes


interface Server {
  proc: ChildProcess;
  pid: number;
  kubeconfig: string;
  died: Promise<never>;
  logFile: string;
}

const loadgen = <T>(ns: string, mode: string, args: unknown, timeoutMs: number): Promise<T> => jsonChild<T>(ns, LOADGEN, mode, args, timeoutMs, { cwd: root }).result;

async function startServer(ns: string, dir: string, extraArgs: string[] = []): Promise<Server> {
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  const kubeconfig = path.join(dataDir, 'admin.kubeconfig');
  fs.mkdirSync(dir, { recursive: true });
  const fd = fs.openSync(logFile, 'a');
  // K8TS_BENCH_CP_PROFILE=<dir>: CPU profiles of the servers (for development runs).
  const prof = process.env.K8TS_BENCH_CP_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.K8TS_BENCH_CP_PROFILE}`] : [];
  const args = [process.execPath, ...prof, K8TS, 'server', '--disable-agent', '--data-dir', dataDir, '--bind-address', '127.0.0.1', '--secure-port', String(PORT), '--cluster-cidr', CLUSTER_CIDR, ...extraArgs];
  const proc = inNetns(ns, args, ['ignore', fd, fd], { cwd: root });
  fs.closeSync(fd);
  const died = exitError(proc, 'k8ts server', () => `\nits log ends:\n${tail(logFile)}`);
  died.catch(() => {});
  await Promise.race([loadgen(ns, 'readyz', { port: PORT, kubeconfig, timeoutMs: 30_000 }, 40_000), died]);
  if (proc.pid === undefined) throw new Error('k8ts server has no PID');
  return { proc, pid: proc.pid, kubeconfig, died, logFile };
}





function kubectlPath(): string {
  const found = execFileSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).trim();
  return execFileSync('readlink', ['-f', found], { encoding: 'utf8' }).trim();
}

// ---------------------------------------------------------------- reporting

function emitSched(label: string, r: SchedResult): void {
  const where = { nodes: r.nodes, pods: r.sched.pods };
  emit({
    bench: BENCH,
    metric: `api_create_bind_rate_${label}_nodes`,
    backend: 'sqlite',
    unit: '1/s',
    value: r.baseline.rate,
    better: 'higher',
    extra: { nodes: r.nodes, pods: r.baseline.pods, clients: r.baseline.clients, what: 'pods created and bound by the clients themselves, no scheduler' },
  });
  emit({
    bench: BENCH,
    metric: `sched_core_rate_${label}_nodes`,
    unit: '1/s',
    value: r.core.rate,
    better: 'higher',
    extra: { nodes: r.nodes, pods: r.core.pods, us_per_pod: Math.round(r.core.usPerPod), what: 'filter+score+assume in-process, no API' },
  });
  emit({
    bench: BENCH,
    metric: `sched_rate_${label}_nodes`,
    backend: 'sqlite',
    unit: '1/s',
    value: r.sched.rate,
    baseline: 'api-create-bind',
    baseline_value: r.baseline.rate,
    target: 500,
    better: 'higher',
    extra: {
      ...where,
      target_applies_to: 'value',
      ...(label === '5000' ? { upstream_threshold: 270 } : {}),
      clients: r.sched.clients,
      ms: Math.round(r.sched.ms),
      create_rate: Math.round(r.sched.createRate),
      bound_when_creates_done: r.sched.boundAtCreateEnd,
      bind_rate_after_creates: Math.round(r.sched.rateAfterCreate),
      create_to_bound_p50_ms: Math.round(r.sched.bindP50Ms),
      create_to_bound_p99_ms: Math.round(r.sched.bindP99Ms),
      register_nodes_per_s: Math.round((r.nodes / r.registerMs) * 1000),
      scheduler: 'k8ts server built-in',
      controllers: SCHED_CONTROLLERS,
    },
  });
}

function emitWorkload(r: WorkloadResult): void {
  emit({
    bench: BENCH,
    metric: 'deployment_ready_ms',
    backend: 'sqlite',
    unit: 'ms',
    value: r.deploy.readyMs,
    better: 'lower',
    extra: { replicas: r.deploy.replicas, nodes: r.nodes, kubectl_apply_ms: Math.round(r.deploy.kubectlMs) },
  });
  for (const [name, s] of [
    ['endpoints', r.endpoints],
    ['endpointslice', r.slices],
  ] as const) {
    for (const p of [50, 99] as const) {
      emit({
        bench: BENCH,
        metric: `${name}_propagation_p${p}_ms`,
        backend: 'sqlite',
        unit: 'ms',
        value: p === 50 ? s.p50 : s.p99,
        target: p === 99 ? 50 : undefined,
        better: 'lower',
        extra: { n: s.n, max_ms: Math.round(s.max * 10) / 10, timeouts: r.timeouts },
      });
    }
  }
}

// ---------------------------------------------------------------- run

export async function run(opts: BenchOptions = { small: smallFromEnv() }): Promise<void> {
  // K8TS_BENCH_CP_SIZES='{"pods":2000,...}' overrides sizes (for development runs).
  const sizes: Sizes = { ...(opts.small ? SMALL : FULL), ...JSON.parse(process.env.K8TS_BENCH_CP_SIZES || '{}') };
  await sweepOrphanNetns(BENCH, NETNS_PREFIX, removeNetns);
  const ns = `${NETNS_PREFIX}${process.pid}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'k8ts-bench-control-plane-'));
  let nsAdded = false;
  const cleanup = deferCleanup(async () => {
    await stopAll();
    if (nsAdded) await exec('ip', ['netns', 'del', ns], { allowFailure: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  let current: Server | undefined;
  try {
    const kubectl = kubectlPath();
    await exec('ip', ['netns', 'add', ns]);
    nsAdded = true;
    await exec('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);

    for (const [i, scale] of sizes.scales.entries()) {
      log(BENCH, `scheduling: fresh server, ${scale.nodes} simulated nodes, ${sizes.pods} pods`);
      const server = (current = await startServer(ns, path.join(tmp, `sched-${i}`), ['--controllers', SCHED_CONTROLLERS]));
      await sleep(sizes.settleMs);
      const rssIdle = serverRssMiB(server.pid);
      const args: SchedArgs = {
        kubeconfig: server.kubeconfig,
        nodes: scale.nodes,
        pods: sizes.pods,
        clients: sizes.clients,
        baselinePods: sizes.baselinePods,
        corePods: sizes.corePods,
        heartbeatMs: sizes.heartbeatMs,
        timeoutMs: sizes.timeoutMs,
      };
      const r = await Promise.race([loadgen<SchedResult>(ns, 'sched', args, sizes.timeoutMs + 60_000), server.died]);
      emitSched(scale.label, r);
      if (i === sizes.scales.length - 1) {
        await sleep(sizes.settleMs);
        const rss = serverRssMiB(server.pid);
        log(BENCH, `server RSS with ${scale.nodes} nodes and ${sizes.pods} pods: ${rss.toFixed(1)} MiB (idle ${rssIdle.toFixed(1)} MiB)`);
        emit({
          bench: BENCH,
          metric: `rss_${scale.label}_nodes_mib`,
          backend: 'sqlite',
          unit: 'MiB',
          value: rss,
          baseline: 'idle-server',
          baseline_value: rssIdle,
          better: 'lower',
          extra: { nodes: scale.nodes, pods: sizes.pods, leases: scale.nodes },
        });
      }
      await stopProcess(server.proc);
      current = undefined;
    }

    log(BENCH, `workload: fresh server, ${sizes.workloadNodes} simulated nodes running pods`);
    const server = (current = await startServer(ns, path.join(tmp, 'workload')));
    const args: WorkloadArgs = {
      kubeconfig: server.kubeconfig,
      kubectl,
      nodes: sizes.workloadNodes,
      replicas: sizes.replicas,
      epPods: sizes.epPods,
      epGapMs: sizes.epGapMs,
      heartbeatMs: sizes.heartbeatMs,
      timeoutMs: sizes.timeoutMs,
    };
    const w = await Promise.race([loadgen<WorkloadResult>(ns, 'workload', args, sizes.timeoutMs + 60_000), server.died]);
    emitWorkload(w);
    await stopProcess(server.proc);
    current = undefined;
  } catch (err) {
    if (current) {
      const t = tail(current.logFile, 2000);
      if (t) log(BENCH, `server log ends:\n${t}`);
    }
    throw err;
  } finally {
    await cleanup();
  }
}
