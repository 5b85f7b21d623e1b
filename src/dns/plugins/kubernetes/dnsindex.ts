// The in-memory index the kubernetes DNS plugin answers from: Services,
// EndpointSlices, Pods and Namespaces reduced to what DNS needs, with reverse
// maps by IP. The builder functions below are fed by informer events (add and
// update are both "upsert"); they do no I/O, so tests build an index directly.
import { canonicalIP, parseIP } from './ip.js';

type Obj = Record<string, any>;

export interface PortEntry {
  /** "" for an unnamed port. */
  name: string;
  port: number;
  /** "TCP", "UDP", "SCTP". */
  protocol: string;
}

export interface ServiceEntry {
  namespace: string;
  name: string;
  type: string;
  /** Canonical cluster IPs (empty for headless and ExternalName services). */
  clusterIPs: string[];
  headless: boolean;
  /** Lower-case, fully qualified (ExternalName services only). */
  externalName?: string;
  ports: PortEntry[];
  publishNotReadyAddresses: boolean;
}

export interface EndpointEntry {
  /** Canonical addresses. */
  addresses: string[];
  hostname?: string;
  /** targetRef name when targetRef is a Pod (for endpoint_pod_names). */
  podName?: string;
  /** conditions.ready (unset means ready, as the API documents). */
  ready: boolean;
}

export interface SliceEntry {
  namespace: string;
  name: string;
  /** The owning service (label kubernetes.io/service-name). */
  service: string;
  ports: PortEntry[];
  endpoints: EndpointEntry[];
}

export interface PodEntry {
  namespace: string;
  name: string;
  ips: string[];
}

export interface DnsIndex {
  services: Map<string, ServiceEntry>;
  slices: Map<string, SliceEntry>;
  /** "ns/service" -> slice keys. */
  slicesByService: Map<string, Set<string>>;
  pods: Map<string, PodEntry>;
  podsByIP: Map<string, Set<string>>;
  /** cluster IP -> service keys. */
  servicesByIP: Map<string, Set<string>>;
  /** endpoint address -> slice keys. */
  slicesByIP: Map<string, Set<string>>;
  /** Known namespaces; null when namespaces are not tracked (then a namespace exists if a service or pod is in it). */
  namespaces: Set<string> | null;
  /** Unix seconds of the last change (the SOA serial). */
  modified: number;
  /** Bumped on every change (for caches derived from the index). */
  generation: number;
}

export function newIndex(trackNamespaces = true): DnsIndex {
  return {
    services: new Map(),
    slices: new Map(),
    slicesByService: new Map(),
    pods: new Map(),
    podsByIP: new Map(),
    servicesByIP: new Map(),
    slicesByIP: new Map(),
    namespaces: trackNamespaces ? new Set() : null,
    modified: Math.floor(Date.now() / 1000),
    generation: 0,
  };
}

const key = (ns: string, name: string) => `${ns}/${name}`;

function touch(ix: DnsIndex): void {
  ix.generation++;
  // Strictly increasing, so a secondary sees every change as a new serial.
  ix.modified = Math.max(Math.floor(Date.now() / 1000), ix.modified + 1) >>> 0;
}

function addTo(m: Map<string, Set<string>>, k: string, v: string): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(v);
}
function removeFrom(m: Map<string, Set<string>>, k: string, v: string): void {
  const s = m.get(k);
  if (!s) return;
  s.delete(v);
  if (s.size === 0) m.delete(k);
}

function ports(list: unknown): PortEntry[] {
  if (!Array.isArray(list)) return [];
  return list
    .filter((p) => p && typeof p.port === 'number')
    .map((p) => ({ name: String(p.name ?? '').toLowerCase(), port: p.port, protocol: String(p.protocol ?? 'TCP').toUpperCase() }));
}

function fqdn(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n : `${n}.`;
}

