// The StatefulSet controller's pure core, as upstream's
// pkg/controller/statefulset (defaultStatefulSetControl.updateStatefulSet):
// from a StatefulSet, the pods and the ControllerRevisions of its namespace,
// one step of its reconciliation:
//   - history: the update revision (created or renumbered), the current one;
//   - pods `<set>-<ordinal>` for ordinals [start, start+replicas), created
//     from the current revision below the partition and the update revision
//     from it on; failed pods deleted so they are recreated;
//   - OrderedReady: one pod at a time, each waiting for the lower ordinals to
//     be Running and Ready (and available); scale down from the highest
//     ordinal, one at a time, each waiting for the previous to terminate.
//     Parallel: all at once;
//   - RollingUpdate: the highest ordinal >= partition not at the update
//     revision is deleted (and recreated at it), one at a time, waiting for
//     health; OnDelete: nothing until the user deletes pods;
//   - status, and history truncated to revisionHistoryLimit.
import { computeHash } from '../deployment/plan.js';
import {
  type History,
  type RevisionAction,
  type WorkloadPlan,
  startPlan,
  REVISION_HASH_LABEL,
  applyRevision,
  historyLimit,
  statusFieldsChanged,
  newControllerRevision,
  revisionsToTruncate,
  syncHistory,
  templatePatch,
} from '../history.js';
import { type Obj, isPodAvailable, isPodReady, ownerRefFor, podFromTemplate } from '../replicaset/plan.js';

export type { Obj };

export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

// ---- identity ------------------------------------------------------------------

/** upstream getParentNameAndOrdinal: `web-3` is ordinal 3 of `web`; -1 when the name has no ordinal. */
export function parentAndOrdinal(pod: Obj): { parent: string; ordinal: number } {
  const m = /^(.*)-(\d+)$/.exec(String(pod.metadata?.name ?? ''));
  if (!m) return { parent: '', ordinal: -1 };
  const ordinal = Number(m[2]);
  return { parent: m[1]!, ordinal: Number.isSafeInteger(ordinal) ? ordinal : -1 };
}

export const podName = (sts: Obj, ordinal: number): string => `${sts.metadata.name}-${ordinal}`;
export const podRevision = (pod: Obj): string | undefined => pod.metadata?.labels?.[REVISION_HASH_LABEL];
export const claimName = (claimTemplate: Obj, sts: Obj, ordinal: number): string => `${claimTemplate.metadata?.name}-${podName(sts, ordinal)}`;

/** upstream newStatefulSetPod (+ initIdentity, updateStorage, setPodRevision). */
export function newStatefulSetPod(sts: Obj, ordinal: number, revisionName: string): Obj {
  const pod = podFromTemplate(sts);
  const name = podName(sts, ordinal);
  delete pod.metadata.generateName;
  pod.metadata = {
    name,
    ...pod.metadata,
    labels: { ...(pod.metadata.labels ?? {}), [POD_NAME_LABEL]: name, [POD_INDEX_LABEL]: String(ordinal), [REVISION_HASH_LABEL]: revisionName },
    ownerReferences: [ownerRefFor(sts, 'apps/v1', 'StatefulSet')],
  };
  pod.spec.hostname = name;
  if (sts.spec?.serviceName) pod.spec.subdomain = sts.spec.serviceName;
  // Each claim template becomes a volume of the pod, as upstream (the claim
  // objects themselves are made only where persistentvolumeclaims are served).
  const claims: Obj[] = sts.spec?.volumeClaimTemplates ?? [];
  if (claims.length) {
    const names = new Set(claims.map((c) => c.metadata?.name));
    pod.spec.volumes = [
      ...(pod.spec.volumes ?? []).filter((v: Obj) => !names.has(v.name)),
      ...claims.map((c) => ({ name: c.metadata?.name, persistentVolumeClaim: { claimName: claimName(c, sts, ordinal) } })),
    ];
  }
  return pod;
}

// ---- pod state -----------------------------------------------------------------

