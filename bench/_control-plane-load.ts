// Load generator of the control-plane benchmark (bench/control-plane.ts). It
// runs inside the bench's network namespace, next to the `k8ts server` under
// test, and talks to it over loopback with the admin kubeconfig:
//
//   node _control-plane-load.js sched '<json SchedArgs>'
//   node _control-plane-load.js workload '<json WorkloadArgs>'
//
// Progress goes to stderr; the result is one JSON line on stdout.
import { spawn } from 'node:child_process';
import { ApiClient, Informer, type KObject } from '../src/client/index.js';
import { NodeInfo, numFeasibleNodesToFind, podInfo, scheduleOnNodeInfos } from '../src/scheduler/core.js';
import { simNodeObject } from '../src/sim/model.js';
import { startSimNodes } from '../src/sim/nodes.js';

export interface SchedArgs {
  kubeconfig: string;
  nodes: number;
  pods: number;
  /** Concurrent pod creators (one keep-alive connection each). */
  clients: number;
  /** Pods created and bound directly (no scheduler) for the API baseline. */
  baselinePods: number;
  /** Pods run through the scheduler core in-process (pure filter+score baseline). */
  corePods: number;
  heartbeatMs: number;
  timeoutMs: number;
}

export interface SchedResult {
  nodes: number;
  registerMs: number;
  cidrsMs: number;
  core: { pods: number; rate: number; usPerPod: number };
  baseline: { pods: number; rate: number; clients: number };
  sched: {
    pods: number;
    rate: number;
    ms: number;
    createRate: number;
    /** Pods bound when the last create returned, and the binding rate from then on (the scheduler with no creates competing). */
    boundAtCreateEnd: number;
    rateAfterCreate: number;
    bindP50Ms: number;
    bindP99Ms: number;
    clients: number;
  };
}

export interface WorkloadArgs {
  kubeconfig: string;
  kubectl: string;
  nodes: number;
  replicas: number;
  epPods: number;
  /** Pause between endpoint samples. */
  epGapMs: number;
  heartbeatMs: number;
  timeoutMs: number;
}

export interface WorkloadResult {
  nodes: number;
  deploy: { replicas: number; readyMs: number; kubectlMs: number };
  endpoints: { n: number; p50: number; p99: number; max: number };
  slices: { n: number; p50: number; p99: number; max: number };
  timeouts: number;
}

const progress = (msg: string): void => void process.stderr.write(`[control-plane-load] ${msg}\n`);
const now = (): number => performance.now();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function pct(samples: number[], p: number): number {
  if (!samples.length) return NaN;
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** Resolves when `pred` holds, re-checked on every event of `informer`; rejects after timeoutMs. */
function until(informer: Informer<KObject>, pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    const check = () => {
      if (done || !pred()) return;
      done = true;
      clearTimeout(t);
      clearInterval(iv);
      resolve();
    };
    const t = setTimeout(() => {
      if (done) return;
      done = true;
      clearInterval(iv);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const iv = setInterval(check, 50);
    informer.addEventHandler({ onAdd: check, onUpdate: check, onDelete: check });
    check();
  });
}

/** Runs `fn(i)` for i in 0..n-1 with `workers` concurrent loops. */
async function pool(n: number, workers: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(workers, n)) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

/** The pod of upstream scheduler_perf's SchedulingBasic (pod-default.yaml): 100m cpu, 500Mi memory. */
function benchPod(ns: string, name: string, schedulerName?: string): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels: { app: 'sched-bench' } },
    spec: {
      ...(schedulerName ? { schedulerName } : {}),
      containers: [{ name: 'pause', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '100m', memory: '500Mi' }, limits: { cpu: '100m', memory: '500Mi' } } }],
    },
  };
}

