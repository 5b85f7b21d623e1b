// The Job controller's pure core, as upstream's pkg/controller/job (1.31+):
//   - claim the pods the selector matches (the ReplicaSet's claim);
//   - count finished pods through the `batch.kubernetes.io/job-tracking`
//     finalizer: a finished pod that still has it goes first into
//     status.uncountedTerminatedPods, then loses the finalizer, then moves into
//     status.succeeded/failed, so a pod removed afterwards stays counted;
//   - backoffLimit, activeDeadlineSeconds: an interim FailureTarget condition,
//     active pods deleted, Failed once no pod is left to count;
//   - completions reached: SuccessCriteriaMet, then Complete + completionTime;
//   - parallelism: active = min(parallelism, remaining completions), Indexed
//     jobs one pod per missing index; suspend deletes the active pods;
//   - ttlSecondsAfterFinished (upstream's ttl-after-finished controller).
import { type Obj, BURST_REPLICAS, claim, isPodActive, isPodReady, ownerRefFor, podFromTemplate, selectorOf } from '../replicaset/plan.js';

export type { Obj } from '../replicaset/plan.js';

export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';
export const JOB_COMPLETION_INDEX = 'batch.kubernetes.io/job-completion-index';
export const JOB_COMPLETION_INDEX_ENV = 'JOB_COMPLETION_INDEX';
/** upstream DefaultJobPodFailureBackOff and MaxJobPodFailureBackOff. */
export const POD_FAILURE_BACKOFF_MS = 10_000;
export const MAX_POD_FAILURE_BACKOFF_MS = 10 * 60_000;

export const REASON = {
  backoff: 'BackoffLimitExceeded',
  deadline: 'DeadlineExceeded',
  completions: 'CompletionsReached',
} as const;
const MESSAGE: Record<string, string> = {
  [REASON.backoff]: 'Job has reached the specified backoff limit',
  [REASON.deadline]: 'Job was active longer than specified deadline',
  [REASON.completions]: 'Reached expected number of succeeded pods',
};

/** metav1.Time: RFC 3339 to the second. */
export const kubeTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
const parseTime = (s: unknown): number | undefined => {
  const t = Date.parse(String(s ?? ''));
  return Number.isNaN(t) ? undefined : t;
};

// ---- job and pod state -----------------------------------------------------------

export function jobCondition(job: Obj, type: string): Obj | undefined {
  return (job.status?.conditions ?? []).find((c: Obj) => c?.type === type && c?.status === 'True');
}

/** Complete or Failed (upstream IsJobFinished). */
export function finishedCondition(job: Obj): Obj | undefined {
  return jobCondition(job, 'Complete') ?? jobCondition(job, 'Failed');
}

export const isIndexed = (job: Obj): boolean => job.spec?.completionMode === 'Indexed';
export const hasTrackingFinalizer = (pod: Obj): boolean => (pod.metadata?.finalizers ?? []).includes(JOB_TRACKING_FINALIZER);
const isTerminal = (pod: Obj): boolean => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';

/** The pod's completion index, or undefined when missing or malformed. */
export function completionIndex(pod: Obj): number | undefined {
  const v = pod.metadata?.annotations?.[JOB_COMPLETION_INDEX] ?? pod.metadata?.labels?.[JOB_COMPLETION_INDEX];
  if (typeof v !== 'string' || !/^(0|[1-9]\d{0,8})$/.test(v)) return undefined;
  return Number(v);
}

/**
 * upstream isPodFailed: a Failed pod; with podReplacementPolicy
 * TerminatingOrFailed (the default without a podFailurePolicy) also a pod
 * being deleted before it succeeded, so orphaned pods count as failures.
 */
export function isPodFailed(pod: Obj, job: Obj): boolean {
  if (pod.status?.phase === 'Failed') return true;
  const onlyFailed = job.spec?.podReplacementPolicy === 'Failed' || !!job.spec?.podFailurePolicy;
  return !onlyFailed && !!pod.metadata?.deletionTimestamp && pod.status?.phase !== 'Succeeded';
}

/** When a finished pod finished: its containers' finishedAt, else its last condition change, else its creation. */
export function podFinishTime(pod: Obj): number {
  let t: number | undefined;
  for (const cs of pod.status?.containerStatuses ?? []) {
    const f = parseTime(cs?.state?.terminated?.finishedAt);
    if (f !== undefined) t = Math.max(t ?? 0, f);
  }
  if (t !== undefined) return t;
  for (const c of pod.status?.conditions ?? []) {
    const f = parseTime(c?.lastTransitionTime);
    if (f !== undefined) t = Math.max(t ?? 0, f);
  }
  return t ?? parseTime(pod.metadata?.creationTimestamp) ?? 0;
}

