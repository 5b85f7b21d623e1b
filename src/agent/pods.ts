// The agent's pod workers, as kubelet's SyncPod: for every pod bound to this
// node, one key in a work queue (the pod UID), reconciled one at a time:
//   - a sandbox (network namespace through CNI, UTS namespace with the pod's
//     hostname) and the pod's files (/etc/hosts, /etc/resolv.conf,
//     /etc/hostname, volumes);
//   - init containers in order, then the containers, restarted according to
//     restartPolicy with CrashLoopBackOff; unknown images wait in
//     ErrImagePull/ImagePullBackOff;
//   - startup, liveness and readiness probes; liveness failures restart;
//   - the pod status written back (only when it changed);
//   - deletion: preStop hooks, SIGTERM, SIGKILL after the grace period, CNI
//     DEL, sandbox removal, then the final delete of the API object.
// A relist of the runtime every second (kubelet's PLEG) notices containers
// that exited. After an agent restart, sandboxes and containers are re-adopted
// from the runtime and pod IPs from the sandbox's saved network result.
import fs from 'node:fs';
import path from 'node:path';
import { type ApiClient, type EventRecorder, type Informer, type KObject, WorkQueue, isConflict, isNotFound } from '../client/index.js';
import { parseQuantity, scaledValue, toMilli } from '../api/quantity.js';
import { logger } from '../util/log.js';
import { type ClusterDnsSettings, formatResolvConf, podDnsConfig } from './dns.js';
import { EnvError, containerEnv, expandCommand } from './env.js';
import { hostsFile, podHostname } from './hosts.js';
import { Backoff, ProbeWorker } from './probes.js';
import type { ContainerRuntime, ContainerStatus, Mount, SandboxStatus } from './runtime/types.js';
import { type ContainerView, type PodView, podStatus, statusDiffers } from './status.js';
import { VolumeError, containerMounts, podUsesVolumeSource, prepareVolumes } from './volumes.js';

const log = logger('agent/pods');
export type Obj = Record<string, any>;

/** What the agent needs of an image catalog (src/images). */
export interface ImageCatalog {
  resolve(ref: string): { ref: string; imageId: string; entrypoint: string[]; cmd: string[]; env: Array<{ name: string; value: string }>; workingDir?: string } | undefined;
  argv(image: NonNullable<ReturnType<ImageCatalog['resolve']>>, command?: string[], args?: string[]): string[];
  pullError(ref: string): { reason: string; message: string };
  /** Makes the image runnable on this node (e.g. the busybox applet directory); returns the image to use. */
  prepare?(image: NonNullable<ReturnType<ImageCatalog['resolve']>>): Promise<NonNullable<ReturnType<ImageCatalog['resolve']>>>;
}

/** What the agent needs of the pod network (src/network's CNI runtime). */
export interface PodNetwork {
  setUp(p: NetworkParams & { portMappings: Array<{ hostPort: number; containerPort: number; protocol: string; hostIP?: string }> }): Promise<{ ips: string[] }>;
  tearDown(p: NetworkParams): Promise<void>;
}
export interface NetworkParams {
  containerId: string;
  netnsPath: string;
  podNamespace: string;
  podName: string;
  podUid: string;
}

export interface PodWorkersOptions {
  client: ApiClient;
  nodeName: string;
  runtime: ContainerRuntime;
  network: PodNetwork;
  images: ImageCatalog;
  /** <data-dir>/agent/pods: one directory per pod UID. */
  podsDir: string;
  dns: ClusterDnsSettings;
  clusterDomain: string;
  hostIPs: () => string[];
  nodeAllocatable: () => Record<string, string>;
  pods: Informer<KObject>;
  configMaps: Informer<KObject>;
  secrets: Informer<KObject>;
  services: Informer<KObject>;
  recorder: EventRecorder;
  /** The /etc/hosts of the node, for hostNetwork pods. */
  hostEtcHosts?: string;
  /** Relist period of the runtime (default 1 s). */
  relistMs?: number;
  /** Pods synced at once (default 16). */
  workers?: number;
  /** Container restart back-off (default kubelet's: 10 s doubling to 5 min). */
  restartBackoff?: Backoff;
  /** Image pull back-off (default as restartBackoff). */
  pullBackoff?: Backoff;
  /** Retry back-off of a failed sandbox set-up (default 1 s doubling to 1 min). */
  sandboxBackoff?: Backoff;
}