async function ensureNamespace(client: ApiClient, name: string): Promise<void> {
  try {
    await client.create('/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  } catch (e) {
    if ((e as { status?: { code?: number } }).status?.code !== 409) throw e;
  }
}

async function bindPod(client: ApiClient, ns: string, name: string, uid: string | undefined, node: string): Promise<void> {
  await client.request('POST', `/api/v1/namespaces/${ns}/pods/${name}/binding`, {
    apiVersion: 'v1',
    kind: 'Binding',
    metadata: { name, namespace: ns, uid },
    target: { apiVersion: 'v1', kind: 'Node', name: node },
  });
}

/** Registers the simulated nodes and waits until the node IPAM controller has given each a podCIDR. */
async function simNodes(client: ApiClient, count: number, heartbeatMs: number, runPods: boolean, timeoutMs: number) {
  // Their own connections: heartbeats must not queue behind the load's requests.
  const simClient = new ApiClient({ ...client.options, userAgent: 'k8ts-sim-nodes' });
  const nodes = new Informer<KObject>(client, '/nodes');
  nodes.start();
  await nodes.waitForSync(30_000);
  const t0 = now();
  const sim = await startSimNodes(simClient, {
    count,
    heartbeatMs,
    // Upstream's kubelet: lease every 10 s, node status every 5 min when nothing changes.
    statusEveryBeats: Math.max(1, Math.round(300_000 / heartbeatMs)),
    runPods,
    registerConcurrency: 32,
    heartbeatConcurrency: 32,
    onProgress: () => {},
  });
  const registerMs = now() - t0;
  progress(`${count} nodes registered in ${registerMs.toFixed(0)} ms (${((count / registerMs) * 1000).toFixed(0)}/s)`);
  const names = new Set(sim.nodeNames);
  const withCidr = () => nodes.lister.list(undefined, (n) => names.has(n.metadata?.name) && !!n.spec?.podCIDR).length;
  await until(nodes, () => withCidr() === count, timeoutMs, 'podCIDRs on every node');
  const cidrsMs = now() - t0 - registerMs;
  progress(`podCIDRs on all nodes ${cidrsMs.toFixed(0)} ms after registration`);
  return { sim, nodes, registerMs, cidrsMs, names: sim.nodeNames };
}

// ---------------------------------------------------------------- sched

/** Pure filter+score in-process over the same nodes, assuming each choice (no API). */
function coreBaseline(nodeObjs: KObject[], pods: number): SchedResult['core'] {
  const infos = nodeObjs.map((n) => new NodeInfo(n.metadata!.name, n)).sort((a, b) => a.name.localeCompare(b.name));
  const numToFind = numFeasibleNodesToFind(infos.length);
  const byName = new Map(infos.map((i) => [i.name, i]));
  let start = 0;
  const t0 = now();
  for (let i = 0; i < pods; i++) {
    const pod = { ...benchPod('core', `core-${i}`), metadata: { name: `core-${i}`, namespace: 'core', uid: `u${i}` } };
    const r = scheduleOnNodeInfos(pod, infos, { tieBreak: i, startIndex: start, numToFind, withScores: false });
    start = (start + r.processed) % infos.length;
    if (!('node' in r)) throw new Error(`core baseline: pod ${i} did not fit: ${r.unschedulable}`);
    byName.get(r.node)!.addPod(`core/core-${i}`, podInfo(pod));
  }
  const ms = now() - t0;
  return { pods, rate: (pods / ms) * 1000, usPerPod: (ms * 1000) / pods };
}

async function sched(a: SchedArgs): Promise<SchedResult> {
  const client = ApiClient.fromKubeconfig(a.kubeconfig, { userAgent: 'k8ts-bench-control-plane' });
  const { nodes, registerMs, cidrsMs, names } = await simNodes(client, a.nodes, a.heartbeatMs, false, a.timeoutMs);

  const core = coreBaseline(
    nodes.lister.list(undefined, (n) => names.includes(n.metadata?.name)),
    a.corePods,
  );
  progress(`core baseline: ${core.rate.toFixed(0)} pods/s (${core.usPerPod.toFixed(0)} us/pod) over ${a.nodes} nodes`);

  // API baseline: the same pods created and bound by us, round-robin, no scheduling decisions
  // (schedulerName no scheduler serves, so the server's scheduler leaves them alone).
  const bns = 'cp-baseline';
  await ensureNamespace(client, bns);
  const b0 = now();
  await pool(a.baselinePods, a.clients, async (i) => {
    const created = await client.create<KObject>('/pods', benchPod(bns, `b-${i}`, 'bench-no-scheduler'), { namespace: bns });
    await bindPod(client, bns, `b-${i}`, created.metadata?.uid, names[i % names.length]!);
  });
  const baselineRate = (a.baselinePods / (now() - b0)) * 1000;
  progress(`API baseline: ${baselineRate.toFixed(0)} pods/s created+bound with ${a.clients} clients`);
  await pool(a.baselinePods, a.clients, async (i) => {
    await client.delete('/pods', bns, `b-${i}`, { gracePeriodSeconds: 0 });
  });
  await sleep(1000);

  // The measured run: the server's scheduler places every pod.
  const ns = 'cp-sched';
  await ensureNamespace(client, ns);
  const pods = new Informer<KObject>(client, '/pods', { namespace: ns });
  const createdAt = new Map<string, number>();
  const boundAt = new Map<string, number>();
  const seen = (p: KObject) => {
    if (p.spec?.nodeName && !boundAt.has(p.metadata!.name)) boundAt.set(p.metadata!.name, now());
  };
  pods.addEventHandler({ onAdd: seen, onUpdate: (_o, p) => seen(p) });
  pods.start();
  await pods.waitForSync(30_000);
  const t0 = now();
  await pool(a.pods, a.clients, async (i) => {
    const name = `p-${i}`;
    createdAt.set(name, now());
    await client.create('/pods', benchPod(ns, name), { namespace: ns });
  });
  const createMs = now() - t0;
  const boundAtCreateEnd = boundAt.size;
  progress(`created ${a.pods} pods in ${createMs.toFixed(0)} ms; ${boundAt.size} bound so far`);
  await until(pods, () => boundAt.size >= a.pods, a.timeoutMs, `all ${a.pods} pods bound (${boundAt.size} so far)`);
  const last = Math.max(...boundAt.values());
  const ms = last - t0;
  const lat = [...boundAt].map(([n, t]) => t - createdAt.get(n)!);
  const rate = (a.pods / ms) * 1000;
  progress(`scheduled ${a.pods} pods on ${a.nodes} nodes in ${ms.toFixed(0)} ms: ${rate.toFixed(0)} pods/s`);
  await pods.stop();
  return {
    nodes: a.nodes,
    registerMs,
    cidrsMs,
    core,
    baseline: { pods: a.baselinePods, rate: baselineRate, clients: a.clients },
    sched: {
      pods: a.pods,
      rate,
      ms,
      createRate: (a.pods / createMs) * 1000,
      boundAtCreateEnd,
      rateAfterCreate: ((a.pods - boundAtCreateEnd) / Math.max(1, last - t0 - createMs)) * 1000,
      bindP50Ms: pct(lat, 50), bindP99Ms: pct(lat, 99), clients: a.clients },
  };
}

// ---------------------------------------------------------------- workload

function deploymentManifest(ns: string, replicas: number): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: ns },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image: 'k8ts/demoapp', ports: [{ containerPort: 8080 }], resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
      },
    },
  });
}

