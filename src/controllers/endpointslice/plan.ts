// The EndpointSlice controller's pure core (upstream pkg/controller/endpointslice
// and staging endpointslice reconciler, simplified): from a Service, the pods
// of its namespace and the nodes, the endpoints it should publish, grouped by
// their set of resolved ports into slices of at most 100; then, given the
// existing slices the controller manages for it, what to create, update and delete.
import {
  ANNOTATION_TRIGGER_TIME,
  LABEL_HEADLESS,
  type Obj,
  canonical,
  cmp,
  cmpIP,
  endpointsLabels,
  findPort,
  isPodReady,
  managesService,
  serviceSelects,
  shouldPodBeInEndpoints,
  shouldSetHostname,
} from '../endpoints/util.js';

export const MAX_ENDPOINTS_PER_SLICE = 100;
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
export const CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
export const LABEL_ZONE = 'topology.kubernetes.io/zone';

export interface SliceEndpoint {
  addresses: string[];
  conditions: { ready: boolean; serving: boolean; terminating: boolean };
  hostname?: string;
  nodeName?: string;
  zone?: string;
  targetRef: { kind: 'Pod'; namespace: string; name: string; uid: string };
}
export interface SlicePort {
  name: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

/** Desired endpoints grouped by port set (key: canonical ports). */
export interface EndpointGroup {
  ports: SlicePort[];
  endpoints: SliceEndpoint[];
}

/** upstream podToEndpoint. */
export function podToEndpoint(pod: Obj, svc: Obj, nodes: Map<string, Obj> = new Map()): SliceEndpoint {
  const serving = isPodReady(pod);
  const terminating = !!pod.metadata?.deletionTimestamp;
  // "ready" is never true for a terminating pod, unless publishNotReadyAddresses.
  const ready = !!svc.spec?.publishNotReadyAddresses || (serving && !terminating);
  const ep: SliceEndpoint = {
    addresses: [pod.status.podIP],
    conditions: { ready, serving, terminating },
    targetRef: { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
  };
  if (shouldSetHostname(pod, svc)) ep.hostname = pod.spec.hostname;
  const nodeName = pod.spec?.nodeName;
  if (nodeName) {
    ep.nodeName = nodeName;
    const zone = nodes.get(nodeName)?.metadata?.labels?.[LABEL_ZONE];
    if (zone) ep.zone = zone;
  }
  return ep;
}

const portsKey = (ps: SlicePort[]): string => canonical(ps);

/** The desired endpoints of a service, grouped by resolved port set; null when the controller manages nothing for it. */
export function desiredGroups(svc: Obj, pods: Obj[], nodes: Map<string, Obj> = new Map()): EndpointGroup[] | null {
  if (!managesService(svc)) return null;
  const groups = new Map<string, EndpointGroup>();
  for (const pod of pods) {
    if (pod.metadata?.namespace !== svc.metadata?.namespace || !serviceSelects(svc, pod)) continue;
    if (!shouldPodBeInEndpoints(pod, true)) continue;
    const ports: SlicePort[] = [];
    for (const sp of svc.spec?.ports ?? []) {
      const num = findPort(pod, sp);
      if (num === undefined) continue;
      const p: SlicePort = { name: sp.name ?? '', port: num, protocol: sp.protocol ?? 'TCP' };
      if (sp.appProtocol) p.appProtocol = sp.appProtocol;
      ports.push(p);
    }
    ports.sort((a, b) => cmp(a.name, b.name) || a.port - b.port);
    const k = portsKey(ports);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { ports, endpoints: [] }));
    g.endpoints.push(podToEndpoint(pod, svc, nodes));
  }
  const out = [...groups.entries()].sort((a, b) => cmp(a[0], b[0])).map(([, g]) => g);
  for (const g of out) g.endpoints.sort((a, b) => cmpIP(a.addresses[0]!, b.addresses[0]!) || cmp(a.targetRef.uid, b.targetRef.uid));
  return out;
}

/** Labels of a slice: the service's (as Endpoints), the service name and the manager. */
export function sliceLabels(svc: Obj): Record<string, string> {
  const labels = endpointsLabels(svc);
  if (svc.spec?.clusterIP !== 'None') delete labels[LABEL_HEADLESS];
  labels[LABEL_SERVICE_NAME] = svc.metadata.name;
  labels[LABEL_MANAGED_BY] = CONTROLLER_NAME;
  return labels;
}

