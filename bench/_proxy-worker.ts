// The worker of the proxy benchmark. bench/proxy.ts runs it inside the
// bench's node network namespace (`ip netns exec`), so that the backends,
// which run nft / iptables-restore / ip in the current namespace, program
// that namespace, and every connection it makes stays inside it and the pod
// namespace hanging off it. It prints one JSON object per line on stdout:
// {"result": <lib.Result>} for each figure, progress on stderr.
//
//   node _proxy-worker.js backends    '<BackendArgs JSON>'
//   node _proxy-worker.js programming '<ProgrammingArgs JSON>'
import net from 'node:net';
import { ApiClient, type KObject } from '../src/client/rest.js';
import { IptablesBackend } from '../src/proxy/iptables/backend.js';
import { NftablesProxier } from '../src/proxy/nftables/proxier.js';
import { startProxier } from '../src/proxy/proxier.js';
import type { EndpointInfo, ProxyBackend, ProxySnapshot, ServicePortInfo } from '../src/proxy/types.js';
import { UserspaceBackend } from '../src/proxy/userspace/backend.js';
import { ExecError, type Runner, exec } from '../src/util/exec.js';
import { HEADER_BYTES } from './_proxy-pod.js';
import { type Result, median, percentile, sleep } from './lib.js';

const BENCH = 'proxy';
export const NODE_NAME = 'bench-node';
export const NODE_IP = '192.168.77.1';
export const CLUSTER_CIDR = '10.244.0.0/16';
/** Synthetic services' cluster IPs: 172.30.0.0/16 (the node routes it to its own veth). */
export const SYNTH_CIDR = '172.30.0.0/16';
export const POD_PORT = 8080;
export const NFT_TABLE = 'k8ts-bench';

export interface BackendArgs {
  /** Service counts for the sync figures (the "1k" and "10k" sizes). */
  syncSizes: [number, number];
  /** Incremental syncs timed per backend, per size. */
  incremental: { nftables: [number, number]; iptables: [number, number] };
  /** Services installed for the small connect-latency figure ("100"). */
  connectSmall: number;
  /** Connections per measured series (ClusterIP and direct each). */
  connects: number;
  /** Bytes per throughput transfer, and transfers per side. */
  throughputBytes: number;
  throughputRounds: number;
  /** Limit of one nft / iptables command (a full sync beyond it is reported as a lower bound). */
  syncTimeoutMs: number;
  /** Services the userspace backend gets for its throughput figure. */
  userspaceServices: number;
  /** The pod's three endpoint addresses. */
  podIPs: string[];
}

export interface ProgrammingArgs {
  kubeconfig: string;
  /** Services (with one-endpoint slices) created besides the measured one. */
  background: number;
  iterations: number;
  /** Addresses of the pod, one per iteration (plus one for the start). */
  podIPs: string[];
  minSyncPeriodMs: number;
  /** Pause between iterations. */
  gapMs: number;
}

const out = (r: Omit<Result, 'bench'>) => process.stdout.write(JSON.stringify({ result: { bench: BENCH, ...r } }) + '\n');
const progress = (msg: string) => process.stderr.write(`[bench proxy worker] ${msg}\n`);

// ---------------------------------------------------------------- snapshots

const svcKey = (i: number) => `bench/svc-${String(i).padStart(5, '0')}:http`;
const synthIP = (i: number) => `172.30.${(i >> 8) & 255}.${i & 255}`;

function servicePort(i: number): ServicePortInfo {
  return {
    key: svcKey(i),
    namespace: 'bench',
    name: `svc-${String(i).padStart(5, '0')}`,
    portName: 'http',
    protocol: 'TCP',
    clusterIPs: [synthIP(i + 1)],
    port: 80,
    nodePort: 0,
    externalIPs: [],
    loadBalancerIPs: [],
    loadBalancerSourceRanges: [],
    externalPolicyLocal: false,
    internalPolicyLocal: false,
    healthCheckNodePort: 0,
  };
}

const endpoint = (ip: string): EndpointInfo => ({ ip, port: POD_PORT, ready: true, serving: true, terminating: false, nodeName: NODE_NAME, isLocal: true });

/** Endpoints of a service that nothing connects to: addresses in 10.245-247.0.0/16 that no one has. */
const fakeEndpoints = (i: number, gen = 0): EndpointInfo[] =>
  [245, 246, 247].map((b, k) => endpoint(`10.${b}.${((i >> 8) + (k === 2 ? gen : 0)) & 255}.${i & 255}`));

