// The pure core of the nftables proxy: (snapshot, last applied state) -> one
// `nft -f -` transaction + the state it leads to, after upstream kube-proxy's
// nftables mode (pkg/proxy/nftables). No I/O here.
//
// Layout (table `ip kube-proxy` by default):
//   base chains filter-{prerouting,input,forward,output,output-post-dnat},
//   nat-{prerouting,output,postrouting} jump to the regular chains:
//   services                  ip daddr . meta l4proto . th dport vmap @service-ips
//                             (NodePorts) ... vmap @service-nodeports
//   service-endpoints-check   REJECT/DROP via @no-endpoint-services
//   nodeport-endpoints-check  REJECT/DROP via @no-endpoint-nodeports
//   cluster-ips-check         reject traffic to undefined ports of cluster IPs
//   firewall-check            loadBalancerSourceRanges via @firewall-ips
//   masquerading              SNAT what mark-for-masquerade marked
// and per service port: service-<H>-ns/name/proto/port (Cluster policy
// endpoints), local-... (Local policy endpoints), external-... (NodePort,
// externalIPs, LoadBalancer IPs), firewall-..., and per endpoint endpoint-...
// (+ affinity-... sets for sessionAffinity ClientIP).
//
// A full sync deletes and recreates the table in the same transaction (one
// atomic swap). An incremental sync rewrites only the chains, sets and map
// elements of the service ports whose inputs changed; chains no longer used
// are flushed, and deleted once their map elements are gone (in the same
// transaction when staleChainDelayMs is 0, else by a later sync, as upstream
// does for kernels before 6.2).
import { cidrContains, parseCidr } from '../../util/cidr.js';
import { categorizeEndpoints } from '../topology.js';
import {
  type EndpointInfo,
  type ProxySnapshot,
  type ServicePortInfo,
  externallyAccessible,
  usesClusterEndpoints,
  usesLocalEndpoints,
} from '../types.js';
import * as N from './names.js';

export interface RulesetOptions {
  /** nftables table (family ip). Default 'kube-proxy'. */
  table: string;
  /** e.g. '0x4000' (masquerade bit 14). */
  masqueradeMark: string;
  /** Masquerade all traffic to cluster IPs (upstream --masquerade-all). */
  masqueradeAll: boolean;
  /**
   * 'nodeIPs': NodePorts answer on snapshot.nodeIPs (the nodeport-ips set);
   * 'all': on every local address but loopback (`fib daddr type local`).
   * With no node IPs in the snapshot, 'all' is used.
   */
  nodePortAddresses: 'nodeIPs' | 'all';
  /** Service ranges: traffic to an unallocated cluster IP is dropped. Empty: no such rule. */
  serviceCIDRs: string[];
  /** 0: delete stale chains in the same transaction; else a later sync deletes them after this delay. */
  staleChainDelayMs: number;
}

export const defaultRulesetOptions: RulesetOptions = {
  table: N.DEFAULT_TABLE,
  masqueradeMark: '0x4000',
  masqueradeAll: false,
  nodePortAddresses: 'nodeIPs',
  serviceCIDRs: [],
  staleChainDelayMs: 0,
};

/** One element of a set (no value) or verdict map. */
export interface Element {
  container: string;
  /** e.g. '10.96.0.10 . tcp . 53' */
  key: string;
  /** e.g. 'goto service-...' ('' for set elements) */
  value: string;
  comment?: string;
}

/** What one service port contributes to the table. */
export interface RenderedService {
  /** Inputs this was rendered from; equal fingerprints mean equal rendering. */
  fingerprint: string;
  /** Chains in creation order, each with its rules. */
  chains: Map<string, string[]>;
  /** Affinity sets: name -> definition ('{ type ...; }'). */
  sets: Map<string, string>;
  elements: Element[];
  /** For UDP conntrack cleanup. */
  protocol: string;
  port: number;
  nodePort: number;
  /** Cluster, external and load-balancer IPs. */
  serviceIPs: string[];
  /** Endpoint IPs some traffic may be DNATed to. */
  reachableIPs: string[];
  hasEndpoints: boolean;
}

