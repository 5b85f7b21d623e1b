// Simulated nodes, in the spirit of kwok: registers Node objects with a
// healthy status, renews a Lease per node in kube-node-lease, posts node
// status heartbeats, and plays the kubelet for pods bound to those nodes
// (Running and Ready with an IP from the node's podCIDR, deletion finished
// with gracePeriodSeconds 0). Nothing runs: no containers, no network.
import { type ApiClient, Informer, type KObject, WorkQueue, isAlreadyExists, isConflict, isNotFound, objectKey } from '../client/index.js';
import { logger } from '../util/log.js';
import {
  MAX_SIM_NODES,
  NODE_LEASE_NAMESPACE,
  PodIpAllocator,
  isSimFinished,
  isSimRunning,
  microTime,
  nodeConditions,
  runningPodStatus,
  simLeaseObject,
  simNodeAddress,
  simNodeObject,
} from './model.js';

const log = logger('sim-nodes');
const LEASES = 'coordination.k8s.io/leases';

export interface SimNodesOptions {
  count: number;
  namePrefix?: string;
  cpu?: string;
  memory?: string;
  pods?: number;
  /** Lease renewal period (default 10 s). */
  heartbeatMs?: number;
  /** Node status is posted every this many lease renewals (default 6). */
  statusEveryBeats?: number;
  /** Called with each progress line (default: the log). */
  onProgress?: (msg: string) => void;
  /** Play the kubelet for pods bound to the nodes (default true); false: nodes and heartbeats only. */
  runPods?: boolean;
  /** Nodes registered at once (default 16). */
  registerConcurrency?: number;
  /** Pods handled at once (default 8). */
  podWorkers?: number;
  /** Heartbeat requests in flight at most (default 32); beats are spread evenly over the period. */
  heartbeatConcurrency?: number;
}

export interface SimNodes {
  nodeNames: string[];
  /** Ends heartbeats and pod handling (the nodes stay registered, as a dead kubelet's would). */
  stop(): Promise<void>;
}