const isTerminating = (p: Obj): boolean => !!p.metadata?.deletionTimestamp;
const isFinished = (p: Obj): boolean => p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded';
export const isRunningAndReady = (p: Obj): boolean => p.status?.phase === 'Running' && isPodReady(p);
const isRunningAndAvailable = (p: Obj, minReady: number, now: number): boolean => p.status?.phase === 'Running' && isPodAvailable(p, minReady, now);
/** upstream isHealthy: running, ready and not terminating. */
const isHealthy = (p: Obj | undefined): boolean => !!p && isRunningAndReady(p) && !isTerminating(p);

// ---- the plan ------------------------------------------------------------------

export type PodAction =
  | { type: 'createPod'; pod: Obj }
  | { type: 'deletePod'; pod: Obj; reason: 'failed' | 'condemned' | 'update' };
export type Action = RevisionAction | PodAction;

export interface StatefulSetStatus {
  observedGeneration?: number;
  replicas: number;
  readyReplicas: number;
  currentReplicas: number;
  updatedReplicas: number;
  availableReplicas: number;
  currentRevision: string;
  updateRevision: string;
  collisionCount: number;
}

export type StatefulSetPlan = WorkloadPlan<PodAction, StatefulSetStatus>;

const replicasOf = (sts: Obj): number => sts.spec?.replicas ?? 1;
const startOrdinal = (sts: Obj): number => sts.spec?.ordinals?.start ?? 0;
const isParallel = (sts: Obj): boolean => sts.spec?.podManagementPolicy === 'Parallel';
const isOnDelete = (sts: Obj): boolean => sts.spec?.updateStrategy?.type === 'OnDelete';

/** The StatefulSet's revision history (upstream getStatefulSetRevisions); hash of the patch and collisionCount. */
export function statefulSetHistory(sts: Obj, revisions: Obj[]): History {
  const data = templatePatch(sts);
  const collisionCount = sts.status?.collisionCount ?? 0;
  return syncHistory(sts, revisions, (next) => newControllerRevision(sts, 'StatefulSet', data, computeHash(data, collisionCount), next));
}

/** upstream computeReplicaStatus + completeRollingUpdate. */
export function computeStatus(sts: Obj, members: Obj[], current: string, update: string, now: number): StatefulSetStatus {
  const minReady = sts.spec?.minReadySeconds ?? 0;
  const status: StatefulSetStatus = {
    observedGeneration: sts.metadata?.generation,
    replicas: 0,
    readyReplicas: 0,
    currentReplicas: 0,
    updatedReplicas: 0,
    availableReplicas: 0,
    currentRevision: current,
    updateRevision: update,
    collisionCount: sts.status?.collisionCount ?? 0,
  };
  for (const p of members) {
    status.replicas++;
    if (isRunningAndReady(p)) {
      status.readyReplicas++;
      if (isRunningAndAvailable(p, minReady, now)) status.availableReplicas++;
    }
    if (!isTerminating(p)) {
      if (podRevision(p) === current) status.currentReplicas++;
      if (podRevision(p) === update) status.updatedReplicas++;
    }
  }
  if (!isOnDelete(sts) && status.updatedReplicas === status.replicas && status.readyReplicas === status.replicas) {
    status.currentReplicas = status.updatedReplicas;
    status.currentRevision = status.updateRevision;
  }
  return status;
}

/**
 * One sync of a StatefulSet: `pods` and `revisions` are every pod and
 * ControllerRevision of its namespace; `now` is ms since the epoch.
 */
export function planStatefulSet(sts: Obj, pods: Obj[], revisions: Obj[], now: number): StatefulSetPlan {
  const hist = statefulSetHistory(sts, revisions);
  const update = hist.update;
  const updateName: string = update.metadata.name;
  const current = hist.revisions.find((r) => r.metadata?.name === sts.status?.currentRevision) ?? update;
  const currentName: string = current.metadata.name;
  const currentSet = applyRevision(sts, current);
  const updateSet = applyRevision(sts, update);

  const isMember = (p: Obj): boolean => {
    const { parent, ordinal } = parentAndOrdinal(p);
    return parent === sts.metadata.name && ordinal >= 0;
  };
  const { plan, owned: members } = startPlan<PodAction, StatefulSetStatus>(sts, pods, hist, now, (m) => computeStatus(sts, m, currentName, updateName, now), isMember);
  const actions = plan.actions;
  if (!sts.metadata?.deletionTimestamp) managePods(sts, members, { currentSet, updateSet, currentName, updateName }, now, actions);

  // History: keep the current and update revisions and any a pod uses.
  const live = new Set<string>([currentName, updateName, ...members.map((p) => podRevision(p) ?? '')]);
  for (const r of revisionsToTruncate(hist.revisions, (r) => live.has(r.metadata?.name), historyLimit(sts))) {
    actions.push({ type: 'deleteRevision', name: r.metadata.name, uid: r.metadata.uid });
  }
  return plan;
}

