// Service defaults (upstream SetDefaults_Service) and the strategy steps that
// keep clusterIP/clusterIPs and allocated values coherent across updates
// (upstream's normalizeClusterIPs, patchAllocatedValues, dropTypeDependentFields).

import { type Obj, isObj, arr, sameJSON } from './util.js';

export const DEFAULT_CLIENT_IP_AFFINITY_SECONDS = 10800;
/** The family given to services when no allocator decides otherwise (headless services). */
export const DEFAULT_IP_FAMILY = 'IPv4';

export const needsClusterIP = (svc: Obj): boolean => svc?.spec?.type !== 'ExternalName';
export const needsNodePort = (svc: Obj): boolean => svc?.spec?.type === 'NodePort' || svc?.spec?.type === 'LoadBalancer';
/** ExternallyAccessible: reachable from outside the cluster, so externalTrafficPolicy applies. */
export const externallyAccessible = (svc: Obj): boolean =>
  needsNodePort(svc) || (svc?.spec?.type === 'ClusterIP' && arr(svc?.spec?.externalIPs).length > 0);
export const needsHealthCheck = (svc: Obj): boolean => svc?.spec?.type === 'LoadBalancer' && svc?.spec?.externalTrafficPolicy === 'Local';
export const isHeadless = (svc: Obj): boolean => {
  const ips = arr(svc?.spec?.clusterIPs);
  return ips.length ? ips.length === 1 && ips[0] === 'None' : svc?.spec?.clusterIP === 'None';
};