/**
 * n services of three endpoints each; the measured one is the last by key
 * (the last an iptables KUBE-SERVICES chain matches, as kube-proxy sorts
 * nothing and the iptables backend sorts by key) and points at the pod.
 */
function snapshotOf(n: number, podIPs: string[]): { snap: ProxySnapshot; measured: ServicePortInfo } {
  const services = new Map<string, ServicePortInfo>();
  const endpoints = new Map<string, EndpointInfo[]>();
  for (let i = 0; i < n; i++) {
    const s = servicePort(i);
    services.set(s.key, s);
    endpoints.set(s.key, i === n - 1 ? podIPs.map(endpoint) : fakeEndpoints(i));
  }
  return {
    snap: { services, endpoints, nodeName: NODE_NAME, nodeIPs: [NODE_IP], clusterCidr: CLUSTER_CIDR },
    measured: services.get(svcKey(n - 1))!,
  };
}

// ---------------------------------------------------------------- clients

/** Time (ms) from net.connect to the 'connect' event; the connection is then reset. */
function connectOnce(host: string, port: number, timeoutMs = 3000): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const s = net.connect({ host, port, noDelay: true });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`connect ${host}:${port} timed out`));
    }, timeoutMs);
    s.once('connect', () => {
      const ms = performance.now() - t0;
      clearTimeout(timer);
      s.resetAndDestroy();
      resolve(ms);
    });
    s.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Connects and reads the server's first line: the address that answered. */
function whoAnswers(host: string, port: number, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, noDelay: true });
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`${host}:${port} did not answer`));
    }, timeoutMs);
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        s.resetAndDestroy();
        resolve(buf.slice(0, nl));
      }
    });
    s.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Streams `bytes` to the pod through host:port; MiB/s from connect to the pod's "done". */
function transfer(host: string, port: number, bytes: number, timeoutMs = 120_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(256 * 1024, 0x61);
    const t0 = performance.now();
    const s = net.connect({ host, port, noDelay: true });
    let sent = 0;
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`transfer to ${host}:${port} timed out`));
    }, timeoutMs);
    const pump = () => {
      while (sent < bytes) {
        const n = Math.min(chunk.length, bytes - sent);
        sent += n;
        if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          s.once('drain', pump);
          return;
        }
      }
    };
    s.once('connect', () => {
      s.write(String(bytes).padEnd(HEADER_BYTES, ' '));
      pump();
    });
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      buf += d;
      if (buf.includes('done\n')) {
        const ms = performance.now() - t0;
        clearTimeout(timer);
        s.resetAndDestroy();
        resolve(bytes / (1024 * 1024) / (ms / 1000));
      }
    });
    s.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

