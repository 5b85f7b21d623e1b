// The node lifecycle controller and the taint eviction controller: the I/O
// layers around plan.ts (upstream's pkg/controller/nodelifecycle and
// pkg/controller/tainteviction, two controllers of kube-controller-manager).
//
// NodeLifecycleController, every nodeMonitorPeriod:
//   - checks each node's heartbeats (Lease renewTime and the Ready condition's
//     lastHeartbeatTime, as observed on this controller's clock) and sets the
//     conditions of a node not heard from for the grace period to Unknown;
//   - when it turns a Ready node Unknown: a NodeNotReady event on the node,
//     and the node's pods get Ready=False (upstream MarkPodsNotReady), so that
//     endpoints drop them;
//   - computes each zone's disruption state, then (one worker, the only writer
//     of these taints) keeps the condition NoSchedule taints and the
//     not-ready/unreachable NoExecute taints in line with the node's status.
// TaintEvictionController: deletes the pods that do not (or no longer)
// tolerate their node's NoExecute taints (see planTaintEviction).
import { type ApiClient, EventRecorder, Informer, WorkQueue, isConflict, isNotFound, objectKey } from '../../client/index.js';
import { logger } from '../../util/log.js';
import {
  DEFAULT_EVICTION_QPS,
  DEFAULT_LARGE_CLUSTER_THRESHOLD,
  DEFAULT_NODE_MONITOR_GRACE_PERIOD_MS,
  DEFAULT_NODE_MONITOR_PERIOD_MS,
  DEFAULT_NODE_STARTUP_GRACE_PERIOD_MS,
  DEFAULT_SECONDARY_EVICTION_QPS,
  DEFAULT_UNHEALTHY_ZONE_THRESHOLD,
  type Disruption,
  NODE_LEASE_NAMESPACE,
  type NodeHealth,
  type Obj,
  type Taint,
  TokenBucket,
  checkNodeHealth,
  computeDisruption,
  isTerminal,
  needsNewNoExecuteTaint,
  noExecuteTaints,
  planNodeTaints,
  planTaintEviction,
  podStatusNotReady,
  readyStatus,
  zoneOf,
} from './plan.js';

export * from './plan.js';

const log = logger('controller/nodelifecycle');
const NODES = '/nodes';
const PODS = '/pods';
const LEASES = 'coordination.k8s.io/leases';

export interface NodeLifecycleOptions {
  /** A node not heard from for this long becomes Unknown (default 40 s). */
  nodeMonitorGracePeriodMs: number;
  /** How often node health is checked (default 5 s). */
  nodeMonitorPeriodMs: number;
  /** The grace period of a node that never posted a Ready condition (default 60 s). */
  nodeStartupGracePeriodMs?: number;
  /** Nodes newly tainted NoExecute per second, per zone (default 0.1, `--node-eviction-rate`). */
  evictionQps?: number;
  /** The same for a partially disrupted zone larger than largeClusterThreshold (default 0.01). */
  secondaryEvictionQps?: number;
  largeClusterThreshold?: number;
  unhealthyZoneThreshold?: number;
}

/** The object reference upstream uses for node events (uid = the node's name, so `kubectl describe node` finds them). */
const nodeRef = (name: string): Obj => ({ apiVersion: 'v1', kind: 'Node', metadata: { name, uid: name } });
const podRef = (pod: Obj): Obj => ({ apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata });

export class NodeLifecycleController {
  readonly nodeInformer: Informer<Obj>;
  readonly leaseInformer: Informer<Obj>;
  readonly podInformer: Informer<Obj>;
  private readonly taintQueue = new WorkQueue<string>({ name: 'node-taints' });
  private readonly health = new Map<string, NodeHealth>();
  private readonly limiters = new Map<string, TokenBucket>();
  /** Nodes whose pods still have to be marked not ready (a previous attempt failed). */
  private readonly podsNotReadyRetry = new Set<string>();
  private disruption: Disruption = { zones: new Map(), allFullyDisrupted: false };
  private readonly recorder: EventRecorder;
  private timer?: NodeJS.Timeout;
  private monitoring?: Promise<void>;
  private worker?: Promise<void>;
  private readonly opts: Required<NodeLifecycleOptions>;

