// The Endpoints controller's pure core (upstream pkg/controller/endpoint):
// from a Service and the pods of its namespace, the Endpoints object it should
// have. Subsets are repacked as upstream's RepackSubsets (addresses grouped by
// the identical set of ports they serve) and sorted deterministically; more
// than 1000 addresses are truncated and marked with the over-capacity annotation.
import {
  ANNOTATION_TRIGGER_TIME,
  type Obj,
  canonical,
  cmp,
  cmpIP,
  endpointsLabels,
  findPort,
  isPodReady,
  managesService,
  serviceSelects,
  shouldPodBeInEndpoints,
  shouldSetHostname,
} from './util.js';

export const MAX_ENDPOINTS_CAPACITY = 1000;
export const ANNOTATION_OVER_CAPACITY = 'endpoints.kubernetes.io/over-capacity';

export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef: { kind: 'Pod'; namespace: string; name: string; uid: string };
}
export interface EndpointPort {
  name?: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}
export interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: EndpointPort[];
}

/** The Endpoints the service should have, or null when the controller leaves it alone (no selector, ExternalName). */
export function desiredEndpoints(svc: Obj, pods: Obj[]): Obj | null {
  if (!managesService(svc)) return null;
  const subsets = computeSubsets(svc, pods);
  const truncated = truncateEndpoints(subsets);
  const annotations: Record<string, string> = {};
  if (truncated) annotations[ANNOTATION_OVER_CAPACITY] = 'truncated';
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: {
      name: svc.metadata.name,
      namespace: svc.metadata.namespace,
      labels: endpointsLabels(svc),
      ...(truncated ? { annotations } : {}),
    },
    subsets: subsets.length ? subsets : undefined,
  };
}

/** The subsets for a service from the pods in its namespace (not truncated). */
export function computeSubsets(svc: Obj, pods: Obj[]): EndpointSubset[] {
  const tolerateUnready = !!svc.spec?.publishNotReadyAddresses;
  const ports: Obj[] = svc.spec?.ports ?? [];
  const raw: Array<{ addr: EndpointAddress; ready: boolean; port?: EndpointPort }> = [];
  for (const pod of pods) {
    if (pod.metadata?.namespace !== svc.metadata?.namespace || !serviceSelects(svc, pod)) continue;
    if (!shouldPodBeInEndpoints(pod, tolerateUnready)) continue;
    const addr: EndpointAddress = {
      ip: pod.status.podIP,
      ...(shouldSetHostname(pod, svc) ? { hostname: pod.spec.hostname } : {}),
      ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}),
      targetRef: { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
    };
    const ready = tolerateUnready || isPodReady(pod);
    if (ports.length === 0) {
      // A headless service without ports still publishes its addresses.
      if (svc.spec?.clusterIP === 'None') raw.push({ addr, ready });
      continue;
    }
    for (const sp of ports) {
      const num = findPort(pod, sp);
      if (num === undefined) continue; // upstream logs and skips the port for this pod
      const port: EndpointPort = { ...(sp.name ? { name: sp.name } : {}), port: num, protocol: sp.protocol ?? 'TCP' };
      if (sp.appProtocol) port.appProtocol = sp.appProtocol;
      raw.push({ addr, ready, port });
    }
  }
  return repack(raw);
}

const portKey = (p: EndpointPort): string => `${p.name ?? ''}\x00${p.port}\x00${p.protocol}\x00${p.appProtocol ?? ''}`;
const addrKey = (a: EndpointAddress): string => `${a.ip}\x00${a.targetRef.uid}`;
const cmpAddr = (a: EndpointAddress, b: EndpointAddress): number => cmpIP(a.ip, b.ip) || cmp(a.targetRef.uid, b.targetRef.uid);
const cmpPort = (a: EndpointPort, b: EndpointPort): number => cmp(portKey(a), portKey(b));

