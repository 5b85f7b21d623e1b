// Helper processes of the pod-startup bench (bench/pod-startup.ts). Each runs
// inside the bench's network namespace:
//
//   ip netns exec NS node dist/bench/_pod-startup-load.js <mode> '<json args>'
//
// and prints JSON lines on stdout (progress on stderr); the last line is the result.
//   pods  waits for the node, runs one warm-up pod, then creates `count`
//         k8ts/demoapp pods (open loop at `rate` per second), watching them:
//         creation call -> Running with Ready=True, per pod. Prints
//         {"phase":"running",...} once all are ready and waits for a line on
//         stdin (the bench reads the server's RSS meanwhile), then deletes them
//         all and waits until the watch has seen every one go.
//   cni   the baseline: `count` times `ip netns add` + CNI ADD (CniRuntime, the
//         agent's conflist), then CNI DEL + `ip netns del`, `concurrency` at a
//         time (the agent's pod workers run 4).
// The file name starts with "_" so that the bench runner does not take it for a bench.
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';
import { ApiClient, type KObject, loadKubeconfig } from '../src/client/index.js';
import { CniRuntime } from '../src/network/cni.js';
import { exec } from '../src/util/exec.js';
import { sleep } from './lib.js';

type Obj = Record<string, any>;

export interface PodsArgs {
  kubeconfig: string;
  namespace: string;
  count: number;
  /** Pod creations per second (open loop). */
  rate: number;
  nodeName: string;
  timeoutMs: number;
}

export interface PodsResult {
  count: number;
  /** creation call start -> Running+Ready seen on the watch, per pod (ms). */
  startupMs: number[];
  /** First creation call -> last pod ready (ms). */
  allRunningMs: number;
  /** Delete calls start -> the watch saw the last pod go (ms). */
  teardownMs: number;
  warmupMs: number;
}

export interface CniArgs {
  confDir: string;
  binDirs: string[];
  cacheDir: string;
  /** Names of the namespaces: <prefix><i>. */
  prefix: string;
  count: number;
  concurrency: number;
}

export interface CniResult {
  /** ip netns add + CNI ADD, per sandbox (ms). */
  setUpMs: number[];
  setUpTotalMs: number;
  /** CNI DEL + ip netns del, per sandbox (ms). */
  tearDownMs: number[];
  tearDownTotalMs: number;
}

const progress = (m: string) => process.stderr.write(`[pod-startup helper] ${m}\n`);
const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');
const ready = (p: Obj) => p.status?.phase === 'Running' && p.status?.conditions?.some((c: Obj) => c.type === 'Ready' && c.status === 'True');

/** Runs fn(i) for i in 0..n-1, `limit` at a time. */
async function pool(n: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, n) }, async () => {
      for (let i = next++; i < n; i = next++) await fn(i);
    }),
  );
}

function demoPod(name: string, namespace: string): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { app: 'bench-demoapp' } },
    spec: { terminationGracePeriodSeconds: 5, containers: [{ name: 'demoapp', image: 'k8ts/demoapp', ports: [{ containerPort: 80 }] }] },
  } as KObject;
}