  constructor(
    private readonly client: ApiClient,
    opts: Partial<NodeLifecycleOptions> = {},
  ) {
    this.opts = {
      nodeMonitorGracePeriodMs: opts.nodeMonitorGracePeriodMs ?? DEFAULT_NODE_MONITOR_GRACE_PERIOD_MS,
      nodeMonitorPeriodMs: opts.nodeMonitorPeriodMs ?? DEFAULT_NODE_MONITOR_PERIOD_MS,
      nodeStartupGracePeriodMs: opts.nodeStartupGracePeriodMs ?? DEFAULT_NODE_STARTUP_GRACE_PERIOD_MS,
      evictionQps: opts.evictionQps ?? DEFAULT_EVICTION_QPS,
      secondaryEvictionQps: opts.secondaryEvictionQps ?? DEFAULT_SECONDARY_EVICTION_QPS,
      largeClusterThreshold: opts.largeClusterThreshold ?? DEFAULT_LARGE_CLUSTER_THRESHOLD,
      unhealthyZoneThreshold: opts.unhealthyZoneThreshold ?? DEFAULT_UNHEALTHY_ZONE_THRESHOLD,
    };
    this.nodeInformer = new Informer<Obj>(client, NODES);
    this.leaseInformer = new Informer<Obj>(client, LEASES, { namespace: NODE_LEASE_NAMESPACE });
    this.podInformer = new Informer<Obj>(client, PODS);
    this.recorder = new EventRecorder(client, { component: 'node-controller' });
  }

  async start(): Promise<void> {
    this.nodeInformer.addEventHandler({
      onAdd: (n) => this.taintQueue.add(n.metadata.name),
      onUpdate: (_o, n) => this.taintQueue.add(n.metadata.name),
      onDelete: (n) => {
        this.health.delete(n.metadata.name);
        this.podsNotReadyRetry.delete(n.metadata.name);
      },
    });
    this.nodeInformer.start();
    this.leaseInformer.start();
    this.podInformer.start();
    await Promise.all([this.nodeInformer.waitForSync(), this.leaseInformer.waitForSync(), this.podInformer.waitForSync()]);
    // The zones' states before any taint is written (a cluster that comes back fully disrupted taints nothing).
    const nodes = this.nodeInformer.lister.list();
    this.updateDisruption(nodes, new Map(nodes.map((n) => [n.metadata.name, readyStatus(n)])), Date.now());
    this.worker = this.taintQueue.run(1, (name) => this.syncTaints(name));
    this.timer = setInterval(() => this.tick(), this.opts.nodeMonitorPeriodMs);
    this.tick();
    log.info('started', { gracePeriodMs: this.opts.nodeMonitorGracePeriodMs, periodMs: this.opts.nodeMonitorPeriodMs });
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.taintQueue.shutDown();
    await this.monitoring?.catch(() => {});
    await Promise.all([this.nodeInformer.stop(), this.leaseInformer.stop(), this.podInformer.stop()]);
    await this.worker;
  }

  private tick(): void {
    if (this.monitoring) return; // the previous pass is still running
    this.monitoring = this.monitorNodeHealth()
      .catch((e) => log.warn('node health pass failed', { error: e as Error }))
      .finally(() => (this.monitoring = undefined));
  }