/** What the table holds after a successful sync (kept by the backend). */
export interface NftState {
  /** Fingerprint of everything outside the services (options, node IPs, cluster CIDR). */
  global: string;
  services: Map<string, RenderedService>;
  /** Chains flushed but not yet deleted, with the time they went stale. */
  staleChains: Map<string, number>;
  /**
   * Every set/map element the services put in the table, by `container key`,
   * with how many service ports want it (ports of one service share a cluster
   * IP). Should two services want one key with different values, the first
   * one's value stays.
   */
  elements: Map<string, { e: Element; refs: number }>;
}

export interface SyncPlan {
  /** The `nft -f -` input ('' when there is nothing to do). */
  script: string;
  state: NftState;
  full: boolean;
  /** Service ports whose rules were (re)written or removed. */
  changed: number;
  /** `conntrack` argument lists to run once the script is applied (UDP cleanup). */
  conntrack: string[][];
}

const elementId = (e: Element) => `${e.container} ${e.key}`;
const q = (s: string) => JSON.stringify(s);

/** The masquerade mark for a bit number, e.g. 14 -> '0x4000'. */
export const masqueradeMarkFor = (bit: number): string => `0x${(1 << bit).toString(16)}`;

function globalFingerprint(snapshot: ProxySnapshot, opts: RulesetOptions): string {
  return JSON.stringify([
    opts.table,
    opts.masqueradeMark,
    opts.masqueradeAll,
    nodePortMode(snapshot, opts),
    [...snapshot.nodeIPs].sort(),
    snapshot.clusterCidr,
    opts.serviceCIDRs,
  ]);
}

const nodePortMode = (snapshot: ProxySnapshot, opts: RulesetOptions): 'nodeIPs' | 'all' =>
  opts.nodePortAddresses === 'nodeIPs' && snapshot.nodeIPs.some((ip) => !ip.startsWith('127.')) ? 'nodeIPs' : 'all';

export interface RenderContext {
  masqueradeAll: boolean;
  clusterCidr: string;
  nodeIPs: string[];
}

/** Upstream's ServicePortName.String(): "ns/name:port", or "ns/name" with an unnamed port. */
const svcPortNameString = (s: ServicePortInfo) => `${s.namespace}/${s.name}${s.portName ? `:${s.portName}` : ''}`;

