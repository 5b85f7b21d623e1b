// The pure core of the kubernetes DNS plugin: question + index -> answer,
// after the Kubernetes DNS-Based Service Discovery specification 1.1.0 and
// the behaviour of CoreDNS's kubernetes plugin.
//
//   <svc>.<ns>.svc.<zone>                 A/AAAA cluster IPs; headless: ready endpoints;
//                                         ExternalName: CNAME (not chased)
//   <host>.<svc>.<ns>.svc.<zone>          A/AAAA of the endpoint (hostname, pod name with
//                                         endpoint_pod_names, else dashed IP)
//   _<port>._<proto>.<svc>.<ns>.svc.<zone> SRV (+ A/AAAA of the targets in additional)
//   <a-b-c-d>.<ns>.pod.<zone>             A/AAAA per the `pods` mode
//   <reverse>.in-addr.arpa / ip6.arpa     PTR for cluster IPs and endpoint addresses
//   dns-version.<zone>                    TXT "1.1.0"
//   <zone> SOA/NS, ns.dns.<zone> A/AAAA   the server's own addresses (opts.nsAddresses)
//
// Negative answers carry the zone's SOA in authority. Wildcard queries (deprecated by
// the spec) are not supported: "*" is matched literally and finds nothing.
import { CLASS, RCODE, TYPE, type Question, type ResourceRecord } from '../../types.js';
import { type DnsIndex, namespaceExists, type PortEntry, type ServiceEntry, serviceEndpoints, type ServiceEndpoint } from './dnsindex.js';
import { addressFromReverse, dashedIP, ipFromDashed, isReverseName, parseIP } from './ip.js';

export const DNS_SCHEMA_VERSION = '1.1.0';

export type PodsMode = 'disabled' | 'insecure' | 'verified';

export interface AnswerOptions {
  /** The plugin's zones: lower-case, fully qualified ("cluster.local.", "in-addr.arpa."). */
  zones: string[];
  /** TTL of answers (default 5). */
  ttl?: number;
  pods?: PodsMode;
  /** Namespaces exposed (empty/undefined: all). */
  namespaces?: string[];
  /** Endpoint names use the pod name when the endpoint has no hostname. */
  endpointPodNames?: boolean;
  /** ClusterIP services without ready endpoints are NXDOMAIN. */
  ignoreEmptyService?: boolean;
  /** Endpoint records are not served (headless services and endpoint names: NXDOMAIN). */
  noEndpoints?: boolean;
  /** The DNS server's own addresses, for ns.dns.<zone> and the apex NS glue. */
  nsAddresses?: string[];
  /** False until the informers synced: would-be NXDOMAIN answers become SERVFAIL. */
  synced?: boolean;
}

export interface Answer {
  rcode: number;
  /** The plugin zone the question fell in. */
  zone: string;
  answers: ResourceRecord[];
  authority: ResourceRecord[];
  additional: ResourceRecord[];
}

/** What a name stands for: addresses (with the port and the owner name SRV targets), or a CNAME target. */
interface Item {
  kind: 'ip' | 'cname';
  /** An address (kind ip) or a domain name (kind cname). */
  host: string;
  port?: number;
  /** The name SRV records point at. */
  target: string;
}

/** undefined: the name does not exist (NXDOMAIN); else the items it holds (possibly none: NODATA). */
type Lookup = Item[] | undefined;

interface Ctx {
  ix: DnsIndex;
  zone: string;
  ttl: number;
  opts: AnswerOptions;
  primaryZone: string;
}

const norm = (s: string) => {
  const l = s.toLowerCase();
  return l.endsWith('.') ? l : `${l}.`;
};

/** The longest of zones that contains name (both lower-case, fully qualified). */
export function matchZone(name: string, zones: string[]): string | undefined {
  let best: string | undefined;
  for (const z of zones) {
    const zz = norm(z);
    if (zz === '.' || name === zz || name.endsWith(`.${zz}`)) {
      if (!best || zz.length > best.length) best = zz;
    }
  }
  return best;
}

/** The zone names in answers (PTR targets) use: the first forward zone. */
export function primaryZone(zones: string[]): string {
  const z = zones.map(norm);
  return z.find((x) => !isReverseName(x)) ?? z[0] ?? 'cluster.local.';
}

const join = (label: string, zone: string) => (zone === '.' ? `${label}.` : `${label}.${zone}`);

