// The service proxy's model, shared by the change tracker and every backend
// (nftables, iptables, userspace), after upstream kube-proxy's ServicePort
// and Endpoint: one entry per service port ("ns/name:portName"), and the
// endpoints behind it as this node sees them.

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** upstream's ServicePortName: namespace/name:port (port name may be empty). */
export function servicePortKey(namespace: string, name: string, portName: string): string {
  return `${namespace}/${name}:${portName}`;
}

export interface ServicePortInfo {
  /** servicePortKey(...) */
  key: string;
  namespace: string;
  name: string;
  /** The port's name in the Service (may be ''). */
  portName: string;
  protocol: Protocol;
  /** IPv4 cluster IPs (clusterIPs; headless and ExternalName services are not in the snapshot). */
  clusterIPs: string[];
  port: number;
  /** 0: none. */
  nodePort: number;
  externalIPs: string[];
  /** status.loadBalancer.ingress[].ip */
  loadBalancerIPs: string[];
  loadBalancerSourceRanges: string[];
  /** sessionAffinity ClientIP: its timeout; undefined: None. */
  stickySeconds?: number;
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
  /** For externalTrafficPolicy Local with a LoadBalancer (0: none). */
  healthCheckNodePort: number;
}

export interface EndpointInfo {
  ip: string;
  port: number;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  nodeName?: string;
  /** On this node. */
  isLocal: boolean;
}

export interface ProxySnapshot {
  /** Keyed by servicePortKey. */
  services: Map<string, ServicePortInfo>;
  /** Endpoints of each service port (same keys; missing or empty: none). */
  endpoints: Map<string, EndpointInfo[]>;
  nodeName: string;
  /** Addresses NodePorts answer on (the node's IPv4 addresses). */
  nodeIPs: string[];
  /** Pod network range (for masquerade decisions), e.g. 10.244.0.0/16; '' if unknown. */
  clusterCidr: string;
}

export interface SyncResult {
  /** Full resync, or only what changed. */
  full: boolean;
  /** Service ports whose rules were (re)written. */
  changed: number;
  durationMs: number;
}

export interface ProxyBackend {
  readonly name: 'nftables' | 'iptables' | 'userspace';
  /**
   * Makes the node's rules match the snapshot. `changed` names the service
   * ports that changed since the last successful sync (undefined: unknown,
   * resync everything); a backend may ignore it and diff by itself.
   */
  sync(snapshot: ProxySnapshot, changed?: Set<string>): Promise<SyncResult>;
  /** The live ruleset as text (`k8ts proxy rules`). */
  rules(): Promise<string>;
  /** Removes everything this backend installed. */
  cleanup(): Promise<void>;
}

export const externallyAccessible = (s: ServicePortInfo): boolean => s.nodePort !== 0 || s.loadBalancerIPs.length > 0 || s.externalIPs.length > 0;
// Even with externalTrafficPolicy Local, cluster endpoints serve the short-circuit of traffic from pods and the node (as upstream).
export const usesClusterEndpoints = (s: ServicePortInfo): boolean => !s.internalPolicyLocal || externallyAccessible(s);
export const usesLocalEndpoints = (s: ServicePortInfo): boolean => s.internalPolicyLocal || (externallyAccessible(s) && s.externalPolicyLocal);