/** Reduces a Service object to what DNS needs. */
export function serviceEntry(svc: Obj): ServiceEntry {
  const spec = svc.spec ?? {};
  const type = spec.type ?? 'ClusterIP';
  const headless = type !== 'ExternalName' && spec.clusterIP === 'None';
  const rawIPs: string[] = Array.isArray(spec.clusterIPs) && spec.clusterIPs.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
  const clusterIPs = type === 'ExternalName' || headless ? [] : rawIPs.map((ip) => parseIP(ip)?.text).filter((x): x is string => !!x);
  const ext = type === 'ExternalName' && typeof spec.externalName === 'string' && spec.externalName && !parseIP(spec.externalName) ? fqdn(spec.externalName) : undefined;
  return {
    namespace: svc.metadata?.namespace ?? 'default',
    name: String(svc.metadata?.name ?? '').toLowerCase(),
    type,
    clusterIPs,
    headless,
    externalName: ext,
    ports: ports(spec.ports),
    publishNotReadyAddresses: spec.publishNotReadyAddresses === true,
  };
}

/** Reduces an EndpointSlice object to what DNS needs (undefined if it has no owning service). */
export function sliceEntry(slice: Obj): SliceEntry | undefined {
  const service = slice.metadata?.labels?.['kubernetes.io/service-name'];
  if (!service) return undefined;
  const type = slice.addressType ?? 'IPv4';
  if (type !== 'IPv4' && type !== 'IPv6') return undefined; // FQDN slices carry no addresses DNS can serve
  const endpoints: EndpointEntry[] = [];
  for (const ep of Array.isArray(slice.endpoints) ? slice.endpoints : []) {
    const addresses = (Array.isArray(ep?.addresses) ? ep.addresses : []).map((a: string) => parseIP(String(a))?.text).filter((x: string | undefined): x is string => !!x);
    if (!addresses.length) continue;
    endpoints.push({
      addresses,
      hostname: ep.hostname ? String(ep.hostname).toLowerCase() : undefined,
      podName: ep.targetRef?.kind === 'Pod' && ep.targetRef?.name ? String(ep.targetRef.name).toLowerCase() : undefined,
      ready: ep.conditions?.ready !== false,
    });
  }
  return {
    namespace: slice.metadata?.namespace ?? 'default',
    name: String(slice.metadata?.name ?? ''),
    service: String(service).toLowerCase(),
    ports: ports(slice.ports),
    endpoints,
  };
}

/** Reduces a Pod object to what DNS needs. */
export function podEntry(pod: Obj): PodEntry {
  const ips = new Set<string>();
  for (const p of Array.isArray(pod.status?.podIPs) ? pod.status.podIPs : []) if (p?.ip) ips.add(canonicalIP(p.ip));
  if (pod.status?.podIP) ips.add(canonicalIP(pod.status.podIP));
  return { namespace: pod.metadata?.namespace ?? 'default', name: String(pod.metadata?.name ?? ''), ips: [...ips].filter((ip) => parseIP(ip)) };
}

export function upsertService(ix: DnsIndex, svc: Obj): void {
  removeService(ix, svc, false);
  const e = serviceEntry(svc);
  const k = key(e.namespace, e.name);
  ix.services.set(k, e);
  for (const ip of e.clusterIPs) addTo(ix.servicesByIP, ip, k);
  touch(ix);
}

export function removeService(ix: DnsIndex, svc: Obj, bump = true): void {
  const k = key(svc.metadata?.namespace ?? 'default', String(svc.metadata?.name ?? '').toLowerCase());
  const old = ix.services.get(k);
  if (!old) return;
  ix.services.delete(k);
  for (const ip of old.clusterIPs) removeFrom(ix.servicesByIP, ip, k);
  if (bump) touch(ix);
}

export function upsertEndpointSlice(ix: DnsIndex, slice: Obj): void {
  removeEndpointSlice(ix, slice, false);
  const e = sliceEntry(slice);
  if (e) {
    const k = key(e.namespace, e.name);
    ix.slices.set(k, e);
    addTo(ix.slicesByService, key(e.namespace, e.service), k);
    for (const ep of e.endpoints) for (const a of ep.addresses) addTo(ix.slicesByIP, a, k);
  }
  touch(ix);
}

