// Chain names and small formatting helpers of kube-proxy's iptables mode
// (pkg/proxy/iptables/proxier.go): the names are upstream's, so that a rule
// dump of k8ts reads like one of Kubernetes and the hashes are the same.
import { createHash } from 'node:crypto';
import type { ServicePortInfo } from '../types.js';

export const KUBE_SERVICES = 'KUBE-SERVICES';
export const KUBE_EXTERNAL_SERVICES = 'KUBE-EXTERNAL-SERVICES';
export const KUBE_NODEPORTS = 'KUBE-NODEPORTS';
export const KUBE_POSTROUTING = 'KUBE-POSTROUTING';
export const KUBE_MARK_MASQ = 'KUBE-MARK-MASQ';
export const KUBE_FORWARD = 'KUBE-FORWARD';
export const KUBE_PROXY_FIREWALL = 'KUBE-PROXY-FIREWALL';

/** Prefixes of the per-service chains (all in the nat table). */
export const SERVICE_CHAIN_PREFIXES = ['KUBE-SVC-', 'KUBE-SVL-', 'KUBE-SEP-', 'KUBE-FW-', 'KUBE-EXT-'];
export const isServiceChainName = (c: string): boolean => SERVICE_CHAIN_PREFIXES.some((p) => c.startsWith(p));

/** The "top-level" chains kube-proxy owns in each table, in upstream's declaration order. */
export const FILTER_CHAINS = [KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL];
export const NAT_CHAINS = [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ];

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 (standard alphabet, with padding), as Go's base32.StdEncoding. */
export function base32(buf: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  while (out.length % 8 !== 0) out += '=';
  return out;
}

/** sha256 -> base32 -> first 16 characters. */
function hash16(s: string): string {
  return base32(createHash('sha256').update(s).digest()).slice(0, 16);
}

/**
 * upstream's ServicePortName.String(): "ns/name:port", or "ns/name" when the
 * port has no name. (This is what chain names hash and comments show.)
 */
export function servicePortNameString(svc: Pick<ServicePortInfo, 'namespace' | 'name' | 'portName'>): string {
  return `${svc.namespace}/${svc.name}${svc.portName ? `:${svc.portName}` : ''}`;
}

/** portProtoHash(servicePortName, protocol): protocol lower-case ("tcp"). */
export function portProtoHash(servicePortName: string, protocol: string): string {
  return hash16(servicePortName + protocol.toLowerCase());
}

export const serviceChain = (spn: string, proto: string): string => `KUBE-SVC-${portProtoHash(spn, proto)}`;
export const serviceLocalChain = (spn: string, proto: string): string => `KUBE-SVL-${portProtoHash(spn, proto)}`;
export const serviceFirewallChain = (spn: string, proto: string): string => `KUBE-FW-${portProtoHash(spn, proto)}`;
export const serviceExternalChain = (spn: string, proto: string): string => `KUBE-EXT-${portProtoHash(spn, proto)}`;
/** KUBE-SEP-: the endpoint ("ip:port") is part of the hashed string. */
export const endpointChain = (spn: string, proto: string, endpoint: string): string =>
  `KUBE-SEP-${hash16(spn + proto.toLowerCase() + endpoint)}`;

/** 1/n formatted as upstream's computeProbability (%0.10f). */
export function probability(n: number): string {
  return (1 / n).toFixed(10);
}
