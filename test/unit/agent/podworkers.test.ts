// PodWorkers (the agent's SyncPod) against fakes: a container runtime that
// records calls and lets the test end containers with exit codes, a pod
// network, an image catalog, informers, an API client and an event recorder.
// Timing is made small by injecting the back-offs and the relist period;
// probes are exec probes answered by the fake runtime (period 1 s, their minimum).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, test } from 'node:test';
import { type ImageCatalog, PodWorkers, type PodWorkersOptions } from '../../../src/agent/pods.js';
import { Backoff } from '../../../src/agent/probes.js';
import type { ContainerConfig, ContainerRuntime, ContainerStatus, ExecProcess, SandboxConfig, SandboxStatus } from '../../../src/agent/runtime/types.js';
import { ApiStatusError } from '../../../src/client/index.js';
import { setLogSink } from '../../../src/util/log.js';
import { poll } from '../../helpers/poll.js';

type Obj = Record<string, any>;
setLogSink(() => {});

const iso = () => new Date().toISOString();

// ------------------------------------------------------------------ fakes

class FakeRuntime implements ContainerRuntime {
  readonly name = 'fake';
  calls: Array<[string, ...unknown[]]> = [];
  sandboxes = new Map<string, SandboxStatus>();
  containers = new Map<string, ContainerStatus>();
  started: ContainerConfig[] = [];
  /** Exit code of exec'd commands, by container name (probes). */
  execCode = new Map<string, number>();
  private n = 0;

  async createSandbox(cfg: SandboxConfig): Promise<SandboxStatus> {
    this.calls.push(['createSandbox', cfg.podUid]);
    const id = `sb${++this.n}`;
    const sb: SandboxStatus = { id, podUid: cfg.podUid, namespace: cfg.namespace, name: cfg.name, state: 'ready', netnsPath: cfg.hostNetwork ? '' : `/run/netns/fake-${id}`, createdAt: iso() };
    this.sandboxes.set(id, sb);
    return sb;
  }
  async removeSandbox(id: string): Promise<void> {
    this.calls.push(['removeSandbox', id]);
    for (const c of this.containers.values()) if (c.sandboxId === id && c.state === 'running') this.end(c, 137);
    this.sandboxes.delete(id);
  }
  async listSandboxes(): Promise<SandboxStatus[]> {
    return [...this.sandboxes.values()];
  }
  async startContainer(cfg: ContainerConfig): Promise<ContainerStatus> {
    this.calls.push(['startContainer', cfg.name, cfg.attempt]);
    this.started.push(cfg);
    const c: ContainerStatus = { id: `c${++this.n}`, sandboxId: cfg.sandboxId, name: cfg.name, attempt: cfg.attempt, image: cfg.image, imageId: `sha256:${cfg.image}`, state: 'running', pid: 1000 + this.n, createdAt: iso(), startedAt: iso(), logPath: '/dev/null' };
    this.containers.set(c.id, c);
    return { ...c };
  }
  async stopContainer(id: string, graceSeconds: number): Promise<void> {
    this.calls.push(['stopContainer', id, graceSeconds]);
    const c = this.containers.get(id);
    if (c && c.state === 'running') this.end(c, 137);
  }
  async removeContainer(id: string): Promise<void> {
    this.calls.push(['removeContainer', id]);
    this.containers.delete(id);
  }
  async containerStatus(id: string): Promise<ContainerStatus | undefined> {
    const c = this.containers.get(id);
    return c && { ...c };
  }
  async listContainers(sandboxId?: string): Promise<ContainerStatus[]> {
    return [...this.containers.values()].filter((c) => !sandboxId || c.sandboxId === sandboxId).map((c) => ({ ...c }));
  }
  async exec(id: string, argv: string[]): Promise<ExecProcess> {
    this.calls.push(['exec', id, argv.join(' ')]);
    const name = this.containers.get(id)?.name ?? '';
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    stdout.end();
    stderr.end();
    return { stdout, stderr, exit: Promise.resolve(this.execCode.get(name) ?? 0), kill: () => {} };
  }