export async function startSimNodes(client: ApiClient, opts: SimNodesOptions): Promise<SimNodes> {
  const prefix = opts.namePrefix ?? 'sim-node-';
  const shape = { cpu: opts.cpu ?? '4', memory: opts.memory ?? '16Gi', pods: opts.pods ?? 110 };
  const heartbeatMs = opts.heartbeatMs ?? 10_000;
  const statusEvery = Math.max(1, opts.statusEveryBeats ?? 6);
  const progress = opts.onProgress ?? ((m: string) => log.info(m));
  if (!Number.isInteger(opts.count) || opts.count < 0 || opts.count > MAX_SIM_NODES) throw new Error(`count must be 0..${MAX_SIM_NODES}`);
  const names = Array.from({ length: opts.count }, (_, i) => `${prefix}${i}`);
  const ours = new Set(names);
  const hostIp = new Map(names.map((n, i) => [n, simNodeAddress(i)]));

  const runPods = opts.runPods ?? true;
  /** The last Lease written per node, so a renewal is one update (no read first). */
  const leases = new Map<string, KObject>();

  // Register nodes and leases, several at once. The heartbeat clock starts
  // now, so that no lease waits longer than a period for its first renewal
  // however long registering every node takes.
  const beatStart = Date.now();
  const registered = new Set<string>();
  const registerOne = async (i: number, name: string) => {
    const now = new Date();
    const desired = simNodeObject(name, i, shape, now);
    let node: KObject;
    try {
      node = await client.create<KObject>('/nodes', desired);
      progress(`registered node ${name} (${hostIp.get(name)})`);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      const cur = await client.get<KObject>('/nodes', undefined, name);
      node = await client.updateStatus<KObject>('/nodes', { ...cur, status: desired.status });
      progress(`node ${name} already registered; status refreshed`);
    }
    await renewLease(client, name, node.metadata?.uid, leases);
    registered.add(name);
  };
  let nextToRegister = 0;
  await Promise.all(
    Array.from({ length: Math.min(names.length, Math.max(1, opts.registerConcurrency ?? 16)) }, async () => {
      while (nextToRegister < names.length) {
        const i = nextToRegister++;
        await registerOne(i, names[i]!);
      }
    }),
  );

  // Heartbeats: the lease every beat, the node status every few beats. Node i
  // beats at i/count of the period, so the load is even rather than one burst
  // per period; at most heartbeatConcurrency requests are in flight.
  const nodes = new Informer<KObject>(client, '/nodes');
  const beatCap = Math.max(1, opts.heartbeatConcurrency ?? 32);
  let beatsDone = 0; // node-beats started so far (node = n % count, beat number = floor(n / count) + 1)
  let beatsInFlight = 0;
  const beatOne = async (n: number) => {
    const name = names[n % names.length]!;
    const beat = Math.floor(n / names.length) + 1;
    if (!registered.has(name)) return; // not yet: its lease is brand new
    try {
      await renewLease(client, name, undefined, leases);
      if (beat % statusEvery === 0) {
        await postNodeStatus(client, name, nodes.lister.get(undefined, name)).catch((e) => {
          if (!isConflict(e)) throw e;
          return postNodeStatus(client, name); // the cached copy was stale: read it first
        });
      }
    } catch (e) {
      log.warn('heartbeat failed', { node: name, error: e as Error });
    }
  };
  const tick = () => {
    if (!names.length) return;
    const due = Math.floor(((Date.now() - beatStart) * names.length) / heartbeatMs);
    while (beatsDone < due && beatsInFlight < beatCap) {
      beatsInFlight++;
      void beatOne(beatsDone++).finally(() => {
        beatsInFlight--;
      });
    }
  };
  const timer = setInterval(tick, Math.max(10, Math.min(1000, Math.floor(heartbeatMs / Math.max(1, names.length)))));

  // Pods bound to our nodes.
  const pods = new Informer<KObject>(client, '/pods');
  const queue = new WorkQueue<string>();
  const allocators = new Map<string, PodIpAllocator>();
  const podIps = new Map<string, { node: string; ip: string }>();
  const enqueue = (p: KObject) => {
    if (ours.has(p.spec?.nodeName) || podIps.has(objectKey(p))) queue.add(objectKey(p));
  };
  if (runPods) pods.addEventHandler({ onAdd: enqueue, onUpdate: (_o, p) => enqueue(p), onDelete: enqueue });
  if (runPods) nodes.addEventHandler({
    onAdd: (n) => podsOnNode(n),
    onUpdate: (o, n) => {
      if (!o.spec?.podCIDR && n.spec?.podCIDR) podsOnNode(n);
    },
  });
  function podsOnNode(n: KObject): void {
    const name = n.metadata?.name;
    if (!ours.has(name)) return;
    for (const p of pods.lister.list(undefined, (p) => p.spec?.nodeName === name)) queue.add(objectKey(p));
  }
  const allocatorFor = (node: string): PodIpAllocator | undefined => {
    const cidr = nodes.lister.get(undefined, node)?.spec?.podCIDR;
    if (!cidr) return undefined;
    let a = allocators.get(node);
    if (!a || a.cidr.text !== cidr) {
      a = new PodIpAllocator(cidr);
      for (const [, v] of podIps) if (v.node === node) a.occupy(v.ip);
      allocators.set(node, a);
    }
    return a;
  };
  const release = (key: string) => {
    const held = podIps.get(key);
    if (!held) return;
    podIps.delete(key);
    allocators.get(held.node)?.release(held.ip);
  };

  const sync = async (key: string): Promise<void> => {
    const pod = pods.lister.get(...splitKey(key));
    if (!pod || !ours.has(pod.spec?.nodeName)) {
      release(key);
      return;
    }
    const node = pod.spec.nodeName as string;
    const [ns, name] = splitKey(key);
    if (pod.metadata?.deletionTimestamp) {
      // The containers are "stopped": finish the deletion, as a kubelet does.
      try {
        await client.delete('/pods', ns, name, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
        progress(`pod ${key} on ${node} deleted`);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      release(key);
      return;
    }
    if (isSimFinished(pod)) {
      release(key);
      return;
    }
    const alloc = allocatorFor(node);
    if (isSimRunning(pod)) {
      if (!podIps.has(key)) {
        podIps.set(key, { node, ip: pod.status.podIP });
        alloc?.occupy(pod.status.podIP);
      }
      return;
    }
    if (!alloc) return; // no podCIDR yet: the node's update re-queues its pods
    let ip = podIps.get(key)?.ip;
    if (!ip) {
      ip = alloc.allocate();
      if (!ip) throw new Error(`no pod IP left on node ${node}`);
      podIps.set(key, { node, ip });
    }
    // From the cache, with its resourceVersion: a stale copy gets a conflict and is retried from a newer one.
    await client.updateStatus('/pods', { ...pod, status: runningPodStatus(pod, ip, hostIp.get(node)!, new Date()) });
    progress(`pod ${key} running on ${node} (${ip})`);
  };

  nodes.start();
  if (runPods) pods.start();
  await Promise.all([nodes.waitForSync(30_000), runPods ? pods.waitForSync(30_000) : undefined]);
  // Before anything is handed out: the IPs pods already run with (a restart keeps them).
  for (const p of pods.lister.list(undefined, (p) => ours.has(p.spec?.nodeName) && isSimRunning(p))) {
    podIps.set(objectKey(p), { node: p.spec.nodeName, ip: p.status.podIP });
  }
  const worker = runPods ? queue.run(Math.max(1, opts.podWorkers ?? 8), sync) : Promise.resolve();
  if (runPods) for (const n of names) {
    const node = nodes.lister.get(undefined, n);
    if (node) podsOnNode(node);
  }
  progress(`${names.length} simulated nodes running (heartbeat ${heartbeatMs} ms)`);

  return {
    nodeNames: names,
    stop: async () => {
      clearInterval(timer);
      queue.shutDown();
      await Promise.all([nodes.stop(), pods.stop()]);
      await worker;
    },
  };
}

function splitKey(key: string): [string | undefined, string] {
  const i = key.indexOf('/');
  return i < 0 ? [undefined, key] : [key.slice(0, i), key.slice(i + 1)];
}

/**
 * Renews (or creates) the node's Lease: one update from the last Lease this
 * process wrote (`known`), reading it first only when there is none or that
 * copy is stale (a conflict).
 */
async function renewLease(client: ApiClient, name: string, nodeUid: string | undefined, known: Map<string, KObject>): Promise<void> {
  const now = new Date();
  const renewed = (cur: KObject): KObject => ({ ...cur, spec: { ...cur.spec, holderIdentity: name, leaseDurationSeconds: 40, renewTime: microTime(now) } });
  const last = known.get(name);
  if (last) {
    try {
      known.set(name, await client.update<KObject>(LEASES, renewed(last)));
      return;
    } catch (e) {
      known.delete(name);
      if (!isConflict(e) && !isNotFound(e)) throw e;
    }
  }
  try {
    const cur = await client.get<KObject>(LEASES, NODE_LEASE_NAMESPACE, name);
    known.set(name, await client.update<KObject>(LEASES, renewed(cur)));
  } catch (e) {
    if (!isNotFound(e)) throw e;
    let uid = nodeUid;
    if (!uid) uid = (await client.get<KObject>('/nodes', undefined, name)).metadata?.uid;
    known.set(name, await client.create<KObject>(LEASES, simLeaseObject(name, uid, now)));
  }
}

/** Posts the node's conditions with a fresh lastHeartbeatTime (transition times kept); `cached`: the informer's copy, if any. */
async function postNodeStatus(client: ApiClient, name: string, cached?: KObject): Promise<void> {
  const cur = cached ?? (await client.get<KObject>('/nodes', undefined, name));
  const prev = new Map<string, any>((cur.status?.conditions ?? []).map((c: any) => [c.type, c]));
  const now = new Date();
  const conditions = nodeConditions(now).map((c) => {
    const p = prev.get(c.type);
    return p && p.status === c.status ? { ...c, lastTransitionTime: p.lastTransitionTime } : c;
  });
  await client.updateStatus('/nodes', { ...cur, status: { ...cur.status, conditions } });
}
