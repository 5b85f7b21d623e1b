// cache [TTL] [ZONES...] { success CAPACITY [TTL] [MINTTL]; denial CAPACITY [TTL] [MINTTL];
//   prefetch AMOUNT [[DURATION] [PERCENTAGE%]]; serve_stale [DURATION]; servfail DURATION; disable success|denial [ZONES...] }
// Caches positive answers and denials (NXDOMAIN/NODATA) with TTLs capped and
// floored, answers hits with decremented TTLs, counts hits/misses/entries.

import { directiveError, normalizeZone, parseDuration } from '../corefile.js';
import { registerPlugin } from '../registry.js';
import { isSubdomain } from '../wire.js';
import { sameResponder } from '../server.js';
import { metricsOf } from './prometheus.js';
import { RCODE, TYPE, type DnsMessage, type DnsRequest, type Plugin, type ResourceRecord } from '../types.js';

interface Entry {
  msg: DnsMessage;
  stored: number;
  /** Seconds the entry lives. */
  ttl: number;
  origTtl: number;
  hits: number;
  prefetching?: boolean;
}

class Lru {
  private map = new Map<string, Entry>();
  constructor(readonly capacity: number) {}
  get(k: string): Entry | undefined {
    const e = this.map.get(k);
    if (e) {
      this.map.delete(k);
      this.map.set(k, e);
    }
    return e;
  }
  set(k: string, e: Entry): void {
    this.map.delete(k);
    this.map.set(k, e);
    while (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value!);
  }
  delete(k: string): void {
    this.map.delete(k);
  }
  get size(): number {
    return this.map.size;
  }
}

type Kind = 'success' | 'denial';

/** Which cache a response belongs to, or undefined when it must not be cached. */
export function classify(m: DnsMessage): Kind | 'servfail' | undefined {
  if (m.tc) return undefined;
  if (m.rcode === RCODE.NXDOMAIN) return 'denial';
  if (m.rcode === RCODE.SERVFAIL) return 'servfail';
  if (m.rcode !== RCODE.NOERROR) return undefined;
  if (m.answers.length === 0) return 'denial'; // NODATA (or referral, treated alike)
  return 'success';
}

/** Minimum TTL of the relevant records (denials: SOA in authority, its MINIMUM as RFC 2308). */
export function minTtl(m: DnsMessage, kind: Kind): number | undefined {
  let min: number | undefined;
  const take = (t: number) => (min = min === undefined ? t : Math.min(min, t));
  if (kind === 'success') {
    for (const rr of m.answers) take(rr.ttl);
    for (const rr of m.authority) take(rr.ttl);
    for (const rr of m.additional) take(rr.ttl);
  } else {
    for (const rr of m.authority) {
      if (rr.type === TYPE.SOA && 'minimum' in rr.data) take(Math.min(rr.ttl, rr.data.minimum));
      else take(rr.ttl);
    }
  }
  return min;
}

function cacheKey(req: DnsRequest): string {
  const q = req.question;
  return `${q.name}|${q.type}|${q.class}|${req.msg.edns?.dnssecOk ? 1 : 0}|${req.msg.cd ? 1 : 0}`;
}

function withTtl(rrs: ResourceRecord[], left: number): ResourceRecord[] {
  // As CoreDNS (item.toMsg / setMsgTTL): every record carries the entry's remaining TTL.
  return rrs.map((rr) => ({ ...rr, ttl: left }));
}

export interface CachePlugin extends Plugin {
  entries(): { success: number; denial: number };
}

