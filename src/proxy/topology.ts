// Which endpoints a service port uses, as upstream's CategorizeEndpoints:
// ready endpoints, or if there are none, serving-and-terminating ones as a
// fallback; for traffic policy Local only this node's endpoints.
import { type EndpointInfo, type ServicePortInfo, usesClusterEndpoints, usesLocalEndpoints } from './types.js';

export interface Categorized {
  /** Endpoints for cluster-wide traffic (undefined when the service does not use them). */
  cluster: EndpointInfo[];
  /** This node's endpoints for traffic policy Local. */
  local: EndpointInfo[];
  /** Every endpoint some traffic may reach (for conntrack cleanup and SEP chains). */
  allReachable: EndpointInfo[];
  /** Any ready or serving-terminating endpoint anywhere. */
  hasAny: boolean;
}

export function categorizeEndpoints(svc: ServicePortInfo, endpoints: EndpointInfo[]): Categorized {
  let cluster: EndpointInfo[] = [];
  let local: EndpointInfo[] = [];
  let hasAny = false;
  if (usesClusterEndpoints(svc)) {
    cluster = endpoints.filter((e) => e.ready);
    if (cluster.length === 0) cluster = endpoints.filter((e) => e.serving && e.terminating);
    if (cluster.length > 0) hasAny = true;
  }
  if (!usesLocalEndpoints(svc)) return { cluster, local, allReachable: cluster, hasAny };
  let localReady = false;
  let localServingTerminating = false;
  for (const e of endpoints) {
    if (e.ready) {
      hasAny = true;
      if (e.isLocal) localReady = true;
    } else if (e.serving && e.terminating) {
      hasAny = true;
      if (e.isLocal) localServingTerminating = true;
    }
  }
  if (localReady) local = endpoints.filter((e) => e.isLocal && e.ready);
  else if (localServingTerminating) local = endpoints.filter((e) => e.isLocal && e.serving && e.terminating);
  if (!usesClusterEndpoints(svc)) return { cluster, local, allReachable: local, hasAny };
  const seen = new Set<string>();
  const allReachable = [...cluster, ...local].filter((e) => {
    const k = `${e.ip}:${e.port}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return { cluster, local, allReachable, hasAny };
}