export function removeEndpointSlice(ix: DnsIndex, slice: Obj, bump = true): void {
  const k = key(slice.metadata?.namespace ?? 'default', String(slice.metadata?.name ?? ''));
  const old = ix.slices.get(k);
  if (!old) return;
  ix.slices.delete(k);
  removeFrom(ix.slicesByService, key(old.namespace, old.service), k);
  for (const ep of old.endpoints) for (const a of ep.addresses) removeFrom(ix.slicesByIP, a, k);
  if (bump) touch(ix);
}

export function upsertPod(ix: DnsIndex, pod: Obj): void {
  removePod(ix, pod, false);
  const e = podEntry(pod);
  const k = key(e.namespace, e.name);
  ix.pods.set(k, e);
  for (const ip of e.ips) addTo(ix.podsByIP, ip, k);
  touch(ix);
}

export function removePod(ix: DnsIndex, pod: Obj, bump = true): void {
  const k = key(pod.metadata?.namespace ?? 'default', String(pod.metadata?.name ?? ''));
  const old = ix.pods.get(k);
  if (!old) return;
  ix.pods.delete(k);
  for (const ip of old.ips) removeFrom(ix.podsByIP, ip, k);
  if (bump) touch(ix);
}

export function upsertNamespace(ix: DnsIndex, ns: Obj): void {
  if (!ix.namespaces) ix.namespaces = new Set();
  ix.namespaces.add(String(ns.metadata?.name ?? '').toLowerCase());
  touch(ix);
}

export function removeNamespace(ix: DnsIndex, ns: Obj): void {
  ix.namespaces?.delete(String(ns.metadata?.name ?? '').toLowerCase());
  touch(ix);
}

/** Whether a namespace exists (as far as the index knows). */
export function namespaceExists(ix: DnsIndex, ns: string): boolean {
  if (ix.namespaces) return ix.namespaces.has(ns);
  for (const s of ix.services.values()) if (s.namespace === ns) return true;
  for (const p of ix.pods.values()) if (p.namespace === ns) return true;
  return false;
}

/** One address of one endpoint of a service, with the ports of its slice. */
export interface ServiceEndpoint {
  address: string;
  hostname?: string;
  podName?: string;
  ready: boolean;
  ports: PortEntry[];
}

/** All endpoint addresses of a service, over all its slices (an address listed twice is kept once). */
export function serviceEndpoints(ix: DnsIndex, namespace: string, service: string): ServiceEndpoint[] {
  const out: ServiceEndpoint[] = [];
  const seen = new Set<string>();
  for (const sk of [...(ix.slicesByService.get(key(namespace, service)) ?? [])].sort()) {
    const s = ix.slices.get(sk);
    if (!s) continue;
    for (const ep of s.endpoints) {
      for (const address of ep.addresses) {
        const id = `${address}|${ep.hostname ?? ''}|${s.ports.map((p) => `${p.name}/${p.port}/${p.protocol}`).join(',')}`;
        if (seen.has(id)) continue;
        seen.add(id);
        out.push({ address, hostname: ep.hostname, podName: ep.podName, ready: ep.ready, ports: s.ports });
      }
    }
  }
  return out;
}

/** Builds an index from object lists at once (tests, and a re-list). */
export function buildIndex(objs: { services?: Obj[]; endpointSlices?: Obj[]; pods?: Obj[]; namespaces?: Obj[] | string[] }): DnsIndex {
  const ix = newIndex(objs.namespaces !== undefined);
  for (const n of objs.namespaces ?? []) upsertNamespace(ix, typeof n === 'string' ? { metadata: { name: n } } : n);
  for (const s of objs.services ?? []) upsertService(ix, s);
  for (const s of objs.endpointSlices ?? []) upsertEndpointSlice(ix, s);
  for (const p of objs.pods ?? []) upsertPod(ix, p);
  return ix;
}