export function defaultService(svc: Obj): void {
  if (!isObj(svc.spec)) svc.spec = {};
  const spec = svc.spec;
  if (!spec.sessionAffinity) spec.sessionAffinity = 'None';
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === 'ClientIP' && typeof spec.sessionAffinityConfig?.clientIP?.timeoutSeconds !== 'number') {
    spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: DEFAULT_CLIENT_IP_AFFINITY_SECONDS } };
  }
  if (!spec.type) spec.type = 'ClusterIP';
  for (const p of arr(spec.ports)) {
    if (!isObj(p)) continue;
    if (!p.protocol) p.protocol = 'TCP';
    if (p.targetPort === undefined || p.targetPort === null || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
  if (externallyAccessible(svc) && !spec.externalTrafficPolicy) spec.externalTrafficPolicy = 'Cluster';
  if (!spec.internalTrafficPolicy && ['ClusterIP', 'NodePort', 'LoadBalancer'].includes(spec.type)) spec.internalTrafficPolicy = 'Cluster';
  if (spec.type === 'LoadBalancer' && typeof spec.allocateLoadBalancerNodePorts !== 'boolean') spec.allocateLoadBalancerNodePorts = true;
  if (spec.type === 'LoadBalancer') {
    for (const ing of arr(svc.status?.loadBalancer?.ingress)) if (isObj(ing) && ing.ip && !ing.ipMode) ing.ipMode = 'VIP';
  }
  normalizeClusterIPs(svc);
  if (needsClusterIP(svc)) {
    if (!spec.ipFamilyPolicy) spec.ipFamilyPolicy = 'SingleStack';
    // A headless service allocates nothing, so nothing else will pick its family.
    if (isHeadless(svc) && arr(spec.ipFamilies).length === 0) setServiceIPFamilies(svc, [DEFAULT_IP_FAMILY]);
  }
}

/**
 * The allocator's hook: record the families of the addresses it assigned
 * (in clusterIPs order) when the user named none.
 */
export function setServiceIPFamilies(svc: Obj, families: string[]): void {
  if (!isObj(svc.spec)) svc.spec = {};
  if (arr(svc.spec.ipFamilies).length === 0) svc.spec.ipFamilies = [...families];
}

/**
 * Keeps spec.clusterIP and spec.clusterIPs in step, as upstream's strategy
 * does: an old client sets only clusterIP; a patch may drop clusterIPs.
 */
export function normalizeClusterIPs(svc: Obj, old?: Obj): void {
  const spec = svc.spec;
  if (!isObj(spec)) return;
  const ips = arr(spec.clusterIPs);
  if (!old) {
    if (spec.clusterIP && ips.length === 0) spec.clusterIPs = [spec.clusterIP];
    return;
  }
  const o = old.spec ?? {};
  const oldIPs = arr(o.clusterIPs);
  if (oldIPs.length > 0 && ips.length === 0 && (o.clusterIP ?? '') === (spec.clusterIP ?? '')) spec.clusterIPs = [...oldIPs];
  if ((o.clusterIP ?? '') !== (spec.clusterIP ?? '')) {
    const same = sameJSON(oldIPs, arr(spec.clusterIPs));
    if (o.clusterIP && !spec.clusterIP && same) delete spec.clusterIPs;
    if (spec.clusterIP && same) spec.clusterIPs = [spec.clusterIP];
  }
}

/**
 * The update-time strategy of services: carry over what the allocators
 * assigned when the client left it out, drop fields the new type no longer
 * uses, and normalize clusterIPs. Call before validating an update.
 */
export function prepareServiceForUpdate(svc: Obj, old: Obj): void {
  if (!isObj(svc.spec) || !isObj(old?.spec)) return;
  const spec = svc.spec;
  const o = old.spec;
  // patchAllocatedValues
  if (needsClusterIP(old) && needsClusterIP(svc)) {
    if (!spec.clusterIP && o.clusterIP) spec.clusterIP = o.clusterIP;
    if (arr(spec.clusterIPs).length === 0 && arr(o.clusterIPs).length > 0) spec.clusterIPs = [...o.clusterIPs];
  }
  if (needsNodePort(old) && needsNodePort(svc)) {
    for (const p of arr(spec.ports)) {
      if (!isObj(p) || p.nodePort) continue;
      const prev = arr(o.ports).find((q) => q?.port === p.port && (q?.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
      if (prev?.nodePort) p.nodePort = prev.nodePort;
    }
  }
  if (needsHealthCheck(old) && needsHealthCheck(svc) && !spec.healthCheckNodePort && o.healthCheckNodePort) {
    spec.healthCheckNodePort = o.healthCheckNodePort;
  }
  // dropTypeDependentFields: only values the client did not change are dropped.
  if (needsClusterIP(old) && !needsClusterIP(svc)) {
    if (sameJSON(spec.clusterIP, o.clusterIP)) delete spec.clusterIP;
    if (sameJSON(spec.clusterIPs, o.clusterIPs)) delete spec.clusterIPs;
    if (sameJSON(spec.ipFamilies, o.ipFamilies)) delete spec.ipFamilies;
    if (sameJSON(spec.ipFamilyPolicy, o.ipFamilyPolicy)) delete spec.ipFamilyPolicy;
  }
  if (needsNodePort(old) && !needsNodePort(svc)) {
    for (const p of arr(spec.ports)) {
      const prev = arr(o.ports).find((q) => q?.port === p?.port && q?.protocol === p?.protocol);
      if (isObj(p) && prev && p.nodePort === prev.nodePort) delete p.nodePort;
    }
  }
  if (needsHealthCheck(old) && !needsHealthCheck(svc) && spec.healthCheckNodePort === o.healthCheckNodePort) delete spec.healthCheckNodePort;
  if (o.type === 'LoadBalancer' && spec.type !== 'LoadBalancer') {
    if (sameJSON(spec.allocateLoadBalancerNodePorts, o.allocateLoadBalancerNodePorts)) delete spec.allocateLoadBalancerNodePorts;
    if (sameJSON(spec.loadBalancerClass, o.loadBalancerClass)) delete spec.loadBalancerClass;
  }
  if (externallyAccessible(old) && !externallyAccessible(svc) && spec.externalTrafficPolicy === o.externalTrafficPolicy) delete spec.externalTrafficPolicy;
  normalizeClusterIPs(svc, old);
}
