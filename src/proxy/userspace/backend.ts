// The userspace service proxy: for hosts without netfilter (no nftables, no
// iptables), the node itself accepts connections to service addresses and
// relays them to endpoints, as kube-proxy's old `userspace` mode did, with
// IPVS's schedulers (rr, lc, sh) and its `ipvsadm -Ln` view.
//
//  - Cluster IPs, external IPs and load-balancer IPs are /32 addresses on a
//    service interface (see iface.ts: a dummy, or where the kernel has none,
//    a portless bridge kept down; or `lo`). A TCP server or UDP socket listens
//    on each service address:port; NodePorts listen on the node's IPs (or on
//    0.0.0.0 when they are not known).
//  - Each new connection gets an endpoint from the scheduler, unless the
//    service is sticky (sessionAffinity ClientIP) and the client has a live
//    entry. No endpoint: the connection is reset at once (like REJECT); UDP
//    datagrams are dropped.
//  - Traffic policies: cluster-IP traffic follows internalTrafficPolicy;
//    NodePort, external-IP and load-balancer traffic follows
//    externalTrafficPolicy, except from pods (clusterCidr) and from the node
//    itself, which go where cluster-IP traffic would (upstream's
//    short-circuit). loadBalancerSourceRanges are enforced on load-balancer
//    IPs.
//  - Limits of the mode: endpoints see the node as the client (the proxy's
//    own connection), never the real source IP, so externalTrafficPolicy
//    Local keeps traffic on the node but cannot preserve the source; SCTP is
//    not proxied; a UDP no-endpoint answer cannot be an ICMP error.
//  - sync() diffs by itself: addresses and sockets change only for service
//    ports that changed; endpoint changes apply to the next connection.
import { cidrContains, parseCidr, type Cidr4 } from '../../util/cidr.js';
import { logger, type Logger } from '../../util/log.js';
import type { EndpointInfo, ProxyBackend, ProxySnapshot, ServicePortInfo, SyncResult } from '../types.js';
import { desiredState, diffAddresses, diffListeners, isExternal, type ListenerSpec, routeEndpoints, type RoutedEndpoints, servicePortFingerprint } from './desired.js';
import { type InterfaceMode, ServiceInterface } from './iface.js';
import { type Listener, type Router, TcpListener, UdpListener } from './listeners.js';
import { AffinityTable, ConnTracker, chooseEndpoint, endpointKey, newScheduler, type Scheduler, type SchedulerName } from './scheduler.js';

export interface UserspaceOptions {
  /** IPVS-style scheduler (--proxy-scheduler): rr (default), lc, sh. */
  scheduler?: SchedulerName;
  /** The interface that holds service addresses (default k8ts-svc0). */
  interfaceName?: string;
  /** auto (default): a dummy if the kernel has them, else a portless bridge; or 'lo'. */
  interfaceMode?: InterfaceMode;
  /** Addresses NodePorts listen on (default: the snapshot's nodeIPs, or 0.0.0.0). */
  nodePortAddresses?: string[];
  /** UDP sessions end after this much idle time (default 30 s). */
  udpIdleTimeoutMs?: number;
  /** Connect timeouts of successive attempts to endpoints (default 250, 500, 1000, 2000 ms, as the old userspace proxier). */
  connectTimeoutsMs?: number[];
  /** Clock for affinity (tests). */
  now?: () => number;
  log?: Logger;
}

interface ServiceState {
  svc: ServicePortInfo;
  fingerprint: string;
  routed: RoutedEndpoints;
  scheduler: Scheduler;
  affinity: AffinityTable;
  conns: ConnTracker;
}

