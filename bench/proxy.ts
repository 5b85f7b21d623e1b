// Service proxy benchmark: nftables vs iptables (and the userspace proxy's
// throughput), on the real kernel, inside network namespaces this bench
// creates and removes.
//
// Topology: a "node" namespace (k8ts-bench-proxy-<pid>) and one "pod"
// namespace (k8ts-bench-proxy-<pid>-pod) on a point-to-point veth (/32
// routes, as the nftables kernel test). The pod runs bench/_proxy-pod.js,
// a TCP server on :8080 that answers with the address it was reached on and
// can sink a stream. The node runs bench/_proxy-worker.js (`ip netns exec`),
// which drives the backends in the node namespace and connects from there.
//
// Metrics (backend field: nftables | iptables | userspace):
//   sync_full_{1k,10k}_ms         backend.sync() of a synthetic snapshot of
//                                 1,000 / 10,000 ClusterIP services of 3
//                                 endpoints each, fresh backend, empty tables.
//                                 nftables target (10k) <= 2000 ms. A full sync
//                                 (nft -f / iptables-restore) still running after
//                                 syncTimeoutMs (90 s) is killed and reported as
//                                 a lower bound (timed_out: true), and that
//                                 backend's other figures at that size are skipped.
//   sync_incremental_{1k,10k}_ms  median of sync() after one service's endpoints
//                                 changed (changed = that service; p99 in
//                                 extra). nftables target <= 50 ms.
//                                 nftables lines carry iptables as baseline.
//   connect_{100,1k,10k}svc_p{50,99}_ms
//                                 first-packet latency: time from connect() to
//                                 the established socket, a new connection
//                                 each time, to the ClusterIP of the service
//                                 that sorts last (the last one an iptables
//                                 KUBE-SERVICES chain reaches), with 100,
//                                 1,000 or 10,000 services installed. Baseline:
//                                 connect to the pod IP directly, same run,
//                                 interleaved (with iptables, those first
//                                 packets walk KUBE-SERVICES too, without a match).
//   throughput_mibps              one TCP stream of 256 MiB from the node through
//                                 the ClusterIP to the pod's sink vs straight to
//                                 the pod IP (median of 3 rounds, with 1,000
//                                 services installed; userspace: 100); target ratio
//                                 >= 0.9 for nftables and iptables; userspace
//                                 reported without a target.
//   programming_p{50,99}_ms       network programming latency with the real
//                                 proxier (src/proxy/proxier.ts, nftables,
//                                 minSyncPeriod 10 ms) against `k8ts server`
//                                 (SQLite, no agent/controllers/coredns) in the
//                                 node namespace: from sending an EndpointSlice
//                                 update that replaces the endpoint by a new pod
//                                 IP to the first new connection to the
//                                 ClusterIP answered by that IP. p99 target <= 100.
//
// iptables here is whatever `iptables` is on the machine (iptables-nft on
// most current distributions): its rules are still evaluated one by one.
//
// Safety: every rule, address and connection lives in the bench's namespaces
// (deleting them removes the nft tables and iptables chains); processes this
// bench starts are ended by PID; cleanup runs in finally and on SIGINT/SIGTERM.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec } from '../src/util/exec.js';
import type { BackendArgs, ProgrammingArgs } from './_proxy-worker.js';
import { type BenchOptions, type Result, deferCleanup, emit, log, sleep, smallFromEnv } from './lib.js';
import { exitError, inNetns, jsonChild, stopAll, sweepOrphanNetns, tail } from './procs.js';
import { removeNetns } from '../test/helpers/host.js';

const BENCH = 'proxy';
export const NETNS_PREFIX = 'k8ts-bench-proxy-';
const PORT = 6443;
const NODE_IP = '192.168.77.1';
const GW = '10.244.0.1';
const POD_IPS = ['10.244.0.11', '10.244.0.12', '10.244.0.13'];
const POD_PORT = 8080;
/** Pod addresses for the programming iterations: 10.244.1.1, 10.244.1.2, ... */
const progIP = (i: number) => `10.244.${1 + (i >> 8)}.${i & 255}`;

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const root = path.resolve(here, '../..');
const K8TS = path.join(root, 'bin', 'k8ts');
const WORKER = path.join(here, '_proxy-worker.js');
const POD = path.join(here, '_proxy-pod.js');

interface Sizes {
  backends: Omit<BackendArgs, 'podIPs'>;
  programming: Omit<ProgrammingArgs, 'podIPs' | 'kubeconfig'>;
  workerTimeoutMs: number;
}

const FULL: Sizes = {
  backends: {
    syncSizes: [1000, 10_000],
    incremental: { nftables: [30, 10], iptables: [10, 3] },
    connectSmall: 100,
    connects: 2000,
    throughputBytes: 256 << 20,
    throughputRounds: 3,
    userspaceServices: 100,
    syncTimeoutMs: 90_000,
  },
  programming: { background: 1000, iterations: 100, minSyncPeriodMs: 10, gapMs: 50 },
  workerTimeoutMs: 900_000,
};

const SMALL: Sizes = {
  backends: {
    syncSizes: [50, 200],
    incremental: { nftables: [3, 3], iptables: [3, 3] },
    connectSmall: 10,
    connects: 50,
    throughputBytes: 4 << 20,
    throughputRounds: 1,
    userspaceServices: 5,
    syncTimeoutMs: 30_000,
  },
  programming: { background: 5, iterations: 5, minSyncPeriodMs: 10, gapMs: 20 },
  workerTimeoutMs: 90_000,
};

// ---------------------------------------------------------------- processes