interface CState {
  /** Attempt number of `current` (restartCount as kubelet counts). */
  attempt: number;
  current?: ContainerStatus;
  previous?: ContainerStatus;
  waiting?: { reason: string; message?: string };
  probes: { startup?: ProbeWorker; liveness?: ProbeWorker; readiness?: ProbeWorker };
  /** The liveness/startup probe asked for a restart of this attempt. */
  restartRequested?: boolean;
  /** When the last image pull failed (the pull back-off counts from there). */
  pullFailedAt?: number;
}

interface PodState {
  uid: string;
  key: string;
  sandbox?: SandboxStatus;
  ips: string[];
  init: Map<string, CState>;
  containers: Map<string, CState>;
  startTime: string;
  failed?: { reason: string; message: string };
  lastStatus?: Obj;
  terminated?: boolean;
}

const nowIso = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const isFinished = (pod: Obj) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
const specsOf = (pod: Obj, init: boolean): Obj[] => (init ? pod.spec?.initContainers : pod.spec?.containers) ?? [];
const ref = (pod: Obj) => ({ apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata });

export class PodWorkers {
  private readonly states = new Map<string, PodState>();
  private readonly queue = new WorkQueue<string>({ name: 'agent-pods' });
  private readonly backoff: Backoff;
  private readonly pullBackoff: Backoff;
  private readonly sandboxBackoff: Backoff;
  private relistTimer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private lastSeen = new Map<string, string>();

  constructor(private readonly o: PodWorkersOptions) {
    this.backoff = o.restartBackoff ?? new Backoff();
    this.pullBackoff = o.pullBackoff ?? new Backoff();
    this.sandboxBackoff = o.sandboxBackoff ?? new Backoff(1000, 60_000);
  }

  private podByUid(uid: string): Obj | undefined {
    return this.o.pods.lister.list(undefined, (p) => p.metadata?.uid === uid)[0];
  }

  /** Re-adopts what the runtime runs, then starts the workers and the relist. */
  async start(): Promise<void> {
    const sandboxes = await this.o.runtime.listSandboxes();
    const containers = await this.o.runtime.listContainers();
    for (const sb of sandboxes) {
      const st = this.stateFor(sb.podUid, `${sb.namespace}/${sb.name}`);
      st.sandbox = sb;
      st.ips = this.readIps(sb.podUid);
      for (const c of containers.filter((x) => x.sandboxId === sb.id).sort((a, b) => a.attempt - b.attempt)) {
        const pod = this.podByUid(sb.podUid);
        const init = !!pod && specsOf(pod, true).some((s) => s.name === c.name);
        const map = init ? st.init : st.containers;
        const cs = map.get(c.name) ?? { attempt: 0, probes: {} };
        if (cs.current) cs.previous = cs.current;
        cs.current = c;
        cs.attempt = c.attempt;
        map.set(c.name, cs);
      }
      log.info('re-adopted pod sandbox', { pod: st.key, sandbox: sb.id, ips: st.ips.join(','), containers: containers.filter((x) => x.sandboxId === sb.id).length });
      this.queue.add(sb.podUid);
    }
    this.o.pods.addEventHandler({
      onAdd: (p) => this.queue.add(p.metadata?.uid),
      onUpdate: (_o, p) => this.queue.add(p.metadata?.uid),
      onDelete: (p) => this.queue.add(p.metadata?.uid),
    });
    // A changed ConfigMap/Secret is written again into the volumes of the pods that mount it.
    const volumeSourceChanged = (kind: 'ConfigMap' | 'Secret') => (o: KObject) => {
      for (const p of this.o.pods.lister.list()) {
        if (p.metadata?.namespace === o.metadata?.namespace && podUsesVolumeSource(p, kind, o.metadata?.name ?? '')) this.queue.add(p.metadata?.uid);
      }
    };
    this.o.configMaps.addEventHandler({ onUpdate: (_o, cm) => volumeSourceChanged('ConfigMap')(cm) });
    this.o.secrets.addEventHandler({ onUpdate: (_o, sec) => volumeSourceChanged('Secret')(sec) });
    for (const p of this.o.pods.lister.list()) this.queue.add(p.metadata?.uid);
    // Pods sync concurrently (kubelet runs one worker per pod); each pod is still synced by one worker at a time.
    this.running = this.queue.run(this.o.workers ?? 16, (uid) => this.sync(uid));
    this.relistTimer = setInterval(() => void this.relist(), this.o.relistMs ?? 1000);
  }

