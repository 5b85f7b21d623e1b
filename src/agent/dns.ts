// A pod's DNS configuration (its /etc/resolv.conf), formed as kubelet's DNS
// configurer does:
//   - the policy: ClusterFirst uses the cluster DNS server (falling back to
//     Default for hostNetwork pods, or when no --cluster-dns is set);
//     ClusterFirstWithHostNet uses it even with hostNetwork; Default uses the
//     node's resolv.conf; None uses only spec.dnsConfig;
//   - cluster search path `<ns>.svc.<domain> svc.<domain> <domain>` followed by
//     the node's search domains, and `options ndots:5`;
//   - spec.dnsConfig appended (duplicates dropped; options override by name);
//   - upstream's limits: 3 nameservers, 32 search domains of at most 253
//     characters, a search line of at most 2048 characters; what is cut is
//     reported as a DNSConfigForming warning.
// Pure: the node's resolv.conf comes in as text.
import { nthIp, parseCidr } from '../util/cidr.js';

export type Obj = Record<string, any>;

export interface ResolvConf {
  nameservers: string[];
  searches: string[];
  options: string[];
}

export interface ClusterDnsSettings {
  /** --cluster-dns: the cluster DNS servers (empty: none configured). */
  clusterDns: string[];
  /** --cluster-domain, e.g. cluster.local (empty: no cluster search path). */
  clusterDomain: string;
  /** The node's resolv.conf contents (kubelet --resolv-conf). */
  hostResolvConf: string;
}

export interface PodDnsResult {
  config: ResolvConf;
  /** Warnings to record as Events on the pod: [reason, message]. */
  warnings: Array<[string, string]>;
}

export const MAX_NAMESERVERS = 3;
export const MAX_SEARCH_PATHS = 32;
export const MAX_SEARCH_LIST_CHARS = 2048;
const MAX_SEARCH_DOMAIN_LENGTH = 253;
const DEFAULT_OPTIONS = ['ndots:5'];

/** Parses resolv.conf text: nameserver, search/domain and options lines (the last search/domain wins, as glibc). */
export function parseResolvConf(text: string): ResolvConf {
  const out: ResolvConf = { nameservers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (!line) continue;
    const [key, ...fields] = line.split(/\s+/);
    if (key === 'nameserver' && fields[0]) out.nameservers.push(fields[0]);
    else if (key === 'search' || key === 'domain') out.searches = fields.map((f) => f.toLowerCase().replace(/\.$/, '')).filter((f) => f && f !== '.');
    else if (key === 'options') out.options.push(...fields);
  }
  return out;
}

/** resolv.conf text as the container runtime writes it. */
export function formatResolvConf(c: ResolvConf): string {
  const lines: string[] = [];
  if (c.searches.length) lines.push(`search ${c.searches.join(' ')}`);
  for (const ns of c.nameservers) lines.push(`nameserver ${ns}`);
  if (c.options.length) lines.push(`options ${c.options.join(' ')}`);
  return lines.join('\n') + '\n';
}

const omitDuplicates = (xs: string[]): string[] => [...new Set(xs)];

/** Options merged by name; later ones win, keeping the first one's position. */
export function mergeOptions(existing: string[], extra: Array<{ name?: string; value?: string }>): string[] {
  const merged = new Map<string, string>();
  for (const o of existing) merged.set(o.split(':')[0], o);
  for (const o of extra) {
    if (!o?.name) continue;
    merged.set(o.name, o.value !== undefined && o.value !== null ? `${o.name}:${o.value}` : o.name);
  }
  return [...merged.values()];
}

type Mode = 'cluster' | 'host' | 'none';

/** The effective mode of the pod's dnsPolicy, and the warning when ClusterFirst cannot be honoured. */
function modeOf(pod: Obj, s: ClusterDnsSettings): { mode: Mode; warning?: [string, string] } {
  const policy: string = pod.spec?.dnsPolicy || 'ClusterFirst';
  const hostNetwork = !!pod.spec?.hostNetwork;
  let mode: Mode;
  switch (policy) {
    case 'None':
      return { mode: 'none' };
    case 'ClusterFirstWithHostNet':
      mode = 'cluster';
      break;
    case 'ClusterFirst':
      mode = hostNetwork ? 'host' : 'cluster';
      break;
    default:
      mode = 'host';
  }
  if (mode === 'cluster' && s.clusterDns.length === 0) {
    return {
      mode: 'host',
      warning: [
        'MissingClusterDNS',
        `pod: "${pod.metadata?.name}_${pod.metadata?.namespace}(${pod.metadata?.uid ?? ''})". kubelet does not have ClusterDNS IP configured and cannot create Pod using "${policy}" policy. Falling back to "Default" policy.`,
      ],
    };
  }
  return { mode };
}

/** The pod's resolv.conf settings, as kubelet's GetPodDNS. */
export function podDnsConfig(pod: Obj, s: ClusterDnsSettings): PodDnsResult {
  const warnings: Array<[string, string]> = [];
  const { mode, warning } = modeOf(pod, s);
  if (warning) warnings.push(warning);
  const host = parseResolvConf(s.hostResolvConf);
  let config: ResolvConf;
  if (mode === 'none') config = { nameservers: [], searches: [], options: [] };
  else if (mode === 'host') config = host;
  else {
    const ns = pod.metadata?.namespace ?? 'default';
    const d = s.clusterDomain;
    const searches = d ? omitDuplicates([`${ns}.svc.${d}`, `svc.${d}`, d, ...host.searches]) : host.searches;
    config = { nameservers: [...s.clusterDns], searches, options: [...DEFAULT_OPTIONS] };
  }
  const extra = pod.spec?.dnsConfig;
  if (extra) {
    config = {
      nameservers: omitDuplicates([...config.nameservers, ...(extra.nameservers ?? [])]),
      searches: omitDuplicates([...config.searches, ...(extra.searches ?? [])]),
      options: mergeOptions(config.options, extra.options ?? []),
    };
  }
  return { config: fitLimits(config, warnings), warnings };
}

function fitLimits(c: ResolvConf, warnings: Array<[string, string]>): ResolvConf {
  let nameservers = c.nameservers;
  if (nameservers.length > MAX_NAMESERVERS) {
    nameservers = nameservers.slice(0, MAX_NAMESERVERS);
    warnings.push(['DNSConfigForming', `Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: ${nameservers.join(' ')}`]);
  }
  let searches = c.searches;
  let cut = false;
  if (searches.length > MAX_SEARCH_PATHS) {
    searches = searches.slice(0, MAX_SEARCH_PATHS);
    cut = true;
  }
  const short = searches.filter((d) => d.length <= MAX_SEARCH_DOMAIN_LENGTH);
  if (short.length !== searches.length) cut = true;
  searches = short;
  while (searches.length && searches.join(' ').length > MAX_SEARCH_LIST_CHARS) {
    searches = searches.slice(0, -1);
    cut = true;
  }
  if (cut) {
    warnings.push(['DNSConfigForming', `Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ${searches.join(' ')}`]);
  }
  return { nameservers, searches, options: c.options };
}

/** The default --cluster-dns: the tenth address of the service CIDR (10.96.0.10 for 10.96.0.0/12), as kubeadm. */
export function defaultClusterDns(serviceCidr: string): string {
  return nthIp(parseCidr(serviceCidr), 10);
}
