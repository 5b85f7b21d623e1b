// The ReplicaSet controller's pure core, as upstream's pkg/controller/replicaset:
//   - claim: adopt orphan pods the selector matches, release owned pods it no
//     longer matches (controller ownerReferences only);
//   - manage: create the missing pods from the template, or delete the surplus
//     ones, preferring to delete unscheduled, pending, not-ready and newer pods
//     (upstream's ActivePods ranking, simplified);
//   - status: replicas, fullyLabeledReplicas, readyReplicas, availableReplicas
//     (ready for at least minReadySeconds), observedGeneration.
// Expectations (how many creations and deletions the controller is still
// waiting to see through its informer) keep a slow watch from causing double
// creations, as upstream's ControllerExpectations.
import { type LabelSelectorMatcher, labelSelectorFromObject } from '../../api/selectors.js';

export type Obj = Record<string, any>;

/** Upstream's burst limit on creations/deletions per sync. */
export const BURST_REPLICAS = 500;

export interface OwnerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export function controllerRefOf(obj: Obj): OwnerRef | undefined {
  return (obj.metadata?.ownerReferences ?? []).find((r: OwnerRef) => r?.controller === true);
}

export function ownerRefFor(owner: Obj, apiVersion: string, kind: string): OwnerRef {
  return { apiVersion, kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true };
}

/** A selector from spec.selector; an invalid selector matches nothing. */
export function selectorOf(obj: Obj): LabelSelectorMatcher {
  try {
    return labelSelectorFromObject(obj.spec?.selector);
  } catch {
    return labelSelectorFromObject(null);
  }
}

export interface Claim<T extends Obj = Obj> {
  /** Objects the owner controls after adoption/release (adopted included). */
  owned: T[];
  adopt: T[];
  release: T[];
}

/**
 * upstream ControllerRefManager.ClaimObjects: objects controlled by `owner`
 * and still matched are kept; controlled but unmatched are released (unless
 * the owner is being deleted); orphans that match are adopted (unless either
 * side is being deleted). Objects controlled by someone else are ignored.
 */
export function claim<T extends Obj>(owner: Obj, objs: T[], selector: LabelSelectorMatcher): Claim<T> {
  const out: Claim<T> = { owned: [], adopt: [], release: [] };
  const uid = owner.metadata?.uid;
  const ownerDeleting = !!owner.metadata?.deletionTimestamp;
  for (const o of objs) {
    if (o.metadata?.namespace !== owner.metadata?.namespace) continue;
    const ref = controllerRefOf(o);
    const matches = selector.matches(o.metadata?.labels ?? {});
    if (ref) {
      if (ref.uid !== uid) continue;
      if (matches) out.owned.push(o);
      else if (!ownerDeleting) out.release.push(o);
      else out.owned.push(o);
      continue;
    }
    if (!matches || ownerDeleting || o.metadata?.deletionTimestamp) continue;
    out.adopt.push(o);
    out.owned.push(o);
  }
  return out;
}

// ---- pod state ---------------------------------------------------------------

export function podReadyCondition(pod: Obj): Obj | undefined {
  return (pod.status?.conditions ?? []).find((c: Obj) => c?.type === 'Ready');
}

export function isPodReady(pod: Obj): boolean {
  return podReadyCondition(pod)?.status === 'True';
}

/** Ready for at least minReadySeconds at `now` (ms since the epoch), as upstream's IsPodAvailable. */
export function isPodAvailable(pod: Obj, minReadySeconds: number, now: number): boolean {
  const c = podReadyCondition(pod);
  if (c?.status !== 'True') return false;
  if (!minReadySeconds) return true;
  const since = Date.parse(c.lastTransitionTime ?? '');
  if (Number.isNaN(since)) return false;
  return since + minReadySeconds * 1000 <= now;
}

