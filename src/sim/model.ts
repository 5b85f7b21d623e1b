// Simulated nodes, pure parts: the Node and Lease objects a kubelet would
// register, the pod status it would report for a running pod, and the
// per-node pod IP allocator. No I/O here (see nodes.ts).
import { createHash } from 'node:crypto';
import { type Cidr4, intToIp, ipToInt, parseCidr } from '../util/cidr.js';

import { buildNodeObject, kubeTime, leaseObject } from '../agent/node-model.js';

export { KUBELET_VERSION, LEASE_DURATION_SECONDS, NODE_LEASE_NAMESPACE, kubeTime, microTime, nodeConditions } from '../agent/node-model.js';

export interface SimNodeShape {
  cpu: string;
  memory: string;
  pods: number;
}


// Documentation ranges (RFC 5737), then the first half of the benchmarking
// range (RFC 2544, 198.18.0.0/15) for large simulated clusters: never routed,
// never contacted. The first hundred addresses of 192.0.2.0/24 are left to
// the test harness.
const ADDRESS_BLOCKS: Array<{ base: string; first: number; last: number }> = [
  { base: '192.0.2.0', first: 100, last: 254 },
  { base: '198.51.100.0', first: 1, last: 254 },
  { base: '203.0.113.0', first: 1, last: 254 },
  { base: '198.18.0.0', first: 1, last: 65_534 },
];

/** The fake InternalIP of the i-th simulated node (0-based). */
export function simNodeAddress(index: number): string {
  let i = index;
  if (!Number.isInteger(i) || i < 0) throw new Error(`invalid node index ${index}`);
  for (const b of ADDRESS_BLOCKS) {
    const n = b.last - b.first + 1;
    if (i < n) return intToIp(ipToInt(b.base)! + b.first + i);
    i -= n;
  }
  throw new Error(`too many simulated nodes: no documentation address left for node #${index}`);
}

export const MAX_SIM_NODES = ADDRESS_BLOCKS.reduce((s, b) => s + b.last - b.first + 1, 0);

/** The Node a simulated kubelet registers. */
export function simNodeObject(name: string, index: number, shape: SimNodeShape, now: Date): Record<string, any> {
  const id = createHash('sha256').update(name).digest('hex');
  return buildNodeObject(
    {
      name,
      arch: 'amd64',
      labels: { 'node.kubernetes.io/instance-type': 'sim', type: 'sim' },
      annotations: { 'k8ts.io/simulated': 'true' },
      resources: { cpu: shape.cpu, memory: shape.memory, pods: String(shape.pods), 'ephemeral-storage': '100Gi' },
      internalIP: simNodeAddress(index),
      kubeletPort: 10250,
      nodeInfo: {
        machineID: id.slice(0, 32),
        systemUUID: `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20, 32)}`,
        bootID: id.slice(32, 64),
        kernelVersion: '6.0.0-sim',
        osImage: 'k8ts simulated node',
        containerRuntimeVersion: 'sim://1.0.0',
      },
    },
    now,
  );
}

/** The node's Lease in kube-node-lease (the kubelet's). */
export const simLeaseObject = leaseObject;

/**
 * Pod IPs from a node's pod CIDR, handed out sequentially (after the last one
 * given, wrapping), skipping the network address, .1 (the node's gateway) and
 * the broadcast address.
 */
export class PodIpAllocator {
  readonly cidr: Cidr4;
  private readonly used = new Set<number>();
  private next = 2;

  constructor(cidr: string) {
    this.cidr = parseCidr(cidr);
  }

  private get usable(): number {
    return Math.max(0, this.cidr.size - 3); // .0, .1, broadcast
  }

  allocate(): string | undefined {
    const last = this.cidr.size - 2; // highest usable offset
    for (let i = 0; i < this.usable; i++) {
      const off = 2 + ((this.next - 2 + i) % this.usable);
      if (!this.used.has(off)) {
        this.used.add(off);
        this.next = off + 1 > last ? 2 : off + 1;
        return intToIp(this.cidr.base + off);
      }
    }
    return undefined;
  }

  /** Marks an IP used (a pod that already has it). */
  occupy(ip: string): boolean {
    const n = ipToInt(ip);
    if (n === undefined || n < this.cidr.base + 2 || n > this.cidr.base + this.cidr.size - 2) return false;
    this.used.add(n - this.cidr.base);
    return true;
  }

  release(ip: string): void {
    const n = ipToInt(ip);
    if (n !== undefined) this.used.delete(n - this.cidr.base);
  }
}

/** True once a pod's status is what the simulated kubelet reports for it. */
/**
 * A pod the simulated kubelet has started: Running with an IP. Its conditions
 * are then left alone, so a test may mark it not ready (as a failing
 * readiness probe would) through the status subresource.
 */
export function isSimRunning(pod: Record<string, any>): boolean {
  return pod.status?.phase === 'Running' && !!pod.status?.podIP;
}

/** A pod that has finished (Succeeded or Failed, e.g. set by a test for a Job): nothing more to do. */
export function isSimFinished(pod: Record<string, any>): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

const imageId = (image: string): string => `sim://sha256:${createHash('sha256').update(image).digest('hex')}`;

/** The status of a running, ready pod, as a kubelet would report it. */
export function runningPodStatus(pod: Record<string, any>, podIP: string, hostIP: string, now: Date): Record<string, any> {
  const t = kubeTime(now);
  const start = pod.status?.startTime ?? t;
  const uid = pod.metadata?.uid ?? '';
  const cond = (type: string) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: t });
  const containerId = (name: string) => `sim://${createHash('sha256').update(`${uid}/${name}`).digest('hex').slice(0, 64)}`;
  return {
    ...(pod.status ?? {}),
    phase: 'Running',
    conditions: [cond('PodReadyToStartContainers'), cond('Initialized'), cond('Ready'), cond('ContainersReady'), cond('PodScheduled')],
    hostIP,
    hostIPs: [{ ip: hostIP }],
    podIP,
    podIPs: [{ ip: podIP }],
    startTime: start,
    initContainerStatuses: (pod.spec?.initContainers ?? []).length
      ? (pod.spec.initContainers as any[]).map((c) => ({
          name: c.name,
          image: c.image,
          imageID: imageId(c.image),
          containerID: containerId(c.name),
          ready: true,
          started: false,
          restartCount: 0,
          state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: start, finishedAt: t, containerID: containerId(c.name) } },
          lastState: {},
        }))
      : undefined,
    containerStatuses: (pod.spec?.containers ?? []).map((c: any) => ({
      name: c.name,
      image: c.image,
      imageID: imageId(c.image),
      containerID: containerId(c.name),
      ready: true,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: t } },
      lastState: {},
    })),
  };
}
