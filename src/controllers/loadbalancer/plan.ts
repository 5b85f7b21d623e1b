// The LoadBalancer IP controller's pure core, as MetalLB's IPAM (layer 2 mode
// needs nothing more than the address) and k3s ServiceLB's role: every
// Service of type LoadBalancer without spec.loadBalancerClass gets one IPv4
// address from the configured pools in status.loadBalancer.ingress.
//
// The allocation is not stored anywhere else: it is rebuilt from the services'
// own status on every sync, so a restart, or a second controller after the
// first, sees exactly the addresses already handed out. A sync plans every
// service at once: those holding a valid address keep it (the oldest wins a
// clash), the rest are served in creation order, a requested address
// (spec.loadBalancerIP or the annotation metallb.universe.tf/loadBalancerIPs)
// only if it is in a pool and free, otherwise the first free one.
import { intToIp, ipToInt, parseCidr } from '../../util/cidr.js';

export type Obj = Record<string, any>;

export const LB_IPS_ANNOTATION = 'metallb.universe.tf/loadBalancerIPs';

/** An inclusive range of IPv4 addresses as unsigned 32-bit numbers. */
export interface IpRange {
  start: number;
  end: number;
}

/** Pools from `--lb-pool` values: each a CIDR or `a.b.c.d-a.b.c.e`, values may be comma-separated. */
export function parsePools(specs: string[]): IpRange[] {
  const out: IpRange[] = [];
  for (const spec of specs.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean)) {
    if (spec.includes('/')) {
      const c = parseCidr(spec);
      out.push({ start: c.base, end: c.base + c.size - 1 });
      continue;
    }
    const [a, b] = spec.split('-').map((s) => s.trim());
    const start = ipToInt(a ?? '');
    const end = b === undefined ? start : ipToInt(b);
    if (start === undefined || end === undefined || end < start) throw new Error(`invalid load balancer pool ${JSON.stringify(spec)}: want a CIDR or a range a.b.c.d-a.b.c.e`);
    out.push({ start, end });
  }
  return out;
}

export function inPools(pools: IpRange[], ip: string): boolean {
  const n = ipToInt(ip);
  return n !== undefined && pools.some((r) => n >= r.start && n <= r.end);
}

/** A Service this controller serves: type LoadBalancer, no loadBalancerClass, not being deleted. */
export function wantsAddress(svc: Obj): boolean {
  return svc.spec?.type === 'LoadBalancer' && !svc.spec?.loadBalancerClass && !svc.metadata?.deletionTimestamp;
}

/** The IPv4 addresses in status.loadBalancer.ingress. */
export function ingressIps(svc: Obj): string[] {
  return (svc.status?.loadBalancer?.ingress ?? []).map((i: Obj) => i?.ip).filter((ip: unknown): ip is string => typeof ip === 'string' && ipToInt(ip) !== undefined);
}

/** The address the service asks for: undefined for none, or an error message. */
export function requestedIp(svc: Obj): { ip?: string; error?: string } {
  const fromSpec = String(svc.spec?.loadBalancerIP ?? '').trim();
  const fromAnnotation = String(svc.metadata?.annotations?.[LB_IPS_ANNOTATION] ?? '').trim();
  if (fromSpec && fromAnnotation) return { error: `service can not have both ${LB_IPS_ANNOTATION} and svc.Spec.LoadBalancerIP` };
  if (fromSpec) return ipToInt(fromSpec) === undefined ? { error: `invalid spec.loadBalancerIP ${JSON.stringify(fromSpec)}` } : { ip: fromSpec };
  if (!fromAnnotation) return {};
  const v4 = fromAnnotation.split(',').map((s) => s.trim()).filter((s) => ipToInt(s) !== undefined);
  if (!v4.length) return { error: `no IPv4 address in ${LB_IPS_ANNOTATION} ${JSON.stringify(fromAnnotation)}` };
  return { ip: v4[0] };
}

export interface LbEvent {
  svc: Obj;
  type: 'Normal' | 'Warning';
  reason: 'IPAllocated' | 'AllocationFailed';
  message: string;
}