  /** One pass over every node (upstream monitorNodeHealth). */
  async monitorNodeHealth(now = Date.now()): Promise<void> {
    const nodes = this.nodeInformer.lister.list();
    const ready = new Map<string, 'True' | 'False' | 'Unknown'>();
    // A few nodes at a time (upstream's 8 node update workers): a mass outage must not flood the API server.
    let next = 0;
    const worker = async () => {
      while (next < nodes.length) {
        const node = nodes[next++]!;
        const name = node.metadata.name as string;
        try {
          ready.set(name, await this.checkNode(node, now));
        } catch (e) {
          if (!isNotFound(e)) log.warn('node health check failed', { node: name, error: e as Error });
          ready.set(name, readyStatus(node));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, nodes.length) }, worker));
    const wasDisrupted = this.disruption.allFullyDisrupted;
    this.updateDisruption(nodes, ready, now);
    const masterDisruption = this.disruption.allFullyDisrupted;
    // The taint worker looks again at the nodes whose taints are off (the informer brings most changes anyway).
    for (const n of this.nodeInformer.lister.list()) {
      if (wasDisrupted !== masterDisruption || planNodeTaints(n, { now, allowNewNoExecute: true, masterDisruption })) this.taintQueue.add(n.metadata.name);
    }
  }

  private async checkNode(node: Obj, now: number): Promise<'True' | 'False' | 'Unknown'> {
    const name = node.metadata.name as string;
    const lease = this.leaseInformer.lister.get(NODE_LEASE_NAMESPACE, name);
    const opts = { gracePeriodMs: this.opts.nodeMonitorGracePeriodMs, startupGracePeriodMs: this.opts.nodeStartupGracePeriodMs };
    let check = checkNodeHealth(this.health.get(name), node, lease, now, opts);
    if (check.conditions) {
      let cur = node;
      for (let attempt = 0; ; attempt++) {
        try {
          await this.client.updateStatus(NODES, { ...cur, status: { ...cur.status, conditions: check.conditions } });
          break;
        } catch (e) {
          if (!isConflict(e) || attempt >= 4) throw e;
          cur = await this.client.get<Obj>(NODES, undefined, name);
          check = checkNodeHealth(this.health.get(name), cur, lease, now, opts);
          if (!check.conditions) break;
        }
      }
      log.info('node not heard from; conditions set to Unknown', { node: name, sinceMs: now - check.health.probeTimestamp });
    }
    this.health.set(name, check.health);
    if (check.currentReady !== 'True' && check.observedReady === 'True') {
      // This controller just made the node not ready: report it, and take its pods out of service.
      void this.recorder.event(nodeRef(name), 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
      this.podsNotReadyRetry.add(name);
    }
    if (check.currentReady === 'True') this.podsNotReadyRetry.delete(name);
    if (this.podsNotReadyRetry.has(name)) {
      if (await this.markPodsNotReady(name, now)) this.podsNotReadyRetry.delete(name);
    }
    return check.currentReady;
  }

  /** upstream MarkPodsNotReady: Ready=False on every pod of the node; true when all were written. */
  private async markPodsNotReady(nodeName: string, now: number): Promise<boolean> {
    let ok = true;
    for (const pod of this.podInformer.lister.list(undefined, (p) => p.spec?.nodeName === nodeName)) {
      const status = podStatusNotReady(pod, now);
      if (!status) continue;
      try {
        await this.client.updateStatus(PODS, { ...pod, status });
        log.info('pod marked not ready', { pod: objectKey(pod), node: nodeName });
        void this.recorder.event(podRef(pod), 'Warning', 'NodeNotReady', 'Node is not ready');
      } catch (e) {
        if (isNotFound(e)) continue;
        ok = false; // a conflict or an outage: the next pass tries again with a fresh copy
        log.warn('could not mark pod not ready', { pod: objectKey(pod), error: e as Error });
      }
    }
    return ok;
  }

  private updateDisruption(nodes: Obj[], ready: Map<string, 'True' | 'False' | 'Unknown'>, now: number): void {
    const d = computeDisruption(nodes, (n) => ready.get(n.metadata.name) ?? readyStatus(n), {
      evictionQps: this.opts.evictionQps,
      secondaryEvictionQps: this.opts.secondaryEvictionQps,
      largeClusterThreshold: this.opts.largeClusterThreshold,
      unhealthyZoneThreshold: this.opts.unhealthyZoneThreshold,
    });
    if (d.allFullyDisrupted && !this.disruption.allFullyDisrupted) {
      log.warn('Controller detected that all Nodes are not-Ready. Entering master disruption mode.');
    } else if (!d.allFullyDisrupted && this.disruption.allFullyDisrupted) {
      log.info('Controller detected that some Nodes are Ready. Exiting master disruption mode.');
    }
    for (const [zone, z] of d.zones) {
      const prev = this.disruption.zones.get(zone);
      if (prev && prev.state !== z.state) log.info('zone state changed', { zone: zone || '(none)', from: prev.state, to: z.state });
      let l = this.limiters.get(zone);
      if (!l) this.limiters.set(zone, (l = new TokenBucket(z.qps)));
      else l.setQps(z.qps, now);
    }
    for (const zone of [...this.limiters.keys()]) if (!d.zones.has(zone)) this.limiters.delete(zone);
    this.disruption = d;
  }

  /** Brings the node's controller-owned taints in line with its status (the only writer of them). */
  async syncTaints(name: string, now = Date.now()): Promise<void> {
    let node = this.nodeInformer.lister.get(undefined, name);
    if (!node) return;
    // A first NoExecute taint needs a token from the zone's limiter (upstream's zoneNoExecuteTainter).
    let allowNew = false;
    let denied = false;
    if (needsNewNoExecuteTaint(node) && !this.disruption.allFullyDisrupted) {
      const limiter = this.limiters.get(zoneOf(node));
      allowNew = !limiter || limiter.tryAccept(now); // a zone not yet computed: the first pass decides
      denied = !allowNew;
    }
    for (let attempt = 0; ; attempt++) {
      const taints = planNodeTaints(node, { now, allowNewNoExecute: allowNew, masterDisruption: this.disruption.allFullyDisrupted });
      if (!taints) break;
      try {
        await this.client.update(NODES, { ...node, spec: { ...node.spec, taints: taints.length ? taints : undefined } });
        log.info('node taints updated', { node: name, taints: taints.map((t: Taint) => `${t.key}:${t.effect}`).join(',') });
        break;
      } catch (e) {
        if (isNotFound(e)) return;
        if (!isConflict(e) || attempt >= 4) throw e;
        node = await this.client.get<Obj>(NODES, undefined, name);
      }
    }
    if (denied) this.taintQueue.addAfter(name, 1000);
  }
}