/** The rules and elements of one service port (upstream's syncProxyRules loop body). */
export function renderService(svc: ServicePortInfo, endpoints: EndpointInfo[], ctx: RenderContext, fingerprint = ''): RenderedService {
  const protocol = svc.protocol.toLowerCase();
  const base = N.servicePortChainNameBase(svc.namespace, svc.name, protocol, svc.portName);
  const clusterPolicyChain = N.CLUSTER_POLICY_PREFIX + base;
  const localPolicyChain = N.LOCAL_POLICY_PREFIX + base;
  const externalChain = N.EXTERNAL_PREFIX + base;
  const fwChain = N.FIREWALL_PREFIX + base;
  const epBases = new Map<EndpointInfo, string>();
  const epBase = (e: EndpointInfo) => {
    let b = epBases.get(e);
    if (b === undefined) epBases.set(e, (b = N.servicePortEndpointChainNameBase(svc.namespace, svc.name, protocol, svc.portName, e.ip, e.port)));
    return b;
  };
  const epChain = (e: EndpointInfo) => N.ENDPOINT_PREFIX + epBase(e);
  const affinitySet = (e: EndpointInfo) => N.AFFINITY_PREFIX + epBase(e);
  const comment = svcPortNameString(svc);
  const sticky = svc.stickySeconds !== undefined;

  const cat = categorizeEndpoints(svc, endpoints);
  const hasEndpoints = cat.hasAny;
  const chains = new Map<string, string[]>();
  const sets = new Map<string, string>();
  const elements: Element[] = [];
  const chain = (name: string): string[] => {
    let rules = chains.get(name);
    if (!rules) chains.set(name, (rules = []));
    return rules;
  };

  // Endpoint chains come first (they are jumped to by the policy chains).
  for (const e of cat.allReachable) {
    chain(epChain(e));
    if (sticky) sets.set(affinitySet(e), `{ type ipv4_addr ; flags dynamic,timeout ; timeout ${svc.stickySeconds}s ; }`);
  }

  // Cluster-wide policy: upstream also needs it (for short-circuiting pods'
  // traffic) whenever the service is externally accessible.
  const usesClusterPolicyChain = cat.cluster.length > 0 && usesClusterEndpoints(svc);
  if (usesClusterPolicyChain) chain(clusterPolicyChain);
  const usesLocalPolicyChain = cat.local.length > 0 && usesLocalEndpoints(svc);
  if (usesLocalPolicyChain) chain(localPolicyChain);

  let internalTrafficChain = clusterPolicyChain;
  let hasInternalEndpoints = hasEndpoints;
  if (svc.internalPolicyLocal) {
    internalTrafficChain = localPolicyChain;
    if (cat.local.length === 0) hasInternalEndpoints = false;
  }
  let externalPolicyChain = clusterPolicyChain;
  let hasExternalEndpoints = hasEndpoints;
  if (svc.externalPolicyLocal) {
    externalPolicyChain = localPolicyChain;
    if (cat.local.length === 0) hasExternalEndpoints = false;
  }
  const usesExternalChain = hasEndpoints && externallyAccessible(svc);
  if (usesExternalChain) chain(externalChain);

  // No endpoints at all: REJECT; no local endpoints for a Local policy: DROP.
  const internalFilterVerdict = !hasEndpoints ? `goto ${N.REJECT_CHAIN}` : 'drop';
  const externalFilterVerdict = internalFilterVerdict;

  const port = String(svc.port);
  for (const ip of svc.clusterIPs) {
    elements.push({ container: N.CLUSTER_IPS_SET, key: ip, value: '' });
    if (hasInternalEndpoints) elements.push({ container: N.SERVICE_IPS_MAP, key: `${ip} . ${protocol} . ${port}`, value: `goto ${internalTrafficChain}` });
    else elements.push({ container: N.NO_ENDPOINT_SERVICES_MAP, key: `${ip} . ${protocol} . ${port}`, value: internalFilterVerdict, comment });
  }
  for (const ip of svc.externalIPs) {
    if (hasEndpoints) elements.push({ container: N.SERVICE_IPS_MAP, key: `${ip} . ${protocol} . ${port}`, value: `goto ${externalChain}` });
    if (!hasExternalEndpoints) elements.push({ container: N.NO_ENDPOINT_SERVICES_MAP, key: `${ip} . ${protocol} . ${port}`, value: externalFilterVerdict, comment });
  }
  const usesFwChain = svc.loadBalancerIPs.length > 0 && svc.loadBalancerSourceRanges.length > 0;
  if (usesFwChain) chain(fwChain);
  for (const ip of svc.loadBalancerIPs) {
    if (hasEndpoints) elements.push({ container: N.SERVICE_IPS_MAP, key: `${ip} . ${protocol} . ${port}`, value: `goto ${externalChain}` });
    if (usesFwChain) elements.push({ container: N.FIREWALL_IPS_MAP, key: `${ip} . ${protocol} . ${port}`, value: `goto ${fwChain}` });
  }
  if (!hasExternalEndpoints) {
    for (const ip of svc.loadBalancerIPs) {
      elements.push({ container: N.NO_ENDPOINT_SERVICES_MAP, key: `${ip} . ${protocol} . ${port}`, value: externalFilterVerdict, comment });
    }
  }
  if (svc.nodePort !== 0) {
    const key = `${protocol} . ${svc.nodePort}`;
    if (hasEndpoints) elements.push({ container: N.SERVICE_NODEPORTS_MAP, key, value: `goto ${externalChain}` });
    if (!hasExternalEndpoints) elements.push({ container: N.NO_ENDPOINT_NODEPORTS_MAP, key, value: externalFilterVerdict, comment });
  }

  // Internal traffic: masquerade what comes from off the cluster (or everything).
  if (hasInternalEndpoints) {
    for (const ip of svc.clusterIPs) {
      const match = `ip daddr ${ip} ${protocol} dport ${port}`;
      if (ctx.masqueradeAll) chain(internalTrafficChain).push(`${match} jump ${N.MARK_MASQ_CHAIN}`);
      else if (ctx.clusterCidr) chain(internalTrafficChain).push(`${match} ip saddr != ${ctx.clusterCidr} jump ${N.MARK_MASQ_CHAIN}`);
    }
  }

  // External traffic.
  if (usesExternalChain) {
    const ext = chain(externalChain);
    if (!svc.externalPolicyLocal) {
      // Cluster policy: may cross nodes, so masquerade.
      ext.push(`jump ${N.MARK_MASQ_CHAIN}`);
    } else if (usesClusterPolicyChain) {
      // Local policy keeps the client's source address, except that pods and
      // the node itself are sent to any endpoint (as if they had gone out to a
      // load balancer and come back).
      if (ctx.clusterCidr) ext.push(`ip saddr ${ctx.clusterCidr} goto ${clusterPolicyChain} comment ${q('short-circuit pod traffic')}`);
      ext.push(`fib saddr type local jump ${N.MARK_MASQ_CHAIN} comment ${q('masquerade local traffic')}`);
      ext.push(`fib saddr type local goto ${clusterPolicyChain} comment ${q('short-circuit local traffic')}`);
    }
    if (hasExternalEndpoints) ext.push(`goto ${externalPolicyChain}`);
  }

  if (usesFwChain) {
    const sources = [...svc.loadBalancerSourceRanges];
    const allowFromNode = svc.loadBalancerSourceRanges.some((c) => {
      try {
        const cidr = parseCidr(c.includes('/') ? c : `${c}/32`);
        return ctx.nodeIPs.some((ip) => cidrContains(cidr, ip));
      } catch {
        return false;
      }
    });
    if (allowFromNode) sources.push(...svc.loadBalancerIPs);
    chain(fwChain).push(`ip saddr != { ${sources.join(', ')} } drop`);
  }

  const writeServiceToEndpointRules = (svcChain: string, eps: EndpointInfo[]) => {
    const rules = chain(svcChain);
    if (sticky) for (const e of eps) rules.push(`ip saddr @${affinitySet(e)} goto ${epChain(e)}`);
    rules.push(`numgen random mod ${eps.length} vmap { ${eps.map((e, i) => `${i} : goto ${epChain(e)}`).join(', ')} }`);
  };
  if (usesClusterPolicyChain) writeServiceToEndpointRules(clusterPolicyChain, cat.cluster);
  if (usesLocalPolicyChain) writeServiceToEndpointRules(localPolicyChain, cat.local);

  for (const e of cat.allReachable) {
    const rules = chain(epChain(e));
    // Hairpin: a pod reaching itself through the service is masqueraded.
    rules.push(`ip saddr ${e.ip} jump ${N.MARK_MASQ_CHAIN}`);
    if (sticky) rules.push(`update @${affinitySet(e)} { ip saddr }`);
    rules.push(`meta l4proto ${protocol} dnat to ${e.ip}:${e.port}`);
  }

  return {
    fingerprint,
    chains,
    sets,
    elements,
    protocol,
    port: svc.port,
    nodePort: svc.nodePort,
    serviceIPs: [...svc.clusterIPs, ...svc.externalIPs, ...svc.loadBalancerIPs],
    reachableIPs: [...new Set(cat.allReachable.map((e) => e.ip))],
    hasEndpoints,
  };
}