async function pods(a: PodsArgs): Promise<void> {
  const client = new ApiClient({ ...loadKubeconfig(a.kubeconfig), userAgent: 'k8ts-bench-pod-startup' });
  const deadline = Date.now() + a.timeoutMs;
  const left = () => {
    if (Date.now() > deadline) throw new Error(`timed out after ${a.timeoutMs} ms`);
  };
  // The node, ready with a podCIDR.
  for (;;) {
    left();
    const n = await client.get<Obj>('/nodes', undefined, a.nodeName).catch(() => undefined);
    if (n?.spec?.podCIDR && n.status?.conditions?.some((c: Obj) => c.type === 'Ready' && c.status === 'True')) break;
    await sleep(100);
  }
  await client.create('/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: a.namespace } } as KObject).catch(() => {});
  // The default service account (the API may ask for it on pod creation).
  for (;;) {
    left();
    const sa = await client.get('/serviceaccounts', a.namespace, 'default').catch(() => undefined);
    if (sa) break;
    await sleep(100);
  }

  const list = await client.list<Obj>('/pods', { namespace: a.namespace });
  const watch = await client.watch<Obj>('/pods', { namespace: a.namespace, resourceVersion: list.metadata.resourceVersion });
  const createdAt = new Map<string, number>();
  const readyAt = new Map<string, number>();
  const present = new Set<string>();
  let waiter: (() => void) | undefined;
  const check = () => waiter?.();
  const watching = (async () => {
    for await (const ev of watch) {
      const name = ev.object?.metadata?.name;
      if (!name) continue;
      if (ev.type === 'DELETED') present.delete(name);
      else {
        present.add(name);
        if (!readyAt.has(name) && ready(ev.object)) readyAt.set(name, performance.now());
      }
      check();
    }
  })();
  const until = async (cond: () => boolean, what: string) => {
    while (!cond()) {
      left();
      await Promise.race([new Promise<void>((r) => (waiter = r)), sleep(500)]);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    }
  };

  // Warm-up: one pod through its whole life (first start of the demoapp image, cgroup parents, the bridge).
  const w0 = performance.now();
  await client.create('/pods', demoPod('warmup', a.namespace), { namespace: a.namespace });
  await until(() => readyAt.has('warmup'), 'the warm-up pod to be ready');
  const warmupMs = performance.now() - w0;
  progress(`warm-up pod ready after ${warmupMs.toFixed(0)} ms`);
  await client.delete('/pods', a.namespace, 'warmup', { gracePeriodSeconds: 1 });
  await until(() => !present.has('warmup'), 'the warm-up pod to go');

  const names = Array.from({ length: a.count }, (_, i) => `demo-${String(i).padStart(3, '0')}`);
  const t0 = performance.now();
  const creates: Array<Promise<unknown>> = [];
  for (let i = 0; i < names.length; i++) {
    const due = t0 + (i * 1000) / a.rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    createdAt.set(names[i], performance.now());
    creates.push(client.create('/pods', demoPod(names[i], a.namespace), { namespace: a.namespace }));
  }
  await Promise.all(creates);
  progress(`${names.length} pods created in ${(performance.now() - t0).toFixed(0)} ms`);
  await until(() => names.every((n) => readyAt.has(n)), `all ${names.length} pods running and ready (${names.filter((n) => readyAt.has(n)).length} so far)`);
  const allRunningMs = Math.max(...names.map((n) => readyAt.get(n)!)) - t0;
  const startupMs = names.map((n) => readyAt.get(n)! - createdAt.get(n)!);
  progress(`all ready after ${allRunningMs.toFixed(0)} ms`);

  out({ phase: 'running', count: names.length });
  await new Promise<void>((resolve) => {
    const rl = readline.createInterface({ input: process.stdin });
    rl.once('line', () => {
      rl.close();
      resolve();
    });
    rl.once('close', () => resolve());
  });

  const d0 = performance.now();
  await pool(names.length, 20, async (i) => {
    await client.delete('/pods', a.namespace, names[i], {});
  });
  await until(() => names.every((n) => !present.has(n)), 'every pod to be gone');
  const teardownMs = performance.now() - d0;
  progress(`all pods gone after ${teardownMs.toFixed(0)} ms`);
  watch.close();
  await watching.catch(() => {});
  client.close();
  const r: PodsResult = { count: names.length, startupMs, allRunningMs, teardownMs, warmupMs };
  out(r);
}

async function cni(a: CniArgs): Promise<void> {
  const rt = new CniRuntime({ confDir: a.confDir, binDirs: a.binDirs, cacheDir: a.cacheDir });
  const ref = (i: number) => ({ containerId: `bench-baseline-${i}`, netnsPath: `/var/run/netns/${a.prefix}${i}`, podNamespace: 'bench', podName: `baseline-${i}`, podUid: `baseline-uid-${i}` });
  const setUpMs: number[] = [];
  const tearDownMs: number[] = [];
  const s0 = performance.now();
  await pool(a.count, a.concurrency, async (i) => {
    const t = performance.now();
    await exec('ip', ['netns', 'add', `${a.prefix}${i}`]);
    await rt.setUp(ref(i));
    setUpMs.push(performance.now() - t);
  });
  const setUpTotalMs = performance.now() - s0;
  const d0 = performance.now();
  await pool(a.count, a.concurrency, async (i) => {
    const t = performance.now();
    await rt.tearDown(ref(i));
    await exec('ip', ['netns', 'del', `${a.prefix}${i}`]);
    tearDownMs.push(performance.now() - t);
  });
  const r: CniResult = { setUpMs, setUpTotalMs, tearDownMs, tearDownTotalMs: performance.now() - d0 };
  out(r);
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
const [mode, json] = process.argv.slice(2);
const args = isMain ? JSON.parse(json ?? '{}') : undefined;
if (isMain) (mode === 'pods' ? pods(args) : mode === 'cni' ? cni(args) : Promise.reject(new Error(`unknown mode ${mode}`))).then(
  () => process.exit(0),
  (err) => {
    progress(`FAILED: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