export async function startNodeLifecycleController(
  client: ApiClient,
  opts: { nodeMonitorGracePeriodMs: number; nodeMonitorPeriodMs: number; nodeStartupGracePeriodMs?: number },
): Promise<{ stop(): void }> {
  const c = new NodeLifecycleController(client, opts);
  await c.start();
  return { stop: () => c.stop() };
}

// ---- taint eviction ----------------------------------------------------------------------

const taintId = (node: string, t: Taint) => `${node}\u0000${t.key}\u0000${t.value ?? ''}\u0000${t.effect}`;

export class TaintEvictionController {
  readonly nodeInformer: Informer<Obj>;
  readonly podInformer: Informer<Obj>;
  private readonly queue = new WorkQueue<string>({ name: 'taint-eviction' });
  /** Pods with an eviction scheduled, and when. */
  private readonly scheduled = new Map<string, number>();
  /** When this controller first saw a taint without timeAdded. */
  private readonly firstSeen = new Map<string, number>();
  /** uids of pods this controller deleted, until the informer shows them terminating or gone. */
  private readonly deleted = new Set<string>();
  private readonly recorder: EventRecorder;
  private worker?: Promise<void>;

  constructor(private readonly client: ApiClient) {
    this.nodeInformer = new Informer<Obj>(client, NODES);
    this.podInformer = new Informer<Obj>(client, PODS);
    this.recorder = new EventRecorder(client, { component: 'taint-eviction-controller' });
  }

