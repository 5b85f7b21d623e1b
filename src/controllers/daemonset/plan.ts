// The DaemonSet controller's pure core, as upstream's pkg/controller/daemon:
// from a DaemonSet, the nodes, and the pods and ControllerRevisions of its
// namespace, one step of its reconciliation:
//   - history: the revision of the current template (created or renumbered);
//   - manage: a pod for every node that should run one and has none, created
//     without a nodeName but with a required node affinity on the node's name
//     (the scheduler binds it); pods on nodes that no longer qualify, failed
//     pods, and extra pods on a node are deleted;
//   - RollingUpdate (only when manage has nothing to do): old pods replaced
//     within maxUnavailable, or surged within maxSurge; OnDelete: nothing;
//   - status, and history truncated to revisionHistoryLimit.
import { matchesNodeSelectorAndAffinity, tolerates } from '../../scheduler/core.js';
import { computeHash, scaledValue } from '../deployment/plan.js';
import { type History, type RevisionAction, type WorkloadPlan, startPlan, REVISION_HASH_LABEL, historyLimit, newControllerRevision, statusFieldsChanged, revisionsToTruncate, syncHistory, templatePatch } from '../history.js';
import { type Obj, isPodAvailable, isPodReady, ownerRefFor, podFromTemplate } from '../replicaset/plan.js';

export type { Obj };

/** The annotation the API server keeps with the template's generation (extensions/v1beta1 heritage). */
export const TEMPLATE_GENERATION_ANNOTATION = 'deprecated.daemonset.template.generation';
export const TEMPLATE_GENERATION_LABEL = 'pod-template-generation';

// ---- the daemon pod ----------------------------------------------------------------

/** upstream AddOrUpdateDaemonPodTolerations. */
export function daemonPodTolerations(spec: Obj): Obj[] {
  const add: Obj[] = [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
  ];
  if (spec?.hostNetwork) add.push({ key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' });
  const out: Obj[] = [...(spec?.tolerations ?? [])];
  for (const t of add) {
    // AddOrUpdateTolerationInPodSpec: a toleration with the same key, operator, value and effect is replaced.
    const i = out.findIndex((x) => x.key === t.key && (x.operator || 'Equal') === t.operator && (x.value ?? '') === '' && x.effect === t.effect);
    if (i >= 0) out[i] = t;
    else out.push(t);
  }
  return out;
}

/** upstream ReplaceDaemonSetPodNodeNameNodeAffinity: the required node affinity becomes `metadata.name In [node]`. */
export function nodeNameAffinity(affinity: Obj | undefined, node: string): Obj {
  const required = { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }] };
  const a = structuredClone(affinity ?? {});
  a.nodeAffinity = { ...(a.nodeAffinity ?? {}), requiredDuringSchedulingIgnoredDuringExecution: required };
  return a;
}

/** The node a daemon pod is for: its nodeName, or the node its `metadata.name` affinity names (upstream GetTargetNodeName). */
export function targetNode(pod: Obj): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms: Obj[] = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const t of terms) {
    for (const f of t.matchFields ?? []) {
      if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
    }
  }
  return undefined;
}

/** upstream CreatePodTemplate: the template with the default tolerations and the hash (and generation) labels. */
export function daemonPodTemplate(ds: Obj, hash: string): Obj {
  const t = structuredClone(ds.spec?.template ?? {});
  t.spec = { ...(t.spec ?? {}), tolerations: daemonPodTolerations(t.spec) };
  const labels: Obj = { ...(t.metadata?.labels ?? {}), [REVISION_HASH_LABEL]: hash };
  const generation = ds.metadata?.annotations?.[TEMPLATE_GENERATION_ANNOTATION];
  if (generation !== undefined) labels[TEMPLATE_GENERATION_LABEL] = String(generation);
  t.metadata = { ...(t.metadata ?? {}), labels };
  return t;
}

/** The pod to create for `node`. */
export function newDaemonPod(ds: Obj, hash: string, node: string): Obj {
  const template = daemonPodTemplate(ds, hash);
  const pod = podFromTemplate({ metadata: ds.metadata, spec: { template } });
  pod.metadata.ownerReferences = [ownerRefFor(ds, 'apps/v1', 'DaemonSet')];
  pod.spec.affinity = nodeNameAffinity(pod.spec.affinity, node);
  return pod;
}

// ---- node eligibility ----------------------------------------------------------------

/**
 * upstream NodeShouldRunDaemonPod: `run` when the node matches the template's
 * nodeName, nodeSelector and required node affinity and every NoSchedule and
 * NoExecute taint of the node is tolerated; `keep` (a running pod may stay)
 * unless it does not match or a NoExecute taint is not tolerated.
 */