function runKubectl(kubectl: string, kubeconfig: string, args: string[], input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(kubectl, ['--kubeconfig', kubeconfig, ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (b) => (err += b));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`kubectl ${args.join(' ')} exited ${code}: ${err}`))));
    p.stdin.end(input);
  });
}

const isReady = (p: KObject): boolean => (p.status?.conditions ?? []).some((c: KObject) => c.type === 'Ready' && c.status === 'True');

async function workload(a: WorkloadArgs): Promise<WorkloadResult> {
  const client = ApiClient.fromKubeconfig(a.kubeconfig, { userAgent: 'k8ts-bench-control-plane' });
  await simNodes(client, a.nodes, a.heartbeatMs, true, a.timeoutMs);

  // kubectl apply of a Deployment -> every replica Ready (ReplicaSet, scheduler, simulated kubelets).
  const dns = 'cp-deploy';
  await ensureNamespace(client, dns);
  const dpods = new Informer<KObject>(client, '/pods', { namespace: dns });
  dpods.start();
  await dpods.waitForSync(30_000);
  const ready = () => dpods.lister.list(dns, (p) => p.metadata?.labels?.app === 'web' && isReady(p)).length;
  const t0 = now();
  let kubectlMs = NaN;
  const applied = runKubectl(a.kubectl, a.kubeconfig, ['apply', '-f', '-'], deploymentManifest(dns, a.replicas)).then(() => (kubectlMs = now() - t0));
  let readyMs = NaN;
  const allReady = until(dpods, () => ready() >= a.replicas, a.timeoutMs, `${a.replicas} ready replicas`).then(() => (readyMs = now() - t0));
  await Promise.all([applied, allReady]);
  progress(`deployment of ${a.replicas} replicas ready in ${readyMs.toFixed(0)} ms (kubectl apply returned after ${kubectlMs.toFixed(0)} ms)`);
  await dpods.stop();

  // Endpoint propagation: pods on a node no simulated kubelet serves, made Ready by us one at a time.
  const ens = 'cp-ep';
  await ensureNamespace(client, ens);
  const node = 'cp-ep-node';
  await client.create('/nodes', simNodeObject(node, a.nodes, { cpu: '64', memory: '256Gi', pods: 10_000 }, new Date()));
  await client.create(
    '/services',
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ep', namespace: ens }, spec: { selector: { app: 'ep' }, ports: [{ port: 80, targetPort: 8080 }] } },
    { namespace: ens },
  );
  const waiting = new Map<string, { t0: number; ep?: number; slice?: number; done: () => void }>();
  const settle = (ip: string, which: 'ep' | 'slice') => {
    const w = waiting.get(ip);
    if (!w || w[which] !== undefined) return;
    w[which] = now();
    if (w.ep !== undefined && w.slice !== undefined) w.done();
  };
  const eps = new Informer<KObject>(client, '/endpoints', { namespace: ens });
  const slices = new Informer<KObject>(client, 'discovery.k8s.io/endpointslices', { namespace: ens });
  const onEp = (e: KObject) => {
    if (e.metadata?.name !== 'ep') return;
    for (const s of e.subsets ?? []) for (const ad of s.addresses ?? []) settle(ad.ip, 'ep');
  };
  const onSlice = (s: KObject) => {
    if (s.metadata?.labels?.['kubernetes.io/service-name'] !== 'ep') return;
    for (const e of s.endpoints ?? []) if (e.conditions?.ready !== false) for (const ip of e.addresses ?? []) settle(ip, 'slice');
  };
  eps.addEventHandler({ onAdd: onEp, onUpdate: (_o, e) => onEp(e) });
  slices.addEventHandler({ onAdd: onSlice, onUpdate: (_o, s) => onSlice(s) });
  eps.start();
  slices.start();
  await Promise.all([eps.waitForSync(30_000), slices.waitForSync(30_000)]);
  const epLat: number[] = [];
  const sliceLat: number[] = [];
  let timeouts = 0;
  for (let i = 0; i < a.epPods; i++) {
    const name = `ep-${i}`;
    const ip = `10.250.${Math.floor(i / 250)}.${(i % 250) + 2}`;
    const pod = await client.create<KObject>(
      '/pods',
      { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ens, labels: { app: 'ep' } }, spec: { nodeName: node, containers: [{ name: 'c', image: 'k8ts/demoapp', ports: [{ containerPort: 8080 }] }] } },
      { namespace: ens },
    );
    await sleep(a.epGapMs); // let the controllers see the (not ready, IP-less) pod first
    const t = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const cond = (type: string) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: t });
    let done!: () => void;
    const arrived = new Promise<void>((r) => (done = r));
    const w = { t0: now(), done } as { t0: number; ep?: number; slice?: number; done: () => void };
    waiting.set(ip, w);
    await client.updateStatus('/pods', {
      ...pod,
      status: { ...pod.status, phase: 'Running', podIP: ip, podIPs: [{ ip }], hostIP: '192.0.2.99', conditions: [cond('PodScheduled'), cond('Initialized'), cond('ContainersReady'), cond('Ready')] },
    });
    const timedOut = await Promise.race([arrived.then(() => false), sleep(5000).then(() => true)]);
    if (timedOut) timeouts++;
    if (w.ep !== undefined) epLat.push(w.ep - w.t0);
    if (w.slice !== undefined) sliceLat.push(w.slice - w.t0);
    waiting.delete(ip);
  }
  await Promise.all([eps.stop(), slices.stop()]);
  const stats = (s: number[]) => ({ n: s.length, p50: pct(s, 50), p99: pct(s, 99), max: s.length ? Math.max(...s) : NaN });
  const r = { nodes: a.nodes, deploy: { replicas: a.replicas, readyMs, kubectlMs }, endpoints: stats(epLat), slices: stats(sliceLat), timeouts };
  progress(`endpoint propagation: Endpoints p50 ${r.endpoints.p50.toFixed(1)} p99 ${r.endpoints.p99.toFixed(1)} ms; EndpointSlice p50 ${r.slices.p50.toFixed(1)} p99 ${r.slices.p99.toFixed(1)} ms`);
  return r;
}