const BASE_CHAINS: Array<[name: string, type: string, hook: string, priority: number]> = [
  // Filtering sees pre-DNAT destinations, so it runs before DNAT (dstnat = -100).
  [N.FILTER_PREROUTING, 'filter', 'prerouting', -110],
  [N.FILTER_INPUT, 'filter', 'input', -110],
  [N.FILTER_FORWARD, 'filter', 'forward', -110],
  [N.FILTER_OUTPUT, 'filter', 'output', -110],
  [N.FILTER_OUTPUT_POST_DNAT, 'filter', 'output', -90],
  [N.NAT_PREROUTING, 'nat', 'prerouting', -100],
  [N.NAT_OUTPUT, 'nat', 'output', -100],
  [N.NAT_POSTROUTING, 'nat', 'postrouting', 100], // srcnat
];

const JUMP_CHAINS: Array<[dst: string, src: string, extra: string]> = [
  // REJECT needs the input, forward or output hook (kernels before 5.9).
  [N.NODEPORT_ENDPOINTS_CHECK_CHAIN, N.FILTER_INPUT, 'ct state new '],
  [N.SERVICE_ENDPOINTS_CHECK_CHAIN, N.FILTER_INPUT, 'ct state new '],
  [N.SERVICE_ENDPOINTS_CHECK_CHAIN, N.FILTER_FORWARD, 'ct state new '],
  [N.SERVICE_ENDPOINTS_CHECK_CHAIN, N.FILTER_OUTPUT, 'ct state new '],
  [N.FIREWALL_CHECK_CHAIN, N.FILTER_PREROUTING, 'ct state new '],
  [N.FIREWALL_CHECK_CHAIN, N.FILTER_OUTPUT, 'ct state new '],
  [N.SERVICES_CHAIN, N.NAT_OUTPUT, ''],
  [N.SERVICES_CHAIN, N.NAT_PREROUTING, ''],
  [N.MASQUERADING_CHAIN, N.NAT_POSTROUTING, ''],
  [N.CLUSTER_IPS_CHECK_CHAIN, N.FILTER_FORWARD, 'ct state new '],
  [N.CLUSTER_IPS_CHECK_CHAIN, N.FILTER_OUTPUT_POST_DNAT, 'ct state new '],
];