  async start(): Promise<void> {
    const nodeChanged = (old: Obj | undefined, node: Obj) => {
      const before = JSON.stringify(noExecuteTaints(old));
      const after = noExecuteTaints(node);
      if (old && before === JSON.stringify(after)) return;
      const name = node.metadata.name as string;
      const now = Date.now();
      const live = new Set(after.map((t) => taintId(name, t)));
      for (const k of [...this.firstSeen.keys()]) if (k.startsWith(`${name}\u0000`) && !live.has(k)) this.firstSeen.delete(k);
      for (const t of after) if (!this.firstSeen.has(taintId(name, t))) this.firstSeen.set(taintId(name, t), now);
      for (const p of this.podInformer.lister.list(undefined, (p) => p.spec?.nodeName === name)) this.queue.add(objectKey(p));
    };
    this.nodeInformer.addEventHandler({
      onAdd: (n) => nodeChanged(undefined, n),
      onUpdate: (o, n) => nodeChanged(o, n),
      onDelete: (n) => {
        for (const k of [...this.firstSeen.keys()]) if (k.startsWith(`${n.metadata.name}\u0000`)) this.firstSeen.delete(k);
      },
    });
    const podChanged = (p: Obj) => {
      const key = objectKey(p);
      if (this.scheduled.has(key)) return this.queue.add(key);
      const node = p.spec?.nodeName && this.nodeInformer.lister.get(undefined, p.spec.nodeName);
      if (node && noExecuteTaints(node).length) this.queue.add(key);
    };
    this.podInformer.addEventHandler({
      onAdd: podChanged,
      onUpdate: (_o, p) => {
        if (p.metadata?.deletionTimestamp) this.deleted.delete(p.metadata.uid);
        podChanged(p);
      },
      onDelete: (p) => {
        this.scheduled.delete(objectKey(p));
        this.deleted.delete(p.metadata?.uid);
      },
    });
    this.nodeInformer.start();
    this.podInformer.start();
    await Promise.all([this.nodeInformer.waitForSync(), this.podInformer.waitForSync()]);
    this.worker = this.queue.run(4, (key) => this.sync(key));
    log.info('taint eviction controller started');
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all([this.nodeInformer.stop(), this.podInformer.stop()]);
    await this.worker;
  }

  async sync(key: string, now = Date.now()): Promise<void> {
    const i = key.indexOf('/');
    const pod = this.podInformer.lister.get(key.slice(0, i), key.slice(i + 1));
    if (!pod || pod.metadata?.deletionTimestamp || isTerminal(pod) || !pod.spec?.nodeName || this.deleted.has(pod.metadata?.uid)) {
      this.scheduled.delete(key);
      return;
    }
    const nodeName = pod.spec.nodeName as string;
    const taints = noExecuteTaints(this.nodeInformer.lister.get(undefined, nodeName));
    const decision = planTaintEviction(pod, taints, now, (t) => this.firstSeen.get(taintId(nodeName, t)) ?? now);
    if (decision.action === 'none') {
      if (this.scheduled.delete(key)) void this.recorder.event(podRef(pod), 'Normal', 'TaintManagerEviction', `Cancelling deletion of Pod ${key}`);
      return;
    }
    if (decision.action === 'evictAt') {
      if (this.scheduled.get(key) !== decision.at) {
        this.scheduled.set(key, decision.at);
        log.info('pod eviction scheduled', { pod: key, node: nodeName, taint: decision.taint.key, inMs: decision.at - now });
      }
      this.queue.addAfter(key, decision.at - now + 20);
      return;
    }
    this.scheduled.delete(key);
    void this.recorder.event(podRef(pod), 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${key}`);
    await this.markDisruption(pod);
    try {
      await this.client.delete(PODS, pod.metadata.namespace, pod.metadata.name, { preconditions: { uid: pod.metadata.uid } });
      this.deleted.add(pod.metadata.uid);
      log.info('pod evicted', { pod: key, node: nodeName, taint: `${decision.taint.key}:${decision.taint.effect}` });
    } catch (e) {
      if (!isNotFound(e) && !isConflict(e)) throw e;
    }
  }

  /** The DisruptionTarget condition upstream adds before deleting (best effort). */
  private async markDisruption(pod: Obj): Promise<void> {
    const conditions: Obj[] = (pod.status?.conditions ?? []).filter((c: Obj) => c?.type !== 'DisruptionTarget');
    conditions.push({
      type: 'DisruptionTarget',
      status: 'True',
      reason: 'DeletionByTaintManager',
      message: 'Taint manager: deleting due to NoExecute taint',
      lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    });
    try {
      await this.client.updateStatus(PODS, { ...pod, status: { ...pod.status, conditions } });
    } catch (e) {
      log.debug('could not add the DisruptionTarget condition', { pod: objectKey(pod), error: e as Error });
    }
  }
}

export async function startTaintEvictionController(client: ApiClient): Promise<{ stop(): void }> {
  const c = new TaintEvictionController(client);
  await c.start();
  return { stop: () => c.stop() };
}