export function nodeShouldRunDaemonPod(node: Obj, ds: Obj): { run: boolean; keep: boolean } {
  const spec = ds.spec?.template?.spec ?? {};
  if (spec.nodeName && spec.nodeName !== node.metadata?.name) return { run: false, keep: false };
  const pod = { spec: { ...spec, tolerations: daemonPodTolerations(spec) } };
  if (!matchesNodeSelectorAndAffinity(pod, node)) return { run: false, keep: false };
  const untolerated = (node.spec?.taints ?? []).filter((t: Obj) => (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !pod.spec.tolerations.some((x: Obj) => tolerates(x, t as never)));
  if (untolerated.length === 0) return { run: true, keep: true };
  return { run: false, keep: !untolerated.some((t: Obj) => t.effect === 'NoExecute') };
}

// ---- pods per node ---------------------------------------------------------------------

const created = (o: Obj): number => Date.parse(o.metadata?.creationTimestamp ?? '') || 0;
/** upstream podByCreationTimestampAndPhase: scheduled first, then oldest, then by name. */
export const byCreation = (a: Obj, b: Obj): number =>
  (b.spec?.nodeName ? 1 : 0) - (a.spec?.nodeName ? 1 : 0) || created(a) - created(b) || String(a.metadata?.name).localeCompare(String(b.metadata?.name));

const isTerminal = (p: Obj): boolean => p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded';

/** upstream getNodesToDaemonPods (terminal pods being deleted left out). */
export function podsByNode(pods: Obj[]): Map<string, Obj[]> {
  const m = new Map<string, Obj[]>();
  for (const p of pods) {
    if (isTerminal(p) && p.metadata?.deletionTimestamp) continue;
    const n = targetNode(p);
    if (n === undefined) continue;
    const list = m.get(n) ?? [];
    list.push(p);
    m.set(n, list);
  }
  return m;
}

/** upstream IsPodUpdated: the hash label, or the template generation label, matches. */
export function isPodUpdated(ds: Obj, pod: Obj, hash: string): boolean {
  const gen = ds.metadata?.annotations?.[TEMPLATE_GENERATION_ANNOTATION];
  const labels = pod.metadata?.labels ?? {};
  return (!!hash && labels[REVISION_HASH_LABEL] === hash) || (gen !== undefined && labels[TEMPLATE_GENERATION_LABEL] === String(gen));
}

// ---- the plan ------------------------------------------------------------------------

export type PodAction = { type: 'createPod'; node: string; pod: Obj } | { type: 'deletePod'; pod: Obj; reason: 'failed' | 'misscheduled' | 'extra' | 'update' };
export type Action = RevisionAction | PodAction;

export interface DaemonSetStatus {
  observedGeneration?: number;
  currentNumberScheduled: number;
  numberMisscheduled: number;
  desiredNumberScheduled: number;
  numberReady: number;
  updatedNumberScheduled: number;
  numberAvailable: number;
  numberUnavailable: number;
  collisionCount?: number;
}

export interface DaemonSetPlan extends WorkloadPlan<PodAction, DaemonSetStatus> {
  /** The hash of the current template's revision (the pods' controller-revision-hash). */
  hash: string;
}

/** The DaemonSet's history (upstream constructHistory): the revision hash is the template's (upstream ComputeHash). */
export function daemonSetHistory(ds: Obj, revisions: Obj[]): History {
  const hash = computeHash(ds.spec?.template ?? {}, ds.status?.collisionCount);
  return syncHistory(ds, revisions, (next) => newControllerRevision(ds, 'DaemonSet', templatePatch(ds), hash, next));
}

const isRolling = (ds: Obj): boolean => (ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';

/** upstream updatedDesiredNodeCounts: both round up; both 0 means maxUnavailable 1. */
export function surgeAndUnavailable(ds: Obj, desired: number): { maxSurge: number; maxUnavailable: number } {
  const ru = ds.spec?.updateStrategy?.rollingUpdate ?? {};
  const maxSurge = isRolling(ds) ? scaledValue(ru.maxSurge ?? 0, desired, true) : 0;
  let maxUnavailable = scaledValue(ru.maxUnavailable ?? 1, desired, true);
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable };
}

/** upstream updateDaemonSetStatus's counts. */
export function computeStatus(ds: Obj, nodes: Obj[], byNode: Map<string, Obj[]>, hash: string, now: number): DaemonSetStatus {
  const minReady = ds.spec?.minReadySeconds ?? 0;
  const s: DaemonSetStatus = {
    observedGeneration: ds.metadata?.generation,
    currentNumberScheduled: 0,
    numberMisscheduled: 0,
    desiredNumberScheduled: 0,
    numberReady: 0,
    updatedNumberScheduled: 0,
    numberAvailable: 0,
    numberUnavailable: 0,
  };
  if (ds.status?.collisionCount !== undefined) s.collisionCount = ds.status.collisionCount;
  for (const node of nodes) {
    const pods = byNode.get(node.metadata.name) ?? [];
    if (!nodeShouldRunDaemonPod(node, ds).run) {
      if (pods.length) s.numberMisscheduled++;
      continue;
    }
    s.desiredNumberScheduled++;
    if (!pods.length) continue;
    s.currentNumberScheduled++;
    const pod = [...pods].sort(byCreation)[0]!;
    if (isPodReady(pod)) {
      s.numberReady++;
      if (isPodAvailable(pod, minReady, now)) s.numberAvailable++;
    }
    if (isPodUpdated(ds, pod, hash)) s.updatedNumberScheduled++;
  }
  s.numberUnavailable = s.desiredNumberScheduled - s.numberAvailable;
  return s;
}

const allowsSurge = (ds: Obj, nodes: number): boolean => surgeAndUnavailable(ds, nodes).maxSurge > 0;

/** upstream podsShouldBeOnNode: the creation (node name) and deletions one node needs. */
function podsShouldBeOnNode(ds: Obj, node: Obj, pods: Obj[] | undefined, hash: string, surge: boolean, out: PodAction[]): void {
  const { run, keep } = nodeShouldRunDaemonPod(node, ds);
  const name = node.metadata.name;
  if (run && !pods?.length) {
    out.push({ type: 'createPod', node: name, pod: newDaemonPod(ds, hash, name) });
    return;
  }
  if (!pods?.length) return;
  if (!keep) {
    for (const p of pods) if (!p.metadata?.deletionTimestamp) out.push({ type: 'deletePod', pod: p, reason: 'misscheduled' });
    return;
  }
  const running: Obj[] = [];
  for (const p of pods) {
    if (p.metadata?.deletionTimestamp) continue;
    if (isTerminal(p)) out.push({ type: 'deletePod', pod: p, reason: 'failed' });
    else running.push(p);
  }
  if (running.length <= 1) return;
  running.sort(byCreation);
  if (!surge) {
    // More than one pod on the node: keep the oldest.
    for (const p of running.slice(1)) out.push({ type: 'deletePod', pod: p, reason: 'extra' });
    return;
  }
  // Surging: an old and a new pod may coexist while the new one is not ready.
  let oldestNew: Obj | undefined;
  let oldestOld: Obj | undefined;
  for (const p of running) {
    if (isPodUpdated(ds, p, hash)) {
      if (!oldestNew) {
        oldestNew = p;
        continue;
      }
    } else if (!oldestOld) {
      oldestOld = p;
      continue;
    }
    out.push({ type: 'deletePod', pod: p, reason: 'extra' });
  }
  if (oldestNew && oldestOld && (!isPodReady(oldestOld) || isPodReady(oldestNew))) out.push({ type: 'deletePod', pod: oldestOld, reason: 'extra' });
}

/** upstream findUpdatedPodsOnNode: at most one new and one old live pod, else not ok. */
function updatedPodsOnNode(ds: Obj, pods: Obj[], hash: string): { newPod?: Obj; oldPod?: Obj; ok: boolean } {
  let newPod: Obj | undefined;
  let oldPod: Obj | undefined;
  for (const p of pods) {
    if (p.metadata?.deletionTimestamp) continue;
    if (isPodUpdated(ds, p, hash)) {
      if (newPod) return { ok: false };
      newPod = p;
    } else {
      if (oldPod) return { ok: false };
      oldPod = p;
    }
  }
  return { newPod, oldPod, ok: true };
}

/** upstream rollingUpdate. */
function rollingUpdate(ds: Obj, nodes: Obj[], byNode: Map<string, Obj[]>, hash: string, now: number, out: PodAction[]): void {
  const minReady = ds.spec?.minReadySeconds ?? 0;
  const avail = (p: Obj | undefined): boolean => !!p && isPodAvailable(p, minReady, now);
  const desired = nodes.filter((n) => nodeShouldRunDaemonPod(n, ds).run).length;
  const { maxSurge, maxUnavailable } = surgeAndUnavailable(ds, desired);
  const nodeByName = new Map(nodes.map((n) => [n.metadata.name, n]));
  const entries = [...byNode.entries()].sort(([a], [b]) => a.localeCompare(b));
  if (maxSurge === 0) {
    let unavailable = 0;
    const replace: Obj[] = [];
    const candidates: Obj[] = [];
    for (const [, pods] of entries) {
      const { newPod, oldPod, ok } = updatedPodsOnNode(ds, pods, hash);
      if (!ok || (!oldPod && !newPod) || (oldPod && newPod)) unavailable++;
      else if (newPod) {
        if (!avail(newPod)) unavailable++;
      } else if (!avail(oldPod)) replace.push(oldPod!);
      else if (unavailable < maxUnavailable) candidates.push(oldPod!);
    }
    const remaining = Math.min(Math.max(0, maxUnavailable - unavailable), candidates.length);
    for (const p of [...replace, ...candidates.slice(0, remaining)]) out.push({ type: 'deletePod', pod: p, reason: 'update' });
    return;
  }
  const toDelete: Obj[] = [];
  const shouldNotRun: Obj[] = [];
  const candidateNodes: string[] = [];
  const allowedNodes: string[] = [];
  let surge = 0;
  let available = 0;
  for (const [nodeName, pods] of entries) {
    const { newPod, oldPod, ok } = updatedPodsOnNode(ds, pods, hash);
    if (!ok) {
      surge++;
      continue;
    }
    if (avail(oldPod) || avail(newPod)) available++;
    if (!oldPod) continue;
    if (!newPod) {
      if (!avail(oldPod)) {
        const node = nodeByName.get(nodeName);
        if (!node || !nodeShouldRunDaemonPod(node, ds).run) {
          shouldNotRun.push(oldPod);
          continue;
        }
        allowedNodes.push(nodeName);
      } else if (surge < maxSurge) candidateNodes.push(nodeName);
      continue;
    }
    if (!avail(newPod)) {
      surge++;
      continue;
    }
    toDelete.push(oldPod);
  }
  const deletable = Math.min(available - desired, shouldNotRun.length);
  if (deletable > 0) toDelete.push(...shouldNotRun.slice(0, deletable));
  const remaining = Math.min(Math.max(0, maxSurge - surge), candidateNodes.length);
  for (const p of toDelete) out.push({ type: 'deletePod', pod: p, reason: 'update' });
  for (const n of [...allowedNodes, ...candidateNodes.slice(0, remaining)]) out.push({ type: 'createPod', node: n, pod: newDaemonPod(ds, hash, n) });
}

/**
 * One sync of a DaemonSet: `pods` and `revisions` are every pod and
 * ControllerRevision of its namespace, `nodes` every node; `manage` false
 * (expectations not yet met) computes history and status only.
 */
export function planDaemonSet(ds: Obj, nodes: Obj[], pods: Obj[], revisions: Obj[], now: number, manage = true): DaemonSetPlan {
  const hist = daemonSetHistory(ds, revisions);
  const hash: string = hist.update.metadata.labels[REVISION_HASH_LABEL];
  let byNode = new Map<string, Obj[]>();
  const { plan: base, owned } = startPlan<PodAction, DaemonSetStatus>(ds, pods, hist, now, (owned) => {
    byNode = podsByNode(owned);
    return computeStatus(ds, nodes, byNode, hash, now);
  });
  const plan: DaemonSetPlan = { ...base, hash };
  const actions = plan.actions;
  if (manage && !ds.metadata?.deletionTimestamp) {
    const podActions: PodAction[] = [];
    const surge = allowsSurge(ds, nodes.length);
    const nodeNames = new Set(nodes.map((n) => n.metadata.name));
    for (const node of [...nodes].sort((a, b) => String(a.metadata.name).localeCompare(b.metadata.name))) podsShouldBeOnNode(ds, node, byNode.get(node.metadata.name), hash, surge, podActions);
    // Pods for nodes that are gone and were never bound (bound ones are the pod GC's).
    for (const [n, list] of byNode) {
      if (nodeNames.has(n)) continue;
      for (const p of list) if (!p.spec?.nodeName && !p.metadata?.deletionTimestamp) podActions.push({ type: 'deletePod', pod: p, reason: 'misscheduled' });
    }
    if (podActions.length === 0 && isRolling(ds)) rollingUpdate(ds, nodes, byNode, hash, now, podActions);
    actions.push(...podActions);
  }
  // History: old revisions beyond the limit that no pod uses.
  const live = new Set<string>([hash, ...owned.map((p) => p.metadata?.labels?.[REVISION_HASH_LABEL] ?? '')]);
  const old = hist.revisions.filter((r) => r.metadata?.name !== hist.update.metadata.name);
  for (const r of revisionsToTruncate(old, (r) => live.has(r.metadata?.labels?.[REVISION_HASH_LABEL]), historyLimit(ds), true)) {
    actions.push({ type: 'deleteRevision', name: r.metadata.name, uid: r.metadata.uid });
  }
  return plan;
}

/** Whether the stored status differs from the computed one (fields this controller owns). */
export const statusChanged = (o: Obj, s: DaemonSetStatus): boolean => statusFieldsChanged(o, s as unknown as Obj);