const MAP_TYPE_IP_PROTO_PORT = 'ipv4_addr . inet_proto . inet_service : verdict';
const MAP_TYPE_PROTO_PORT = 'inet_proto . inet_service : verdict';

/** The fixed part of the table (upstream's setupNFTables), after `add table`. */
function setupLines(t: string, snapshot: ProxySnapshot, opts: RulesetOptions): { chains: string[]; containers: string[]; rules: string[] } {
  const chains: string[] = [];
  const containers: string[] = [];
  const rules: string[] = [];
  const rule = (c: string, r: string) => rules.push(`add rule ip ${t} ${c} ${r}`);
  for (const [name, type, hook, prio] of BASE_CHAINS) {
    chains.push(`add chain ip ${t} ${name} { type ${type} hook ${hook} priority ${prio} ; policy accept ; }`);
  }
  const regular = new Set<string>();
  for (const [dst] of JUMP_CHAINS) regular.add(dst);
  for (const c of [N.SERVICES_CHAIN, N.CLUSTER_IPS_CHECK_CHAIN, N.MASQUERADING_CHAIN, N.MARK_MASQ_CHAIN]) regular.add(c);
  for (const c of regular) chains.push(`add chain ip ${t} ${c}`);
  chains.push(`add chain ip ${t} ${N.REJECT_CHAIN} { comment ${q('helper for @no-endpoint-services / @no-endpoint-nodeports')} ; }`);
  for (const [dst, src, extra] of JUMP_CHAINS) rule(src, `${extra}jump ${dst}`);

  rule(N.MARK_MASQ_CHAIN, `mark set mark or ${opts.masqueradeMark}`);
  rule(N.MASQUERADING_CHAIN, `mark and ${opts.masqueradeMark} == 0 return`);
  rule(N.MASQUERADING_CHAIN, `mark set mark xor ${opts.masqueradeMark}`);
  rule(N.MASQUERADING_CHAIN, 'masquerade fully-random');

  containers.push(`add set ip ${t} ${N.CLUSTER_IPS_SET} { type ipv4_addr ; comment ${q('Active ClusterIPs')} ; }`);
  rule(N.CLUSTER_IPS_CHECK_CHAIN, `ip daddr @${N.CLUSTER_IPS_SET} reject comment ${q('Reject traffic to invalid ports of ClusterIPs')}`);
  if (opts.serviceCIDRs.length > 0) {
    rule(N.CLUSTER_IPS_CHECK_CHAIN, `ip daddr { ${opts.serviceCIDRs.join(', ')} } drop comment ${q('Drop traffic to unallocated ClusterIPs')}`);
  }

  const mode = nodePortMode(snapshot, opts);
  if (mode === 'nodeIPs') {
    const ips = [...new Set(snapshot.nodeIPs.filter((ip) => !ip.startsWith('127.')))];
    containers.push(`add set ip ${t} ${N.NODEPORT_IPS_SET} { type ipv4_addr ; comment ${q('IPs that accept NodePort traffic')} ; }`);
    containers.push(`add element ip ${t} ${N.NODEPORT_IPS_SET} { ${ips.join(', ')} }`);
  }

  containers.push(
    `add map ip ${t} ${N.NO_ENDPOINT_SERVICES_MAP} { type ${MAP_TYPE_IP_PROTO_PORT} ; comment ${q('vmap to drop or reject packets to services with no endpoints')} ; }`,
  );
  containers.push(
    `add map ip ${t} ${N.NO_ENDPOINT_NODEPORTS_MAP} { type ${MAP_TYPE_PROTO_PORT} ; comment ${q('vmap to drop or reject packets to service nodeports with no endpoints')} ; }`,
  );
  rule(N.REJECT_CHAIN, 'reject');
  rule(N.SERVICE_ENDPOINTS_CHECK_CHAIN, `ip daddr . meta l4proto . th dport vmap @${N.NO_ENDPOINT_SERVICES_MAP}`);
  rule(
    N.NODEPORT_ENDPOINTS_CHECK_CHAIN,
    mode === 'all'
      ? `ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @${N.NO_ENDPOINT_NODEPORTS_MAP}`
      : `ip daddr @${N.NODEPORT_IPS_SET} meta l4proto . th dport vmap @${N.NO_ENDPOINT_NODEPORTS_MAP}`,
  );

  containers.push(`add map ip ${t} ${N.FIREWALL_IPS_MAP} { type ${MAP_TYPE_IP_PROTO_PORT} ; comment ${q('destinations that are subject to LoadBalancerSourceRanges')} ; }`);
  rule(N.FIREWALL_CHECK_CHAIN, `ip daddr . meta l4proto . th dport vmap @${N.FIREWALL_IPS_MAP}`);

  containers.push(`add map ip ${t} ${N.SERVICE_IPS_MAP} { type ${MAP_TYPE_IP_PROTO_PORT} ; comment ${q('ClusterIP, ExternalIP and LoadBalancer IP traffic')} ; }`);
  containers.push(`add map ip ${t} ${N.SERVICE_NODEPORTS_MAP} { type ${MAP_TYPE_PROTO_PORT} ; comment ${q('NodePort traffic')} ; }`);
  rule(N.SERVICES_CHAIN, `ip daddr . meta l4proto . th dport vmap @${N.SERVICE_IPS_MAP}`);
  rule(
    N.SERVICES_CHAIN,
    mode === 'all'
      ? `fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @${N.SERVICE_NODEPORTS_MAP}`
      : `ip daddr @${N.NODEPORT_IPS_SET} meta l4proto . th dport vmap @${N.SERVICE_NODEPORTS_MAP}`,
  );
  return { chains, containers, rules };
}