/** Not terminal and not being deleted (upstream FilterActivePods). */
export function isPodActive(pod: Obj): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata?.deletionTimestamp;
}

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };
const time = (s: unknown): number => {
  const t = Date.parse(String(s ?? ''));
  return Number.isNaN(t) ? 0 : t;
};
const restarts = (pod: Obj): number =>
  (pod.status?.containerStatuses ?? []).reduce((n: number, c: Obj) => Math.max(n, c?.restartCount ?? 0), 0);

/**
 * upstream controller.ActivePods Less: negative when `a` should be deleted
 * before `b`. Unassigned < assigned; Pending < Unknown < Running; not ready <
 * ready; ready for less time < ready for longer; more restarts < fewer; newer
 * < older; then by name for a stable order.
 */
export function compareForDeletion(a: Obj, b: Obj): number {
  const aNode = a.spec?.nodeName ? 1 : 0;
  const bNode = b.spec?.nodeName ? 1 : 0;
  if (aNode !== bNode) return aNode - bNode;
  const ap = PHASE_RANK[a.status?.phase] ?? 0;
  const bp = PHASE_RANK[b.status?.phase] ?? 0;
  if (ap !== bp) return ap - bp;
  const ar = isPodReady(a) ? 1 : 0;
  const br = isPodReady(b) ? 1 : 0;
  if (ar !== br) return ar - br;
  if (ar && br) {
    const at = time(podReadyCondition(a)?.lastTransitionTime);
    const bt = time(podReadyCondition(b)?.lastTransitionTime);
    if (at !== bt) return bt - at; // ready more recently first
  }
  const rs = restarts(b) - restarts(a);
  if (rs !== 0) return rs;
  const ct = time(b.metadata?.creationTimestamp) - time(a.metadata?.creationTimestamp);
  if (ct !== 0) return ct; // newer first
  return String(a.metadata?.name).localeCompare(String(b.metadata?.name));
}

// ---- the pod template ----------------------------------------------------------