/** The zone's SOA, as CoreDNS: ns.dns.<zone> hostmaster.<zone> serial 7200 1800 86400 ttl (record TTL min(ttl, 300)). */
export function soaRecord(zone: string, ttl: number, serial: number): ResourceRecord {
  return {
    name: zone,
    type: TYPE.SOA,
    class: CLASS.IN,
    ttl: Math.min(ttl, 300),
    data: { type: TYPE.SOA, mname: join('ns.dns', zone), rname: join('hostmaster', zone), serial: serial >>> 0, refresh: 7200, retry: 1800, expire: 86400, minimum: ttl },
  };
}

function namespaceExposed(c: Ctx, ns: string): boolean {
  const allowed = c.opts.namespaces;
  if (allowed && allowed.length && !allowed.includes(ns)) return false;
  return namespaceExists(c.ix, ns);
}

/** The label an endpoint is known by: its hostname, its pod name (endpoint_pod_names), else its dashed address. */
export function endpointLabel(ep: { hostname?: string; podName?: string; address: string }, endpointPodNames = false): string {
  if (ep.hostname) return ep.hostname;
  if (endpointPodNames && ep.podName) return ep.podName;
  return dashedIP(ep.address);
}

const stripUnderscore = (s: string) => (s.startsWith('_') ? s.slice(1) : s);
const matches = (want: string | undefined, have: string) => want === undefined || want === have.toLowerCase();

function portMatches(p: PortEntry, port: string | undefined, proto: string | undefined): boolean {
  return matches(port, p.name) && matches(proto, p.protocol);
}

function published(svc: ServiceEntry, ep: ServiceEndpoint): boolean {
  return ep.ready || svc.publishNotReadyAddresses;
}

/** Resolves a forward name (in zone c.zone) to items. */
function lookupName(c: Ctx, name: string): Lookup {
  const base = name === c.zone ? '' : c.zone === '.' ? name.slice(0, -1) : name.slice(0, -(c.zone.length + 1));
  if (base === '') return [];
  const labels = base.split('.');
  const n = labels.length;
  const kind = labels[n - 1];
  if (kind !== 'svc' && kind !== 'pod') {
    // ns.dns.<zone> is served by the caller; dns.<zone> is its empty non-terminal.
    return base === 'dns' ? [] : undefined;
  }
  if (n === 1) return [];
  const ns = labels[n - 2];
  const pods = c.opts.pods ?? 'disabled';
  if (kind === 'pod' && pods === 'disabled') return undefined;
  if (!namespaceExposed(c, ns)) return undefined;
  if (n === 2) return [];
  if (kind === 'pod') return n === 3 ? lookupPod(c, name, ns, labels[0], pods) : undefined;

  const svcName = labels[n - 3];
  const rest = labels.slice(0, n - 3);
  let endpoint: string | undefined;
  let port: string | undefined;
  let proto: string | undefined;
  if (rest.length === 1) endpoint = rest[0];
  else if (rest.length === 2) {
    [port, proto] = [stripUnderscore(rest[0]!), stripUnderscore(rest[1]!)];
    // Only named ports have SRV names.
    if (!port || !proto) return undefined;
  } else if (rest.length > 2) return undefined;

  const svc = c.ix.services.get(`${ns}/${svcName}`);
  if (!svc) return undefined;
  const svcDomain = `${svc.name}.${svc.namespace}.svc.${c.zone === '.' ? '' : c.zone}`;

  if (svc.type === 'ExternalName') {
    if (endpoint !== undefined || !svc.externalName) return undefined;
    return [{ kind: 'cname', host: svc.externalName, target: svcDomain }];
  }

  if (c.opts.ignoreEmptyService && !svc.headless) {
    const eps = c.opts.noEndpoints ? [] : serviceEndpoints(c.ix, svc.namespace, svc.name);
    if (!eps.some((ep) => published(svc, ep))) return undefined;
  }

  if (svc.headless || endpoint !== undefined) {
    if (c.opts.noEndpoints) return undefined;
    const items: Item[] = [];
    let found = false;
    for (const ep of serviceEndpoints(c.ix, svc.namespace, svc.name)) {
      if (!published(svc, ep)) continue;
      const label = endpointLabel(ep, c.opts.endpointPodNames);
      if (endpoint !== undefined && label !== endpoint) continue;
      const target = `${label}.${svcDomain}`;
      if (ep.ports.length === 0) {
        // A slice without ports: the address still resolves, but offers no SRV.
        if (port === undefined && proto === undefined) {
          found = true;
          items.push({ kind: 'ip', host: ep.address, target });
        }
        continue;
      }
      for (const p of ep.ports) {
        if (!portMatches(p, port, proto)) continue;
        found = true;
        items.push({ kind: 'ip', host: ep.address, port: p.port, target });
      }
    }
    return found ? items : undefined;
  }

  // A service with a cluster IP.
  const items: Item[] = [];
  let found = false;
  const ps = svc.ports.length || port !== undefined || proto !== undefined ? svc.ports : [undefined];
  for (const p of ps) {
    if (p && !portMatches(p, port, proto)) continue;
    found = true;
    for (const ip of svc.clusterIPs) items.push({ kind: 'ip', host: ip, port: p?.port, target: svcDomain });
  }
  return found ? items : undefined;
}