  async stop(): Promise<void> {
    if (this.relistTimer) clearInterval(this.relistTimer);
    for (const st of this.states.values()) this.stopProbes(st);
    this.queue.shutDown();
    await this.running;
  }

  /** kubelet's PLEG: a pod whose containers changed state is synced again. */
  private async relist(): Promise<void> {
    let list: ContainerStatus[];
    try {
      list = await this.o.runtime.listContainers();
    } catch (err) {
      log.warn('runtime relist failed', { error: err as Error });
      return;
    }
    const bySandbox = new Map<string, string>();
    for (const st of this.states.values()) if (st.sandbox) bySandbox.set(st.sandbox.id, st.uid);
    const seen = new Map<string, string>();
    for (const c of list) {
      const mark = `${c.state}:${c.exitCode ?? ''}`;
      seen.set(c.id, mark);
      if (this.lastSeen.get(c.id) !== mark) {
        const uid = bySandbox.get(c.sandboxId);
        if (uid) this.queue.add(uid);
      }
    }
    this.lastSeen = seen;
  }

  private stateFor(uid: string, key: string): PodState {
    let st = this.states.get(uid);
    if (!st) {
      st = { uid, key, ips: [], init: new Map(), containers: new Map(), startTime: nowIso() };
      this.states.set(uid, st);
    }
    return st;
  }

  private podDir(uid: string): string {
    return path.join(this.o.podsDir, uid);
  }

  private readIps(uid: string): string[] {
    try {
      return JSON.parse(fs.readFileSync(path.join(this.podDir(uid), 'network.json'), 'utf8')).ips ?? [];
    } catch {
      return [];
    }
  }

  async sync(uid: string): Promise<void> {
    if (!uid) return;
    const pod = this.podByUid(uid);
    const st = this.states.get(uid) ?? (pod ? this.stateFor(uid, `${pod.metadata.namespace}/${pod.metadata.name}`) : undefined);
    if (!st) return;
    if (!pod) {
      // Gone from the API (force-deleted, or deleted while we were away): kill it all.
      await this.killPod(st, undefined, 0);
      this.states.delete(uid);
      fs.rmSync(this.podDir(uid), { recursive: true, force: true });
      return;
    }
    if (pod.metadata?.deletionTimestamp) {
      await this.terminate(st, pod);
      return;
    }
    if (isFinished(pod) || st.terminated) {
      if (!st.terminated) await this.killPod(st, pod, pod.spec?.terminationGracePeriodSeconds ?? 30);
      st.terminated = true;
      return;
    }
    try {
      await this.ensureSandbox(st, pod);
    } catch (err) {
      const msg = `Failed to create pod sandbox: ${(err as Error).message}`;
      log.warn('sandbox set-up failed', { pod: st.key, error: err as Error });
      void this.o.recorder.event(ref(pod), 'Warning', 'FailedCreatePodSandBox', msg);
      await this.writeStatus(st, pod);
      // Retried with a growing back-off of its own: the queue's rate limiter is
      // reset (forget) whenever sync returns, so addRateLimited would retry every 5 ms.
      const key = `${uid}/<sandbox>`;
      this.sandboxBackoff.next(key, Date.now());
      this.queue.addAfter(uid, this.sandboxBackoff.delay(key));
      return;
    }
    this.sandboxBackoff.forget(`${uid}/<sandbox>`);
    let volumes: Map<string, string>;
    try {
      volumes = prepareVolumes(pod, this.podDir(uid), { configMap: (ns, n) => this.o.configMaps.lister.get(ns, n), secret: (ns, n) => this.o.secrets.lister.get(ns, n) });
    } catch (err) {
      void this.o.recorder.event(ref(pod), 'Warning', (err as VolumeError).reason ?? 'FailedMount', (err as Error).message);
      await this.writeStatus(st, pod);
      this.queue.addAfter(uid, 5000);
      return;
    }
    await this.refresh(st);
    const initDone = await this.syncInit(st, pod, volumes);
    if (initDone) for (const spec of specsOf(pod, false)) await this.syncContainer(st, pod, spec, false, volumes);
    await this.writeStatus(st, pod);
  }

