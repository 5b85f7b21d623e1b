// Names of the nftables objects the proxy writes, as upstream kube-proxy's
// nftables mode names them, so that `nft list table ip kube-proxy` reads the
// same on k8ts as on Kubernetes.
//
// Everything sits in one table, so names need no "kube-" prefix. Per-service
// chains are `<prefix><HASH>-<ns>/<name>/<proto>/<portName>` and per-endpoint
// chains and affinity sets `<prefix><HASH>-<ns>/<name>/<proto>/<portName>__<ip>/<port>`,
// where HASH is the first 8 characters of the base32 (RFC 4648) encoding of the
// SHA-256 of the rest of the name. Only these names contain "/", which is how
// the fixed chains are told apart from per-service ones.
import { createHash } from 'node:crypto';

export const DEFAULT_TABLE = 'kube-proxy';

// base chains (`<type>-<hook>`)
export const FILTER_PREROUTING = 'filter-prerouting';
export const FILTER_INPUT = 'filter-input';
export const FILTER_FORWARD = 'filter-forward';
export const FILTER_OUTPUT = 'filter-output';
export const FILTER_OUTPUT_POST_DNAT = 'filter-output-post-dnat';
export const NAT_PREROUTING = 'nat-prerouting';
export const NAT_OUTPUT = 'nat-output';
export const NAT_POSTROUTING = 'nat-postrouting';

// service dispatch
export const SERVICES_CHAIN = 'services';
export const SERVICE_IPS_MAP = 'service-ips';
export const SERVICE_NODEPORTS_MAP = 'service-nodeports';
export const NODEPORT_IPS_SET = 'nodeport-ips';
export const CLUSTER_IPS_SET = 'cluster-ips';

// services without (usable) endpoints
export const SERVICE_ENDPOINTS_CHECK_CHAIN = 'service-endpoints-check';
export const NODEPORT_ENDPOINTS_CHECK_CHAIN = 'nodeport-endpoints-check';
export const NO_ENDPOINT_SERVICES_MAP = 'no-endpoint-services';
export const NO_ENDPOINT_NODEPORTS_MAP = 'no-endpoint-nodeports';
export const REJECT_CHAIN = 'reject-chain';

// traffic to unallocated cluster IPs or undefined ports of cluster IPs
export const CLUSTER_IPS_CHECK_CHAIN = 'cluster-ips-check';

// loadBalancerSourceRanges
export const FIREWALL_IPS_MAP = 'firewall-ips';
export const FIREWALL_CHECK_CHAIN = 'firewall-check';

// masquerading
export const MARK_MASQ_CHAIN = 'mark-for-masquerade';
export const MASQUERADING_CHAIN = 'masquerading';

// per-service / per-endpoint prefixes
export const CLUSTER_POLICY_PREFIX = 'service-';
export const LOCAL_POLICY_PREFIX = 'local-';
export const EXTERNAL_PREFIX = 'external-';
export const FIREWALL_PREFIX = 'firewall-';
export const ENDPOINT_PREFIX = 'endpoint-';
export const AFFINITY_PREFIX = 'affinity-';

/** nft's limit on object names (knftables' NameLengthMax). */
const NAME_LENGTH_MAX = 256;
/** Room kept for the longest prefix above, hyphen included. */
const PREFIX_LENGTH_MAX = 16;
const BASE_LENGTH_MAX = NAME_LENGTH_MAX - PREFIX_LENGTH_MAX;

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** The first 8 characters of the standard base32 encoding of `bytes` (40 bits: 5 bytes). */
function base32Prefix8(b: Uint8Array): string {
  // 40 bits as a high 20 and a low 20 (exact in doubles).
  const hi = (b[0] << 12) | (b[1] << 4) | (b[2] >> 4);
  const lo = ((b[2] & 15) << 16) | (b[3] << 8) | b[4];
  let out = '';
  for (const v of [hi, lo]) out += BASE32[(v >> 15) & 31] + BASE32[(v >> 10) & 31] + BASE32[(v >> 5) & 31] + BASE32[v & 31];
  return out;
}

// Re-rendering a service port re-derives the names of its endpoints: remember them.
const cache = new Map<string, string>();
const CACHE_MAX = 200_000;

/** upstream's hashAndTruncate: `HASH-name`, cut to fit with "..." if ever too long. */
export function hashAndTruncate(name: string): string {
  let out = cache.get(name);
  if (out !== undefined) return out;
  const hash = createHash('sha256').update(name).digest();
  out = `${base32Prefix8(hash)}-${name}`;
  if (out.length > BASE_LENGTH_MAX) out = out.slice(0, BASE_LENGTH_MAX - 3) + '...';
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(name, out);
  return out;
}

/** `HASH-ns/name/proto/portName`, e.g. "ULMVA6XW-ns1/svc1/tcp/p80". */
export function servicePortChainNameBase(namespace: string, name: string, protocol: string, portName: string): string {
  return hashAndTruncate(`${namespace}/${name}/${protocol.toLowerCase()}/${portName}`);
}

/** `HASH-ns/name/proto/portName__ip/port`, e.g. "5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80". */
export function servicePortEndpointChainNameBase(
  namespace: string,
  name: string,
  protocol: string,
  portName: string,
  ip: string,
  port: number,
): string {
  return hashAndTruncate(`${namespace}/${name}/${protocol.toLowerCase()}/${portName}__${ip.replaceAll(':', '.')}/${port}`);
}

/** Per-service and per-endpoint chains are the only ones with a "/" in their names. */
export const isServiceChainName = (chain: string): boolean => chain.includes('/');
export const isAffinitySetName = (set: string): boolean => set.startsWith(AFFINITY_PREFIX);