/** RepackSubsets: each address with the set of ports it serves; addresses with the same port set share a subset. */
function repack(raw: Array<{ addr: EndpointAddress; ready: boolean; port?: EndpointPort }>): EndpointSubset[] {
  const addrs = new Map<string, { addr: EndpointAddress; ready: boolean; ports: Map<string, EndpointPort> }>();
  for (const r of raw) {
    const k = addrKey(r.addr);
    let e = addrs.get(k);
    if (!e) addrs.set(k, (e = { addr: r.addr, ready: r.ready, ports: new Map() }));
    if (r.port) e.ports.set(portKey(r.port), r.port);
  }
  const groups = new Map<string, EndpointSubset & { ports: EndpointPort[] }>();
  for (const e of addrs.values()) {
    const ports = [...e.ports.values()].sort(cmpPort);
    const key = ports.map(portKey).join('\x01');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ports }));
    const list = e.ready ? (g.addresses ??= []) : (g.notReadyAddresses ??= []);
    list.push(e.addr);
  }
  const out: EndpointSubset[] = [];
  for (const g of groups.values()) {
    g.addresses?.sort(cmpAddr);
    g.notReadyAddresses?.sort(cmpAddr);
    out.push({
      ...(g.addresses ? { addresses: g.addresses } : {}),
      ...(g.notReadyAddresses ? { notReadyAddresses: g.notReadyAddresses } : {}),
      ...(g.ports.length ? { ports: g.ports } : {}),
    });
  }
  const first = (s: EndpointSubset) => (s.addresses ?? s.notReadyAddresses ?? [])[0]!;
  return out.sort((a, b) => cmp((a.ports ?? []).map(portKey).join('\x01'), (b.ports ?? []).map(portKey).join('\x01')) || cmpAddr(first(a), first(b)));
}

/**
 * upstream truncateEndpoints: over MAX_ENDPOINTS_CAPACITY addresses, ready ones
 * are kept first; each subset keeps its proportion (rounded up) of what is left.
 * Mutates the subsets; true when it truncated.
 */
export function truncateEndpoints(subsets: EndpointSubset[], maxCapacity = MAX_ENDPOINTS_CAPACITY): boolean {
  let totalReady = 0;
  let totalNotReady = 0;
  for (const s of subsets) {
    totalReady += s.addresses?.length ?? 0;
    totalNotReady += s.notReadyAddresses?.length ?? 0;
  }
  if (totalReady + totalNotReady <= maxCapacity) return false;
  const truncateReady = totalReady > maxCapacity;
  const max = truncateReady ? maxCapacity : maxCapacity - totalReady;
  const numTotal = truncateReady ? totalReady : totalNotReady;
  let canBeAdded = max;
  for (const s of subsets) {
    const inSubset = (truncateReady ? s.addresses?.length : s.notReadyAddresses?.length) ?? 0;
    const toBeAdded = Math.min(Math.ceil((inSubset / numTotal) * max), canBeAdded);
    if (truncateReady) {
      if (s.addresses) s.addresses = s.addresses.slice(0, toBeAdded);
      delete s.notReadyAddresses;
      canBeAdded -= s.addresses?.length ?? 0;
    } else {
      if (s.notReadyAddresses) s.notReadyAddresses = s.notReadyAddresses.slice(0, toBeAdded);
      canBeAdded -= s.notReadyAddresses?.length ?? 0;
    }
    if (s.addresses?.length === 0) delete s.addresses;
    if (s.notReadyAddresses?.length === 0) delete s.notReadyAddresses;
  }
  return true;
}

/** Whether the current Endpoints already matches the desired one (subsets, labels, over-capacity annotation). */
export function endpointsUpToDate(current: Obj, desired: Obj): boolean {
  return (
    canonical(current.subsets) === canonical(desired.subsets) &&
    canonical(current.metadata?.labels) === canonical(desired.metadata?.labels) &&
    (current.metadata?.annotations?.[ANNOTATION_OVER_CAPACITY] ?? '') === (desired.metadata?.annotations?.[ANNOTATION_OVER_CAPACITY] ?? '')
  );
}

/** The object to write: the desired state over the current object (keeping its resourceVersion and other annotations). */
export function mergeForWrite(current: Obj | undefined, desired: Obj, triggerTime: string): Obj {
  const annotations: Record<string, string> = { ...(current?.metadata?.annotations ?? {}) };
  delete annotations[ANNOTATION_OVER_CAPACITY];
  Object.assign(annotations, desired.metadata.annotations ?? {});
  annotations[ANNOTATION_TRIGGER_TIME] = triggerTime;
  const out: Obj = {
    ...(current ?? {}),
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { ...(current?.metadata ?? {}), name: desired.metadata.name, namespace: desired.metadata.namespace, labels: desired.metadata.labels, annotations },
    subsets: desired.subsets,
  };
  if (!out.subsets) delete out.subsets;
  return out;
}
