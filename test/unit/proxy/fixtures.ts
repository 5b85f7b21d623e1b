// Builders of the proxy's inputs (ServicePortInfo, EndpointInfo,
// ProxySnapshot) shared by the backends' tests. Each test file keeps its own
// small wrappers for its defaults (namespace, port name, cluster IPs, node).
import type { EndpointInfo, ProxySnapshot, ServicePortInfo } from '../../../src/proxy/types.js';

/** A service port `ns/name:portName`: TCP port 80, no cluster IP, no NodePort, cluster traffic policies; `over` wins. */
export function servicePort(namespace: string, name: string, portName: string, over: Partial<ServicePortInfo> = {}): ServicePortInfo {
  return {
    key: `${namespace}/${name}:${portName}`,
    namespace,
    name,
    portName,
    protocol: 'TCP',
    clusterIPs: [],
    port: 80,
    nodePort: 0,
    externalIPs: [],
    loadBalancerIPs: [],
    loadBalancerSourceRanges: [],
    externalPolicyLocal: false,
    internalPolicyLocal: false,
    healthCheckNodePort: 0,
    ...over,
  };
}

/** A ready, serving, remote endpoint; `over` wins. */
export function endpoint(ip: string, port = 80, over: Partial<EndpointInfo> = {}): EndpointInfo {
  return { ip, port, ready: true, serving: true, terminating: false, isLocal: false, ...over };
}

/** The node a snapshot is computed for. */
export type SnapshotNode = Pick<ProxySnapshot, 'nodeName' | 'nodeIPs' | 'clusterCidr'>;

/** A snapshot of these services and their endpoints (by service port key). */
export function snapshotOf(services: ServicePortInfo[], endpoints: Record<string, EndpointInfo[]>, node: SnapshotNode, over: Partial<ProxySnapshot> = {}): ProxySnapshot {
  return {
    services: new Map(services.map((s) => [s.key, s])),
    endpoints: new Map(Object.entries(endpoints)),
    ...node,
    ...over,
  };
}

/** A snapshot of [service port, its endpoints] pairs. */
export function snapshotOfPairs(entries: Array<[ServicePortInfo, EndpointInfo[]]>, node: SnapshotNode, over: Partial<ProxySnapshot> = {}): ProxySnapshot {
  return {
    services: new Map(entries.map(([s]) => [s.key, s])),
    endpoints: new Map(entries.map(([s, e]) => [s.key, e])),
    ...node,
    ...over,
  };
}
