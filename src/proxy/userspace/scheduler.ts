// Pure scheduling for the userspace proxy, after the IPVS schedulers of the
// same names (net/netfilter/ipvs/ip_vs_{rr,lc,sh}.c) and kube-proxy's
// session affinity. Nothing here touches sockets: the proxy asks a Scheduler
// for an endpoint, tells its ConnTracker when connections open and close,
// and keeps an AffinityTable per service port.
import { ipToInt } from '../../util/cidr.js';
import type { EndpointInfo } from '../types.js';

export type SchedulerName = 'rr' | 'lc' | 'sh';
export const SCHEDULERS: readonly SchedulerName[] = ['rr', 'lc', 'sh'];

export const endpointKey = (e: { ip: string; port: number }): string => `${e.ip}:${e.port}`;

/** Connection counts of one endpoint, as ipvsadm shows them. */
export interface ConnCounts {
  /** Open TCP connections. */
  active: number;
  /** UDP sessions (IPVS counts datagram "connections" as inactive). */
  inactive: number;
  /** Connections and sessions ever scheduled to it. */
  total: number;
}

/** Per service port connection counts, keyed by endpointKey. */
export class ConnTracker {
  private readonly counts = new Map<string, ConnCounts>();

  get(key: string): ConnCounts {
    return this.counts.get(key) ?? { active: 0, inactive: 0, total: 0 };
  }

  open(key: string, kind: 'active' | 'inactive'): void {
    const c = this.counts.get(key) ?? { active: 0, inactive: 0, total: 0 };
    c[kind]++;
    c.total++;
    this.counts.set(key, c);
  }

  close(key: string, kind: 'active' | 'inactive'): void {
    const c = this.counts.get(key);
    if (c && c[kind] > 0) c[kind]--;
  }

  /** Forgets endpoints that are gone and have nothing open. */
  prune(keep: Set<string>): void {
    for (const [k, c] of this.counts) if (!keep.has(k) && c.active === 0 && c.inactive === 0) this.counts.delete(k);
  }
}

export interface ScheduleContext {
  /** The client's IPv4 address. */
  clientIP: string;
  conns: ConnTracker;
}

export interface Scheduler {
  readonly name: SchedulerName;
  /** Picks one of `eps` (non-empty) for a new connection; undefined if `eps` is empty. */
  pick(eps: readonly EndpointInfo[], ctx: ScheduleContext): EndpointInfo | undefined;
}

/** Round robin: each new connection goes to the endpoint after the last one picked. */
export class RoundRobin implements Scheduler {
  readonly name = 'rr';
  private last: string | undefined;
  private counter = 0;

  pick(eps: readonly EndpointInfo[], _ctx?: ScheduleContext): EndpointInfo | undefined {
    if (eps.length === 0) return undefined;
    // After the last pick if it is still there (IPVS keeps a cursor into its list), else by a counter.
    const at = this.last === undefined ? -1 : eps.findIndex((e) => endpointKey(e) === this.last);
    const i = at >= 0 ? (at + 1) % eps.length : this.counter % eps.length;
    this.counter = i + 1;
    const e = eps[i]!;
    this.last = endpointKey(e);
    return e;
  }
}

/** Least connections: the endpoint with the least overhead (active*256 + inactive, as ip_vs_lc); ties to the first. */
export class LeastConnection implements Scheduler {
  readonly name = 'lc';

  pick(eps: readonly EndpointInfo[], ctx: ScheduleContext): EndpointInfo | undefined {
    let best: EndpointInfo | undefined;
    let bestOverhead = Infinity;
    for (const e of eps) {
      const c = ctx.conns.get(endpointKey(e));
      const overhead = c.active * 256 + c.inactive;
      if (overhead < bestOverhead) {
        best = e;
        bestOverhead = overhead;
      }
    }
    return best;
  }
}

/** ip_vs_sh's bucket of a source address: a multiplicative hash into a 256-entry table. */
export function sourceHashBucket(ip: string): number {
  const n = ipToInt(ip) ?? fnv1a(ip);
  return (Math.imul(n, 2654435761 | 0) >>> 0) >>> 24;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Source hashing: the client's address picks a bucket of a 256-entry table
 * filled with the endpoints in turn (bucket b -> endpoint b mod n), so a
 * client keeps its endpoint while the endpoint set is unchanged.
 */
export class SourceHash implements Scheduler {
  readonly name = 'sh';

  pick(eps: readonly EndpointInfo[], ctx: ScheduleContext): EndpointInfo | undefined {
    if (eps.length === 0) return undefined;
    return eps[sourceHashBucket(ctx.clientIP) % eps.length];
  }
}

export function newScheduler(name: SchedulerName): Scheduler {
  switch (name) {
    case 'rr':
      return new RoundRobin();
    case 'lc':
      return new LeastConnection();
    case 'sh':
      return new SourceHash();
    default:
      throw new Error(`unknown proxy scheduler "${name as string}" (want one of ${SCHEDULERS.join(', ')})`);
  }
}

/**
 * sessionAffinity ClientIP: a client's connections go to the endpoint it was
 * last sent to, until `timeoutSeconds` pass without a new connection (as
 * upstream's userspace proxier and IPVS persistence: the timer restarts on
 * each use).
 */
export class AffinityTable {
  private readonly entries = new Map<string, { endpoint: string; expires: number }>();

  /** The client's endpoint key if it has a live entry. */
  lookup(clientIP: string, now: number): string | undefined {
    const e = this.entries.get(clientIP);
    if (!e) return undefined;
    if (e.expires <= now) {
      this.entries.delete(clientIP);
      return undefined;
    }
    return e.endpoint;
  }

  record(clientIP: string, endpoint: string, now: number, timeoutSeconds: number): void {
    this.entries.set(clientIP, { endpoint, expires: now + timeoutSeconds * 1000 });
  }

  forget(clientIP: string): void {
    this.entries.delete(clientIP);
  }

  /** Drops expired entries and those whose endpoint is not in `valid` (if given). */
  sweep(now: number, valid?: Set<string>): void {
    for (const [c, e] of this.entries) if (e.expires <= now || (valid && !valid.has(e.endpoint))) this.entries.delete(c);
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * Picks an endpoint for a new connection: the client's affinity entry if it
 * has one whose endpoint is still eligible, else the scheduler's choice
 * (which then becomes the client's entry when the service is sticky).
 * `exclude` skips endpoints that just failed to connect.
 */
export function chooseEndpoint(
  eps: readonly EndpointInfo[],
  ctx: ScheduleContext & { scheduler: Scheduler; affinity?: AffinityTable; stickySeconds?: number; now: number; exclude?: Set<string> },
): EndpointInfo | undefined {
  const eligible = ctx.exclude?.size ? eps.filter((e) => !ctx.exclude!.has(endpointKey(e))) : eps;
  if (eligible.length === 0) return undefined;
  const sticky = ctx.affinity && ctx.stickySeconds !== undefined && ctx.stickySeconds > 0;
  if (sticky) {
    const k = ctx.affinity!.lookup(ctx.clientIP, ctx.now);
    const e = k === undefined ? undefined : eligible.find((x) => endpointKey(x) === k);
    if (e) {
      ctx.affinity!.record(ctx.clientIP, k!, ctx.now, ctx.stickySeconds!);
      return e;
    }
  }
  const e = ctx.scheduler.pick(eligible, ctx);
  if (e && sticky) ctx.affinity!.record(ctx.clientIP, endpointKey(e), ctx.now, ctx.stickySeconds!);
  return e;
}