function lookupPod(c: Ctx, name: string, ns: string, label: string, mode: PodsMode): Lookup {
  const ip = ipFromDashed(label);
  if (!ip) return undefined;
  if (mode === 'insecure') return [{ kind: 'ip', host: ip.text, target: name }];
  for (const pk of c.ix.podsByIP.get(ip.text) ?? []) {
    const pod = c.ix.pods.get(pk);
    if (pod && pod.namespace === ns) return [{ kind: 'ip', host: ip.text, target: name }];
  }
  return undefined;
}

/** PTR targets of an address: the service owning it as a cluster IP, else the endpoints holding it. */
function lookupPtr(c: Ctx, ip: string): string[] {
  for (const sk of [...(c.ix.servicesByIP.get(ip) ?? [])].sort()) {
    const svc = c.ix.services.get(sk);
    if (!svc) continue;
    if (c.opts.namespaces?.length && !c.opts.namespaces.includes(svc.namespace)) continue;
    return [`${svc.name}.${svc.namespace}.svc.${c.primaryZone === '.' ? '' : c.primaryZone}`];
  }
  if (c.opts.noEndpoints) return [];
  const out = new Set<string>();
  for (const sk of [...(c.ix.slicesByIP.get(ip) ?? [])].sort()) {
    const slice = c.ix.slices.get(sk);
    if (!slice) continue;
    if (c.opts.namespaces?.length && !c.opts.namespaces.includes(slice.namespace)) continue;
    const svc = c.ix.services.get(`${slice.namespace}/${slice.service}`);
    for (const ep of slice.endpoints) {
      if (!ep.addresses.includes(ip)) continue;
      if (!ep.ready && !svc?.publishNotReadyAddresses) continue;
      const label = endpointLabel({ ...ep, address: ip }, c.opts.endpointPodNames);
      out.add(`${label}.${slice.service}.${slice.namespace}.svc.${c.primaryZone === '.' ? '' : c.primaryZone}`);
    }
  }
  return [...out];
}