interface Revisions {
  currentSet: Obj;
  updateSet: Obj;
  currentName: string;
  updateName: string;
}

/** upstream newVersionedStatefulSetPod: ordinals below the partition stay at the current revision. */
function versionedPod(sts: Obj, ordinal: number, r: Revisions): Obj {
  const rolling = !isOnDelete(sts);
  const ru = sts.spec?.updateStrategy?.rollingUpdate;
  const atCurrent = (rolling && !ru && ordinal < (sts.status?.currentReplicas ?? 0)) || (!!ru && ordinal < (ru.partition ?? 0));
  return atCurrent ? newStatefulSetPod(r.currentSet, ordinal, r.currentName) : newStatefulSetPod(r.updateSet, ordinal, r.updateName);
}

function managePods(sts: Obj, members: Obj[], r: Revisions, now: number, actions: Action[]): void {
  const start = startOrdinal(sts);
  const count = replicasOf(sts);
  const monotonic = !isParallel(sts);
  const minReady = sts.spec?.minReadySeconds ?? 0;
  const byOrdinal = new Map<number, Obj>();
  for (const p of members) byOrdinal.set(parentAndOrdinal(p).ordinal, p);
  const replicas: (Obj | undefined)[] = Array.from({ length: count }, (_, i) => byOrdinal.get(start + i));
  // Condemned: out of range, highest ordinal first.
  const condemned = members.filter((p) => {
    const o = parentAndOrdinal(p).ordinal;
    return o < start || o >= start + count;
  });
  condemned.sort((a, b) => parentAndOrdinal(b).ordinal - parentAndOrdinal(a).ordinal);

  // The first unhealthy pod: replicas in order (a missing one counts), then condemned from the lowest.
  let firstUnhealthy: Obj | undefined;
  for (const p of replicas) if (!isHealthy(p) && p) { firstUnhealthy = p; break; }
  if (!firstUnhealthy) firstUnhealthy = [...condemned].reverse().find((p) => !isHealthy(p));

  const deleted = new Set<Obj>();
  const del = (pod: Obj, reason: 'failed' | 'condemned' | 'update') => {
    deleted.add(pod);
    actions.push({ type: 'deletePod', pod, reason });
  };
  for (let i = 0; i < count; i++) {
    const pod = replicas[i];
    const ordinal = start + i;
    if (pod && isFinished(pod)) {
      // Deleted now, recreated on a later sync once it is gone.
      if (!isTerminating(pod)) del(pod, 'failed');
      if (monotonic) return;
      continue;
    }
    if (!pod) {
      actions.push({ type: 'createPod', pod: versionedPod(sts, ordinal, r) });
      if (monotonic) return;
      continue;
    }
    if (!monotonic) continue;
    if (isTerminating(pod)) return;
    if (!isRunningAndReady(pod)) return;
    if (!isRunningAndAvailable(pod, minReady, now)) return;
  }

  for (const pod of condemned) {
    if (isTerminating(pod)) {
      if (monotonic) return;
      continue;
    }
    if (monotonic && !isRunningAndReady(pod) && pod !== firstUnhealthy) return;
    del(pod, 'condemned');
    if (monotonic) return;
  }

  if (isOnDelete(sts)) return;
  // RollingUpdate: the highest ordinal at or above the partition not yet at the update revision.
  const partition = sts.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
  for (let i = count - 1; i >= partition; i--) {
    const pod = replicas[i];
    if (!pod || deleted.has(pod)) return;
    if (podRevision(pod) !== r.updateName && !isTerminating(pod)) {
      del(pod, 'update');
      return;
    }
    if (!isHealthy(pod)) return;
  }
}

/** Whether the stored status differs from the computed one (fields this controller owns). */
export const statusChanged = (o: Obj, s: StatefulSetStatus): boolean => statusFieldsChanged(o, s as unknown as Obj);
