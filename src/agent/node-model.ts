// The kubelet's node model, pure: the Node object an agent registers (labels,
// capacity and allocatable, conditions with upstream's reasons, addresses,
// nodeInfo), and its Lease in kube-node-lease. Used by the node agent and by
// the simulated nodes (src/sim), which play a kubelet that runs nothing.

export const KUBELET_VERSION = 'v1.33.0';
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
export const LEASE_DURATION_SECONDS = 40;

/** Kubernetes time (seconds) and MicroTime (microseconds). */
export const kubeTime = (d: Date): string => d.toISOString().replace(/\.\d+Z$/, 'Z');
export const microTime = (d: Date): string => d.toISOString().replace('Z', '000Z');

/** The node conditions a healthy kubelet posts, with upstream's reasons and messages. */
export function nodeConditions(now: Date, transition: string = kubeTime(now)): Array<Record<string, string>> {
  const hb = kubeTime(now);
  const c = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    lastHeartbeatTime: hb,
    lastTransitionTime: transition,
    reason,
    message,
  });
  return [
    c('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
    c('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
    c('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
    c('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
  ];
}

export interface NodeSpecInput {
  name: string;
  /** amd64, arm64, ... */
  arch: string;
  /** Labels besides the well-known hostname/os/arch ones. */
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** capacity = allocatable (cpu, memory, pods, ephemeral-storage). */
  resources: Record<string, string>;
  internalIP: string;
  kubeletPort: number;
  /** nodeInfo fields besides the kubelet versions, operating system and architecture. */
  nodeInfo: { machineID: string; systemUUID: string; bootID: string; kernelVersion: string; osImage: string; containerRuntimeVersion: string };
  images?: Array<{ names: string[]; sizeBytes: number }>;
}

/** The Node object a kubelet registers. */
export function buildNodeObject(n: NodeSpecInput, now: Date): Record<string, any> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: n.name,
      labels: {
        'kubernetes.io/hostname': n.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': n.arch,
        'beta.kubernetes.io/os': 'linux',
        'beta.kubernetes.io/arch': n.arch,
        ...(n.labels ?? {}),
      },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', ...(n.annotations ?? {}) },
    },
    spec: {},
    status: {
      capacity: { ...n.resources },
      allocatable: { ...n.resources },
      conditions: nodeConditions(now),
      addresses: [
        { type: 'InternalIP', address: n.internalIP },
        { type: 'Hostname', address: n.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: n.kubeletPort } },
      nodeInfo: { ...n.nodeInfo, kubeletVersion: KUBELET_VERSION, kubeProxyVersion: KUBELET_VERSION, operatingSystem: 'linux', architecture: n.arch },
      ...(n.images ? { images: n.images } : {}),
    },
  };
}

/** The node's Lease in kube-node-lease, owned by the node as upstream's kubelet does. */
export function leaseObject(nodeName: string, nodeUid: string | undefined, now: Date): Record<string, any> {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: nodeName,
      namespace: NODE_LEASE_NAMESPACE,
      ...(nodeUid ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: nodeUid }] } : {}),
    },
    spec: { holderIdentity: nodeName, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: microTime(now) },
  };
}
