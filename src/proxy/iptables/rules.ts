// The pure heart of the iptables backend: snapshot (+ what is already in the
// kernel) -> iptables-restore input, laid out as upstream kube-proxy's
// iptables mode (pkg/proxy/iptables/proxier.go syncProxyRules). The input is
// meant for `iptables-restore --noflush`: every chain it declares is flushed
// and refilled; chains it does not declare (the built-in ones, and unchanged
// per-service chains in a partial sync) are left as they are.
import { categorizeEndpoints } from '../topology.js';
import { type ProxySnapshot, type ServicePortInfo, externallyAccessible, usesClusterEndpoints, usesLocalEndpoints } from '../types.js';
import { cidrContains, parseCidr } from '../../util/cidr.js';
import {
  FILTER_CHAINS,
  KUBE_EXTERNAL_SERVICES,
  KUBE_FORWARD,
  KUBE_MARK_MASQ,
  KUBE_NODEPORTS,
  KUBE_POSTROUTING,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
  NAT_CHAINS,
  endpointChain,
  isServiceChainName,
  probability,
  serviceChain,
  serviceExternalChain,
  serviceFirewallChain,
  serviceLocalChain,
  servicePortNameString,
} from './names.js';

export interface RenderOptions {
  /** The masquerade mark (upstream: 1 << --iptables-masquerade-bit 14). */
  masqueradeMark?: string;
  /** Append --random-fully to MASQUERADE (iptables >= 1.6.2). */
  randomFully?: boolean;
  /** Mark all service traffic for masquerade (--masquerade-all). */
  masqueradeAll?: boolean;
  /** NodePorts also on 127.0.0.0/8 (needs route_localnet); default false: excluded. */
  localhostNodePorts?: boolean;
  /** nf_conntrack_tcp_be_liberal is set: no DROP of INVALID packets in KUBE-FORWARD. */
  conntrackTCPLiberal?: boolean;
  /**
   * Partial sync: only these service ports (servicePortKey) get their
   * SVC/SVL/EXT/FW/SEP chains written; the others' chains are kept as they
   * are in the kernel. undefined: write all (full sync).
   */
  writeServices?: Set<string>;
  /** nat chains that exist now (iptables-save); stale per-service chains among them are deleted. */
  existingNatChains?: Iterable<string>;
  /** Raw lines added right after the chain declarations of each table (e.g. jump rules: "-I INPUT ..."). */
  extraFilterLines?: string[];
  extraNatLines?: string[];
}

export interface RenderResult {
  /** The iptables-restore input (filter then nat), ending with a newline. */
  text: string;
  /** Every per-service nat chain that should exist after this sync (written or kept). */
  activeNatChains: Set<string>;
  /** Stale per-service chains this input deletes. */
  deletedChains: string[];
  /** Service ports whose chains were written. */
  written: number;
  /** Rule counts (upstream's sync_proxy_rules_iptables_total). */
  filterRules: number;
  natRules: number;
}

const q = (s: string): string => `"${s}"`;

/** A line buffer whose lines are joined with spaces, as upstream's LineBuffer. */
class Lines {
  readonly lines: string[] = [];
  write(...parts: Array<string | string[]>): void {
    this.lines.push(parts.flat().join(' '));
  }
  chain(name: string): void {
    this.lines.push(`:${name} - [0:0]`);
  }
}

