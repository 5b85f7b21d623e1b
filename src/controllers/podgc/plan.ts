// The pod garbage collector's pure core, after upstream's pkg/controller/podgc.
// Each pass picks the pods to force-delete (gracePeriodSeconds 0):
//   - terminating pods on nodes that are not Ready and carry the
//     node.kubernetes.io/out-of-service taint (non-graceful node shutdown);
//   - terminated (Succeeded/Failed) pods beyond --terminated-pod-gc-threshold,
//     oldest first;
//   - orphans: pods bound to a node that no longer exists, once the node has
//     been missing for the quarantine period (and the API confirms it);
//   - unscheduled pods being deleted.
// No I/O here (see index.ts).

export type Obj = Record<string, any>;

export const TAINT_OUT_OF_SERVICE = 'node.kubernetes.io/out-of-service';
/** upstream's defaults: --terminated-pod-gc-threshold, the gc period and the orphan quarantine. */
export const DEFAULT_TERMINATED_POD_THRESHOLD = 12500;
export const DEFAULT_GC_PERIOD_MS = 20_000;
export const DEFAULT_QUARANTINE_MS = 40_000;

export interface PodGcOptions {
  /** Keep at most this many terminated pods (0: no limit). */
  terminatedPodThreshold: number;
  /** How long a node must be missing before its pods count as orphans. */
  quarantineMs: number;
}

export interface PodGcPlan {
  outOfService: Obj[];
  terminated: Obj[];
  /** Orphans whose node has been missing for the quarantine period (confirm with a GET before deleting). */
  orphaned: Obj[];
  unscheduledTerminating: Obj[];
  /** Updated: when each missing node that still has pods was first seen missing. */
  missingSince: Map<string, number>;
}

const isTerminated = (p: Obj) => p?.status?.phase === 'Succeeded' || p?.status?.phase === 'Failed';
const isNodeReady = (n: Obj) => (n?.status?.conditions ?? []).some((c: Obj) => c?.type === 'Ready' && c?.status === 'True');
const isOutOfService = (n: Obj) => (n?.spec?.taints ?? []).some((t: Obj) => t?.key === TAINT_OUT_OF_SERVICE);
const created = (p: Obj) => {
  const t = Date.parse(p?.metadata?.creationTimestamp ?? '');
  return Number.isNaN(t) ? 0 : t;
};

export function planPodGc(pods: Obj[], nodes: Map<string, Obj>, prevMissing: Map<string, number>, now: number, opts: PodGcOptions): PodGcPlan {
  const plan: PodGcPlan = { outOfService: [], terminated: [], orphaned: [], unscheduledTerminating: [], missingSince: new Map() };
  const taken = new Set<string>();
  const take = (list: Obj[], p: Obj) => {
    const uid = p.metadata?.uid ?? `${p.metadata?.namespace}/${p.metadata?.name}`;
    if (taken.has(uid)) return;
    taken.add(uid);
    list.push(p);
  };

  for (const p of pods) {
    const nodeName = p.spec?.nodeName;
    if (!p.metadata?.deletionTimestamp || !nodeName) continue;
    const node = nodes.get(nodeName);
    if (node && !isNodeReady(node) && isOutOfService(node)) take(plan.outOfService, p);
  }

  if (opts.terminatedPodThreshold > 0) {
    const terminated = pods.filter(isTerminated);
    const excess = terminated.length - opts.terminatedPodThreshold;
    if (excess > 0) {
      terminated.sort((a, b) => created(a) - created(b) || String(a.metadata?.name).localeCompare(String(b.metadata?.name)));
      for (const p of terminated.slice(0, excess)) take(plan.terminated, p);
    }
  }

  for (const p of pods) {
    const nodeName = p.spec?.nodeName;
    if (!nodeName || nodes.has(nodeName)) continue;
    const since = plan.missingSince.get(nodeName) ?? prevMissing.get(nodeName) ?? now;
    plan.missingSince.set(nodeName, since);
    if (now - since >= opts.quarantineMs) take(plan.orphaned, p);
  }

  for (const p of pods) {
    if (p.metadata?.deletionTimestamp && !p.spec?.nodeName) take(plan.unscheduledTerminating, p);
  }
  return plan;
}

/**
 * The status a pod gets before PodGC deletes it (upstream
 * markFailedAndDeletePodWithCondition): phase Failed unless it already
 * finished, with the given condition. Undefined when nothing changes.
 */
export function failedStatus(pod: Obj, condition: Obj | undefined, now: number): Obj | undefined {
  if (isTerminated(pod)) return undefined;
  const status: Obj = { ...(pod.status ?? {}), phase: 'Failed' };
  if (condition) {
    const t = new Date(now).toISOString().replace(/\.\d+Z$/, 'Z');
    status.conditions = [...(pod.status?.conditions ?? []).filter((c: Obj) => c?.type !== condition.type), { ...condition, lastTransitionTime: t }];
  }
  return status;
}

export const ORPHAN_CONDITION = { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByPodGC', message: 'PodGC: node no longer exists' };