registerPlugin('cache', (d, ctx): CachePlugin => {
  let maxTtl = { success: 3600, denial: 1800 };
  let minTtlCfg = { success: 5, denial: 5 };
  const cap = { success: 9984, denial: 9984 };
  let zones = ctx.zones;
  const args = [...d.args];
  if (args.length && /^\d+$/.test(args[0]!)) {
    const t = Number(args.shift());
    if (t <= 0) throw directiveError(d, `cache: cache TTL can not be zero or negative: ${t}`);
    maxTtl = { success: t, denial: t };
    if (t < minTtlCfg.success) minTtlCfg = { success: t, denial: t };
  }
  if (args.length) {
    zones = args.map((z) => {
      const n = normalizeZone(z);
      if (!n) throw directiveError(d, `cache: invalid zone '${z}'`);
      return n;
    });
  }
  let prefetch = 0;
  let prefetchPct = 10;
  let servfailTtl = 5;
  let serveStale = 0;
  const disabled = new Set<Kind>();
  for (const row of d.block) {
    const [k, ...a] = row;
    const int = (s: string | undefined, what: string) => {
      const n = Number(s);
      if (s === undefined || !Number.isInteger(n) || n < 0) throw directiveError(d, `cache: invalid ${what} '${s}'`);
      return n;
    };
    switch (k) {
      case 'success':
      case 'denial': {
        if (!a.length) throw directiveError(d, `cache: ${k} needs a capacity`);
        cap[k] = Math.max(1, int(a[0], 'capacity'));
        if (a[1] !== undefined) maxTtl[k] = int(a[1], 'TTL');
        if (a[2] !== undefined) minTtlCfg[k] = int(a[2], 'MINTTL');
        break;
      }
      case 'prefetch':
        prefetch = a[0] ? int(a[0], 'prefetch amount') : 1;
        if (a[1] && !a[1].endsWith('%') && parseDuration(a[1]) === undefined) throw directiveError(d, `cache: invalid prefetch duration '${a[1]}'`);
        for (const x of a.slice(1)) if (x.endsWith('%')) prefetchPct = int(x.slice(0, -1), 'prefetch percentage');
        break;
      case 'serve_stale':
        serveStale = a[0] ? (parseDuration(a[0]) ?? 3600e3) / 1000 : 3600;
        break;
      case 'servfail':
        servfailTtl = (parseDuration(a[0] ?? '') ?? NaN) / 1000;
        if (!(servfailTtl >= 0) || servfailTtl > 300) throw directiveError(d, `cache: invalid servfail duration '${a[0]}'`);
        break;
      case 'disable':
        if (a[0] !== 'success' && a[0] !== 'denial') throw directiveError(d, `cache: cache type for disable must be "success" or "denial"`);
        disabled.add(a[0]);
        break;
      case 'keepttl':
        break;
      default:
        throw directiveError(d, `cache: unknown property '${k}'`);
    }
  }
  const caches = { success: new Lru(cap.success), denial: new Lru(cap.denial) };
  const reg = metricsOf(ctx.shared);
  const server = `dns://:${ctx.port}`;
  const zl = zones.join(',');
  const hitsM = reg.counter('coredns_cache_hits_total', 'The count of cache hits.');
  const missM = reg.counter('coredns_cache_misses_total', 'The count of cache misses. Deprecated, derive misses from cache hits/requests counters.');
  const reqM = reg.counter('coredns_cache_requests_total', 'The count of cache requests.');
  const entriesM = reg.gauge('coredns_cache_entries', 'The number of elements in the cache.');
  const prefetchM = reg.counter('coredns_cache_prefetch_total', 'The number of times the cache has prefetched a cached item.');
  const staleM = reg.counter('coredns_cache_served_stale_total', 'The number of requests served from stale cache entries.');
  const updateGauges = () => {
    entriesM.set({ server, type: 'success', zones: zl, view: '' }, caches.success.size);
    entriesM.set({ server, type: 'denial', zones: zl, view: '' }, caches.denial.size);
  };
  updateGauges();

  /** Caches a response; returns the TTL applied (CoreDNS also caps the TTLs of this reply). */
  const store = (key: string, resp: DnsMessage): number | undefined => {
    const c = classify(resp);
    if (!c) return undefined;
    let kind: Kind;
    let ttl: number;
    if (c === 'servfail') {
      if (servfailTtl <= 0) return undefined;
      kind = 'denial';
      ttl = servfailTtl;
    } else {
      kind = c;
      if (disabled.has(kind)) return undefined;
      const m = minTtl(resp, kind) ?? minTtlCfg[kind];
      ttl = Math.max(minTtlCfg[kind], Math.min(maxTtl[kind], m));
    }
    if (ttl <= 0) return undefined;
    caches[kind].set(key, { msg: { ...resp, answers: [...resp.answers], authority: [...resp.authority], additional: [...resp.additional] }, stored: Date.now(), ttl, origTtl: ttl, hits: 0 });
    updateGauges();
    return c === 'servfail' ? undefined : ttl;
  };

  return {
    name: 'cache',
    entries: () => ({ success: caches.success.size, denial: caches.denial.size }),
    handler: (next) => async (req) => {
      if (!zones.some((z) => isSubdomain(req.question.name, z))) return next(req);
      const key = cacheKey(req);
      reqM.inc({ server, zones: zl, view: '' });
      const now = Date.now();
      for (const kind of ['success', 'denial'] as const) {
        const e = caches[kind].get(key);
        if (!e) continue;
        const age = (now - e.stored) / 1000;
        const left = Math.floor(e.ttl - age);
        if (left <= 0) {
          if (serveStale > 0 && -left < serveStale) {
            staleM.inc({ server, zones: zl, view: '' });
            void next(req)
              .then((r) => store(key, r))
              .catch(() => {});
            const m = e.msg;
            return { ...m, id: req.msg.id, answers: withTtl(m.answers, 0), authority: withTtl(m.authority, 0), additional: withTtl(m.additional, 0) };
          }
          caches[kind].delete(key);
          updateGauges();
          continue;
        }
        e.hits++;
        hitsM.inc({ server, type: kind, zones: zl, view: '' });
        if (prefetch > 0 && e.hits >= prefetch && !e.prefetching && left <= Math.max(1, (e.origTtl * prefetchPct) / 100)) {
          e.prefetching = true;
          prefetchM.inc({ server, zones: zl, view: '' });
          void next(req)
            .then((r) => store(key, r))
            .catch(() => {})
            .finally(() => (e.prefetching = false));
        }
        const m = e.msg;
        return {
          ...m,
          id: req.msg.id,
          rd: req.msg.rd,
          aa: true, // as CoreDNS: some clients drop non-authoritative packets
          questions: req.msg.questions.map((q) => ({ ...q })),
          answers: withTtl(m.answers, left),
          authority: withTtl(m.authority, left),
          additional: withTtl(m.additional, left),
        };
      }
      missM.inc({ server, zones: zl, view: '' });
      const resp = await next(req);
      const ttl = store(key, resp);
      if (ttl === undefined) return resp;
      return sameResponder(resp, { ...resp, answers: withTtl(resp.answers, ttl), authority: withTtl(resp.authority, ttl), additional: withTtl(resp.additional, ttl) });
    },
  };
});