async function waitAnswer(host: string, port: number, want: string | undefined, deadlineMs: number): Promise<string> {
  const end = performance.now() + deadlineMs;
  let last = '';
  for (;;) {
    try {
      const who = await whoAnswers(host, port, 500);
      if (want === undefined || who === want) return who;
      last = `answered by ${who}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (performance.now() > end) throw new Error(`${host}:${port}: no answer${want ? ` from ${want}` : ''} within ${deadlineMs} ms (${last})`);
    await sleep(5);
  }
}

/**
 * First-packet latency: `n` new connections to the ClusterIP and `n` to the pod
 * directly, interleaved in blocks of 50 so that drift hits both alike.
 */
async function connectSeries(clusterIP: string, podIP: string, n: number): Promise<{ cluster: number[]; direct: number[] }> {
  const cluster: number[] = [];
  const direct: number[] = [];
  for (let i = 0; i < 20; i++) {
    await connectOnce(clusterIP, 80);
    await connectOnce(podIP, POD_PORT);
  }
  while (cluster.length < n) {
    const block = Math.min(50, n - cluster.length);
    for (let i = 0; i < block; i++) cluster.push(await connectOnce(clusterIP, 80));
    for (let i = 0; i < block; i++) direct.push(await connectOnce(podIP, POD_PORT));
  }
  return { cluster, direct };
}

function emitConnect(backend: string, label: string, services: number, r: { cluster: number[]; direct: number[] }): void {
  for (const p of [50, 99] as const) {
    out({
      metric: `connect_${label}svc_p${p}_ms`,
      backend,
      unit: 'ms',
      value: percentile(r.cluster, p),
      baseline: 'direct-pod',
      baseline_value: percentile(r.direct, p),
      better: 'lower',
      extra: { services, n: r.cluster.length, client: 'node ns, node:net connect()' },
    });
  }
}

async function throughput(backend: string, clusterIP: string, podIP: string, a: BackendArgs, target?: number): Promise<void> {
  const cluster: number[] = [];
  const direct: number[] = [];
  await transfer(clusterIP, 80, Math.min(a.throughputBytes, 8 << 20));
  await transfer(podIP, POD_PORT, Math.min(a.throughputBytes, 8 << 20));
  for (let i = 0; i < a.throughputRounds; i++) {
    direct.push(await transfer(podIP, POD_PORT, a.throughputBytes));
    cluster.push(await transfer(clusterIP, 80, a.throughputBytes));
  }
  out({
    metric: 'throughput_mibps',
    backend,
    unit: 'MiB/s',
    value: median(cluster),
    baseline: 'direct-pod',
    baseline_value: median(direct),
    target,
    better: 'higher',
    extra: { mode: 'one TCP stream node->pod, node:net sender and sink', mib_per_transfer: Math.round(a.throughputBytes / (1 << 20)), transfers: a.throughputRounds },
  });
  progress(`${backend}: throughput ${median(cluster).toFixed(0)} MiB/s via ClusterIP, ${median(direct).toFixed(0)} MiB/s direct`);
}

// ---------------------------------------------------------------- backends

/**
 * A sync of 10,000 services can take longer than util/exec's default 30 s
 * timeout (iptables-restore on iptables-nft takes minutes): both backends get
 * a runner with the limit the bench chooses (BackendArgs.syncTimeoutMs). A
 * full sync that hits the limit is reported as a lower bound.
 */
function newBackend(name: 'nftables' | 'iptables', syncTimeoutMs = 30_000): ProxyBackend {
  const run: Runner = (cmd, args, o) => exec(cmd, args, { ...o, timeoutMs: o?.timeoutMs ?? syncTimeoutMs });
  if (name === 'nftables') return new NftablesProxier({ table: NFT_TABLE, exec: run });
  return new IptablesBackend({ exec: run });
}

async function timed<T>(fn: () => Promise<T>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const SIZE_LABELS = ['1k', '10k'] as const;


async function benchBackend(name: 'nftables' | 'iptables', a: BackendArgs, figures: Map<string, number>): Promise<void> {
  const podIP = a.podIPs[0];
  let backend = newBackend(name);
  try {
    // 1. First-packet latency with few services.
    {
      const { snap, measured } = snapshotOf(a.connectSmall, a.podIPs);
      await backend.sync(snap);
      await waitAnswer(measured.clusterIPs[0], 80, undefined, 5000);
      const r = await connectSeries(measured.clusterIPs[0], podIP, a.connects);
      emitConnect(name, '100', a.connectSmall, r);
      progress(`${name}: connect p50 ${median(r.cluster).toFixed(3)} ms with ${a.connectSmall} services (direct ${median(r.direct).toFixed(3)})`);
      await backend.cleanup();
    }
    // 2. Per size: full sync (fresh backend, empty tables), one-service
    // incremental syncs, then first-packet latency with that table installed
    // (and throughput, with the first size: it does not depend on the count).
    for (const [si, n] of a.syncSizes.entries()) {
      const label = SIZE_LABELS[si];
      backend = newBackend(name, a.syncTimeoutMs);
      const { snap, measured } = snapshotOf(n, a.podIPs);
      const fullBase = figures.get(`iptables/full/${label}`);
      const fullTarget = name === 'nftables' && si === 1 ? 2000 : undefined;
      const fullExtra = { services: n, endpoints_per_service: 3, ...(fullTarget !== undefined ? { target_applies_to: 'value' } : {}) };
      const t0 = performance.now();
      try {
        await backend.sync(snap);
      } catch (err) {
        const ms = performance.now() - t0;
        if (!(err instanceof ExecError && err.reason === 'timeout')) throw err;
        // Too slow to wait for: report the limit as a lower bound and skip this size's other figures.
        progress(`${name}: ${n} services: full sync not done after ${ms.toFixed(0)} ms (limit); skipping the rest of this size`);
        figures.set(`${name}/full/${label}`, ms);
        figures.set(`${name}/full/${label}/timed_out`, 1);
        out({ metric: `sync_full_${label}_ms`, backend: name, unit: 'ms', value: ms, target: fullTarget, better: 'lower', extra: { ...fullExtra, timed_out: true, lower_bound: true } });
        await backend.cleanup().catch(() => {});
        continue;
      }
      const full = performance.now() - t0;
      let cur = snap;
      const inc: number[] = [];
      const count = a.incremental[name][si];
      for (let k = 0; k < count; k++) {
        const i = (k * 7919) % Math.max(1, n - 1); // never the measured service
        const key = svcKey(i);
        const endpoints = new Map(cur.endpoints);
        endpoints.set(key, fakeEndpoints(i, k + 1));
        cur = { ...cur, endpoints };
        const changed = new Set([key]);
        inc.push(await timed(() => backend.sync(cur, changed)));
      }
      const incBase = figures.get(`iptables/inc/${label}`);
      const baseTimedOut = figures.has(`iptables/full/${label}/timed_out`);
      figures.set(`${name}/full/${label}`, full);
      figures.set(`${name}/inc/${label}`, median(inc));
      const incTarget = name === 'nftables' ? 50 : undefined;
      out({
        metric: `sync_full_${label}_ms`,
        backend: name,
        unit: 'ms',
        value: full,
        ...(fullBase !== undefined ? { baseline: 'iptables', baseline_value: fullBase } : {}),
        target: fullTarget,
        better: 'lower',
        extra: { ...fullExtra, ...(baseTimedOut ? { baseline_lower_bound: true } : {}) },
      });
      out({
        metric: `sync_incremental_${label}_ms`,
        backend: name,
        unit: 'ms',
        value: median(inc),
        ...(incBase !== undefined ? { baseline: 'iptables', baseline_value: incBase } : {}),
        target: incTarget,
        better: 'lower',
        extra: { services: n, n: inc.length, p99_ms: Number(percentile(inc, 99).toFixed(2)), changed_services: 1, ...(incTarget !== undefined ? { target_applies_to: 'value' } : {}) },
      });
      progress(`${name}: ${n} services: full sync ${full.toFixed(0)} ms, incremental p50 ${median(inc).toFixed(1)} ms (${inc.length})`);

      const ip = measured.clusterIPs[0];
      await waitAnswer(ip, 80, undefined, 5000);
      const r = await connectSeries(ip, podIP, a.connects);
      emitConnect(name, label, n, r);
      progress(`${name}: connect p50 ${median(r.cluster).toFixed(3)} ms with ${n} services (direct ${median(r.direct).toFixed(3)})`);
      if (si === 0) await throughput(name, ip, podIP, a, 0.9);
      await backend.cleanup();
    }
  } finally {
    await backend.cleanup().catch((err) => progress(`${name} cleanup: ${(err as Error).message}`));
  }
}

async function benchUserspace(a: BackendArgs): Promise<void> {
  const backend = new UserspaceBackend({ interfaceName: 'k8ts-bsvc0' });
  try {
    const { snap, measured } = snapshotOf(a.userspaceServices, a.podIPs);
    await backend.sync(snap);
    const ip = measured.clusterIPs[0];
    await waitAnswer(ip, 80, undefined, 5000);
    await throughput('userspace', ip, a.podIPs[0], a);
  } finally {
    await backend.cleanup().catch((err) => progress(`userspace cleanup: ${(err as Error).message}`));
  }
}

async function backends(a: BackendArgs): Promise<void> {
  const figures = new Map<string, number>();
  // iptables first: its figures are the nftables lines' baseline.
  await benchBackend('iptables', a, figures);
  await benchBackend('nftables', a, figures);
  await benchUserspace(a);
}

// ---------------------------------------------------------------- programming latency

const sliceOf = (name: string, ips: string[], svcName: string): KObject => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name, namespace: 'bench', labels: { 'kubernetes.io/service-name': svcName, 'endpointslice.kubernetes.io/managed-by': 'k8ts-bench' } },
  addressType: 'IPv4',
  endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true, serving: true, terminating: false }, nodeName: NODE_NAME })),
  ports: [{ name: 'http', port: POD_PORT, protocol: 'TCP' }],
});

const serviceOf = (name: string): KObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'bench' },
  spec: { type: 'ClusterIP', ports: [{ name: 'http', port: 80, targetPort: POD_PORT, protocol: 'TCP' }] },
});

async function pool<T>(items: T[], width: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

async function programming(a: ProgrammingArgs): Promise<void> {
  const client = ApiClient.fromKubeconfig(a.kubeconfig, { userAgent: 'k8ts-bench-proxy' });
  const backend = new NftablesProxier({ table: `${NFT_TABLE}-prog` });
  let proxier: Awaited<ReturnType<typeof startProxier>> | undefined;
  try {
    await client.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
    // Background: services with one (unreachable) endpoint each.
    const bg = Array.from({ length: a.background }, (_, i) => i);
    const t0 = performance.now();
    await pool(bg, 20, async (i) => {
      const name = `bg-${i}`;
      await client.create('services', serviceOf(name), { namespace: 'bench' });
      await client.create('discovery.k8s.io/endpointslices', sliceOf(`${name}-x`, [`10.245.${i >> 8}.${i & 255}`], name), { namespace: 'bench' });
    });
    progress(`programming: ${a.background} background services created in ${(performance.now() - t0).toFixed(0)} ms`);
    const svc = await client.create('services', serviceOf('measured'), { namespace: 'bench' });
    const clusterIP = String(svc.spec?.clusterIP);
    let slice = await client.create('discovery.k8s.io/endpointslices', sliceOf('measured-x', [a.podIPs[0]], 'measured'), { namespace: 'bench' });

    proxier = await startProxier({
      client,
      nodeName: NODE_NAME,
      nodeIPs: [NODE_IP],
      clusterCidr: CLUSTER_CIDR,
      backend,
      minSyncPeriodMs: a.minSyncPeriodMs,
    });
    await waitAnswer(clusterIP, 80, a.podIPs[0], 10_000);

    const lat: number[] = [];
    const writes: number[] = [];
    let failures = 0;
    for (let k = 1; k <= a.iterations; k++) {
      const ip = a.podIPs[k];
      const start = performance.now();
      slice = await client.update('discovery.k8s.io/endpointslices', { ...sliceOf('measured-x', [ip], 'measured'), metadata: { ...slice.metadata } });
      writes.push(performance.now() - start);
      // Poll the ClusterIP with new connections until the new endpoint answers.
      try {
        await waitAnswerTight(clusterIP, ip, 5000);
        lat.push(performance.now() - start);
      } catch (err) {
        failures++;
        progress(`programming: iteration ${k}: ${(err as Error).message}`);
      }
      await sleep(a.gapMs);
    }
    const extra = {
      n: lat.length,
      failures,
      background_services: a.background,
      min_sync_period_ms: a.minSyncPeriodMs,
      api_write_p50_ms: Number(median(writes).toFixed(2)),
      method: 'EndpointSlice update (endpoint replaced by a new pod IP) -> first new TCP connection to the ClusterIP answered by that IP',
    };
    for (const p of [50, 99] as const) {
      out({ metric: `programming_p${p}_ms`, backend: 'nftables', unit: 'ms', value: percentile(lat, p), target: p === 99 ? 100 : undefined, better: 'lower', extra });
    }
    progress(`programming: p50 ${median(lat).toFixed(1)} ms, p99 ${percentile(lat, 99).toFixed(1)} ms (${lat.length} ok, ${failures} failed)`);
  } finally {
    await proxier?.stop().catch(() => {});
    await backend.cleanup().catch(() => {});
    client.close();
  }
}

/** As waitAnswer, polling back to back (each probe is one new connection, well under a millisecond). */
async function waitAnswerTight(host: string, want: string, deadlineMs: number): Promise<void> {
  const end = performance.now() + deadlineMs;
  let last = '';
  for (;;) {
    try {
      const who = await whoAnswers(host, 80, 500);
      if (who === want) return;
      last = `answered by ${who}`;
    } catch (err) {
      last = (err as Error).message;
      await sleep(1);
    }
    if (performance.now() > end) throw new Error(`no answer from ${want} within ${deadlineMs} ms (${last})`);
  }
}

// ---------------------------------------------------------------- main

if (process.argv[1]?.endsWith('_proxy-worker.js')) {
  const [mode, json] = process.argv.slice(2);
  const args = JSON.parse(json ?? '{}');
  const job = mode === 'backends' ? backends(args as BackendArgs) : mode === 'programming' ? programming(args as ProgrammingArgs) : Promise.reject(new Error(`unknown mode ${mode}`));
  job.then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`[bench proxy worker] ${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