/** Runs the worker in the node namespace; emits its results as they come; resolves with how many. */
async function worker(ns: string, mode: 'backends' | 'programming', args: unknown, timeoutMs: number): Promise<number> {
  let count = 0;
  await jsonChild(ns, WORKER, mode, args, timeoutMs, {
    cwd: root,
    allowEmpty: true,
    onText: (line) => log(BENCH, `worker: ${line}`),
    onLine: (line) => {
      const r = line.result as Result | undefined;
      if (r) {
        emit(r);
        count++;
      }
    },
  }).result;
  return count;
}

// ---------------------------------------------------------------- namespaces




/** Node and pod namespaces, the veth between them, routes; `added` records what to delete. */
async function setUpNetwork(node: string, pod: string, progIPs: string[], added: string[]): Promise<void> {
  await exec('ip', ['netns', 'add', node]);
  added.push(node);
  await exec('ip', ['netns', 'add', pod]);
  added.push(pod);
  const batch = (ns: string, lines: string[]) => exec('ip', ['-n', ns, '-batch', '-'], { input: lines.join('\n') + '\n' });
  await batch(node, [
    'link set lo up',
    // The node's own interface (both ends in the node namespace): its address, and the
    // routes that cluster IPs need before DNAT (in a cluster, the default route).
    'link add node0 type veth peer name node0p',
    `addr add ${NODE_IP}/24 dev node0`,
    'link set node0p up',
    'link set node0 up',
    'route add 172.30.0.0/16 dev node0',
    'route add 10.96.0.0/12 dev node0',
    `link add hv1 type veth peer name eth0 netns ${pod}`,
    `addr add ${GW}/32 dev hv1`,
    'link set hv1 up',
    ...POD_IPS.map((ip) => `route add ${ip}/32 dev hv1`),
    'route add 10.244.1.0/24 dev hv1',
    'route add 10.244.2.0/24 dev hv1',
  ]);
  await exec('ip', ['netns', 'exec', node, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  await batch(pod, [
    'link set lo up',
    ...[...POD_IPS, ...progIPs].map((ip) => `addr add ${ip}/32 dev eth0`),
    'link set eth0 up',
    `route add ${GW} dev eth0`,
    `route add default via ${GW} dev eth0 src ${POD_IPS[0]}`,
  ]);
}

async function startPod(pod: string): Promise<void> {
  const proc = inNetns(pod, [process.execPath, POD, String(POD_PORT)], ['ignore', 'pipe', 'inherit'], { cwd: root });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('pod server did not start within 10 s')), 10_000);
    proc.stdout!.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`pod server exited with ${code}`));
    });
  });
}

// ---------------------------------------------------------------- API server

async function startServer(ns: string, dataDir: string, logFile: string): Promise<ChildProcess> {
  const fd = fs.openSync(logFile, 'a');
  const args = [
    process.execPath, K8TS, 'server',
    '--disable-agent', '--disable', 'coredns', '--disable-scheduler', '--disable-controller-manager',
    '--data-dir', dataDir, '--bind-address', '127.0.0.1', '--secure-port', String(PORT),
  ];
  const proc = inNetns(ns, args, ['ignore', fd, fd], { cwd: root });
  fs.closeSync(fd);
  const kubeconfig = path.join(dataDir, 'admin.kubeconfig');
  const deadline = Date.now() + 30_000;
  // readyz over the namespace's loopback (curl runs in the namespace too).
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`k8ts server exited (code ${proc.exitCode}); its log ends:\n${tail(logFile)}`);
    if (fs.existsSync(kubeconfig)) {
      const r = await exec('ip', ['netns', 'exec', ns, 'curl', '-sk', '-o', '/dev/null', '-w', '%{http_code}', `https://127.0.0.1:${PORT}/readyz`], { allowFailure: true, timeoutMs: 5000 }).catch(() => undefined);
      if (r?.stdout.trim() === '200') return proc;
    }
    if (Date.now() > deadline) throw new Error(`k8ts server not ready within 30 s; its log ends:\n${tail(logFile)}`);
    await sleep(100);
  }
}

// ---------------------------------------------------------------- run

export async function run(opts: BenchOptions = { small: smallFromEnv() }): Promise<void> {
  const sizes = opts.small ? SMALL : FULL;
  await sweepOrphanNetns(BENCH, NETNS_PREFIX, removeNetns);
  const node = `${NETNS_PREFIX}${process.pid}`;
  const pod = `${node}-pod`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'k8ts-bench-proxy-'));
  const dataDir = path.join(tmp, 'data');
  const logFile = path.join(tmp, 'server.log');
  const added: string[] = [];
  const cleanup = deferCleanup(async () => {
    await stopAll();
    // Anything still running in our namespaces was started by us (e.g. an
    // iptables-restore whose worker was stopped): it ends with its namespace.
    for (const ns of added.reverse()) await removeNetns(ns);
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  try {
    const progIPs = Array.from({ length: sizes.programming.iterations + 1 }, (_, i) => progIP(i + 1));
    await setUpNetwork(node, pod, progIPs, added);
    await startPod(pod);
    log(BENCH, `namespaces ${node} (node) and ${pod} (pod) ready`);

    await worker(node, 'backends', { ...sizes.backends, podIPs: POD_IPS } satisfies BackendArgs, sizes.workerTimeoutMs);

    log(BENCH, 'starting k8ts server for the programming latency');
    const server = await startServer(node, dataDir, logFile);
    const died = exitError(server, 'k8ts server', () => `; its log ends:\n${tail(logFile)}`);
    died.catch(() => {});
    const args: ProgrammingArgs = { ...sizes.programming, kubeconfig: path.join(dataDir, 'admin.kubeconfig'), podIPs: progIPs };
    await Promise.race([worker(node, 'programming', args, sizes.workerTimeoutMs), died]);
  } finally {
    await cleanup();
  }
}