  private end(c: ContainerStatus, code: number): void {
    c.state = 'exited';
    c.exitCode = code;
    c.reason = code === 0 ? 'Completed' : 'Error';
    c.finishedAt = iso();
  }
  /** Ends the running container `name` (its latest attempt) with `code`. */
  exit(name: string, code: number): void {
    const c = [...this.containers.values()].filter((x) => x.name === name && x.state === 'running').pop();
    assert.ok(c, `no running container ${name}`);
    this.end(c, code);
  }
  count(op: string, name?: string): number {
    return this.calls.filter((c) => c[0] === op && (name === undefined || c[1] === name)).length;
  }
}

class FakeNetwork {
  setUps: Obj[] = [];
  tearDowns: Obj[] = [];
  failNext = 0;
  private n = 1;
  async setUp(p: Obj): Promise<{ ips: string[] }> {
    this.setUps.push(p);
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('plugin type="bridge" failed (add): failed to allocate for range 0');
    }
    return { ips: [`10.244.0.${++this.n}`] };
  }
  async tearDown(p: Obj): Promise<void> {
    this.tearDowns.push(p);
  }
}

const KNOWN = new Set(['busybox', 'k8ts/demoapp']);
const images: ImageCatalog = {
  resolve: (ref) => (KNOWN.has(ref) ? { ref, imageId: `sha256:${ref}`, entrypoint: ['/bin/sh'], cmd: [], env: [{ name: 'PATH', value: '/bin' }] } : undefined),
  argv: (img, command, args) => [...(command ?? img.entrypoint), ...(args ?? img.cmd)],
  pullError: (ref) => ({ reason: 'ErrImagePull', message: `Failed to pull image "${ref}": not found` }),
};

class FakeInformer {
  private readonly objs = new Map<string, Obj>();
  private readonly handlers: Obj[] = [];
  readonly lister = {
    get: (ns: string | undefined, name: string) => this.objs.get(`${ns}/${name}`),
    list: (ns?: string, sel?: (o: Obj) => boolean) => [...this.objs.values()].filter((o) => (ns === undefined || o.metadata?.namespace === ns) && (!sel || sel(o))),
  };
  addEventHandler(h: Obj): this {
    this.handlers.push(h);
    return this;
  }
  set(o: Obj): void {
    const k = `${o.metadata.namespace}/${o.metadata.name}`;
    const old = this.objs.get(k);
    this.objs.set(k, o);
    for (const h of this.handlers) old ? h.onUpdate?.(old, o) : h.onAdd?.(o);
  }
  remove(ns: string, name: string): void {
    const o = this.objs.get(`${ns}/${name}`);
    if (!o) return;
    this.objs.delete(`${ns}/${name}`);
    for (const h of this.handlers) h.onDelete?.(o);
  }
}

class FakeClient {
  statusWrites: Obj[] = [];
  deletes: Array<{ ns: string; name: string; opts: Obj }> = [];
  constructor(private readonly pods: FakeInformer) {}
  async updateStatus(_path: string, obj: Obj): Promise<Obj> {
    const cur = this.pods.lister.get(obj.metadata.namespace, obj.metadata.name);
    if (!cur || cur.metadata.uid !== obj.metadata.uid) throw new ApiStatusError({ kind: 'Status', code: 404, reason: 'NotFound', message: 'not found' } as any);
    this.statusWrites.push(obj);
    this.pods.set({ ...cur, status: structuredClone(obj.status) }); // as the watch would deliver it
    return obj;
  }
  async get(_path: string, ns: string, name: string): Promise<Obj> {
    return this.pods.lister.get(ns, name)!;
  }
  async delete(_path: string, ns: string, name: string, opts: Obj): Promise<void> {
    this.deletes.push({ ns, name, opts });
    this.pods.remove(ns, name);
  }
}

