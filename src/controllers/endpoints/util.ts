// Helpers shared by the Endpoints and EndpointSlice controllers (upstream's
// pkg/api/v1/pod, pkg/controller/util/endpoint and endpointslice util).
import { selectorFromSet } from '../../api/selectors.js';

export type Obj = Record<string, any>;

export const LABEL_HEADLESS = 'service.kubernetes.io/headless';
export const ANNOTATION_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';

/** True for a service whose endpoints the controllers manage: it has a selector and is not ExternalName. */
export function managesService(svc: Obj): boolean {
  return !!svc.spec?.selector && svc.spec?.type !== 'ExternalName';
}

/** The service's selector matches the pod's labels (a selector-less service matches nothing). */
export function serviceSelects(svc: Obj, pod: Obj): boolean {
  const sel = svc.spec?.selector;
  if (!sel) return false;
  return selectorFromSet(sel).matches(pod.metadata?.labels ?? {});
}

/** podutil.IsPodReady: the Ready condition is True. */
export function isPodReady(pod: Obj): boolean {
  return (pod.status?.conditions ?? []).some((c: Obj) => c?.type === 'Ready' && c?.status === 'True');
}

export function isTerminal(pod: Obj): boolean {
  const p = pod.status?.phase;
  return p === 'Succeeded' || p === 'Failed';
}

/** endpointsliceutil.ShouldPodBeInEndpoints. */
export function shouldPodBeInEndpoints(pod: Obj, includeTerminating: boolean): boolean {
  if (isTerminal(pod)) return false;
  if (!pod.status?.podIP) return false;
  if (!includeTerminating && pod.metadata?.deletionTimestamp) return false;
  return true;
}

/** endpointutil.ShouldSetHostname: the pod has a hostname and its subdomain is the service's name. */
export function shouldSetHostname(pod: Obj, svc: Obj): boolean {
  return !!pod.spec?.hostname && pod.spec?.subdomain === svc.metadata?.name && pod.metadata?.namespace === svc.metadata?.namespace;
}

/** podutil.FindPort: the pod's port for a service port (a number, or a named container port of the same protocol). */
export function findPort(pod: Obj, svcPort: Obj): number | undefined {
  const target = svcPort.targetPort ?? svcPort.port;
  const proto = svcPort.protocol ?? 'TCP';
  if (typeof target === 'number') return target;
  if (typeof target === 'string') {
    if (/^\d+$/.test(target)) return Number(target);
    const containers: Obj[] = [
      ...(pod.spec?.containers ?? []),
      // Sidecars (restartable init containers) count too, as upstream.
      ...(pod.spec?.initContainers ?? []).filter((c: Obj) => c?.restartPolicy === 'Always'),
    ];
    for (const c of containers) {
      for (const p of c?.ports ?? []) {
        if (p?.name === target && (p.protocol ?? 'TCP') === proto) return p.containerPort;
      }
    }
  }
  return undefined;
}

/** The service's labels for its endpoints objects, plus the headless label when clusterIP is None. */
export function endpointsLabels(svc: Obj): Record<string, string> {
  const labels: Record<string, string> = { ...(svc.metadata?.labels ?? {}) };
  delete labels[LABEL_HEADLESS];
  if (svc.spec?.clusterIP === 'None') labels[LABEL_HEADLESS] = '';
  return labels;
}

/** Canonical JSON: keys sorted; undefined, null and empty arrays/objects dropped. For "did anything change?". */
export function canonical(x: unknown): string {
  return JSON.stringify(strip(x)) ?? '';
}

function strip(x: unknown): unknown {
  if (Array.isArray(x)) {
    const a = x.map(strip).filter((v) => v !== undefined);
    return a.length ? a : undefined;
  }
  if (x && typeof x === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(x).sort()) {
      const v = strip((x as Obj)[k]);
      if (v !== undefined) out[k] = v;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return x === null ? undefined : x;
}

/** Byte-wise string order, as Go's. */
export const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Numeric IP order for IPv4 (falls back to string order). */
export function cmpIP(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  if (pa.length === 4 && pb.length === 4 && pa.every(Number.isFinite) && pb.every(Number.isFinite)) {
    for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!;
    return 0;
  }
  return cmp(a, b);
}