export class UserspaceBackend implements ProxyBackend, Router {
  readonly name = 'userspace';
  readonly schedulerName: SchedulerName;
  private readonly iface: ServiceInterface;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly services = new Map<string, ServiceState>();
  private readonly listeners = new Map<string, Listener>();
  private readonly specs = new Map<string, ListenerSpec>();
  private nodeIPs = new Set<string>();
  private clusterCidr: Cidr4 | undefined;
  private synced = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: UserspaceOptions = {}) {
    this.schedulerName = opts.scheduler ?? 'rr';
    newScheduler(this.schedulerName); // validates the name
    this.log = opts.log ?? logger('proxy').child('userspace');
    this.now = opts.now ?? Date.now;
    this.iface = new ServiceInterface(opts.interfaceName ?? 'k8ts-svc0', opts.interfaceMode ?? 'auto', this.log);
  }

  /** The service interface's mode once synced ('dummy' | 'bridge' | 'lo'). */
  get interfaceMode(): string | undefined {
    return this.iface.mode;
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => {});
    return p;
  }

  sync(snapshot: ProxySnapshot, changed?: Set<string>): Promise<SyncResult> {
    return this.serialize(() => this.doSync(snapshot, changed));
  }

  private async doSync(snapshot: ProxySnapshot, changedHint?: Set<string>): Promise<SyncResult> {
    const t0 = performance.now();
    const full = !this.synced || changedHint === undefined;
    await this.iface.ensure();
    this.nodeIPs = new Set(snapshot.nodeIPs);
    try {
      this.clusterCidr = snapshot.clusterCidr ? parseCidr(snapshot.clusterCidr) : undefined;
    } catch {
      this.clusterCidr = undefined;
    }

    // Service state: only service ports whose definition or endpoints changed are recomputed.
    const changedKeys = new Set<string>();
    for (const [key, svc] of snapshot.services) {
      const eps = snapshot.endpoints.get(key) ?? [];
      const fp = servicePortFingerprint(svc, eps);
      const st = this.services.get(key);
      if (st?.fingerprint === fp) continue;
      changedKeys.add(key);
      const routed = routeEndpoints(svc, eps);
      if (st) {
        st.svc = svc;
        st.fingerprint = fp;
        st.routed = routed;
        const valid = new Set([...routed.internal, ...routed.external].map(endpointKey));
        st.affinity.sweep(this.now(), valid);
        st.conns.prune(valid);
        if (svc.stickySeconds === undefined) st.affinity.sweep(Infinity);
      } else {
        this.services.set(key, { svc, fingerprint: fp, routed, scheduler: newScheduler(this.schedulerName), affinity: new AffinityTable(), conns: new ConnTracker() });
      }
    }
    for (const key of this.services.keys()) {
      if (!snapshot.services.has(key)) {
        this.services.delete(key);
        changedKeys.add(key);
      }
    }

    const desired = desiredState(snapshot, { nodePortAddresses: this.opts.nodePortAddresses });
    for (const c of desired.conflicts) this.log.warn('service port address already taken by another service port', { listener: c.id, service: c.serviceKey, owner: c.winner });
    for (const k of desired.unsupported) if (changedKeys.has(k)) this.log.warn('protocol not supported by the userspace proxy', { service: k });

    // Addresses first (a socket binds only to a local address), sockets, then addresses that went away.
    const addrs = diffAddresses(this.iface.current(), desired.addresses);
    await this.iface.apply(addrs.add, []);
    const diff = diffListeners(this.specs, desired.listeners);
    for (const id of diff.remove) {
      const l = this.listeners.get(id);
      this.listeners.delete(id);
      this.specs.delete(id);
      await l?.close();
    }
    for (const spec of diff.update) {
      const l = this.listeners.get(spec.id);
      if (l) l.spec = spec;
      this.specs.set(spec.id, spec);
    }
    const failures: string[] = [];
    for (const spec of diff.add) {
      try {
        const l =
          spec.protocol === 'TCP'
            ? await TcpListener.start(spec, this, { connectTimeoutsMs: this.opts.connectTimeoutsMs ?? [250, 500, 1000, 2000] }, this.log)
            : await UdpListener.start(spec, this, { idleTimeoutMs: this.opts.udpIdleTimeoutMs ?? 30_000 }, this.log);
        this.listeners.set(spec.id, l);
        this.specs.set(spec.id, spec);
      } catch (err) {
        // Left out of the current set: the next sync tries again.
        failures.push(spec.id);
        this.log.warn('cannot listen', { listener: spec.id, service: spec.serviceKey, err });
      }
    }
    await this.iface.apply([], addrs.remove);
    this.synced = true;
    const durationMs = performance.now() - t0;
    this.log.debug('synced', {
      full,
      changed: changedKeys.size,
      listenersAdded: diff.add.length - failures.length,
      listenersRemoved: diff.remove.length,
      addressesAdded: addrs.add.length,
      addressesRemoved: addrs.remove.length,
      durationMs: Math.round(durationMs),
    });
    return { full, changed: changedKeys.size, durationMs };
  }

  /** Traffic the proxy can tell is from a pod of the cluster or from the node itself. */
  private isInternalSource(ip: string): boolean {
    if (ip.startsWith('127.') || this.nodeIPs.has(ip) || this.iface.current().has(ip)) return true;
    return this.clusterCidr !== undefined && cidrContains(this.clusterCidr, ip);
  }

  /** The endpoints a new connection on `spec` from `clientIP` may use; undefined: refused by source ranges. */
  endpointsFor(spec: ListenerSpec, clientIP: string): EndpointInfo[] | undefined {
    const st = this.services.get(spec.serviceKey);
    if (!st) return [];
    if (!isExternal(spec.kind)) return st.routed.internal;
    if (spec.kind === 'loadBalancer' && st.svc.loadBalancerSourceRanges.length > 0 && !this.isInternalSource(clientIP)) {
      const ok = st.svc.loadBalancerSourceRanges.some((r) => {
        try {
          return cidrContains(parseCidr(r), clientIP);
        } catch {
          return false;
        }
      });
      if (!ok) return undefined;
    }
    if (st.svc.externalPolicyLocal && this.isInternalSource(clientIP)) return st.routed.internal;
    return st.routed.external;
  }

  open(spec: ListenerSpec, clientIP: string, kind: 'active' | 'inactive', exclude?: Set<string>): { ep: EndpointInfo; release: () => void } | undefined {
    const st = this.services.get(spec.serviceKey);
    const eps = st && this.endpointsFor(spec, clientIP);
    if (!st || !eps || eps.length === 0) return undefined;
    const ep = chooseEndpoint(eps, {
      clientIP,
      conns: st.conns,
      scheduler: st.scheduler,
      affinity: st.affinity,
      stickySeconds: st.svc.stickySeconds,
      now: this.now(),
      exclude,
    });
    if (!ep) return undefined;
    const key = endpointKey(ep);
    const conns = st.conns;
    conns.open(key, kind);
    let released = false;
    return {
      ep,
      release: () => {
        if (released) return;
        released = true;
        conns.close(key, kind);
      },
    };
  }

  failed(spec: ListenerSpec, clientIP: string, ep: EndpointInfo): void {
    this.services.get(spec.serviceKey)?.affinity.forget(clientIP);
    this.log.debug('endpoint unreachable', { service: spec.serviceKey, endpoint: endpointKey(ep), client: clientIP });
  }

  /** The live table, as `ipvsadm -Ln` prints IPVS's. */
  rules(): Promise<string> {
    return this.serialize(async () => renderRules(this.table(), { interfaceName: this.iface.name, mode: this.iface.mode, addresses: [...this.iface.current()].sort() }));
  }

  /** The virtual servers and their endpoints with connection counts (what rules() prints). */
  table(): VirtualServer[] {
    const out: VirtualServer[] = [];
    for (const spec of [...this.specs.values()].sort(compareSpecs)) {
      const st = this.services.get(spec.serviceKey);
      if (!st) continue;
      const eps = isExternal(spec.kind) ? st.routed.external : st.routed.internal;
      out.push({
        protocol: spec.protocol,
        address: `${spec.ip}:${spec.port}`,
        scheduler: this.schedulerName,
        persistent: st.svc.stickySeconds,
        serviceKey: spec.serviceKey,
        kind: spec.kind,
        policyLocal: isExternal(spec.kind) ? st.svc.externalPolicyLocal : st.svc.internalPolicyLocal,
        endpoints: eps.map((e) => ({ address: endpointKey(e), ...st.conns.get(endpointKey(e)) })),
      });
    }
    return out;
  }

  cleanup(): Promise<void> {
    return this.serialize(async () => {
      for (const [id, l] of this.listeners) {
        this.listeners.delete(id);
        await l.close();
      }
      this.specs.clear();
      this.services.clear();
      await this.iface.remove();
      this.synced = false;
    });
  }
}