interface Rig {
  runtime: FakeRuntime;
  network: FakeNetwork;
  pods: FakeInformer;
  configMaps: FakeInformer;
  secrets: FakeInformer;
  client: FakeClient;
  events: Array<{ type: string; reason: string; message: string; name: string }>;
  workers: PodWorkers;
  podsDir: string;
  pod(name: string): Obj | undefined;
  /** Polls until fn(pod) is truthy; returns the pod. */
  until(name: string, fn: (p: Obj) => unknown, what: string, timeoutMs?: number): Promise<Obj>;
  start(): Promise<void>;
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    await r.workers.stop();
    fs.rmSync(r.podsDir, { recursive: true, force: true });
  }
});

function rig(o: Partial<PodWorkersOptions> = {}, pre?: (r: Omit<Rig, 'workers' | 'start'>) => void): Rig {
  const runtime = new FakeRuntime();
  const network = new FakeNetwork();
  const pods = new FakeInformer();
  const configMaps = new FakeInformer();
  const secrets = new FakeInformer();
  const services = new FakeInformer();
  const client = new FakeClient(pods);
  const events: Rig['events'] = [];
  const podsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'k8ts-podworkers-'));
  const recorder = {
    event: async (obj: Obj, type: string, reason: string, message: string) => {
      events.push({ type, reason, message, name: obj.metadata?.name });
    },
  };
  const workers = new PodWorkers({
    client: client as any,
    nodeName: 'node-0',
    runtime,
    network,
    images,
    podsDir,
    dns: { clusterDns: ['10.96.0.10'], clusterDomain: 'cluster.local', hostResolvConf: 'nameserver 192.0.2.53\n' },
    clusterDomain: 'cluster.local',
    hostIPs: () => ['192.0.2.10'],
    nodeAllocatable: () => ({ cpu: '2', memory: '4Gi' }),
    pods: pods as any,
    configMaps: configMaps as any,
    secrets: secrets as any,
    services: services as any,
    recorder: recorder as any,
    relistMs: 20,
    restartBackoff: new Backoff(300, 1200),
    pullBackoff: new Backoff(150, 600),
    sandboxBackoff: new Backoff(100, 400),
    ...o,
  });
  const r: Rig = {
    runtime,
    network,
    pods,
    configMaps,
    secrets,
    client,
    events,
    workers,
    podsDir,
    pod: (name) => pods.lister.get('default', name),
    until: (name, fn, what, timeoutMs = 5000) =>
      poll(
        () => {
          const p = pods.lister.get('default', name);
          return p && fn(p) ? p : undefined;
        },
        { timeoutMs, what: () => `${what}; pod: ${JSON.stringify(pods.lister.get('default', name)?.status)}` },
      ),
    start: () => workers.start(),
  };
  pre?.(r);
  rigs.push(r);
  return r;
}

let uidN = 0;
function mkPod(name: string, spec: Obj = {}, meta: Obj = {}): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `uid-${name}-${++uidN}`, labels: { app: name }, ...meta },
    spec: { nodeName: 'node-0', containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'] }], ...spec },
    status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }] },
  };
}

const cs = (p: Obj, name = 'main'): Obj | undefined => p.status?.containerStatuses?.find((c: Obj) => c.name === name);
const ics = (p: Obj, name: string): Obj | undefined => p.status?.initContainerStatuses?.find((c: Obj) => c.name === name);
const cond = (p: Obj, type: string) => p.status?.conditions?.find((c: Obj) => c.type === type)?.status;
const waitingReason = (p: Obj, name = 'main') => cs(p, name)?.state?.waiting?.reason;

// ------------------------------------------------------------------ tests

