// Cluster DNS benchmark: the k8ts DNS server (src/dns/server.ts, the program
// the k8ts/coredns image runs) against unbound, on the real kernel's
// loopback inside a network namespace this bench creates and removes
// (k8ts-bench-dns-<pid>: only `lo`, so nothing can leave it).
//
// Names served: N ClusterIP Services svc-<i>.ns-<i % 10>.svc.cluster.local
// (N = 10,000; --small: 200), each with one ready endpoint (so pods = N).
//   - k8ts: the `kubernetes` plugin of a CoreDNS-style Corefile (errors,
//     kubernetes cluster.local in-addr.arpa ip6.arpa {pods insecure; ttl 30},
//     prometheus, cache 30, loadbalance), its index fed in process with the
//     same objects the informers would deliver (bench/_dns-server.ts: no API
//     server, so only the DNS path is measured);
//   - unbound (baseline): the same names as `local-data` A records in a static
//     local zone, `num-threads: 1` (the k8ts server is one event loop too),
//     iterator only, no remote control, no daemon: the binary runs with our
//     config in the namespace.
//
// Metrics:
//   qps_cached         dnsperf (UDP, 4 clients, 100 outstanding) for a fixed
//                      duration over a hot set of 1,000 names (all cached
//                      after the first pass). Baseline unbound; target ratio
//                      >= 0.5, and (extra target_qps) >= 33.7k QPS on 2 vCPUs.
//   latency_p50_ms / latency_p99_ms
//                      per-query latency at a fixed load below saturation:
//                      half the k8ts server's measured qps_cached (at most
//                      10k/s), the same rate for unbound (dnsperf -Q RATE -v,
//                      the latency of every answer), same hot set. Baseline
//                      unbound.
//   rss_mb             the k8ts DNS server's RSS after the qps run, with N
//                      services and N endpoints; target CoreDNS's sizing
//                      formula (pods + services) / 1000 + 54 MB; unbound's RSS
//                      in extra (unbound_rss_mb).
//   programming_p50_ms / programming_p99_ms
//                      DNS programming latency: `k8ts server --disable-agent
//                      --disable coredns` in the namespace, the k8ts DNS server
//                      on it through a kubeconfig (informers), and
//                      bench/_dns-worker.js creating Services one at a time:
//                      from sending the create to the first positive A answer,
//                      polled with back-to-back UDP queries. The Corefile has
//                      no `cache` here: a name asked before it exists would
//                      otherwise sit in the negative cache for its TTL.
//                      Target p99 <= 100 ms.
//
// unbound and dnsperf (Debian packages) are installed on demand with apt-get,
// only where /usr/sbin/policy-rc.d forbids starting services (exit 101), so
// the package's unbound service is never started on the host; otherwise the
// bench says how to install them and fails.
//
// Safety and cleanup: every process is started in the namespace and ended by
// PID; the namespace and the temporary directory are removed in `finally`
// and on SIGINT/SIGTERM; namespaces of earlier runs that died are swept.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec } from '../src/util/exec.js';
import { removeNetns } from '../test/helpers/host.js';
import { svcFqdn, svcIP } from './_dns-server.js';
import { type BenchOptions, deferCleanup, emit, log, percentile, sleep, smallFromEnv } from './lib.js';
import { exitError, inNetns, jsonChild, stopAll, stopProcess, sweepOrphanNetns, tail } from './procs.js';

const BENCH = 'dns';
export const NETNS_PREFIX = 'k8ts-bench-dns-';
const K8TS_PORT = 5301;
const UNBOUND_PORT = 5302;
const PROG_DNS_PORT = 5303;
const API_PORT = 6443;

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const root = path.resolve(here, '../..');
const K8TS = path.join(root, 'bin', 'k8ts');
const SERVER = path.join(here, '_dns-server.js');
const WORKER = path.join(here, '_dns-worker.js');

interface Sizes {
  services: number;
  hot: number;
  qpsSeconds: number;
  latencyRate: number;
  latencySeconds: number;
  programming: number;
}
const FULL: Sizes = { services: 10_000, hot: 1000, qpsSeconds: 20, latencyRate: 10_000, latencySeconds: 10, programming: 100 };
const SMALL: Sizes = { services: 200, hot: 100, qpsSeconds: 2, latencyRate: 500, latencySeconds: 2, programming: 5 };

