// Pure core of the userspace proxy: snapshot -> the listeners and the
// addresses the node needs, and the difference from what is there.
//
// A listener is one socket: protocol + address + port, serving one service
// port for one class of traffic ("internal": cluster IPs, which follow
// internalTrafficPolicy; "external": external IPs, load-balancer IPs and
// NodePorts, which follow externalTrafficPolicy).
import { categorizeEndpoints } from '../topology.js';
import type { EndpointInfo, ProxySnapshot, Protocol, ServicePortInfo } from '../types.js';
import { endpointKey } from './scheduler.js';

export type TrafficKind = 'clusterIP' | 'externalIP' | 'loadBalancer' | 'nodePort';

export interface ListenerSpec {
  /** `${protocol}/${ip}:${port}`: the socket's identity. */
  id: string;
  protocol: Protocol;
  ip: string;
  port: number;
  /** The service port it serves. */
  serviceKey: string;
  kind: TrafficKind;
}

export const listenerId = (protocol: Protocol, ip: string, port: number): string => `${protocol}/${ip}:${port}`;
export const isExternal = (k: TrafficKind): boolean => k !== 'clusterIP';

export interface DesiredState {
  /** By listener id. */
  listeners: Map<string, ListenerSpec>;
  /** Addresses to bind on the service interface (cluster, external and load-balancer IPs), sorted. */
  addresses: string[];
  /** Listener ids claimed by two service ports (the first one, in key order, wins). */
  conflicts: Array<{ id: string; serviceKey: string; winner: string }>;
  /** Protocols we cannot proxy (SCTP), by service key. */
  unsupported: string[];
}

/** Where NodePorts listen: the node's IPs, or every address when the node's IPs are not known. */
export function nodePortAddresses(snapshot: ProxySnapshot, override?: string[]): string[] {
  if (override && override.length > 0) return override;
  return snapshot.nodeIPs.length > 0 ? [...snapshot.nodeIPs] : ['0.0.0.0'];
}

export function desiredState(snapshot: ProxySnapshot, opts: { nodePortAddresses?: string[] } = {}): DesiredState {
  const listeners = new Map<string, ListenerSpec>();
  const addresses = new Set<string>();
  const conflicts: DesiredState['conflicts'] = [];
  const unsupported: string[] = [];
  const npAddrs = nodePortAddresses(snapshot, opts.nodePortAddresses);
  const keys = [...snapshot.services.keys()].sort();
  for (const key of keys) {
    const svc = snapshot.services.get(key)!;
    if (svc.protocol !== 'TCP' && svc.protocol !== 'UDP') {
      unsupported.push(key);
      continue;
    }
    const add = (ip: string, port: number, kind: TrafficKind) => {
      const id = listenerId(svc.protocol, ip, port);
      const prev = listeners.get(id);
      if (prev) {
        if (prev.serviceKey !== key) conflicts.push({ id, serviceKey: key, winner: prev.serviceKey });
        return;
      }
      listeners.set(id, { id, protocol: svc.protocol, ip, port, serviceKey: key, kind });
    };
    for (const ip of svc.clusterIPs) {
      addresses.add(ip);
      add(ip, svc.port, 'clusterIP');
    }
    for (const ip of svc.externalIPs) {
      addresses.add(ip);
      add(ip, svc.port, 'externalIP');
    }
    for (const ip of svc.loadBalancerIPs) {
      addresses.add(ip);
      add(ip, svc.port, 'loadBalancer');
    }
    if (svc.nodePort) for (const ip of npAddrs) add(ip, svc.nodePort, 'nodePort');
  }
  return { listeners, addresses: [...addresses].sort(), conflicts, unsupported };
}

export interface ListenerDiff {
  add: ListenerSpec[];
  remove: string[];
  /** Same socket, now serving another service port or traffic kind: re-pointed in place. */
  update: ListenerSpec[];
  unchanged: number;
}

export function diffListeners(current: ReadonlyMap<string, ListenerSpec>, desired: ReadonlyMap<string, ListenerSpec>): ListenerDiff {
  const add: ListenerSpec[] = [];
  const update: ListenerSpec[] = [];
  const remove: string[] = [];
  let unchanged = 0;
  for (const [id, spec] of desired) {
    const cur = current.get(id);
    if (!cur) add.push(spec);
    else if (cur.serviceKey !== spec.serviceKey || cur.kind !== spec.kind) update.push(spec);
    else unchanged++;
  }
  for (const id of current.keys()) if (!desired.has(id)) remove.push(id);
  return { add, remove, update, unchanged };
}

export function diffAddresses(current: Iterable<string>, desired: Iterable<string>): { add: string[]; remove: string[] } {
  const cur = new Set(current);
  const want = new Set(desired);
  return { add: [...want].filter((a) => !cur.has(a)).sort(), remove: [...cur].filter((a) => !want.has(a)).sort() };
}

/** The endpoints each class of traffic of a service port may use, in a stable order. */
export interface RoutedEndpoints {
  /** Traffic to cluster IPs (internalTrafficPolicy). */
  internal: EndpointInfo[];
  /** Traffic to external IPs, load-balancer IPs and NodePorts (externalTrafficPolicy). */
  external: EndpointInfo[];
}

const byKey = (a: EndpointInfo, b: EndpointInfo) => {
  const ka = endpointKey(a);
  const kb = endpointKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};

export function routeEndpoints(svc: ServicePortInfo, endpoints: EndpointInfo[]): RoutedEndpoints {
  const c = categorizeEndpoints(svc, endpoints);
  const internal = (svc.internalPolicyLocal ? c.local : c.cluster).slice().sort(byKey);
  const external = (svc.externalPolicyLocal ? c.local : c.cluster).slice().sort(byKey);
  return { internal, external };
}

/** A fingerprint of what a service port's proxying depends on, to count what changed between syncs. */
export function servicePortFingerprint(svc: ServicePortInfo | undefined, endpoints: EndpointInfo[] | undefined): string {
  if (!svc) return '';
  const eps = (endpoints ?? []).map((e) => `${endpointKey(e)}/${+e.ready}${+e.serving}${+e.terminating}${+e.isLocal}`).sort();
  return JSON.stringify([svc, eps]);
}