test('sandbox first, then the containers; status Running with the pod IP; pod files written', async () => {
  const r = rig();
  await r.start();
  const p = mkPod('web', { containers: [{ name: 'a', image: 'busybox' }, { name: 'b', image: 'k8ts/demoapp' }] });
  r.pods.set(p);
  const got = await r.until('web', (x) => x.status.phase === 'Running' && cond(x, 'Ready') === 'True', 'web running');
  const ops = r.runtime.calls.map((c) => c[0]).filter((c) => c !== 'exec');
  assert.deepEqual(ops, ['createSandbox', 'startContainer', 'startContainer']);
  assert.equal(r.network.setUps.length, 1);
  assert.equal(r.network.setUps[0].podUid, p.metadata.uid);
  assert.equal(r.network.setUps[0].netnsPath, '/run/netns/fake-sb1');
  assert.equal(got.status.podIP, '10.244.0.2');
  assert.equal(got.status.hostIP, '192.0.2.10');
  assert.equal(cond(got, 'PodReadyToStartContainers'), 'True');
  assert.deepEqual(got.status.containerStatuses.map((c: Obj) => [c.name, c.restartCount, !!c.state.running, c.containerID?.startsWith('k8ts://')]), [
    ['a', 0, true, true],
    ['b', 0, true, true],
  ]);
  // Every container gets the pod's /etc files.
  const mounts = r.runtime.started[0].mounts.map((m) => m.containerPath);
  for (const f of ['/etc/hosts', '/etc/resolv.conf', '/etc/hostname']) assert.ok(mounts.includes(f), f);
  const etc = path.join(r.podsDir, p.metadata.uid, 'etc');
  assert.match(fs.readFileSync(path.join(etc, 'hosts'), 'utf8'), /10\.244\.0\.2\s+web/);
  assert.match(fs.readFileSync(path.join(etc, 'resolv.conf'), 'utf8'), /nameserver 10\.96\.0\.10/);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(r.podsDir, p.metadata.uid, 'network.json'), 'utf8')).ips, ['10.244.0.2']);
  assert.ok(r.events.some((e) => e.reason === 'Started'));
});

test('init containers run in order and hold the containers back until they succeed', async () => {
  const r = rig();
  await r.start();
  r.pods.set(
    mkPod('init', {
      initContainers: [
        { name: 'i1', image: 'busybox' },
        { name: 'i2', image: 'busybox' },
      ],
    }),
  );
  await r.until('init', (x) => ics(x, 'i1')?.state?.running, 'i1 running');
  assert.equal(r.runtime.count('startContainer', 'i2'), 0);
  assert.equal(r.runtime.count('startContainer', 'main'), 0);
  let p = r.pod('init')!;
  assert.equal(p.status.phase, 'Pending');
  assert.equal(cond(p, 'Initialized'), 'False');
  assert.equal(waitingReason(p), 'PodInitializing');

  r.runtime.exit('i1', 0);
  await r.until('init', (x) => ics(x, 'i2')?.state?.running, 'i2 running');
  assert.equal(ics(r.pod('init')!, 'i1')?.state?.terminated?.reason, 'Completed');
  assert.equal(r.runtime.count('startContainer', 'main'), 0);

  // A failing init container is restarted (restartPolicy Always) and the main container still waits.
  r.runtime.exit('i2', 1);
  await r.until('init', (x) => ics(x, 'i2')?.restartCount === 1 && ics(x, 'i2')?.state?.running, 'i2 restarted');
  assert.equal(r.runtime.count('startContainer', 'main'), 0);
  r.runtime.exit('i2', 0);
  p = await r.until('init', (x) => x.status.phase === 'Running', 'main running after init');
  assert.equal(cond(p, 'Initialized'), 'True');
  assert.deepEqual(
    r.runtime.calls.filter((c) => c[0] === 'startContainer').map((c) => `${c[1]}#${c[2]}`),
    ['i1#0', 'i2#0', 'i2#1', 'main#0'],
  );
});

