// The service proxy's change tracker, after upstream kube-proxy's
// ServiceChangeTracker / EndpointsChangeTracker (pkg/proxy/servicechangetracker.go,
// endpointschangetracker.go, endpointslicecache.go): informer events in, a
// ProxySnapshot out, plus which service ports changed since the last sync.
// The conversions are pure functions; the class only keeps the objects.
import type { KObject } from '../client/rest.js';
import { type EndpointInfo, type Protocol, type ProxySnapshot, type ServicePortInfo, servicePortKey } from './types.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const LAST_CHANGE_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';
/** upstream's default sessionAffinityConfig.clientIP.timeoutSeconds (3 hours). */
export const DEFAULT_STICKY_SECONDS = 10800;

const isIPv4 = (ip: unknown): ip is string => typeof ip === 'string' && /^\d{1,3}(\.\d{1,3}){3}$/.test(ip);

/**
 * The service ports of a Service as the proxy sees them: none for headless
 * (clusterIP None), ExternalName and IP-less services; one per port otherwise.
 */
export function servicePortsFromService(svc: KObject): ServicePortInfo[] {
  const spec = svc.spec ?? {};
  const ns = svc.metadata?.namespace ?? 'default';
  const name = svc.metadata?.name ?? '';
  if (spec.type === 'ExternalName') return [];
  const ips: string[] = (Array.isArray(spec.clusterIPs) && spec.clusterIPs.length ? spec.clusterIPs : [spec.clusterIP]).filter(
    (ip: unknown) => ip && ip !== 'None',
  );
  const clusterIPs = ips.filter(isIPv4);
  if (clusterIPs.length === 0) return [];
  const externalIPs: string[] = (spec.externalIPs ?? []).filter(isIPv4);
  const lbIPs: string[] = (svc.status?.loadBalancer?.ingress ?? []).map((i: { ip?: string }) => i.ip).filter(isIPv4);
  const sticky = spec.sessionAffinity === 'ClientIP' ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_STICKY_SECONDS) : undefined;
  const type = spec.type ?? 'ClusterIP';
  const external = type === 'NodePort' || type === 'LoadBalancer';
  // upstream: externalTrafficPolicy only applies to externally accessible services.
  const externalPolicyLocal = spec.externalTrafficPolicy === 'Local' && (external || externalIPs.length > 0);
  return (spec.ports ?? []).map((p: KObject): ServicePortInfo => {
    const portName = p.name ?? '';
    return {
      key: servicePortKey(ns, name, portName),
      namespace: ns,
      name,
      portName,
      protocol: (p.protocol ?? 'TCP') as Protocol,
      clusterIPs,
      port: Number(p.port),
      nodePort: external ? Number(p.nodePort ?? 0) : 0,
      externalIPs,
      loadBalancerIPs: type === 'LoadBalancer' ? lbIPs : [],
      loadBalancerSourceRanges: type === 'LoadBalancer' ? [...(spec.loadBalancerSourceRanges ?? [])] : [],
      stickySeconds: sticky,
      externalPolicyLocal,
      internalPolicyLocal: spec.internalTrafficPolicy === 'Local',
      healthCheckNodePort: type === 'LoadBalancer' && externalPolicyLocal ? Number(spec.healthCheckNodePort ?? 0) : 0,
    };
  });
}

/** The service an EndpointSlice belongs to ("ns/name"), or undefined. */
export function sliceServiceKey(slice: KObject): string | undefined {
  const svc = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
  if (!svc) return undefined;
  return `${slice.metadata?.namespace ?? 'default'}/${svc}`;
}

/**
 * The endpoints of one service port from all its slices: matched by port name
 * and protocol, conditions as upstream (nil ready = ready, nil serving =
 * ready, nil terminating = false), deduplicated by ip:port, sorted.
 */