// ---- completed indexes ("1,3-5,7") ----------------------------------------------------

export function parseIndexes(s: unknown, completions: number): Set<number> {
  const out = new Set<number>();
  for (const part of String(s ?? '').split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let i = a; i <= b && i < completions; i++) out.add(i);
  }
  return out;
}

export function formatIndexes(set: Iterable<number>): string {
  const xs = [...set].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < xs.length; ) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j]! + 1) j++;
    parts.push(i === j ? `${xs[i]}` : `${xs[i]}-${xs[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

// ---- the pod template -------------------------------------------------------------------

/** The pod a Job creates: its template, the tracking finalizer, and for Indexed jobs the index. */
export function podForJob(job: Obj, index?: number): Obj {
  const pod = podFromTemplate(job);
  pod.metadata.ownerReferences = [ownerRefFor(job, 'batch/v1', 'Job')];
  pod.metadata.finalizers = [...new Set([...(pod.metadata.finalizers ?? []), JOB_TRACKING_FINALIZER])];
  if (index === undefined) return pod;
  const ix = String(index);
  pod.metadata.generateName = `${job.metadata.name}-${ix}-`;
  pod.metadata.annotations = { ...(pod.metadata.annotations ?? {}), [JOB_COMPLETION_INDEX]: ix };
  pod.metadata.labels = { ...(pod.metadata.labels ?? {}), [JOB_COMPLETION_INDEX]: ix };
  pod.spec.hostname = `${job.metadata.name}-${ix}`;
  const env = { name: JOB_COMPLETION_INDEX_ENV, valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${JOB_COMPLETION_INDEX}']` } } };
  for (const c of [...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? [])]) {
    c.env = [...(c.env ?? []).filter((e: Obj) => e?.name !== JOB_COMPLETION_INDEX_ENV), env];
  }
  return pod;
}

// ---- the plan ---------------------------------------------------------------------------

export interface JobEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface JobPlan {
  adopt: Obj[];
  release: Obj[];
  /** Pods to create: one entry per pod, the completion index for Indexed jobs. */
  create: Array<number | undefined>;
  /** Active pods to delete keeping their finalizer (they count as failed): the job failed. */
  deleteCounted: Obj[];
  /** Active pods to delete after dropping the finalizer (not counted): suspend, surplus. */
  deleteUncounted: Obj[];
  /** Pods whose tracking finalizer can go: their uid is in the status written first. */
  removeFinalizers: Obj[];
  /** The status to write first, when it differs from the stored one. */
  status?: Obj;
  events: JobEvent[];
  /** Delete the Job itself (ttlSecondsAfterFinished passed). */
  deleteJob?: boolean;
  /** Look again after this many ms (deadline, TTL, pod backoff). */
  requeueAfterMs?: number;
}

function condition(type: string, reason: string, message: string, now: number, status = 'True'): Obj {
  const t = kubeTime(now);
  return { type, status, reason, message, lastProbeTime: t, lastTransitionTime: t };
}

/** Sets a condition, keeping lastTransitionTime when the status does not change. */
function setCondition(conds: Obj[], c: Obj): Obj[] {
  const i = conds.findIndex((x) => x?.type === c.type);
  if (i < 0) return [...conds, c];
  const old = conds[i]!;
  if (old.status === c.status && old.reason === c.reason && old.message === c.message) return conds;
  const next = [...conds];
  next[i] = old.status === c.status ? { ...c, lastTransitionTime: old.lastTransitionTime } : c;
  return next;
}

const uniq = (xs: string[]): string[] => [...new Set(xs)];

function withRequeue(plan: JobPlan, ms: number | undefined): void {
  if (ms === undefined || ms < 0) return;
  plan.requeueAfterMs = plan.requeueAfterMs === undefined ? ms : Math.min(plan.requeueAfterMs, ms);
}

/** ms until the TTL of a finished job runs out (<= 0: delete now), undefined when it has none. */
export function ttlRemaining(job: Obj, now: number): number | undefined {
  const ttl = job.spec?.ttlSecondsAfterFinished;
  const fin = finishedCondition(job);
  if (typeof ttl !== 'number' || !fin || job.metadata?.deletionTimestamp) return undefined;
  const at = parseTime(job.status?.completionTime) ?? parseTime(fin.lastTransitionTime) ?? now;
  return at + ttl * 1000 - now;
}