test('restartPolicy Always restarts even after exit 0', async () => {
  const r = rig();
  await r.start();
  r.pods.set(mkPod('always'));
  await r.until('always', (x) => cs(x)?.state?.running, 'running');
  r.runtime.exit('main', 0);
  const p = await r.until('always', (x) => cs(x)?.restartCount === 1 && cs(x)?.state?.running, 'restarted');
  assert.equal(cs(p)!.lastState.terminated.exitCode, 0);
  assert.equal(p.status.phase, 'Running');
});

test('restartPolicy OnFailure: restarts after a failure, completes after success', async () => {
  const r = rig();
  await r.start();
  r.pods.set(mkPod('onfail', { restartPolicy: 'OnFailure' }));
  await r.until('onfail', (x) => cs(x)?.state?.running, 'running');
  r.runtime.exit('main', 2);
  await r.until('onfail', (x) => cs(x)?.restartCount === 1 && cs(x)?.state?.running, 'restarted after exit 2');
  r.runtime.exit('main', 0);
  const p = await r.until('onfail', (x) => x.status.phase === 'Succeeded', 'Succeeded');
  assert.equal(cs(p)!.state.terminated.exitCode, 0);
  assert.equal(cs(p)!.state.terminated.reason, 'Completed');
  assert.equal(r.runtime.count('startContainer', 'main'), 2);
  // A finished pod's sandbox is torn down.
  await poll(() => r.runtime.count('removeSandbox') === 1 && r.network.tearDowns.length === 1, { what: 'sandbox of the finished pod removed' });
});

test('restartPolicy Never: a failed container is not restarted; phase Failed', async () => {
  const r = rig();
  await r.start();
  r.pods.set(mkPod('never', { restartPolicy: 'Never' }));
  await r.until('never', (x) => cs(x)?.state?.running, 'running');
  r.runtime.exit('main', 3);
  const p = await r.until('never', (x) => x.status.phase === 'Failed', 'Failed');
  assert.equal(cs(p)!.state.terminated.exitCode, 3);
  assert.equal(cs(p)!.restartCount, 0);
  await new Promise((res) => setTimeout(res, 200)); // several relists
  assert.equal(r.runtime.count('startContainer', 'main'), 1);
});

test('CrashLoopBackOff: the second restart waits for the back-off, which grows', async () => {
  const r = rig({ restartBackoff: new Backoff(400, 1600) });
  await r.start();
  r.pods.set(mkPod('crash'));
  await r.until('crash', (x) => cs(x)?.state?.running, 'running');
  r.runtime.exit('main', 1);
  await r.until('crash', (x) => cs(x)?.restartCount === 1 && cs(x)?.state?.running, 'first restart (immediate)');
  r.runtime.exit('main', 1);
  const t0 = Date.now();
  const p = await r.until('crash', (x) => waitingReason(x) === 'CrashLoopBackOff', 'CrashLoopBackOff');
  assert.match(cs(p)!.state.waiting.message, /back-off .* restarting failed container=main/);
  assert.equal(cs(p)!.lastState.terminated.exitCode, 1);
  assert.equal(r.runtime.count('startContainer', 'main'), 2, 'no restart during the back-off');
  assert.ok(r.events.some((e) => e.reason === 'BackOff'));
  await r.until('crash', (x) => cs(x)?.restartCount === 2 && cs(x)?.state?.running, 'restart after the back-off');
  assert.ok(Date.now() - t0 >= 300, `restarted after ${Date.now() - t0} ms, before the 400 ms back-off`);
  r.runtime.exit('main', 1);
  const t1 = Date.now();
  await r.until('crash', (x) => cs(x)?.restartCount === 3 && cs(x)?.state?.running, 'restart after the doubled back-off', 8000);
  assert.ok(Date.now() - t1 >= 700, `third restart after ${Date.now() - t1} ms, before the 800 ms back-off`);
});