  /** Refreshes the runtime status of every current container. */
  private async refresh(st: PodState): Promise<void> {
    for (const cs of [...st.init.values(), ...st.containers.values()]) {
      if (!cs.current || cs.current.state === 'exited') continue;
      cs.current = (await this.o.runtime.containerStatus(cs.current.id)) ?? { ...cs.current, state: 'exited', exitCode: cs.current.exitCode ?? 137, reason: 'Error' };
      if (cs.current.state === 'exited') this.stopProbesOf(cs);
    }
  }

  private async ensureSandbox(st: PodState, pod: Obj): Promise<void> {
    if (st.sandbox && st.sandbox.state === 'ready') return;
    const t0 = performance.now();
    const hostNetwork = !!pod.spec?.hostNetwork;
    const sb = await this.o.runtime.createSandbox({
      podUid: st.uid,
      namespace: pod.metadata.namespace,
      name: pod.metadata.name,
      hostname: podHostname(pod),
      hostNetwork,
      labels: pod.metadata.labels ?? {},
    });
    try {
      if (hostNetwork) st.ips = this.o.hostIPs();
      else {
        const portMappings = specsOf(pod, false).flatMap((c) =>
          (c.ports ?? []).filter((p: Obj) => p.hostPort).map((p: Obj) => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: String(p.protocol ?? 'TCP').toLowerCase(), hostIP: p.hostIP })),
        );
        const res = await this.o.network.setUp({ ...this.netParams(st, pod, sb), portMappings });
        st.ips = res.ips;
      }
    } catch (err) {
      await this.o.runtime.removeSandbox(sb.id).catch(() => {});
      throw err;
    }
    st.sandbox = sb;
    fs.mkdirSync(this.podDir(st.uid), { recursive: true });
    fs.writeFileSync(path.join(this.podDir(st.uid), 'network.json'), JSON.stringify({ ips: st.ips, sandbox: sb.id }));
    this.writePodFiles(st, pod);
    log.info('pod sandbox ready', { pod: st.key, sandbox: sb.id, ips: st.ips.join(','), ms: Math.round((performance.now() - t0) * 10) / 10 });
  }

  private netParams(st: PodState, pod: Obj | undefined, sb: SandboxStatus): NetworkParams {
    return { containerId: sb.id, netnsPath: sb.netnsPath, podNamespace: pod?.metadata?.namespace ?? sb.namespace, podName: pod?.metadata?.name ?? sb.name, podUid: st.uid };
  }

  /** /etc/hosts, /etc/resolv.conf and /etc/hostname of the pod. */
  private writePodFiles(st: PodState, pod: Obj): void {
    const dir = path.join(this.podDir(st.uid), 'etc');
    fs.mkdirSync(dir, { recursive: true });
    const hosts = pod.spec?.hostNetwork && this.o.hostEtcHosts !== undefined ? this.o.hostEtcHosts : hostsFile(pod, st.ips, this.o.clusterDomain);
    fs.writeFileSync(path.join(dir, 'hosts'), hosts);
    const dns = podDnsConfig(pod, this.o.dns);
    for (const [reason, message] of dns.warnings) void this.o.recorder.event(ref(pod), 'Warning', reason, message);
    fs.writeFileSync(path.join(dir, 'resolv.conf'), formatResolvConf(dns.config));
    fs.writeFileSync(path.join(dir, 'hostname'), `${podHostname(pod)}\n`);
  }

  private podFileMounts(st: PodState): Mount[] {
    const dir = path.join(this.podDir(st.uid), 'etc');
    return ['hosts', 'resolv.conf', 'hostname'].map((f) => ({ hostPath: path.join(dir, f), containerPath: `/etc/${f}` }));
  }

  /** Runs init containers in order; true once all have succeeded. */
  private async syncInit(st: PodState, pod: Obj, volumes: Map<string, string>): Promise<boolean> {
    for (const spec of specsOf(pod, true)) {
      const cs = st.init.get(spec.name);
      if (cs?.current?.state === 'exited' && cs.current.exitCode === 0) continue;
      await this.syncContainer(st, pod, spec, true, volumes);
      const now = st.init.get(spec.name);
      if (!(now?.current?.state === 'exited' && now.current.exitCode === 0)) {
        if (now?.current?.state === 'exited' && (pod.spec?.restartPolicy ?? 'Always') === 'Never') {
          st.failed = { reason: 'Failed', message: `init container ${spec.name} failed` };
        }
        // Other containers wait for it.
        for (const c of specsOf(pod, false)) {
          const m = st.containers.get(c.name) ?? { attempt: 0, probes: {} };
          if (!m.current) m.waiting = { reason: 'PodInitializing' };
          st.containers.set(c.name, m);
        }
        return false;
      }
    }
    return true;
  }

  private shouldRestart(pod: Obj, c: ContainerStatus, init: boolean): boolean {
    const policy: string = pod.spec?.restartPolicy ?? 'Always';
    if (init) return policy !== 'Never' && c.exitCode !== 0;
    if (policy === 'Always') return true;
    if (policy === 'OnFailure') return c.exitCode !== 0;
    return false;
  }

  private async syncContainer(st: PodState, pod: Obj, spec: Obj, init: boolean, volumes: Map<string, string>): Promise<void> {
    const map = init ? st.init : st.containers;
    let cs = map.get(spec.name);
    if (!cs) {
      cs = { attempt: 0, probes: {} };
      map.set(spec.name, cs);
    }
    const key = `${st.uid}/${spec.name}`;
    const cur = cs.current;
    if (cur && cur.state === 'running') {
      if (cs.restartRequested) {
        cs.restartRequested = false;
        this.stopProbesOf(cs);
        await this.o.runtime.stopContainer(cur.id, pod.spec?.terminationGracePeriodSeconds ?? 30);
        cs.current = (await this.o.runtime.containerStatus(cur.id)) ?? { ...cur, state: 'exited', exitCode: 137 };
      } else {
        // A container re-adopted after an agent restart has no probe workers yet.
        if (!init && Object.keys(cs.probes).length === 0 && (spec.startupProbe || spec.livenessProbe || spec.readinessProbe)) this.startProbes(st, pod, spec, cs);
        return;
      }
    }
    const last = cs.current;
    if (last && last.state === 'exited') {
      if (!this.shouldRestart(pod, last, init)) return;
      const ended = last.finishedAt ? Date.parse(last.finishedAt) : Date.now();
      const wait = this.backoff.remaining(key, ended, Date.now());
      if (wait > 0) {
        const delay = Math.round(this.backoff.delay(key) / 1000);
        cs.waiting = { reason: 'CrashLoopBackOff', message: `back-off ${delay}s restarting failed container=${spec.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${st.uid})` };
        void this.o.recorder.event(ref(pod), 'Warning', 'BackOff', 'Back-off restarting failed container');
        this.queue.addAfter(st.uid, wait + 50);
        return;
      }
      this.backoff.next(key, Date.now());
    }
    await this.startContainer(st, pod, spec, cs, init, volumes, last ? cs.attempt + 1 : 0);
  }

  private async startContainer(st: PodState, pod: Obj, spec: Obj, cs: CState, init: boolean, volumes: Map<string, string>, attempt: number): Promise<void> {
    const key = `${st.uid}/${spec.name}`;
    const resolved = this.o.images.resolve(spec.image);
    const image = resolved && this.o.images.prepare ? await this.o.images.prepare(resolved) : resolved;
    if (!image) {
      // As kubelet: a failed pull shows ErrImagePull; syncs during the pull
      // back-off show ImagePullBackOff without pulling; once the back-off has
      // passed, the next sync pulls again. (Syncs come for any reason, e.g.
      // the pod's own status update, so the back-off must not move on each.)
      const now = Date.now();
      const wait = cs.pullFailedAt === undefined ? 0 : this.pullBackoff.remaining(key, cs.pullFailedAt, now);
      if (wait > 0) {
        if (cs.waiting?.reason !== 'ImagePullBackOff') {
          cs.waiting = { reason: 'ImagePullBackOff', message: `Back-off pulling image "${spec.image}"` };
          void this.o.recorder.event(ref(pod), 'Normal', 'BackOff', `Back-off pulling image "${spec.image}"`);
        }
        this.queue.addAfter(st.uid, wait + 50);
        return;
      }
      const err = this.o.images.pullError(spec.image);
      cs.waiting = { reason: err.reason, message: err.message };
      void this.o.recorder.event(ref(pod), 'Warning', 'Failed', err.message);
      void this.o.recorder.event(ref(pod), 'Warning', 'Failed', `Error: ${err.reason}`);
      cs.pullFailedAt = now;
      this.pullBackoff.next(key, now);
      this.queue.addAfter(st.uid, this.pullBackoff.delay(key) + 50);
      return;
    }
    cs.pullFailedAt = undefined;
    void this.o.recorder.event(ref(pod), 'Normal', 'Pulled', `Container image "${spec.image}" already present on machine`);
    let env: Array<{ name: string; value: string }>;
    let mounts: Mount[];
    try {
      const r = containerEnv(pod, spec, {
        services: this.o.services.lister.list(undefined, (s) => s.metadata?.namespace === pod.metadata.namespace || s.metadata?.namespace === 'default'),
        configMap: (ns, n) => this.o.configMaps.lister.get(ns, n),
        secret: (ns, n) => this.o.secrets.lister.get(ns, n),
        nodeAllocatable: this.o.nodeAllocatable(),
        podIPs: st.ips,
        hostIPs: this.o.hostIPs(),
      });
      for (const [reason, message] of r.warnings) void this.o.recorder.event(ref(pod), 'Warning', reason, message);
      env = [...image.env.filter((e) => !r.env.some((x) => x.name === e.name)), ...r.env];
      mounts = [...this.podFileMounts(st), ...containerMounts(spec, volumes)];
    } catch (err) {
      if (!(err instanceof EnvError) && !(err instanceof VolumeError)) throw err;
      cs.waiting = { reason: 'CreateContainerConfigError', message: err.message };
      void this.o.recorder.event(ref(pod), 'Warning', 'Failed', `Error: ${err.message}`);
      this.queue.addAfter(st.uid, 5000);
      return;
    }
    const { command, args } = expandCommand(spec, env);
    const argv = this.o.images.argv(image, spec.command ? command : undefined, spec.args ? args : undefined);
    const sc = { ...(pod.spec?.securityContext ?? {}), ...(spec.securityContext ?? {}) };
    try {
      const limits = spec.resources?.limits ?? {};
      const requests = spec.resources?.requests ?? {};
      const started = await this.o.runtime.startContainer({
        sandboxId: st.sandbox!.id,
        name: spec.name,
        attempt,
        image: spec.image,
        argv,
        env,
        workingDir: spec.workingDir ?? image.workingDir,
        mounts,
        limits: {
          memoryLimitBytes: limits.memory ? bytes(limits.memory) : undefined,
          cpuLimitMillis: limits.cpu ? millis(limits.cpu) : undefined,
          cpuRequestMillis: requests.cpu ? millis(requests.cpu) : undefined,
        },
        runAsUser: sc.runAsUser,
        runAsGroup: sc.runAsGroup,
        stdin: !!spec.stdin,
        tty: !!spec.tty,
      });
      if (cs.current) cs.previous = cs.current;
      cs.current = started;
      cs.attempt = attempt;
      cs.waiting = undefined;
      void this.o.recorder.event(ref(pod), 'Normal', 'Created', `Created container: ${spec.name}`);
      void this.o.recorder.event(ref(pod), 'Normal', 'Started', `Started container ${spec.name}`);
      if (!init) this.startProbes(st, pod, spec, cs);
    } catch (err) {
      const reason = (err as { reason?: string }).reason ?? 'CreateContainerError';
      cs.waiting = { reason, message: (err as Error).message };
      void this.o.recorder.event(ref(pod), 'Warning', 'Failed', `Error: ${(err as Error).message}`);
      this.backoff.next(key, Date.now());
      this.queue.addAfter(st.uid, this.backoff.delay(key));
    }
  }

  private startProbes(st: PodState, pod: Obj, spec: Obj, cs: CState): void {
    this.stopProbesOf(cs);
    const id = cs.current!.id;
    const target = {
      podIP: st.ips[0] ?? '127.0.0.1',
      container: spec,
      exec: async (argv: string[], timeoutMs: number) => {
        const p = await this.o.runtime.exec(id, argv);
        let output = '';
        p.stdout.on('data', (d) => (output += d));
        p.stderr.on('data', (d) => (output += d));
        const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
        try {
          return { code: await p.exit, output };
        } finally {
          clearTimeout(timer);
        }
      },
    };
    const unhealthy = (m: string) => void this.o.recorder.event(ref(pod), 'Warning', 'Unhealthy', m);
    const resync = () => this.queue.add(st.uid);
    if (spec.startupProbe) {
      cs.probes.startup = new ProbeWorker({
        kind: 'startup',
        probe: spec.startupProbe,
        target,
        onFailure: unhealthy,
        onChange: (ok) => {
          if (ok) cs.probes.startup?.stop();
          else this.requestRestart(pod, spec, cs, 'startup');
          resync();
        },
      });
    }
    const started = () => !cs.probes.startup || cs.probes.startup.result;
    if (spec.livenessProbe) {
      cs.probes.liveness = new ProbeWorker({
        kind: 'liveness',
        probe: spec.livenessProbe,
        target,
        enabled: started,
        onFailure: unhealthy,
        onChange: (ok) => {
          if (!ok) {
            this.requestRestart(pod, spec, cs, 'liveness');
            resync();
          }
        },
      });
    }
    if (spec.readinessProbe) {
      cs.probes.readiness = new ProbeWorker({ kind: 'readiness', probe: spec.readinessProbe, target, enabled: started, onFailure: unhealthy, onChange: resync });
    }
    for (const w of Object.values(cs.probes)) w?.start();
  }

  private requestRestart(pod: Obj, spec: Obj, cs: CState, kind: string): void {
    cs.restartRequested = true;
    void this.o.recorder.event(ref(pod), 'Normal', 'Killing', `Container ${spec.name} failed ${kind} probe, will be restarted`);
  }

  private stopProbesOf(cs: CState): void {
    for (const w of Object.values(cs.probes)) w?.stop();
    cs.probes = {};
  }

  private stopProbes(st: PodState): void {
    for (const cs of [...st.init.values(), ...st.containers.values()]) this.stopProbesOf(cs);
  }

  private view(st: PodState, pod: Obj): PodView {
    const v = (specs: Obj[], map: Map<string, CState>, init: boolean): ContainerView[] =>
      specs.map((spec) => {
        const cs = map.get(spec.name);
        const cur = cs?.current;
        const base = { name: spec.name, image: spec.image, imageId: this.o.images.resolve(spec.image)?.imageId ?? '', restartCount: cs?.attempt ?? 0 };
        const lastOf = (c?: ContainerStatus) =>
          c && c.state === 'exited' ? { exitCode: c.exitCode ?? 0, reason: c.reason ?? (c.exitCode ? 'Error' : 'Completed'), message: c.message, startedAt: c.startedAt, finishedAt: c.finishedAt, containerId: c.id } : undefined;
        if (cs?.waiting || !cur) {
          const prevEnd = lastOf(cur) ?? lastOf(cs?.previous);
          return { ...base, state: { waiting: cs?.waiting ?? { reason: init ? 'PodInitializing' : 'ContainerCreating' } }, lastTerminated: prevEnd, ready: false, started: false };
        }
        if (cur.state === 'running' || cur.state === 'created') {
          const ready = init ? false : cs.probes.readiness ? cs.probes.readiness.result : true;
          const started = cs.probes.startup ? cs.probes.startup.result : true;
          return { ...base, state: { running: { startedAt: cur.startedAt ?? cur.createdAt } }, containerId: cur.id, lastTerminated: lastOf(cs.previous), ready, started };
        }
        const t = lastOf(cur)!;
        const restarting = this.shouldRestart(pod, cur, init) && !st.terminated;
        if (restarting) {
          return { ...base, state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off restarting failed container=${spec.name}` } }, lastTerminated: t, ready: false, started: false };
        }
        const { containerId, ...term } = t;
        return { ...base, state: { terminated: term }, containerId, lastTerminated: lastOf(cs.previous), ready: false, started: false };
      });
    return {
      sandboxReady: !!st.sandbox && !st.terminated,
      podIPs: st.ips,
      hostIPs: this.o.hostIPs(),
      startTime: st.startTime,
      init: v(specsOf(pod, true), st.init, true),
      containers: v(specsOf(pod, false), st.containers, false),
      failed: st.failed,
    };
  }

  private async writeStatus(st: PodState, pod: Obj): Promise<void> {
    const status = podStatus(pod, this.view(st, pod), nowIso());
    if (!statusDiffers(pod.status, status) || !statusDiffers(st.lastStatus, status)) return;
    let cur = pod;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.o.client.updateStatus('/pods', { ...cur, status: podStatus(cur, this.view(st, cur), nowIso()) });
        st.lastStatus = status;
        return;
      } catch (err) {
        if (isNotFound(err)) return;
        if (!isConflict(err)) throw err;
        cur = await this.o.client.get<Obj>('/pods', pod.metadata.namespace, pod.metadata.name);
        if (cur.metadata?.uid !== st.uid) return;
      }
    }
    this.queue.addRateLimited(st.uid);
  }

  /** Graceful deletion: preStop, SIGTERM, SIGKILL after the grace period, network and sandbox removal, then the API object. */
  private async terminate(st: PodState, pod: Obj): Promise<void> {
    const grace = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    await this.killPod(st, pod, grace);
    try {
      await this.o.client.delete('/pods', pod.metadata.namespace, pod.metadata.name, { gracePeriodSeconds: 0, preconditions: { uid: st.uid } });
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
    this.states.delete(st.uid);
    fs.rmSync(this.podDir(st.uid), { recursive: true, force: true });
    log.info('pod deleted', { pod: st.key });
  }

  private async killPod(st: PodState, pod: Obj | undefined, graceSeconds: number): Promise<void> {
    this.stopProbes(st);
    const specs = pod ? specsOf(pod, false) : [];
    const running = [...st.containers.values(), ...st.init.values()].filter((cs) => cs.current && cs.current.state !== 'exited');
    await Promise.all(
      running.map(async (cs) => {
        const spec = specs.find((s) => s.name === cs.current!.name);
        if (pod && spec?.lifecycle?.preStop?.exec?.command) {
          try {
            const p = await this.o.runtime.exec(cs.current!.id, spec.lifecycle.preStop.exec.command);
            await Promise.race([p.exit, new Promise((r) => setTimeout(r, graceSeconds * 1000).unref())]);
          } catch (err) {
            void this.o.recorder.event(ref(pod), 'Warning', 'FailedPreStopHook', `PreStopHook failed: ${(err as Error).message}`);
          }
        }
        if (pod) void this.o.recorder.event(ref(pod), 'Normal', 'Killing', `Stopping container ${cs.current!.name}`);
        await this.o.runtime.stopContainer(cs.current!.id, graceSeconds);
        cs.current = (await this.o.runtime.containerStatus(cs.current!.id)) ?? cs.current;
      }),
    );
    if (st.sandbox) {
      if (st.sandbox.netnsPath) {
        try {
          await this.o.network.tearDown(this.netParams(st, pod, st.sandbox));
        } catch (err) {
          log.warn('CNI DEL failed', { pod: st.key, error: err as Error });
        }
      }
      for (const c of await this.o.runtime.listContainers(st.sandbox.id)) await this.o.runtime.removeContainer(c.id).catch(() => {});
      await this.o.runtime.removeSandbox(st.sandbox.id);
      st.sandbox = undefined;
    }
    this.backoff.forget(`${st.uid}/`);
    this.pullBackoff.forget(`${st.uid}/`);
    this.sandboxBackoff.forget(`${st.uid}/`);
  }

  /** The pods this agent runs (GET /pods of the agent server). */
  list(): Obj[] {
    return [...this.states.values()].map((st) => this.podByUid(st.uid)).filter((p): p is Obj => !!p);
  }

  /** The pod's IPs as the agent set them up (for port-forward). */
  podIPs(uid: string): string[] {
    return this.states.get(uid)?.ips ?? [];
  }

  /** Pods the agent runs (for the node's status and the log/exec server). */
  containerOf(namespace: string, name: string, container?: string): { pod: Obj; status: ContainerStatus; previous?: ContainerStatus } | undefined {
    const pod = this.o.pods.lister.get(namespace, name);
    if (!pod) return undefined;
    const st = this.states.get(pod.metadata?.uid);
    if (!st) return undefined;
    const cname = container ?? specsOf(pod, false)[0]?.name;
    const cs = st.containers.get(cname) ?? st.init.get(cname);
    if (!cs?.current) return undefined;
    return { pod, status: cs.current, previous: cs.previous };
  }
}

const bytes = (q: string | number): number => Number(scaledValue(parseQuantity(q), 0));
const millis = (q: string | number): number => toMilli(parseQuantity(q));