/** The pod a ReplicaSet creates (upstream GetPodFromTemplate). */
export function podFromTemplate(rs: Obj): Obj {
  const t = rs.spec?.template ?? {};
  const md = t.metadata ?? {};
  const pod: Obj = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${rs.metadata.name}-`,
      namespace: rs.metadata.namespace,
      ...(md.labels ? { labels: { ...md.labels } } : {}),
      ...(md.annotations ? { annotations: { ...md.annotations } } : {}),
      ...(md.finalizers ? { finalizers: [...md.finalizers] } : {}),
      ownerReferences: [ownerRefFor(rs, 'apps/v1', 'ReplicaSet')],
    },
    spec: structuredClone(t.spec ?? {}),
  };
  return pod;
}

// ---- status -------------------------------------------------------------------

export interface ReplicaSetStatus {
  replicas: number;
  fullyLabeledReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
  observedGeneration?: number;
  conditions?: Obj[];
}

/** upstream calculateStatus, from the owned active pods. */
export function computeStatus(rs: Obj, pods: Obj[], now: number): ReplicaSetStatus {
  const templateLabels: Record<string, string> = rs.spec?.template?.metadata?.labels ?? {};
  const minReady = rs.spec?.minReadySeconds ?? 0;
  let fully = 0;
  let ready = 0;
  let available = 0;
  const active = pods.filter(isPodActive);
  for (const p of active) {
    const labels = p.metadata?.labels ?? {};
    if (Object.entries(templateLabels).every(([k, v]) => labels[k] === v)) fully++;
    if (isPodReady(p)) {
      ready++;
      if (isPodAvailable(p, minReady, now)) available++;
    }
  }
  const status: ReplicaSetStatus = {
    replicas: active.length,
    fullyLabeledReplicas: fully,
    readyReplicas: ready,
    availableReplicas: available,
    observedGeneration: rs.metadata?.generation,
  };
  if (rs.status?.conditions?.length) status.conditions = rs.status.conditions;
  return status;
}

/** Whether the stored status differs from the computed one (fields upstream writes). */
export function statusChanged(rs: Obj, s: ReplicaSetStatus): boolean {
  const cur = rs.status ?? {};
  return (
    (cur.replicas ?? 0) !== s.replicas ||
    (cur.fullyLabeledReplicas ?? 0) !== s.fullyLabeledReplicas ||
    (cur.readyReplicas ?? 0) !== s.readyReplicas ||
    (cur.availableReplicas ?? 0) !== s.availableReplicas ||
    cur.observedGeneration !== s.observedGeneration
  );
}

/**
 * When a pod that is ready but not yet available becomes available (ms from
 * now), so the controller can look again then; undefined when none is waiting.
 */
export function nextAvailableCheck(rs: Obj, pods: Obj[], now: number): number | undefined {
  const minReady = rs.spec?.minReadySeconds ?? 0;
  if (!minReady) return undefined;
  let next: number | undefined;
  for (const p of pods.filter(isPodActive)) {
    const c = podReadyCondition(p);
    if (c?.status !== 'True') continue;
    const at = time(c.lastTransitionTime) + minReady * 1000;
    if (at > now) next = next === undefined ? at - now : Math.min(next, at - now);
  }
  return next;
}

// ---- the plan -----------------------------------------------------------------

export interface ReplicaSetPlan {
  adopt: Obj[];
  release: Obj[];
  /** How many pods to create from the template. */
  create: number;
  /** The pods to delete, in deletion order. */
  delete: Obj[];
  status: ReplicaSetStatus;
  /** Look again after this many ms (availability after minReadySeconds). */
  requeueAfterMs?: number;
}

/**
 * From a ReplicaSet and every pod in its namespace: what to do. `manage`
 * false (expectations not yet satisfied) computes only the claim and status.
 */
export function planReplicaSet(rs: Obj, pods: Obj[], now: number, manage = true): ReplicaSetPlan {
  const c = claim(rs, pods, selectorOf(rs));
  const active = c.owned.filter(isPodActive);
  const plan: ReplicaSetPlan = { adopt: c.adopt, release: c.release, create: 0, delete: [], status: computeStatus(rs, c.owned, now) };
  const requeue = nextAvailableCheck(rs, c.owned, now);
  if (requeue !== undefined) plan.requeueAfterMs = requeue;
  if (!manage || rs.metadata?.deletionTimestamp) return plan;
  const want = rs.spec?.replicas ?? 1;
  const diff = active.length - want;
  if (diff < 0) plan.create = Math.min(-diff, BURST_REPLICAS);
  else if (diff > 0) plan.delete = [...active].sort(compareForDeletion).slice(0, Math.min(diff, BURST_REPLICAS));
  return plan;
}

// ---- expectations -------------------------------------------------------------

/** upstream ExpectationsTimeout is 5 minutes. */
export const EXPECTATIONS_TIMEOUT_MS = 5 * 60_000;

/** upstream ControllerExpectations: per controller key, creations and deletions not yet observed. */
export class Expectations {
  private readonly m = new Map<string, { add: number; del: number; at: number }>();
  constructor(private readonly clock: () => number = Date.now) {}

  expect(key: string, add: number, del: number): void {
    this.m.set(key, { add, del, at: this.clock() });
  }
  observedAdd(key: string): void {
    const e = this.m.get(key);
    if (e) e.add--;
  }
  observedDelete(key: string): void {
    const e = this.m.get(key);
    if (e) e.del--;
  }
  /** A creation that failed (or a deletion that failed) will never be observed. */
  lower(key: string, add: number, del: number): void {
    const e = this.m.get(key);
    if (e) {
      e.add -= add;
      e.del -= del;
    }
  }
  satisfied(key: string): boolean {
    const e = this.m.get(key);
    if (!e) return true;
    return (e.add <= 0 && e.del <= 0) || this.clock() - e.at > EXPECTATIONS_TIMEOUT_MS;
  }
  delete(key: string): void {
    this.m.delete(key);
  }
}