test('an unknown image: ErrImagePull, then ImagePullBackOff; other pods keep working', async () => {
  const r = rig();
  await r.start();
  r.pods.set(mkPod('badimg', { containers: [{ name: 'main', image: 'registry.example/nope:1' }] }));
  const p = await r.until('badimg', (x) => waitingReason(x) === 'ImagePullBackOff', 'ImagePullBackOff');
  // ErrImagePull was reported first (the status written right after the failed pull).
  const reasons = () => r.client.statusWrites.filter((w) => w.metadata.name === 'badimg').map((w) => waitingReason(w));
  assert.equal(reasons()[0], 'ErrImagePull');
  // The pull is retried after its back-off (150 ms, then 300 ms): ErrImagePull again, then back-off again.
  await poll(() => reasons().filter((x) => x === 'ErrImagePull').length >= 3, { timeoutMs: 5000, what: () => `pull retried: ${reasons().join(',')}` });
  const pulls = r.events.filter((e) => e.name === 'badimg' && e.reason === 'Failed' && /Failed to pull image/.test(e.message)).length;
  assert.ok(pulls >= 3 && pulls <= 5, `${pulls} pull attempts: retried on its back-off, not on every sync`);
  assert.match(cs(p)!.state.waiting.message, /Back-off pulling image "registry\.example\/nope:1"/);
  assert.equal(p.status.phase, 'Pending');
  assert.equal(r.runtime.count('startContainer'), 0);
  assert.ok(r.events.some((e) => e.reason === 'Failed' && /Failed to pull image/.test(e.message)));
  r.pods.set(mkPod('good'));
  await r.until('good', (x) => x.status.phase === 'Running', 'another pod runs');
});

test('a missing configMap key: CreateContainerConfigError, then the container starts once it exists', async () => {
  const r = rig();
  await r.start();
  r.configMaps.set({ metadata: { name: 'cfg', namespace: 'default' }, data: { other: 'x' } });
  r.pods.set(mkPod('cfgerr', { containers: [{ name: 'main', image: 'busybox', env: [{ name: 'MODE', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'mode' } } }] }] }));
  const p = await r.until('cfgerr', (x) => waitingReason(x) === 'CreateContainerConfigError', 'CreateContainerConfigError');
  assert.match(cs(p)!.state.waiting.message, /couldn't find key mode in ConfigMap default\/cfg/);
  assert.equal(r.runtime.count('startContainer'), 0);
  r.configMaps.set({ metadata: { name: 'cfg', namespace: 'default' }, data: { mode: 'fast' } });
  await r.until('cfgerr', (x) => cs(x)?.state?.running, 'started after the key appeared (retry within 5 s)', 8000);
  assert.ok(r.runtime.started[0].env.some((e) => e.name === 'MODE' && e.value === 'fast'));
});

test('sandbox set-up failure: FailedCreatePodSandBox, the half-made sandbox removed, then a retry succeeds', async () => {
  const r = rig();
  r.network.failNext = 2;
  await r.start();
  r.pods.set(mkPod('sbfail'));
  const p = await r.until('sbfail', (x) => x.status.phase === 'Running', 'running after retries');
  const failed = r.events.filter((e) => e.reason === 'FailedCreatePodSandBox');
  assert.equal(failed.length, 2);
  assert.match(failed[0].message, /^Failed to create pod sandbox: .*failed to allocate/);
  assert.equal(r.runtime.count('createSandbox'), 3);
  assert.equal(r.runtime.count('removeSandbox'), 2);
  assert.equal(r.runtime.sandboxes.size, 1);
  assert.equal(p.status.podIP, '10.244.0.2');
});