export interface VirtualServer {
  protocol: string;
  address: string;
  scheduler: SchedulerName;
  persistent?: number;
  serviceKey: string;
  kind: string;
  policyLocal: boolean;
  endpoints: Array<{ address: string; active: number; inactive: number; total: number }>;
}

function ipNum(ip: string): number {
  const p = ip.split('.').map(Number);
  return p.length === 4 ? (((p[0]! << 24) >>> 0) + (p[1]! << 16) + (p[2]! << 8) + p[3]!) : 0;
}

function compareSpecs(a: ListenerSpec, b: ListenerSpec): number {
  return a.protocol.localeCompare(b.protocol) || ipNum(a.ip) - ipNum(b.ip) || a.port - b.port;
}

export function renderRules(vs: VirtualServer[], info: { interfaceName: string; mode?: string; addresses: string[] }): string {
  const lines = [
    `k8ts userspace proxy (service addresses on ${info.mode === 'lo' ? 'lo' : info.interfaceName}${info.mode ? `, ${info.mode}` : ''}: ${info.addresses.length})`,
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
  ];
  for (const v of vs) {
    const flags = v.persistent !== undefined ? ` persistent ${v.persistent}` : '';
    const head = `${v.protocol.padEnd(4)} ${v.address} ${v.scheduler}${flags}`;
    lines.push(`${head.padEnd(40)} # ${v.serviceKey} ${v.kind}${v.policyLocal ? ' (Local)' : ''}${v.endpoints.length === 0 ? ' (no endpoints: reject)' : ''}`);
    for (const e of v.endpoints) {
      lines.push(`  -> ${e.address.padEnd(28)} ${'Proxy'.padEnd(7)} ${'1'.padEnd(6)} ${String(e.active).padEnd(10)} ${e.inactive}`);
    }
  }
  return lines.join('\n') + '\n';
}