export function endpointsForServicePort(slices: KObject[], portName: string, protocol: Protocol, nodeName: string): EndpointInfo[] {
  const seen = new Map<string, EndpointInfo>();
  for (const slice of slices) {
    if (slice.addressType && slice.addressType !== 'IPv4') continue;
    for (const p of slice.ports ?? []) {
      if ((p.name ?? '') !== portName || (p.protocol ?? 'TCP') !== protocol || p.port == null) continue;
      for (const ep of slice.endpoints ?? []) {
        const ip = ep.addresses?.[0];
        if (!isIPv4(ip)) continue;
        const key = `${ip}:${p.port}`;
        if (seen.has(key)) continue;
        const c = ep.conditions ?? {};
        const ready = c.ready ?? true;
        const serving = c.serving ?? ready;
        const terminating = c.terminating ?? false;
        seen.set(key, {
          ip,
          port: Number(p.port),
          ready,
          serving,
          terminating,
          nodeName: ep.nodeName,
          isLocal: !!ep.nodeName && ep.nodeName === nodeName,
        });
      }
    }
  }
  return [...seen.values()].sort((a, b) => {
    const ka = `${a.ip}:${a.port}`;
    const kb = `${b.ip}:${b.port}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

export interface TrackerOptions {
  nodeName: string;
  nodeIPs: string[];
  clusterCidr: string;
  /** For tests: the clock (ms). */
  now?: () => number;
}

export interface Changes {
  /** Service ports (servicePortKey) whose rules may differ from the last taken snapshot. */
  changed: Set<string>;
  /** For each EndpointSlice change since the last take: when it was triggered (ms since epoch). */
  triggerTimes: number[];
}

/** Fed by informer events; builds snapshots and tracks what changed. */
export class ChangeTracker {
  private readonly services = new Map<string, KObject>();
  /** service "ns/name" -> slice name -> slice */
  private readonly slices = new Map<string, Map<string, KObject>>();
  /** Services ("ns/name") touched by events since the last take. */
  private dirty = new Set<string>();
  private triggerTimes: number[] = [];
  /** Per service port, a digest of what the last taken snapshot had. */
  private lastDigests = new Map<string, string>();
  private readonly now: () => number;

  constructor(private readonly opts: TrackerOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Returns true if the event may change the rules. */
  onServiceUpdate(svc: KObject | undefined, deleted = false): boolean {
    if (!svc) return false;
    const key = `${svc.metadata?.namespace ?? 'default'}/${svc.metadata?.name}`;
    if (deleted) this.services.delete(key);
    else this.services.set(key, svc);
    this.dirty.add(key);
    return true;
  }
  onServiceDelete(svc: KObject): boolean {
    return this.onServiceUpdate(svc, true);
  }

  onSliceUpdate(slice: KObject | undefined, deleted = false): boolean {
    if (!slice) return false;
    const key = sliceServiceKey(slice);
    if (!key) return false;
    let m = this.slices.get(key);
    if (!m) this.slices.set(key, (m = new Map()));
    const name = String(slice.metadata?.name);
    if (deleted) {
      m.delete(name);
      if (m.size === 0) this.slices.delete(key);
    } else m.set(name, slice);
    this.dirty.add(key);
    const t = Date.parse(slice.metadata?.annotations?.[LAST_CHANGE_TRIGGER_TIME] ?? '');
    this.triggerTimes.push(Number.isFinite(t) ? t : this.now());
    return true;
  }
  onSliceDelete(slice: KObject): boolean {
    return this.onSliceUpdate(slice, true);
  }

  /** Whether events arrived since the last take. */
  hasChanges(): boolean {
    return this.dirty.size > 0;
  }

  /** The service ports of one service and their endpoints. */
  private build(svcKey: string, into: ProxySnapshot): void {
    const svc = this.services.get(svcKey);
    if (!svc) return;
    const slices = [...(this.slices.get(svcKey)?.values() ?? [])];
    for (const sp of servicePortsFromService(svc)) {
      into.services.set(sp.key, sp);
      into.endpoints.set(sp.key, endpointsForServicePort(slices, sp.portName, sp.protocol, this.opts.nodeName));
    }
  }

  /** The current state as a snapshot (does not reset change tracking). */
  snapshot(): ProxySnapshot {
    const snap: ProxySnapshot = {
      services: new Map(),
      endpoints: new Map(),
      nodeName: this.opts.nodeName,
      nodeIPs: [...this.opts.nodeIPs],
      clusterCidr: this.opts.clusterCidr,
    };
    for (const key of this.services.keys()) this.build(key, snap);
    return snap;
  }

  /**
   * The snapshot and what changed since the previous take: service ports
   * added, removed, or with different settings or endpoints. Resets tracking.
   */
  take(): { snapshot: ProxySnapshot; changes: Changes } {
    const snapshot = this.snapshot();
    const digests = new Map<string, string>();
    for (const [key, svc] of snapshot.services) digests.set(key, JSON.stringify([svc, snapshot.endpoints.get(key)]));
    const changed = new Set<string>();
    for (const [key, d] of digests) if (this.lastDigests.get(key) !== d) changed.add(key);
    for (const key of this.lastDigests.keys()) if (!digests.has(key)) changed.add(key);
    this.lastDigests = digests;
    const triggerTimes = this.triggerTimes;
    this.triggerTimes = [];
    this.dirty = new Set();
    return { snapshot, changes: { changed, triggerTimes } };
  }

  /** Forget what was taken (the next take reports every service port as changed). */
  resetTaken(): void {
    this.lastDigests.clear();
  }
}