test('a failing liveness probe restarts the container (restartCount increments)', async () => {
  const r = rig();
  await r.start();
  r.pods.set(mkPod('live', { containers: [{ name: 'main', image: 'busybox', livenessProbe: { exec: { command: ['true'] }, initialDelaySeconds: 1, periodSeconds: 1, failureThreshold: 1 } }] }));
  await r.until('live', (x) => cs(x)?.state?.running, 'running');
  await poll(() => r.runtime.count('exec') >= 1, { what: 'a liveness check' });
  r.runtime.execCode.set('main', 1);
  await poll(() => r.runtime.count('startContainer', 'main') === 2, { timeoutMs: 6000, what: 'restarted by liveness' });
  r.runtime.execCode.set('main', 0);
  const p = await r.until('live', (x) => cs(x)?.restartCount === 1 && cs(x)?.state?.running, 'running again with restartCount 1');
  assert.equal(cs(p)!.lastState.terminated.exitCode, 137);
  assert.ok(r.events.some((e) => e.reason === 'Unhealthy' && /^Liveness probe failed/.test(e.message)));
  assert.ok(r.events.some((e) => e.reason === 'Killing' && /failed liveness probe, will be restarted/.test(e.message)));
  assert.equal(r.runtime.calls.find((c) => c[0] === 'stopContainer')![2], 30, 'stopped with the pod grace period');
});

test('the readiness probe drives the Ready condition', async () => {
  const r = rig();
  await r.start();
  r.runtime.execCode.set('main', 1);
  r.pods.set(mkPod('ready', { containers: [{ name: 'main', image: 'busybox', readinessProbe: { exec: { command: ['check'] }, periodSeconds: 1, failureThreshold: 1 } }] }));
  let p = await r.until('ready', (x) => cs(x)?.state?.running, 'running');
  await poll(() => r.runtime.count('exec') >= 1, { what: 'a readiness check' });
  p = r.pod('ready')!;
  assert.equal(cond(p, 'Ready'), 'False');
  assert.equal(p.status.conditions.find((c: Obj) => c.type === 'Ready').reason, 'ContainersNotReady');
  r.runtime.execCode.set('main', 0);
  p = await r.until('ready', (x) => cond(x, 'Ready') === 'True', 'Ready', 6000);
  assert.equal(cs(p)!.ready, true);
  r.runtime.execCode.set('main', 1);
  p = await r.until('ready', (x) => cond(x, 'Ready') === 'False', 'not Ready again', 6000);
  assert.equal(cs(p)!.restartCount, 0, 'readiness never restarts');
});

test('graceful deletion: containers stopped with the grace period, network and sandbox removed, then the final delete', async () => {
  const r = rig();
  await r.start();
  const pod = mkPod('gone', { terminationGracePeriodSeconds: 7 });
  r.pods.set(pod);
  await r.until('gone', (x) => x.status.phase === 'Running', 'running');
  const sandboxId = [...r.runtime.sandboxes.keys()][0];
  const cur = r.pod('gone')!;
  r.pods.set({ ...cur, metadata: { ...cur.metadata, deletionTimestamp: iso(), deletionGracePeriodSeconds: 7 } });
  await poll(() => r.client.deletes.length === 1, { what: 'final delete' });
  const stop = r.runtime.calls.find((c) => c[0] === 'stopContainer')!;
  assert.equal(stop[2], 7);
  assert.equal(r.network.tearDowns.length, 1);
  assert.equal(r.network.tearDowns[0].containerId, sandboxId);
  assert.equal(r.network.tearDowns[0].podName, 'gone');
  const order = r.runtime.calls.map((c) => c[0]).filter((c) => c === 'stopContainer' || c === 'removeSandbox');
  assert.deepEqual(order, ['stopContainer', 'removeSandbox']);
  assert.deepEqual(r.client.deletes[0], { ns: 'default', name: 'gone', opts: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } } });
  assert.equal(r.runtime.sandboxes.size, 0);
  assert.equal(r.runtime.containers.size, 0);
  assert.ok(!fs.existsSync(path.join(r.podsDir, pod.metadata.uid)), 'pod directory removed');
});