// ---------------------------------------------------------------- tools

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** unbound and dnsperf, installed with apt-get when missing (never starting the unbound service). */
export function ensureTools(): { unbound: string; dnsperf: string } {
  const unbound = () => (has('unbound') ? 'unbound' : fs.existsSync('/usr/sbin/unbound') ? '/usr/sbin/unbound' : undefined);
  if (!unbound() || !has('dnsperf')) {
    const policy = spawnSync('/usr/sbin/policy-rc.d', ['unbound', 'start']);
    if (policy.status !== 101) {
      throw new Error(
        'unbound and dnsperf are needed and /usr/sbin/policy-rc.d does not forbid starting services, so installing them ' +
          'would start an unbound daemon on the host. Install them by hand (apt-get install unbound dnsperf) and stop/disable the unbound service.',
      );
    }
    log(BENCH, 'installing unbound and dnsperf (apt-get; policy-rc.d keeps the service from starting)');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    let r = spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'unbound', 'dnsperf'], { env, encoding: 'utf8' });
    if (r.status !== 0) {
      spawnSync('apt-get', ['update', '-q'], { env });
      r = spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'unbound', 'dnsperf'], { env, encoding: 'utf8' });
    }
    if (r.status !== 0) throw new Error(`apt-get install unbound dnsperf failed:\n${r.stderr}`);
  }
  const u = unbound();
  if (!u || !has('dnsperf')) throw new Error('unbound or dnsperf still missing');
  return { unbound: u, dnsperf: 'dnsperf' };
}

// ---------------------------------------------------------------- configs

function k8tsCorefile(port: number): string {
  return `.:${port} {
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus 127.0.0.1:9153
    cache 30
    loadbalance
}
`;
}

function programmingCorefile(port: number, kubeconfig: string): string {
  return `.:${port} {
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       kubeconfig ${kubeconfig}
       pods insecure
       ttl 30
    }
}
`;
}

function unboundConf(dir: string, n: number): string {
  const lines = [
    'server:',
    `  interface: 127.0.0.1`,
    `  port: ${UNBOUND_PORT}`,
    '  do-ip6: no',
    '  do-daemonize: no',
    '  username: ""',
    '  chroot: ""',
    `  directory: "${dir}"`,
    '  pidfile: ""',
    '  use-syslog: no',
    '  logfile: ""',
    '  verbosity: 0',
    '  num-threads: 1',
    '  access-control: 127.0.0.0/8 allow',
    '  module-config: "iterator"',
    '  local-zone: "cluster.local." static',
  ];
  for (let i = 0; i < n; i++) lines.push(`  local-data: "${svcFqdn(i)}. 30 IN A ${svcIP(i)}"`);
  lines.push('remote-control:', '  control-enable: no', '');
  return lines.join('\n');
}

// ---------------------------------------------------------------- helpers

function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for PID ${pid}`);
  return Number(m[1]) / 1024;
}

async function digOnce(ns: string, port: number, name: string): Promise<string> {
  const r = await exec('ip', ['netns', 'exec', ns, 'dig', '@127.0.0.1', '-p', String(port), '+short', '+time=1', '+tries=1', name], { allowFailure: true, timeoutMs: 5000 });
  return r.stdout.trim();
}

async function waitAnswer(ns: string, port: number, name: string, expect: string, what: string, died: Promise<never>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const waiting = (async () => {
    for (;;) {
      if ((await digOnce(ns, port, name)) === expect) return;
      if (Date.now() > deadline) throw new Error(`${what} did not answer ${name} -> ${expect} within ${timeoutMs} ms`);
      await sleep(100);
    }
  })();
  await Promise.race([waiting, died]);
}

interface PerfResult {
  qps: number;
  lost: number;
  sent: number;
  latencies?: number[];
}

/** dnsperf in the namespace against 127.0.0.1:port. */
async function dnsperf(ns: string, port: number, queryFile: string, seconds: number, o: { rate?: number; verbose?: boolean } = {}): Promise<PerfResult> {
  const args = ['netns', 'exec', ns, 'dnsperf', '-s', '127.0.0.1', '-p', String(port), '-d', queryFile, '-l', String(seconds), '-c', '4', '-q', '100', '-t', '2'];
  if (o.rate) args.push('-Q', String(o.rate));
  if (o.verbose) args.push('-v');
  const r = await exec('ip', args, { timeoutMs: (seconds + 30) * 1000, maxBuffer: 512 << 20 } as any);
  const num = (re: RegExp) => {
    const m = re.exec(r.stdout);
    if (!m) throw new Error(`dnsperf output without ${re}:\n${r.stdout.slice(-2000)}`);
    return Number(m[1]);
  };
  const out: PerfResult = { qps: num(/Queries per second:\s+([\d.]+)/), lost: num(/Queries lost:\s+(\d+)/), sent: num(/Queries sent:\s+(\d+)/) };
  if (o.verbose) {
    // "> NOERROR svc-1.ns-1.svc.cluster.local A 0.000123" (latency in seconds, last field).
    out.latencies = [];
    for (const line of r.stdout.split('\n')) {
      if (!line.startsWith('> ')) continue;
      const v = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (Number.isFinite(v)) out.latencies.push(v * 1000);
    }
    if (!out.latencies.length) throw new Error(`dnsperf -v printed no per-query latency:\n${r.stdout.slice(0, 2000)}`);
  }
  return out;
}

async function startApiServer(ns: string, dataDir: string, logFile: string) {
  const fd = fs.openSync(logFile, 'a');
  const proc = inNetns(
    ns,
    [process.execPath, K8TS, 'server', '--disable-agent', '--disable', 'coredns', '--data-dir', dataDir, '--bind-address', '127.0.0.1', '--secure-port', String(API_PORT)],
    ['ignore', fd, fd],
  );
  fs.closeSync(fd);
  const kubeconfig = path.join(dataDir, 'admin.kubeconfig');
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`k8ts server exited (code ${proc.exitCode}); its log ends:\n${tail(logFile)}`);
    if (fs.existsSync(kubeconfig)) {
      const r = await exec('ip', ['netns', 'exec', ns, 'curl', '-sk', '-o', '/dev/null', '-w', '%{http_code}', `https://127.0.0.1:${API_PORT}/readyz`], { allowFailure: true, timeoutMs: 5000 }).catch(() => undefined);
      if (r?.stdout.trim() === '200') return { proc, kubeconfig };
    }
    if (Date.now() > deadline) throw new Error(`k8ts server not ready within 30 s; its log ends:\n${tail(logFile)}`);
    await sleep(100);
  }
}

