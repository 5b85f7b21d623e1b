// Node registration and heartbeats, as kubelet's: the Node object with
// capacity/allocatable (cpu, memory, pods, ephemeral-storage), addresses,
// nodeInfo and images; a Lease in kube-node-lease renewed every 10 s; node
// status (conditions with a fresh heartbeat) posted every minute or when it
// changes. The pure parts are exported for tests.
import fs from 'node:fs';
import os from 'node:os';
import { type ApiClient, type KObject, isAlreadyExists, isConflict, isNotFound } from '../client/index.js';
import { logger } from '../util/log.js';
import { NODE_LEASE_NAMESPACE, buildNodeObject, leaseObject, microTime } from './node-model.js';

const log = logger('agent/node');
const LEASES = 'coordination.k8s.io/leases';
export const RUNTIME_VERSION = 'k8ts-process://0.1.0';

export interface NodeFacts {
  name: string;
  internalIP: string;
  maxPods: number;
  /** Images the node has (node.status.images). */
  images: Array<{ names: string[]; sizeBytes: number }>;
  /** Extra labels (--node-labels). */
  labels?: Record<string, string>;
  kubeletPort: number;
}

const readOr = (file: string, fallback: string): string => {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return fallback;
  }
};

function osImage(): string {
  const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readOr('/etc/os-release', ''));
  return m?.[1] ?? 'Linux';
}

function diskBytes(dir: string): number {
  try {
    const s = fs.statfsSync(dir);
    return s.blocks * s.bsize;
  } catch {
    return 0;
  }
}

/** What this machine offers: cpu, memory (Ki), pods, ephemeral-storage. */
export function machineResources(maxPods: number, dataDir: string): Record<string, string> {
  return {
    cpu: String(os.cpus().length),
    memory: `${Math.floor(os.totalmem() / 1024)}Ki`,
    pods: String(maxPods),
    'ephemeral-storage': `${Math.floor(diskBytes(dataDir) / 1024)}Ki`,
  };
}

/** The Node object this agent registers. */
export function nodeObject(f: NodeFacts, resources: Record<string, string>, now: Date): KObject {
  const machineId = readOr('/etc/machine-id', '');
  return buildNodeObject(
    {
      name: f.name,
      arch: process.arch === 'x64' ? 'amd64' : process.arch,
      labels: f.labels,
      annotations: { 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
      resources,
      internalIP: f.internalIP,
      kubeletPort: f.kubeletPort,
      nodeInfo: {
        machineID: machineId,
        systemUUID: readOr('/sys/class/dmi/id/product_uuid', machineId),
        bootID: readOr('/proc/sys/kernel/random/boot_id', ''),
        kernelVersion: os.release(),
        osImage: osImage(),
        containerRuntimeVersion: RUNTIME_VERSION,
      },
      images: f.images,
    },
    now,
  );
}

export interface NodeAgent {
  /** The registered node (as last written). */
  node(): KObject;
  stop(): void;
}

/** Registers the node (or refreshes an existing one) and keeps its Lease and status fresh. */
export async function registerNode(client: ApiClient, facts: NodeFacts, dataDir: string, opts: { leaseRenewMs?: number; statusEveryMs?: number } = {}): Promise<NodeAgent> {
  const desired = nodeObject(facts, machineResources(facts.maxPods, dataDir), new Date());
  let node: KObject;
  try {
    node = await client.create<KObject>('/nodes', desired);
    log.info('registered node', { node: facts.name, ip: facts.internalIP });
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    const cur = await client.get<KObject>('/nodes', undefined, facts.name);
    cur.metadata = { ...(cur.metadata ?? {}), labels: { ...(cur.metadata?.labels ?? {}), ...(desired.metadata?.labels ?? {}) } };
    const updated = await client.update<KObject>('/nodes', cur);
    node = await client.updateStatus<KObject>('/nodes', { ...updated, status: { ...desired.status, conditions: keepTransitions(cur.status?.conditions, desired.status.conditions) } });
    log.info('node already registered; status refreshed', { node: facts.name });
  }
  await renewLease(client, facts.name, node.metadata?.uid);

  const leaseEvery = opts.leaseRenewMs ?? 10_000;
  const statusEvery = opts.statusEveryMs ?? 60_000;
  let lastStatus = Date.now();
  let busy = false;
  const beat = async () => {
    if (busy) return;
    busy = true;
    try {
      await renewLease(client, facts.name, node.metadata?.uid);
      if (Date.now() - lastStatus >= statusEvery) {
        node = await postStatus(client, facts, dataDir);
        lastStatus = Date.now();
      }
    } catch (err) {
      log.warn('node heartbeat failed', { node: facts.name, error: err as Error });
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void beat(), leaseEvery);
  return { node: () => node, stop: () => clearInterval(timer) };
}

function keepTransitions(prev: KObject[] | undefined, next: KObject[]): KObject[] {
  return next.map((c) => {
    const p = (prev ?? []).find((x) => x.type === c.type);
    return p && p.status === c.status ? { ...c, lastTransitionTime: p.lastTransitionTime } : c;
  });
}

async function postStatus(client: ApiClient, facts: NodeFacts, dataDir: string): Promise<KObject> {
  for (let attempt = 0; ; attempt++) {
    const cur = await client.get<KObject>('/nodes', undefined, facts.name);
    const desired = nodeObject(facts, machineResources(facts.maxPods, dataDir), new Date());
    try {
      return await client.updateStatus<KObject>('/nodes', {
        ...cur,
        status: { ...cur.status, ...desired.status, conditions: keepTransitions(cur.status?.conditions, desired.status.conditions) },
      });
    } catch (e) {
      if (!isConflict(e) || attempt >= 2) throw e;
    }
  }
}

/** Renews (or creates) the node's Lease in kube-node-lease. */
export async function renewLease(client: ApiClient, name: string, nodeUid: string | undefined): Promise<void> {
  const now = new Date();
  try {
    const cur = await client.get<KObject>(LEASES, NODE_LEASE_NAMESPACE, name);
    await client.update(LEASES, { ...cur, spec: { ...cur.spec, holderIdentity: name, leaseDurationSeconds: 40, renewTime: microTime(now) } });
  } catch (e) {
    if (!isNotFound(e)) throw e;
    await client.create(LEASES, leaseObject(name, nodeUid, now));
  }
}