test('a pod gone from the API (force-deleted) is killed and cleaned up without a delete call', async () => {
  const r = rig();
  await r.start();
  const pod = mkPod('forced');
  r.pods.set(pod);
  await r.until('forced', (x) => x.status.phase === 'Running', 'running');
  r.pods.remove('default', 'forced');
  await poll(() => r.runtime.sandboxes.size === 0, { what: 'sandbox removed' });
  assert.equal(r.runtime.calls.find((c) => c[0] === 'stopContainer')![2], 0);
  assert.equal(r.network.tearDowns.length, 1);
  assert.equal(r.client.deletes.length, 0);
  assert.ok(!fs.existsSync(path.join(r.podsDir, pod.metadata.uid)));
});

test('start() re-adopts sandboxes and containers from the runtime: same IPs, no new starts', async () => {
  const pod = mkPod('kept');
  pod.status = { phase: 'Running', podIP: '10.244.0.77', conditions: [{ type: 'PodScheduled', status: 'True' }] };
  const r = rig({}, (x) => {
    x.pods.set(pod);
    const sb: SandboxStatus = { id: 'sb-old', podUid: pod.metadata.uid, namespace: 'default', name: 'kept', state: 'ready', netnsPath: '/run/netns/fake-old', createdAt: iso() };
    x.runtime.sandboxes.set(sb.id, sb);
    x.runtime.containers.set('c-old', { id: 'c-old', sandboxId: sb.id, name: 'main', attempt: 2, image: 'busybox', imageId: 'sha256:busybox', state: 'running', createdAt: '2026-11-23T10:00:00.000Z', startedAt: '2026-11-23T10:00:00.000Z', logPath: '/dev/null' });
    fs.mkdirSync(path.join(x.podsDir, pod.metadata.uid), { recursive: true });
    fs.writeFileSync(path.join(x.podsDir, pod.metadata.uid, 'network.json'), JSON.stringify({ ips: ['10.244.0.77'], sandbox: sb.id }));
  });
  await r.start();
  const p = await r.until('kept', (x) => cs(x)?.state?.running && cond(x, 'Ready') === 'True', 'status written for the re-adopted pod');
  assert.equal(p.status.podIP, '10.244.0.77');
  assert.equal(cs(p)!.restartCount, 2);
  assert.equal(cs(p)!.containerID, 'k8ts://c-old');
  assert.equal(cs(p)!.state.running.startedAt, '2026-11-23T10:00:00.000Z');
  await new Promise((res) => setTimeout(res, 100));
  assert.equal(r.runtime.count('createSandbox'), 0);
  assert.equal(r.runtime.count('startContainer'), 0);
  assert.equal(r.network.setUps.length, 0);
  assert.equal(r.workers.containerOf('default', 'kept')?.status.id, 'c-old');
});

test('a re-adopted container gets its probes again', async () => {
  const pod = mkPod('probed', { containers: [{ name: 'main', image: 'busybox', readinessProbe: { exec: { command: ['check'] }, periodSeconds: 1, failureThreshold: 1 } }] });
  const r = rig({}, (x) => {
    x.pods.set(pod);
    x.runtime.sandboxes.set('sb-old', { id: 'sb-old', podUid: pod.metadata.uid, namespace: 'default', name: 'probed', state: 'ready', netnsPath: '/run/netns/x', createdAt: iso() });
    x.runtime.containers.set('c-old', { id: 'c-old', sandboxId: 'sb-old', name: 'main', attempt: 0, image: 'busybox', imageId: 'sha256:busybox', state: 'running', createdAt: iso(), startedAt: iso(), logPath: '/dev/null' });
  });
  r.runtime.execCode.set('main', 1);
  await r.start();
  await poll(() => r.runtime.count('exec') >= 1, { what: 'the readiness probe of the re-adopted container runs' });
  const p = await r.until('probed', (x) => cs(x)?.state?.running, 'status');
  assert.equal(cond(p, 'Ready'), 'False');
  r.runtime.execCode.set('main', 0);
  await r.until('probed', (x) => cond(x, 'Ready') === 'True', 'Ready', 6000);
});