/** `key [comment "..."] [: value]`, as nft wants an element. */
const elementText = (e: Element) => `${e.key}${e.comment ? ` comment ${q(e.comment)}` : ''}${e.value ? ` : ${e.value}` : ''}`;

/**
 * Computes the transaction that takes the table from `prev` to `snapshot`
 * (full when prev is undefined or something outside the services changed).
 * `hint`, when given, names the only service ports that may have changed since
 * `prev` (the change tracker's word); without it every port's inputs are compared.
 */
export function computeSync(
  snapshot: ProxySnapshot,
  prev: NftState | undefined,
  options: Partial<RulesetOptions> = {},
  now = Date.now(),
  forceFull = false,
  hint?: Set<string>,
): SyncPlan {
  const opts = { ...defaultRulesetOptions, ...options };
  const t = opts.table;
  const global = globalFingerprint(snapshot, opts);
  const full = forceFull || !prev || prev.global !== global;
  const ctx: RenderContext = { masqueradeAll: opts.masqueradeAll, clusterCidr: snapshot.clusterCidr, nodeIPs: snapshot.nodeIPs };

  // Render every service port whose inputs changed; reuse the rest.
  const services = new Map<string, RenderedService>();
  const changedKeys = new Set<string>();
  for (const [key, svc] of snapshot.services) {
    const eps = snapshot.endpoints.get(key) ?? [];
    const old = full ? undefined : prev?.services.get(key);
    // The change tracker's hint spares the fingerprint of what it says did not change.
    if (old && hint && !hint.has(key)) {
      services.set(key, old);
      continue;
    }
    const fp = JSON.stringify([svc, eps]);
    if (old && old.fingerprint === fp) services.set(key, old);
    else {
      services.set(key, renderService(svc, eps, ctx, fp));
      changedKeys.add(key);
    }
  }
  if (prev) for (const key of prev.services.keys()) if (!services.has(key)) changedKeys.add(key);

  const lines: string[] = [];
  const staleChains = new Map<string, number>();
  let elements: Map<string, { e: Element; refs: number }>;
  const claim = (els: Map<string, { e: Element; refs: number }>, e: Element, touched?: Set<string>) => {
    const id = elementId(e);
    const cur = els.get(id);
    els.set(id, cur ? { e: cur.e, refs: cur.refs + 1 } : { e, refs: 1 });
    touched?.add(id);
  };
  if (full) {
    elements = new Map();
    for (const r of services.values()) for (const e of r.elements) claim(elements, e);
    lines.push(`add table ip ${t}`, `delete table ip ${t}`, `add table ip ${t} { comment ${q('rules for kube-proxy')} ; }`);
    const setup = setupLines(t, snapshot, opts);
    lines.push(...setup.chains);
    const rules: string[] = [];
    const sets: string[] = [];
    for (const r of services.values()) {
      for (const [c, rs] of r.chains) {
        lines.push(`add chain ip ${t} ${c}`);
        for (const rule of rs) rules.push(`add rule ip ${t} ${c} ${rule}`);
      }
      for (const [name, def] of r.sets) sets.push(`add set ip ${t} ${name} ${def}`);
    }
    lines.push(...setup.containers, ...sets, ...setup.rules, ...rules);
    for (const { e } of elements.values()) lines.push(`add element ip ${t} ${e.container} { ${elementText(e)} }`);
  } else {
    // Only the changed service ports are looked at: O(changes), not O(services).
    const p = prev!;
    elements = changedKeys.size ? new Map(p.elements) : p.elements;
    const touched = new Set<string>();
    const wanted = new Set<string>(); // chains of the changed service ports, as they are now
    const dropped: string[] = []; // chains they no longer have
    const setDeletes: string[] = [];
    const setAdds: string[] = [];
    const rewrite: string[] = [];
    for (const key of changedKeys) {
      const after = services.get(key);
      if (after) for (const c of after.chains.keys()) wanted.add(c);
    }
    for (const key of changedKeys) {
      const before = p.services.get(key);
      const after = services.get(key);
      if (before) {
        for (const c of before.chains.keys()) if (!wanted.has(c)) dropped.push(c);
        for (const [name, def] of before.sets) if (after?.sets.get(name) !== def) setDeletes.push(name);
        for (const e of before.elements) {
          const id = elementId(e);
          const cur = elements.get(id);
          if (!cur) continue;
          if (cur.refs <= 1) elements.delete(id);
          else elements.set(id, { e: cur.e, refs: cur.refs - 1 });
          touched.add(id);
        }
      }
      if (after) {
        for (const c of after.chains.keys()) rewrite.push(c);
        for (const [name, def] of after.sets) if (before?.sets.get(name) !== def) setAdds.push(`add set ip ${t} ${name} ${def}`);
      }
    }
    for (const key of changedKeys) for (const e of services.get(key)?.elements ?? []) claim(elements, e, touched);

    // Chains that went stale earlier: delete them once their delay has passed.
    for (const [c, since] of p.staleChains) {
      if (wanted.has(c)) continue; // in use again: rewritten below
      if (now - since >= opts.staleChainDelayMs) lines.push(`delete chain ip ${t} ${c}`);
      else staleChains.set(c, since);
    }
    // The changed service ports' chains: create (if new) and flush; chains no longer used: flush.
    for (const c of rewrite) lines.push(`add chain ip ${t} ${c}`, `flush chain ip ${t} ${c}`);
    for (const c of dropped) lines.push(`flush chain ip ${t} ${c}`);
    // Elements gone or changed go first; the rest are added after the rules.
    const adds: Element[] = [];
    for (const id of touched) {
      const was = p.elements.get(id)?.e;
      const cur = elements.get(id)?.e;
      const same = was && cur && was.value === cur.value && was.comment === cur.comment;
      if (was && !same) lines.push(`delete element ip ${t} ${was.container} { ${was.key} }`);
      if (cur && !same) adds.push(cur);
    }
    // Affinity sets: the gone or redefined ones (their users were flushed above), then the new.
    for (const name of setDeletes) lines.push(`delete set ip ${t} ${name}`);
    lines.push(...setAdds);
    for (const key of changedKeys) {
      const after = services.get(key);
      if (after) for (const [c, rs] of after.chains) for (const rule of rs) lines.push(`add rule ip ${t} ${c} ${rule}`);
    }
    for (const e of adds) lines.push(`add element ip ${t} ${e.container} { ${elementText(e)} }`);
    for (const c of dropped) {
      if (opts.staleChainDelayMs <= 0) lines.push(`delete chain ip ${t} ${c}`);
      else staleChains.set(c, now);
    }
  }

  return {
    script: lines.length ? lines.join('\n') + '\n' : '',
    state: { global, services, staleChains, elements },
    full,
    changed: changedKeys.size,
    conntrack: conntrackCleanup(prev, services, changedKeys),
  };
}