/**
 * upstream's pod failure backoff: after n failures since the last success,
 * new pods wait 10 s * 2^(n-1) (at most 10 min) from the last failure.
 */
export function podBackoffRemaining(job: Obj, pods: Obj[], now: number): number {
  const finished = pods.filter(isTerminal).map((p) => ({ failed: p.status.phase === 'Failed', at: podFinishTime(p) }));
  const lastSuccess = Math.max(-Infinity, ...finished.filter((f) => !f.failed).map((f) => f.at));
  const failures = finished.filter((f) => f.failed && f.at >= lastSuccess);
  if (!failures.length || job.spec?.template?.spec?.restartPolicy === 'OnFailure') return 0;
  const last = Math.max(...failures.map((f) => f.at));
  const delay = Math.min(POD_FAILURE_BACKOFF_MS * 2 ** (failures.length - 1), MAX_POD_FAILURE_BACKOFF_MS);
  return Math.max(0, last + delay - now);
}

/**
 * From a Job and every pod in its namespace: what to do. `manage` false
 * (expectations not yet satisfied) counts and writes status only.
 */
export function planJob(job: Obj, allPods: Obj[], now: number, manage = true): JobPlan {
  const plan: JobPlan = { adopt: [], release: [], create: [], deleteCounted: [], deleteUncounted: [], removeFinalizers: [], events: [] };
  const status: Obj = structuredClone(job.status ?? {});
  const spec = job.spec ?? {};
  const indexed = isIndexed(job);
  const completions: number | undefined = typeof spec.completions === 'number' ? spec.completions : undefined;
  const c = claim(job, allPods, selectorOf(job));
  plan.adopt = c.adopt;
  plan.release = c.release;
  const pods = c.owned;

  if (finishedCondition(job)) {
    // Finished: only let go of the pods still holding the finalizer, and the TTL.
    plan.removeFinalizers = pods.filter(hasTrackingFinalizer);
    const ttl = ttlRemaining(job, now);
    if (ttl !== undefined && ttl <= 0) plan.deleteJob = true;
    else withRequeue(plan, ttl);
    return plan;
  }

  // ---- counting through the finalizer
  const uncounted = { succeeded: [...(status.uncountedTerminatedPods?.succeeded ?? [])] as string[], failed: [...(status.uncountedTerminatedPods?.failed ?? [])] as string[] };
  let succeeded: number = status.succeeded ?? 0;
  let failed: number = status.failed ?? 0;
  const succeededIndexes = indexed && completions !== undefined ? parseIndexes(status.completedIndexes, completions) : new Set<number>();
  const byUid = new Map<string, Obj>(pods.map((p) => [p.metadata?.uid, p]));
  // uids whose finalizer is gone (or whose pod is gone) move into the counters.
  const stillHeld = (uid: string) => {
    const p = byUid.get(uid);
    return !!p && hasTrackingFinalizer(p);
  };
  succeeded += uncounted.succeeded.filter((u) => !stillHeld(u)).length;
  failed += uncounted.failed.filter((u) => !stillHeld(u)).length;
  uncounted.succeeded = uncounted.succeeded.filter(stillHeld);
  uncounted.failed = uncounted.failed.filter(stillHeld);
  // Indexed jobs count succeeded indexes (pods carried in uncounted included).
  const pendingIndexes = new Set(succeededIndexes);
  for (const uid of uncounted.succeeded) {
    const ix = completionIndex(byUid.get(uid)!);
    if (ix !== undefined && completions !== undefined && ix < completions) pendingIndexes.add(ix);
  }

  // Newly finished pods that still hold the finalizer.
  const interim = jobCondition(job, 'FailureTarget') ?? jobCondition(job, 'SuccessCriteriaMet');
  const isCounted = (uid: string) => uncounted.succeeded.includes(uid) || uncounted.failed.includes(uid);
  for (const p of pods) {
    if (!hasTrackingFinalizer(p) || isCounted(p.metadata?.uid)) continue;
    if (p.status?.phase === 'Succeeded') {
      uncounted.succeeded.push(p.metadata.uid);
      const ix = completionIndex(p);
      if (indexed && ix !== undefined && completions !== undefined && ix < completions) pendingIndexes.add(ix);
    } else if (isPodFailed(p, job) || (interim && !isPodActive(p))) {
      uncounted.failed.push(p.metadata.uid);
    }
  }
  const totalSucceeded = indexed ? pendingIndexes.size : succeeded + uncounted.succeeded.length;
  const totalFailed = failed + uncounted.failed.length;

  const active = pods.filter(isPodActive);
  const suspended = spec.suspend === true;
  let conditions: Obj[] = status.conditions ?? [];
  let startTime: string | undefined = status.startTime;
  if (!suspended && !startTime) startTime = kubeTime(now);

  // ---- has the job failed or succeeded?
  let target = interim;
  const backoffLimit: number = spec.backoffLimit ?? 6;
  const restartsOnFailure =
    spec.template?.spec?.restartPolicy === 'OnFailure'
      ? active.reduce((n, p) => n + (p.status?.containerStatuses ?? []).reduce((m: number, cs: Obj) => m + (cs?.restartCount ?? 0), 0), 0)
      : 0;
  const deadlineMs = typeof spec.activeDeadlineSeconds === 'number' && !suspended && startTime ? parseTime(startTime)! + spec.activeDeadlineSeconds * 1000 - now : undefined;
  if (!target) {
    if (totalFailed > backoffLimit || (restartsOnFailure > 0 && totalFailed + restartsOnFailure > backoffLimit)) {
      target = condition('FailureTarget', REASON.backoff, MESSAGE[REASON.backoff]!, now);
    } else if (deadlineMs !== undefined && deadlineMs <= 0) {
      target = condition('FailureTarget', REASON.deadline, MESSAGE[REASON.deadline]!, now);
    }
    if (target) {
      conditions = setCondition(conditions, target);
      plan.events.push({ type: 'Warning', reason: target.reason, message: MESSAGE[target.reason] ?? target.message });
    } else withRequeue(plan, deadlineMs);
  }

  let activeAfter = active.length;
  if (target) {
    if (manage) plan.deleteCounted = active;
    activeAfter = 0;
  } else if (!target) {
    // ---- manage the active pods
    if (manage && !job.metadata?.deletionTimestamp) {
      const m = manageActive(job, active, totalSucceeded, pendingIndexes, pods, now);
      plan.create = m.create;
      plan.deleteUncounted = m.delete;
      activeAfter = active.length - m.delete.length + m.create.length;
      withRequeue(plan, m.requeueAfterMs);
    }
    const complete = completions === undefined ? totalSucceeded > 0 && activeAfter === 0 : totalSucceeded >= completions && activeAfter === 0;
    if (complete) {
      target = condition('SuccessCriteriaMet', REASON.completions, MESSAGE[REASON.completions]!, now);
      conditions = setCondition(conditions, target);
    } else if (manage) {
      // ---- suspend / resume
      const wasSuspended = jobCondition(job, 'Suspended');
      if (suspended && !wasSuspended) {
        conditions = setCondition(conditions, condition('Suspended', 'JobSuspended', 'Job suspended', now));
        plan.events.push({ type: 'Normal', reason: 'Suspended', message: 'Job suspended' });
      } else if (!suspended && wasSuspended) {
        conditions = setCondition(conditions, condition('Suspended', 'JobResumed', 'Job resumed', now, 'False'));
        startTime = kubeTime(now); // the deadline counts again from the resume
        plan.events.push({ type: 'Normal', reason: 'Resumed', message: 'Job resumed' });
      }
    }
  }

  // ---- finalizers: every counted pod lets go; a finished job lets go of all
  const countedUids = new Set([...uncounted.succeeded, ...uncounted.failed]);
  plan.removeFinalizers = pods.filter((p) => hasTrackingFinalizer(p) && countedUids.has(p.metadata?.uid));

  // ---- the terminal condition, once nothing is left to count or to stop
  const terminating = pods.filter((p) => p.metadata?.deletionTimestamp && !isTerminal(p)).length;
  const stillRunning = target ? pods.filter((p) => hasTrackingFinalizer(p) && !countedUids.has(p.metadata?.uid)).length : 0;
  if (target && countedUids.size === 0 && stillRunning === 0 && terminating === 0 && activeAfter === 0) {
    if (target.type === 'SuccessCriteriaMet') {
      conditions = setCondition(conditions, condition('Complete', target.reason, target.message, now));
      status.completionTime = kubeTime(now);
      plan.events.push({ type: 'Normal', reason: 'Completed', message: 'Job completed' });
    } else {
      conditions = setCondition(conditions, condition('Failed', target.reason, target.message, now));
    }
  }

  // ---- the new status
  status.active = target ? 0 : activeAfter;
  status.ready = active.filter(isPodReady).length;
  status.terminating = terminating;
  // Indexed jobs record an index as completed with the uid that carries it, so a pod removed
  // before its uid moves into the counters cannot take its index with it.
  status.succeeded = indexed ? pendingIndexes.size : succeeded;
  status.failed = failed;
  status.uncountedTerminatedPods = {
    ...(uncounted.succeeded.length ? { succeeded: uniq(uncounted.succeeded) } : {}),
    ...(uncounted.failed.length ? { failed: uniq(uncounted.failed) } : {}),
  };
  if (indexed) status.completedIndexes = formatIndexes(pendingIndexes);
  if (startTime) status.startTime = startTime;
  else delete status.startTime;
  if (conditions.length) status.conditions = conditions;
  if (statusChanged(job.status ?? {}, status)) plan.status = status;
  return plan;
}