function dedup(rrs: ResourceRecord[]): ResourceRecord[] {
  const seen = new Set<string>();
  return rrs.filter((r) => {
    const k = `${r.name.toLowerCase()}|${r.type}|${JSON.stringify(r.data)}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function addressRecord(name: string, ip: string, ttl: number): ResourceRecord | undefined {
  const p = parseIP(ip);
  if (!p) return undefined;
  return p.family === 4
    ? { name, type: TYPE.A, class: CLASS.IN, ttl, data: { type: TYPE.A, address: p.text } }
    : { name, type: TYPE.AAAA, class: CLASS.IN, ttl, data: { type: TYPE.AAAA, address: p.text } };
}

/**
 * Answers one question from the index. Returns undefined when the name is in none
 * of opts.zones (the plugin passes such questions on). A negative answer (NXDOMAIN,
 * or NOERROR without answers) carries the zone's SOA in authority.
 */
export function answer(ix: DnsIndex, q: Question, opts: AnswerOptions): Answer | undefined {
  const qname = q.name.endsWith('.') ? q.name : `${q.name}.`;
  const name = qname.toLowerCase();
  const zone = matchZone(name, opts.zones);
  if (zone === undefined) return undefined;
  const ttl = opts.ttl ?? 5;
  const c: Ctx = { ix, zone, ttl, opts, primaryZone: primaryZone(opts.zones) };
  const soa = () => [soaRecord(zone, ttl, ix.modified)];
  const ok = (answers: ResourceRecord[], additional: ResourceRecord[] = []): Answer => {
    const a = dedup(answers);
    return { rcode: RCODE.NOERROR, zone, answers: a, authority: a.length ? [] : soa(), additional: dedup(additional) };
  };
  const nx = (): Answer => ({ rcode: opts.synced === false ? RCODE.SERVFAIL : RCODE.NXDOMAIN, zone, answers: [], authority: opts.synced === false ? [] : soa(), additional: [] });
  const rr = (type: number, data: ResourceRecord['data'], t = ttl): ResourceRecord => ({ name: qname, type, class: CLASS.IN, ttl: t, data });

  if (q.type === TYPE.AXFR || q.type === TYPE.IXFR) return { rcode: RCODE.REFUSED, zone, answers: [], authority: [], additional: [] };

  // The apex.
  if (name === zone) {
    if (q.type === TYPE.SOA) return ok([{ ...soa()[0], name: qname }]);
    if (q.type === TYPE.NS) {
      const ns = join('ns.dns', zone);
      const glue = (opts.nsAddresses ?? []).map((ip) => addressRecord(ns, ip, ttl)).filter((x): x is ResourceRecord => !!x);
      return ok([rr(TYPE.NS, { type: TYPE.NS, target: ns })], glue);
    }
    return ok([]);
  }

  // Reverse names: PTR records of cluster IPs and endpoint addresses.
  if (isReverseName(name)) {
    const ip = addressFromReverse(name);
    const targets = ip ? lookupPtr(c, ip) : [];
    if (!targets.length) return nx();
    if (q.type !== TYPE.PTR) return ok([]);
    return ok(targets.map((t) => rr(TYPE.PTR, { type: TYPE.PTR, target: t })));
  }

  // The schema version.
  if (name === join('dns-version', zone)) {
    if (q.type !== TYPE.TXT) return ok([]);
    return ok([rr(TYPE.TXT, { type: TYPE.TXT, texts: [DNS_SCHEMA_VERSION] }, 28800)]);
  }

  // The server's own name.
  if (name === join('ns.dns', zone)) {
    if (q.type !== TYPE.A && q.type !== TYPE.AAAA) return ok([]);
    const want = q.type === TYPE.A ? 4 : 6;
    return ok(
      (opts.nsAddresses ?? [])
        .filter((ip) => parseIP(ip)?.family === want)
        .map((ip) => addressRecord(qname, ip, ttl))
        .filter((x): x is ResourceRecord => !!x),
    );
  }

  const items = lookupName(c, name);
  if (!items) return nx();

  switch (q.type) {
    case TYPE.A:
    case TYPE.AAAA: {
      const want = q.type === TYPE.A ? 4 : 6;
      const out: ResourceRecord[] = [];
      for (const it of items) {
        if (it.kind === 'cname') out.push(rr(TYPE.CNAME, { type: TYPE.CNAME, target: it.host }));
        else if (parseIP(it.host)?.family === want) out.push(addressRecord(qname, it.host, ttl)!);
      }
      return ok(out);
    }
    case TYPE.CNAME: {
      const cn = items.find((it) => it.kind === 'cname');
      return ok(cn ? [rr(TYPE.CNAME, { type: TYPE.CNAME, target: cn.host })] : []);
    }
    case TYPE.SRV: {
      // One SRV per (target, port), weights shared evenly as CoreDNS; ExternalName has none.
      const seen = new Map<string, Item>();
      for (const it of items) {
        if (it.kind !== 'ip' || it.port === undefined) continue;
        const k = `${it.target}|${it.port}`;
        if (!seen.has(k)) seen.set(k, it);
      }
      const srvItems = [...seen.values()];
      const weight = srvItems.length ? Math.max(1, Math.floor(100 / srvItems.length)) : 0;
      const answers = srvItems.map((it) => rr(TYPE.SRV, { type: TYPE.SRV, priority: 0, weight, port: it.port!, target: it.target }));
      const additional = items
        .filter((it) => it.kind === 'ip' && it.port !== undefined)
        .map((it) => addressRecord(it.target, it.host, ttl))
        .filter((x): x is ResourceRecord => !!x);
      return ok(answers, additional);
    }
    default:
      // TXT, PTR, MX, ... of an existing name: NODATA.
      return ok([]);
  }
}