/**
 * UDP has no connection close, so conntrack entries outlive a change and
 * keep sending packets to an old destination. As upstream: when a UDP service
 * port goes from no endpoints to some, forget what its addresses (and
 * NodePort) were doing; when an endpoint goes away, forget the flows NATed
 * to it; when the service port goes away, forget the flows to its addresses.
 */
function conntrackCleanup(prev: NftState | undefined, services: Map<string, RenderedService>, changed: Set<string>): string[][] {
  const out: string[][] = [];
  const seen = new Set<string>();
  const add = (args: string[]) => {
    const k = args.join(' ');
    if (!seen.has(k)) {
      seen.add(k);
      out.push(args);
    }
  };
  for (const key of changed) {
    const before = prev?.services.get(key);
    const after = services.get(key);
    if (after && after.protocol === 'udp' && after.hasEndpoints && !before?.hasEndpoints) {
      for (const ip of after.serviceIPs) add(['-D', '-p', 'udp', '--orig-dst', ip, '--dport', String(after.port)]);
      if (after.nodePort) add(['-D', '-p', 'udp', '--dport', String(after.nodePort)]);
    }
    if (!before || before.protocol !== 'udp') continue;
    if (!after) for (const ip of before.serviceIPs) add(['-D', '-p', 'udp', '--orig-dst', ip, '--dport', String(before.port)]);
    const still = new Set(after?.reachableIPs ?? []);
    for (const ep of before.reachableIPs) {
      if (still.has(ep)) continue;
      for (const ip of before.serviceIPs) add(['-D', '-p', 'udp', '--orig-dst', ip, '--dst-nat', ep]);
      if (before.nodePort) add(['-D', '-p', 'udp', '--dport', String(before.nodePort), '--dst-nat', ep]);
    }
  }
  return out;
}