export interface LbPlan {
  /** Services whose status.loadBalancer.ingress becomes `ingress` ([] frees the address). */
  updates: Array<{ svc: Obj; ingress: Obj[] }>;
  events: LbEvent[];
  /** Addresses in use after the plan (ip -> namespace/name). */
  allocated: Map<string, string>;
}

const key = (svc: Obj): string => `${svc.metadata?.namespace}/${svc.metadata?.name}`;
const byAge = (a: Obj, b: Obj): number =>
  String(a.metadata?.creationTimestamp ?? '').localeCompare(String(b.metadata?.creationTimestamp ?? '')) || key(a).localeCompare(key(b));
const sameIngress = (svc: Obj, ips: string[]): boolean => {
  const cur: Obj[] = svc.status?.loadBalancer?.ingress ?? [];
  return cur.length === ips.length && cur.every((i, n) => i?.ip === ips[n] && !i?.hostname && (i?.ipMode ?? 'VIP') === 'VIP');
};

/** Every service at once, as described at the top. With no pools, nothing is planned. */
export function planLoadBalancers(services: Obj[], pools: IpRange[]): LbPlan {
  const plan: LbPlan = { updates: [], events: [], allocated: new Map() };
  if (!pools.length) return plan;
  const set = (svc: Obj, ips: string[]) => {
    if (!sameIngress(svc, ips)) plan.updates.push({ svc, ingress: ips.map((ip) => ({ ip, ipMode: 'VIP' })) });
  };
  const served = services.filter(wantsAddress).sort(byAge);
  // Services that no longer want an address give back the one from our pools.
  for (const svc of services) {
    if (svc.spec?.type !== 'LoadBalancer' && ingressIps(svc).some((ip) => inPools(pools, ip))) set(svc, []);
  }
  // 1: the addresses already held (and still valid) stay with their holder.
  const pending: Obj[] = [];
  for (const svc of served) {
    const held = ingressIps(svc)[0];
    const req = requestedIp(svc);
    const ok = held !== undefined && inPools(pools, held) && !plan.allocated.has(held) && !req.error && (req.ip === undefined || req.ip === held);
    if (ok) {
      plan.allocated.set(held, key(svc));
      set(svc, [held]);
    } else pending.push(svc);
  }
  // 2: the others, oldest first.
  const free = freeAddresses(pools);
  for (const svc of pending) {
    const req = requestedIp(svc);
    let ip: string | undefined;
    let error = req.error;
    if (!error && req.ip !== undefined) {
      if (!inPools(pools, req.ip)) error = `${JSON.stringify(req.ip)} is not allowed in config`;
      else if (plan.allocated.has(req.ip)) error = `address ${JSON.stringify(req.ip)} is already in use by ${plan.allocated.get(req.ip)}`;
      else ip = req.ip;
    } else if (!error) {
      ip = free.next(plan.allocated);
      if (ip === undefined) error = 'no available IPs';
    }
    if (ip !== undefined) {
      plan.allocated.set(ip, key(svc));
      set(svc, [ip]);
      plan.events.push({ svc, type: 'Normal', reason: 'IPAllocated', message: `Assigned IP ${JSON.stringify([ip])}` });
    } else {
      // Pending: the address it had (not valid any more) goes.
      set(svc, []);
      plan.events.push({ svc, type: 'Warning', reason: 'AllocationFailed', message: `Failed to allocate IP for ${JSON.stringify(key(svc))}: ${error}` });
    }
  }
  return plan;
}

/** Walks the pools in order, skipping the addresses in use. */
function freeAddresses(pools: IpRange[]): { next(used: Map<string, string>): string | undefined } {
  let r = 0;
  let n = pools[0]?.start ?? 0;
  return {
    next(used) {
      for (; r < pools.length; r++, n = pools[r]?.start ?? 0) {
        for (; n <= pools[r]!.end; n++) {
          const ip = intToIp(n);
          if (!used.has(ip)) {
            n++;
            return ip;
          }
        }
      }
      return undefined;
    },
  };
}