/** Fields compared as upstream does before it writes (a fresh startTime alone is a change). */
export function statusChanged(cur: Obj, next: Obj): boolean {
  const norm = (s: Obj) =>
    JSON.stringify({
      active: s.active ?? 0,
      ready: s.ready ?? 0,
      terminating: s.terminating ?? 0,
      succeeded: s.succeeded ?? 0,
      failed: s.failed ?? 0,
      startTime: s.startTime ?? null,
      completionTime: s.completionTime ?? null,
      completedIndexes: s.completedIndexes ?? '',
      uncounted: { s: s.uncountedTerminatedPods?.succeeded ?? [], f: s.uncountedTerminatedPods?.failed ?? [] },
      tracked: !!s.uncountedTerminatedPods,
      conditions: s.conditions ?? [],
    });
  return norm(cur) !== norm(next);
}

interface Manage {
  create: Array<number | undefined>;
  delete: Obj[];
  requeueAfterMs?: number;
}

/** upstream manageJob: how many active pods the job wants, and which to create or delete. */
function manageActive(job: Obj, active: Obj[], succeeded: number, succeededIndexes: Set<number>, pods: Obj[], now: number): Manage {
  const spec = job.spec ?? {};
  const parallelism: number = Math.max(0, spec.parallelism ?? 1);
  const completions: number | undefined = typeof spec.completions === 'number' ? spec.completions : undefined;
  const out: Manage = { create: [], delete: [] };
  if (spec.suspend === true) {
    out.delete = active;
    return out;
  }
  let want: number;
  if (completions === undefined) want = succeeded > 0 ? Math.min(active.length, parallelism) : parallelism;
  else want = Math.max(0, Math.min(parallelism, completions - succeeded));

  let keep = active;
  if (isIndexed(job) && completions !== undefined) {
    // Pods with no valid index, a succeeded index, or a duplicate index go.
    const seen = new Set<number>();
    keep = [];
    for (const p of [...active].sort((a, b) => Number(isPodReady(b)) - Number(isPodReady(a)))) {
      const ix = completionIndex(p);
      if (ix === undefined || ix >= completions || succeededIndexes.has(ix) || seen.has(ix)) out.delete.push(p);
      else {
        seen.add(ix);
        keep.push(p);
      }
    }
    if (keep.length > want) out.delete.push(...keep.slice(want));
    else {
      const backoff = podBackoffRemaining(job, pods, now);
      if (backoff > 0 && want > keep.length) out.requeueAfterMs = backoff;
      else
        for (let i = 0; i < completions && out.create.length < Math.min(want - keep.length, BURST_REPLICAS); i++) {
          if (!seen.has(i) && !succeededIndexes.has(i)) out.create.push(i);
        }
    }
    return out;
  }
  if (keep.length > want) {
    // Not-ready pods first, then the newest.
    const order = [...keep].sort(
      (a, b) =>
        Number(isPodReady(a)) - Number(isPodReady(b)) || String(b.metadata?.creationTimestamp ?? '').localeCompare(String(a.metadata?.creationTimestamp ?? '')),
    );
    out.delete = order.slice(0, Math.min(keep.length - want, BURST_REPLICAS));
  } else if (keep.length < want) {
    const backoff = podBackoffRemaining(job, pods, now);
    if (backoff > 0) out.requeueAfterMs = backoff;
    else out.create = Array.from({ length: Math.min(want - keep.length, BURST_REPLICAS) }, () => undefined);
  }
  return out;
}