/** A new slice for the service (generateName `<svc>-`, owned by the service). */
export function newSlice(svc: Obj, ports: SlicePort[], endpoints: SliceEndpoint[]): Obj {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      generateName: `${svc.metadata.name}-`,
      namespace: svc.metadata.namespace,
      labels: sliceLabels(svc),
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: svc.metadata.name, uid: svc.metadata.uid, controller: true, blockOwnerDeletion: true }],
    },
    addressType: 'IPv4',
    endpoints,
    ports,
  };
}

export interface SlicePlan {
  create: Obj[];
  /** Existing slices (with their resourceVersion) rewritten to new contents. */
  update: Obj[];
  delete: Obj[];
}

/** The existing slices the controller manages for a service. */
export function ownedSlices(svc: Obj, slices: Obj[]): Obj[] {
  return slices.filter(
    (s) =>
      s.metadata?.namespace === svc.metadata?.namespace &&
      s.metadata?.labels?.[LABEL_SERVICE_NAME] === svc.metadata?.name &&
      s.metadata?.labels?.[LABEL_MANAGED_BY] === CONTROLLER_NAME,
  );
}

/**
 * Reconciles the desired endpoints with the existing slices: per port set, the
 * endpoints are cut into chunks of at most maxPerSlice; each chunk reuses an
 * existing slice with the same ports (the one already holding the most of its
 * endpoints), updated only if its contents differ; leftovers are deleted.
 * `svc === null` or a service the controller does not manage: every slice goes.
 */
export function planSlices(
  svc: Obj,
  pods: Obj[],
  existing: Obj[],
  opts: { nodes?: Map<string, Obj>; now?: string; maxPerSlice?: number } = {},
): SlicePlan {
  const plan: SlicePlan = { create: [], update: [], delete: [] };
  const mine = ownedSlices(svc, existing);
  const groups = desiredGroups(svc, pods, opts.nodes);
  if (groups === null) {
    // ExternalName (or a selector removed): the managed slices go; selector-less ones left as they are.
    if (svc.spec?.type === 'ExternalName' || !svc.spec?.selector) plan.delete.push(...mine);
    return plan;
  }
  const max = opts.maxPerSlice ?? MAX_ENDPOINTS_PER_SLICE;
  const now = opts.now ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const labels = sliceLabels(svc);
  const unused = new Set(mine.filter((s) => s.addressType === 'IPv4' || !s.addressType));
  for (const s of mine) if (!unused.has(s)) plan.delete.push(s);
  for (const g of groups) {
    const chunks: SliceEndpoint[][] = [];
    for (let i = 0; i < g.endpoints.length; i += max) chunks.push(g.endpoints.slice(i, i + max));
    const key = portsKey(g.ports);
    for (const chunk of chunks) {
      const uids = new Set(chunk.map((e) => e.targetRef.uid));
      let best: Obj | undefined;
      let bestScore = -1;
      for (const s of unused) {
        if (portsKey(s.ports ?? []) !== key) continue;
        const score = (s.endpoints ?? []).filter((e: Obj) => uids.has(e?.targetRef?.uid)).length;
        if (score > bestScore) [best, bestScore] = [s, score];
      }
      if (!best) {
        const s = newSlice(svc, g.ports, chunk);
        s.metadata.annotations = { [ANNOTATION_TRIGGER_TIME]: now };
        plan.create.push(s);
        continue;
      }
      unused.delete(best);
      const same =
        canonical(best.endpoints) === canonical(chunk) &&
        canonical(best.ports) === canonical(g.ports) &&
        canonical(best.metadata?.labels) === canonical(labels) &&
        (best.metadata?.ownerReferences ?? []).some((o: Obj) => o?.uid === svc.metadata.uid);
      if (same) continue;
      plan.update.push({
        ...best,
        metadata: {
          ...best.metadata,
          labels,
          annotations: { ...(best.metadata?.annotations ?? {}), [ANNOTATION_TRIGGER_TIME]: now },
          ownerReferences: newSlice(svc, [], []).metadata.ownerReferences,
        },
        endpoints: chunk,
        ports: g.ports,
      });
    }
  }
  // With no endpoints at all, upstream keeps one empty placeholder slice.
  if (groups.length === 0) {
    const keep = [...unused].find((s) => (s.ports ?? []).length === 0 && (s.endpoints ?? []).length === 0);
    if (keep) unused.delete(keep);
    else if ([...unused].length > 0) {
      const s = [...unused][0]!;
      unused.delete(s);
      plan.update.push({ ...s, metadata: { ...s.metadata, labels, annotations: { ...(s.metadata?.annotations ?? {}), [ANNOTATION_TRIGGER_TIME]: now } }, endpoints: [], ports: [] });
    } else {
      plan.create.push(newSlice(svc, [], []));
    }
  }
  plan.delete.push(...unused);
  return plan;
}