/** Service ports in a stable order (upstream iterates a map; tests sort). */
function sortedServices(snapshot: ProxySnapshot): ServicePortInfo[] {
  return [...snapshot.services.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export function renderRestore(snapshot: ProxySnapshot, opts: RenderOptions = {}): RenderResult {
  const mark = opts.masqueradeMark ?? '0x4000';
  const filterChains = new Lines();
  const filterRules = new Lines();
  const natChains = new Lines();
  const natRules = new Lines();
  const discard = { chains: new Lines(), rules: new Lines() };
  const local = snapshot.clusterCidr ? snapshot.clusterCidr : '';
  const ifLocal = local ? ['-s', local] : [];
  const ifNotLocal = local ? ['!', '-s', local] : [];
  const nodeIP = snapshot.nodeIPs[0];

  for (const c of FILTER_CHAINS) filterChains.chain(c);
  for (const c of NAT_CHAINS) natChains.chain(c);

  natRules.write('-A', KUBE_POSTROUTING, '-m', 'mark', '!', '--mark', `${mark}/${mark}`, '-j', 'RETURN');
  natRules.write('-A', KUBE_POSTROUTING, '-j', 'MARK', '--xor-mark', mark);
  natRules.write('-A', KUBE_POSTROUTING, '-m', 'comment', '--comment', q('kubernetes service traffic requiring SNAT'), '-j', 'MASQUERADE', opts.randomFully ? ['--random-fully'] : []);
  natRules.write('-A', KUBE_MARK_MASQ, '-j', 'MARK', '--or-mark', mark);

  const active = new Set<string>();
  let written = 0;

  for (const svc of sortedServices(snapshot)) {
    const protocol = svc.protocol.toLowerCase();
    const spn = servicePortNameString(svc);
    const { cluster, local: localEps, allReachable, hasAny } = categorizeEndpoints(svc, snapshot.endpoints.get(svc.key) ?? []);

    const clusterPolicyChain = serviceChain(spn, protocol);
    const localPolicyChain = serviceLocalChain(spn, protocol);
    const externalTrafficChain = serviceExternalChain(spn, protocol);
    const fwChain = serviceFirewallChain(spn, protocol);
    const usesClusterPolicyChain = cluster.length > 0 && usesClusterEndpoints(svc);
    const usesLocalPolicyChain = localEps.length > 0 && usesLocalEndpoints(svc);

    let internalPolicyChain = clusterPolicyChain;
    let hasInternalEndpoints = hasAny;
    if (svc.internalPolicyLocal) {
      internalPolicyChain = localPolicyChain;
      if (localEps.length === 0) hasInternalEndpoints = false;
    }
    let externalPolicyChain = clusterPolicyChain;
    let hasExternalEndpoints = hasAny;
    if (svc.externalPolicyLocal) {
      externalPolicyChain = localPolicyChain;
      if (localEps.length === 0) hasExternalEndpoints = false;
    }
    const usesExternalTrafficChain = hasAny && externallyAccessible(svc);
    const usesFWChain = hasAny && svc.loadBalancerIPs.length > 0 && svc.loadBalancerSourceRanges.length > 0;
    const loadBalancerTrafficChain = usesFWChain ? fwChain : externalTrafficChain;

    let internalFilterTarget = '';
    let internalFilterComment = '';
    let externalFilterTarget = '';
    let externalFilterComment = '';
    if (!hasAny) {
      internalFilterTarget = externalFilterTarget = 'REJECT';
      internalFilterComment = externalFilterComment = q(`${spn} has no endpoints`);
    } else {
      if (!hasInternalEndpoints) {
        internalFilterTarget = 'DROP';
        internalFilterComment = q(`${spn} has no local endpoints`);
      }
      if (!hasExternalEndpoints) {
        externalFilterTarget = 'DROP';
        externalFilterComment = q(`${spn} has no local endpoints`);
      }
    }

    const port = String(svc.port);
    // Capture the cluster IPs.
    for (const clusterIP of svc.clusterIPs) {
      if (hasInternalEndpoints) {
        natRules.write('-A', KUBE_SERVICES, '-m', 'comment', '--comment', q(`${spn} cluster IP`), '-m', protocol, '-p', protocol, '-d', clusterIP, '--dport', port, '-j', internalPolicyChain);
      } else {
        filterRules.write('-A', KUBE_SERVICES, '-m', 'comment', '--comment', internalFilterComment, '-m', protocol, '-p', protocol, '-d', clusterIP, '--dport', port, '-j', internalFilterTarget);
      }
    }
    // Capture external IPs.
    for (const ip of svc.externalIPs) {
      if (hasAny) {
        natRules.write('-A', KUBE_SERVICES, '-m', 'comment', '--comment', q(`${spn} external IP`), '-m', protocol, '-p', protocol, '-d', ip, '--dport', port, '-j', externalTrafficChain);
      }
      if (!hasExternalEndpoints) {
        filterRules.write('-A', KUBE_EXTERNAL_SERVICES, '-m', 'comment', '--comment', externalFilterComment, '-m', protocol, '-p', protocol, '-d', ip, '--dport', port, '-j', externalFilterTarget);
      }
    }
    // Capture load-balancer ingress.
    for (const ip of svc.loadBalancerIPs) {
      if (hasAny) {
        natRules.write('-A', KUBE_SERVICES, '-m', 'comment', '--comment', q(`${spn} loadbalancer IP`), '-m', protocol, '-p', protocol, '-d', ip, '--dport', port, '-j', loadBalancerTrafficChain);
      }
      if (usesFWChain) {
        filterRules.write('-A', KUBE_PROXY_FIREWALL, '-m', 'comment', '--comment', q(`${spn} traffic not accepted by ${fwChain}`), '-m', protocol, '-p', protocol, '-d', ip, '--dport', port, '-j', 'DROP');
      }
    }
    if (!hasExternalEndpoints) {
      for (const ip of svc.loadBalancerIPs) {
        filterRules.write('-A', KUBE_EXTERNAL_SERVICES, '-m', 'comment', '--comment', externalFilterComment, '-m', protocol, '-p', protocol, '-d', ip, '--dport', port, '-j', externalFilterTarget);
      }
    }
    // Capture node ports.
    if (svc.nodePort !== 0) {
      if (hasAny) {
        natRules.write('-A', KUBE_NODEPORTS, '-m', 'comment', '--comment', spn, '-m', protocol, '-p', protocol, '--dport', String(svc.nodePort), '-j', externalTrafficChain);
      }
      if (!hasExternalEndpoints) {
        filterRules.write('-A', KUBE_EXTERNAL_SERVICES, '-m', 'comment', '--comment', externalFilterComment, '-m', 'addrtype', '--dst-type', 'LOCAL', '-m', protocol, '-p', protocol, '--dport', String(svc.nodePort), '-j', externalFilterTarget);
      }
    }
    // Health check node ports are always accepted.
    if (svc.healthCheckNodePort !== 0) {
      filterRules.write('-A', KUBE_NODEPORTS, '-m', 'comment', '--comment', q(`${spn} health check node port`), '-m', 'tcp', '-p', 'tcp', '--dport', String(svc.healthCheckNodePort), '-j', 'ACCEPT');
    }

    // Unchanged services in a partial sync: compute their chains (to know
    // they are active) but do not write them.
    const write = !opts.writeServices || opts.writeServices.has(svc.key);
    const chains = write ? natChains : discard.chains;
    const rules = write ? natRules : discard.rules;
    if (write) written++;

    // Internal traffic: masquerade off-cluster traffic to the cluster IP.
    if (hasInternalEndpoints) {
      for (const clusterIP of svc.clusterIPs) {
        const args = ['-m', 'comment', '--comment', q(`${spn} cluster IP`), '-m', protocol, '-p', protocol, '-d', clusterIP, '--dport', port];
        if (opts.masqueradeAll) rules.write('-A', internalPolicyChain, args, '-j', KUBE_MARK_MASQ);
        else if (local) rules.write('-A', internalPolicyChain, args, ifNotLocal, '-j', KUBE_MARK_MASQ);
      }
    }

    // External traffic (node ports, external IPs, load balancers).
    if (usesExternalTrafficChain) {
      chains.chain(externalTrafficChain);
      active.add(externalTrafficChain);
      if (!svc.externalPolicyLocal) {
        rules.write('-A', externalTrafficChain, '-m', 'comment', '--comment', q(`masquerade traffic for ${spn} external destinations`), '-j', KUBE_MARK_MASQ);
      } else {
        if (local) {
          rules.write('-A', externalTrafficChain, '-m', 'comment', '--comment', q(`pod traffic for ${spn} external destinations`), ifLocal, '-j', clusterPolicyChain);
        }
        rules.write('-A', externalTrafficChain, '-m', 'comment', '--comment', q(`masquerade LOCAL traffic for ${spn} external destinations`), '-m', 'addrtype', '--src-type', 'LOCAL', '-j', KUBE_MARK_MASQ);
        rules.write('-A', externalTrafficChain, '-m', 'comment', '--comment', q(`route LOCAL traffic for ${spn} external destinations`), '-m', 'addrtype', '--src-type', 'LOCAL', '-j', clusterPolicyChain);
      }
      if (hasExternalEndpoints) rules.write('-A', externalTrafficChain, '-j', externalPolicyChain);
    }

    // The firewall chain (loadBalancerSourceRanges).
    if (usesFWChain) {
      chains.chain(fwChain);
      active.add(fwChain);
      const args = ['-A', fwChain, '-m', 'comment', '--comment', q(`${spn} loadbalancer IP`)];
      let allowFromNode = false;
      for (const cidr of svc.loadBalancerSourceRanges) {
        rules.write(args, '-s', cidr, '-j', externalTrafficChain);
        if (nodeIP && containsIP(cidr, nodeIP)) allowFromNode = true;
      }
      if (allowFromNode) for (const ip of svc.loadBalancerIPs) rules.write(args, '-s', ip, '-j', externalTrafficChain);
      rules.write('-A', fwChain, '-m', 'comment', '--comment', q(`other traffic to ${spn} will be dropped by KUBE-PROXY-FIREWALL`));
    }

    if (usesClusterPolicyChain) {
      chains.chain(clusterPolicyChain);
      active.add(clusterPolicyChain);
      writeServiceToEndpointRules(rules, spn, protocol, svc, clusterPolicyChain, cluster.map((e) => `${e.ip}:${e.port}`));
    }
    if (usesLocalPolicyChain) {
      chains.chain(localPolicyChain);
      active.add(localPolicyChain);
      writeServiceToEndpointRules(rules, spn, protocol, svc, localPolicyChain, localEps.map((e) => `${e.ip}:${e.port}`));
    }

    // The per-endpoint chains.
    for (const ep of allReachable) {
      const epString = `${ep.ip}:${ep.port}`;
      const sep = endpointChain(spn, protocol, epString);
      chains.chain(sep);
      active.add(sep);
      const args = ['-A', sep, '-m', 'comment', '--comment', spn];
      // Hairpin: traffic from the endpoint to itself is masqueraded.
      rules.write(args, '-s', ep.ip, '-j', KUBE_MARK_MASQ);
      const affinity = svc.stickySeconds !== undefined ? ['-m', 'recent', '--name', sep, '--set'] : [];
      rules.write(args, affinity, '-m', protocol, '-p', protocol, '-j', 'DNAT', '--to-destination', epString);
    }
  }

  // Delete chains no longer in use.
  const deletedChains: string[] = [];
  for (const chain of [...new Set(opts.existingNatChains ?? [])].sort()) {
    if (!isServiceChainName(chain) || active.has(chain)) continue;
    natChains.chain(chain);
    natRules.write('-X', chain);
    deletedChains.push(chain);
  }

  // The tail call to the node ports chain: the last rule of KUBE-SERVICES.
  const destinations = ['-m', 'addrtype', '--dst-type', 'LOCAL', opts.localhostNodePorts ? [] : ['!', '-d', '127.0.0.0/8']].flat();
  natRules.write('-A', KUBE_SERVICES, '-m', 'comment', '--comment', q('kubernetes service nodeports; NOTE: this must be the last rule in this chain'), destinations, '-j', KUBE_NODEPORTS);

  if (!opts.conntrackTCPLiberal) filterRules.write('-A', KUBE_FORWARD, '-m', 'conntrack', '--ctstate', 'INVALID', '-j', 'DROP');
  filterRules.write('-A', KUBE_FORWARD, '-m', 'comment', '--comment', q('kubernetes forwarding rules'), '-m', 'mark', '--mark', `${mark}/${mark}`, '-j', 'ACCEPT');
  filterRules.write('-A', KUBE_FORWARD, '-m', 'comment', '--comment', q('kubernetes forwarding conntrack rule'), '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT');

  const text = [
    '*filter',
    ...filterChains.lines,
    ...(opts.extraFilterLines ?? []),
    ...filterRules.lines,
    'COMMIT',
    '*nat',
    ...natChains.lines,
    ...(opts.extraNatLines ?? []),
    ...natRules.lines,
    'COMMIT',
    '',
  ].join('\n');
  return {
    text,
    activeNatChains: active,
    deletedChains,
    written,
    filterRules: filterRules.lines.length,
    natRules: natRules.lines.length + discard.rules.lines.length - deletedChains.length,
  };
}

function writeServiceToEndpointRules(rules: Lines, spn: string, protocol: string, svc: ServicePortInfo, svcChain: string, endpoints: string[]): void {
  // Session affinity first: a client seen recently goes back to its endpoint.
  if (svc.stickySeconds !== undefined) {
    for (const ep of endpoints) {
      const sep = endpointChain(spn, protocol, ep);
      rules.write('-A', svcChain, '-m', 'comment', '--comment', q(`${spn} -> ${ep}`), '-m', 'recent', '--name', sep, '--rcheck', '--seconds', String(svc.stickySeconds), '--reap', '-j', sep);
    }
  }
  // Then load balancing: rule i matches with probability 1/(n-i); the last always.
  const n = endpoints.length;
  endpoints.forEach((ep, i) => {
    const stat = i < n - 1 ? ['-m', 'statistic', '--mode', 'random', '--probability', probability(n - i)] : [];
    rules.write('-A', svcChain, '-m', 'comment', '--comment', q(`${spn} -> ${ep}`), stat, '-j', endpointChain(spn, protocol, ep));
  });
}

function containsIP(cidr: string, ip: string): boolean {
  try {
    return cidrContains(parseCidr(cidr.includes('/') ? cidr : `${cidr}/32`), ip);
  } catch {
    return false;
  }
}

/** The nat chains named in iptables-save output (":NAME POLICY [p:b]" lines). */
export function chainsFromSave(save: string): Set<string> {
  const out = new Set<string>();
  for (const line of save.split('\n')) if (line.startsWith(':')) out.add(line.slice(1).split(' ')[0]);
  return out;
}