/** Starts _dns-server.js in the namespace and waits for its ready line. */
async function startDns(ns: string, mode: 'fed' | 'api', args: object, timeoutMs: number) {
  let ready!: (l: Record<string, unknown>) => void;
  const readyLine = new Promise<Record<string, unknown>>((r) => (ready = r));
  const child = jsonChild<Record<string, unknown>>(ns, SERVER, mode, args, 24 * 3600_000, { onLine: (l) => l.ready && ready(l) });
  child.result.catch(() => {});
  const died = exitError(child.proc, `k8ts DNS server (${mode})`);
  died.catch(() => {});
  const t = sleep(timeoutMs).then(() => {
    throw new Error(`k8ts DNS server (${mode}) not ready within ${timeoutMs} ms`);
  });
  const line = await Promise.race([readyLine, died, t]);
  return { proc: child.proc, pid: Number(line.pid), died };
}

// ---------------------------------------------------------------- run

export async function run(opts: BenchOptions = { small: smallFromEnv() }): Promise<void> {
  const sizes = opts.small ? SMALL : FULL;
  const tools = ensureTools();
  await sweepOrphanNetns(BENCH, NETNS_PREFIX, removeNetns);
  const ns = `${NETNS_PREFIX}${process.pid}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `${NETNS_PREFIX}${process.pid}-`));
  const cleanup = deferCleanup(async () => {
    await stopAll(3000);
    await removeNetns(ns);
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  try {
    await exec('ip', ['netns', 'add', ns]);
    await exec('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
    const n = sizes.services;
    const hot = Math.min(sizes.hot, n);
    const queryFile = path.join(tmp, 'queries.txt');
    // The hot set, spread over the N names.
    const step = Math.max(1, Math.floor(n / hot));
    fs.writeFileSync(queryFile, Array.from({ length: hot }, (_, k) => `${svcFqdn((k * step) % n)} A`).join('\n') + '\n');
    const probeName = svcFqdn(n - 1);
    const probeIP = svcIP(n - 1);

    // ---- unbound (baseline)
    const unboundDir = path.join(tmp, 'unbound');
    fs.mkdirSync(unboundDir);
    const confFile = path.join(unboundDir, 'unbound.conf');
    fs.writeFileSync(confFile, unboundConf(unboundDir, n));
    const ulog = path.join(tmp, 'unbound.log');
    const ufd = fs.openSync(ulog, 'a');
    const unbound = inNetns(ns, [tools.unbound, '-d', '-c', confFile], ['ignore', ufd, ufd]);
    fs.closeSync(ufd);
    const unboundDied = exitError(unbound, 'unbound', () => `\n${tail(ulog)}`);
    unboundDied.catch(() => {});
    await waitAnswer(ns, UNBOUND_PORT, probeName, probeIP, 'unbound', unboundDied);

    // ---- k8ts DNS server, fed index
    const k8ts = await startDns(ns, 'fed', { port: K8TS_PORT, services: n, corefile: k8tsCorefile(K8TS_PORT) }, 120_000);
    await waitAnswer(ns, K8TS_PORT, probeName, probeIP, 'k8ts DNS', k8ts.died);
    log(BENCH, `serving ${n} services: k8ts pid ${k8ts.pid}, unbound pid ${unbound.pid}`);

    // ---- cached query rate: a warm-up pass, then the measured run, each server alone.
    const qps: Record<string, PerfResult> = {};
    for (const [who, port] of [['unbound', UNBOUND_PORT], ['k8ts', K8TS_PORT]] as const) {
      await dnsperf(ns, port, queryFile, 1);
      qps[who] = await dnsperf(ns, port, queryFile, sizes.qpsSeconds);
      log(BENCH, `${who}: ${Math.round(qps[who].qps)} qps (${qps[who].lost} lost of ${qps[who].sent})`);
    }
    emit({
      bench: BENCH,
      metric: 'qps_cached',
      unit: '1/s',
      value: qps.k8ts!.qps,
      baseline: 'unbound',
      baseline_value: qps.unbound!.qps,
      target: 0.5,
      better: 'higher',
      extra: { target_qps: 33_700, cpus: os.cpus().length, services: n, hot_names: hot, seconds: sizes.qpsSeconds, lost: qps.k8ts!.lost, baseline_lost: qps.unbound!.lost },
    });

    // ---- latency at a fixed rate below saturation: half the k8ts server's measured rate, for both.
    const rate = Math.max(100, Math.min(sizes.latencyRate, Math.round(qps.k8ts!.qps / 2)));
    const lat: Record<string, number[]> = {};
    for (const [who, port] of [['unbound', UNBOUND_PORT], ['k8ts', K8TS_PORT]] as const) {
      lat[who] = (await dnsperf(ns, port, queryFile, sizes.latencySeconds, { rate, verbose: true })).latencies!;
    }
    for (const p of [50, 99]) {
      emit({
        bench: BENCH,
        metric: `latency_p${p}_ms`,
        unit: 'ms',
        value: percentile(lat.k8ts!, p),
        baseline: 'unbound',
        baseline_value: percentile(lat.unbound!, p),
        better: 'lower',
        extra: { rate_qps: rate, samples: lat.k8ts!.length, baseline_samples: lat.unbound!.length },
      });
    }

    // ---- memory
    const rss = rssMiB(k8ts.pid);
    const unboundRss = rssMiB(unbound.pid!);
    const pods = n;
    emit({
      bench: BENCH,
      metric: 'rss_mb',
      unit: 'MiB',
      value: rss,
      target: Math.round(((pods + n) / 1000 + 54) * 100) / 100,
      better: 'lower',
      extra: { services: n, pods, unbound_rss_mb: Math.round(unboundRss * 10) / 10 },
    });
    await stopProcess(k8ts.proc, 3000);
    await stopProcess(unbound, 3000);

    // ---- programming latency against a real API server
    log(BENCH, 'starting k8ts server for the programming latency');
    const dataDir = path.join(tmp, 'server');
    const api = await startApiServer(ns, dataDir, path.join(tmp, 'server.log'));
    const progDns = await startDns(ns, 'api', { port: PROG_DNS_PORT, corefile: programmingCorefile(PROG_DNS_PORT, api.kubeconfig) }, 60_000);
    await waitAnswer(ns, PROG_DNS_PORT, 'kubernetes.default.svc.cluster.local', '10.96.0.1', 'k8ts DNS (API)', progDns.died);
    const worker = jsonChild<{ samples: number[]; createMs: number[]; failures: number }>(
      ns,
      WORKER,
      'programming',
      { kubeconfig: api.kubeconfig, dnsPort: PROG_DNS_PORT, count: sizes.programming },
      sizes.programming * 12_000 + 30_000,
    );
    const prog = await Promise.race([worker.result, progDns.died]);
    for (const p of [50, 99]) {
      emit({
        bench: BENCH,
        metric: `programming_p${p}_ms`,
        unit: 'ms',
        value: percentile(prog.samples, p),
        ...(p === 99 ? { target: 100 } : {}),
        better: 'lower',
        extra: { samples: prog.samples.length, failures: prog.failures, create_p50_ms: Math.round(percentile(prog.createMs, 50) * 100) / 100 },
      });
    }
  } finally {
    await cleanup();
  }
}