// ---------------------------------------------------------------- readyz

export interface ReadyzArgs {
  port: number;
  kubeconfig: string;
  timeoutMs: number;
}

/** Polls /readyz (anonymously, unverified: the CA may not exist yet) until 200 and the admin kubeconfig is written. */
async function readyz(a: ReadyzArgs): Promise<{ ready: true; polls: number }> {
  const https = await import('node:https');
  const fs = await import('node:fs');
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
  const get = () =>
    new Promise<number>((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port: a.port, path: '/readyz', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.setTimeout(2000, () => req.destroy(new Error('timeout')));
    });
  const deadline = now() + a.timeoutMs;
  let polls = 0;
  try {
    while (now() < deadline) {
      polls++;
      const code = await get().catch(() => 0);
      if (code === 200 && fs.existsSync(a.kubeconfig)) return { ready: true, polls };
      await sleep(20);
    }
    throw new Error(`/readyz not OK within ${a.timeoutMs} ms (${polls} polls)`);
  } finally {
    agent.destroy();
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const [mode, json] = process.argv.slice(2);
  const args = JSON.parse(json ?? '{}');
  const result = mode === 'sched' ? await sched(args) : mode === 'workload' ? await workload(args) : mode === 'readyz' ? await readyz(args) : undefined;
  if (!result) throw new Error(`unknown mode ${mode}`);
  process.stdout.write(JSON.stringify(result) + '\n');
}

if (process.argv[1]?.endsWith('_control-plane-load.js')) {
  main().then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`[control-plane-load] ${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
