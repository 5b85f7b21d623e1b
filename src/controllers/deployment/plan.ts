// The Deployment controller's pure core, as upstream's pkg/controller/deployment:
// from a Deployment and the ReplicaSets it owns, one step of its rollout
// (create the new ReplicaSet, scale new and old ones, clean up history) and
// the status that results. The I/O layer carries out the actions; the next
// informer event runs the next step.
import { type Obj, controllerRefOf, ownerRefFor } from '../replicaset/plan.js';

export type { Obj };

export const REVISION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
export const HASH_LABEL = 'pod-template-hash';
const SKIP_ANNOTATIONS = new Set(['kubectl.kubernetes.io/last-applied-configuration', REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS]);

// ---- the template hash ----------------------------------------------------------

/** JSON with object keys sorted, so equal objects hash equally. */
export function canonicalJSON(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJSON).join(',')}]`;
  if (v && typeof v === 'object') {
    const keys = Object.keys(v as Obj).filter((k) => (v as Obj)[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJSON((v as Obj)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

function fnv32a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';
/** upstream rand.SafeEncodeString: each byte mapped onto consonants and digits (no vowels, no 0/1/3). */
export function safeEncodeString(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += ALPHANUMS[s.charCodeAt(i) % ALPHANUMS.length];
  return out;
}

/** upstream controller.ComputeHash: fnv32a of the template (and collisionCount), as a safe string. */
export function computeHash(template: Obj, collisionCount?: number): string {
  let data = canonicalJSON(normalize(template) ?? {});
  if (collisionCount !== undefined && collisionCount !== null) data += `#${collisionCount}`;
  return safeEncodeString(String(fnv32a(data)));
}

/**
 * Drops nulls, empty objects and empty lists, recursively: Go's semantic
 * equality treats a nil and an empty value (and a zero struct) alike, so
 * `resources: {}` or `creationTimestamp: null` must not tell templates apart.
 */
export function normalize(v: unknown): unknown {
  if (Array.isArray(v)) {
    const a = v.map(normalize).map((x) => (x === undefined ? null : x));
    return a.length ? a : undefined;
  }
  if (v && typeof v === 'object') {
    const out: Obj = {};
    for (const [k, x] of Object.entries(v as Obj)) {
      const n = normalize(x);
      if (n !== undefined) out[k] = n;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return v === null ? undefined : v;
}

function withoutHash(t: Obj | undefined): Obj {
  const c = (normalize(t) as Obj | undefined) ?? {};
  if (c.metadata?.labels) {
    delete c.metadata.labels[HASH_LABEL];
    if (Object.keys(c.metadata.labels).length === 0) delete c.metadata.labels;
  }
  if (c.metadata && Object.keys(c.metadata).length === 0) delete c.metadata;
  return c;
}

/** upstream EqualIgnoreHash: the templates equal but for the pod-template-hash label. */
export function equalIgnoreHash(a: Obj | undefined, b: Obj | undefined): boolean {
  return canonicalJSON(withoutHash(a)) === canonicalJSON(withoutHash(b));
}

// ---- intstr ------------------------------------------------------------------

/** upstream intstr.GetScaledValueFromIntOrPercent. */
export function scaledValue(v: number | string | undefined, total: number, roundUp: boolean): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) {
    const n = Number(v);
    if (Number.isInteger(n)) return n;
    throw new Error(`invalid value for IntOrString: ${JSON.stringify(v)}`);
  }
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/** upstream ResolveFenceposts: surge rounds up, unavailable rounds down; both 0 means unavailable 1. */
export function resolveFenceposts(d: Obj): { maxSurge: number; maxUnavailable: number } {
  const replicas = desired(d);
  const ru = d.spec?.strategy?.rollingUpdate ?? {};
  const maxSurge = scaledValue(ru.maxSurge ?? '25%', replicas, true);
  let maxUnavailable = scaledValue(ru.maxUnavailable ?? '25%', replicas, false);
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable };
}

const desired = (d: Obj): number => d.spec?.replicas ?? 1;
const specReplicas = (rs: Obj): number => rs.spec?.replicas ?? 0;
const isRolling = (d: Obj): boolean => (d.spec?.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';

export function maxUnavailableOf(d: Obj): number {
  if (!isRolling(d) || desired(d) === 0) return 0;
  return Math.min(resolveFenceposts(d).maxUnavailable, desired(d));
}
export function maxSurgeOf(d: Obj): number {
  return isRolling(d) ? resolveFenceposts(d).maxSurge : 0;
}

export function revisionOf(o: Obj): number {
  const n = Number.parseInt(o.metadata?.annotations?.[REVISION] ?? '', 10);
  return Number.isNaN(n) ? 0 : n;
}

const created = (o: Obj): number => Date.parse(o.metadata?.creationTimestamp ?? '') || 0;
/** Oldest first; ties by name (upstream ReplicaSetsByCreationTimestamp). */
export const byCreation = (a: Obj, b: Obj): number => created(a) - created(b) || String(a.metadata?.name).localeCompare(String(b.metadata?.name));

/** upstream FindNewReplicaSet: the oldest ReplicaSet whose template equals the deployment's. */
export function findNewReplicaSet(d: Obj, rss: Obj[]): Obj | undefined {
  return [...rss].sort(byCreation).find((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template));
}

// ---- conditions ----------------------------------------------------------------

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/** upstream SetDeploymentCondition: no change when status and reason are the same; keeps the transition time when the status is. */
export function setCondition(conds: Condition[], c: Condition, now: number, refreshUpdate = false): Condition[] {
  const cur = conds.find((x) => x.type === c.type);
  if (cur && cur.status === c.status && cur.reason === c.reason && !refreshUpdate) return conds;
  const next: Condition = { ...c, lastUpdateTime: iso(now), lastTransitionTime: cur && cur.status === c.status ? cur.lastTransitionTime : iso(now) };
  return [...conds.filter((x) => x.type !== c.type), next];
}

// ---- the plan ------------------------------------------------------------------

export type Action =
  | { type: 'createReplicaSet'; replicaSet: Obj }
  | { type: 'scaleReplicaSet'; name: string; from: number; to: number; annotations: Record<string, string> }
  | { type: 'annotateReplicaSet'; name: string; annotations: Record<string, string> }
  | { type: 'deleteReplicaSet'; name: string; uid: string }
  | { type: 'annotateDeployment'; annotations: Record<string, string> };

export interface DeploymentPlan {
  actions: Action[];
  /** The status to write (compare with the current one before writing). */
  status: Obj;
  /** Look again after this many ms (the progress deadline). */
  requeueAfterMs?: number;
}

interface State {
  d: Obj;
  rss: Obj[]; // working copies, updated as actions are decided
  actions: Action[];
  now: number;
  conditions: Condition[];
}

/** The annotations a ReplicaSet gets from its deployment (upstream copyDeploymentAnnotationsToReplicaSet). */
function copiedAnnotations(d: Obj): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries<string>(d.metadata?.annotations ?? {})) if (!SKIP_ANNOTATIONS.has(k)) out[k] = v;
  return out;
}

function replicaAnnotations(d: Obj): Record<string, string> {
  return { [DESIRED_REPLICAS]: String(desired(d)), [MAX_REPLICAS]: String(desired(d) + maxSurgeOf(d)) };
}

function scale(s: State, rs: Obj, to: number): void {
  const from = specReplicas(rs);
  const annotations = replicaAnnotations(s.d);
  const ann = rs.metadata?.annotations ?? {};
  const annotationsChanged = Object.entries(annotations).some(([k, v]) => ann[k] !== v);
  if (from === to && !annotationsChanged) return;
  s.actions.push({ type: 'scaleReplicaSet', name: rs.metadata.name, from, to, annotations });
  rs.spec = { ...rs.spec, replicas: to };
  rs.metadata = { ...rs.metadata, annotations: { ...ann, ...annotations } };
}

/**
 * upstream getNewReplicaSet: the new ReplicaSet with its revision brought up
 * to date, created if `create` and there is none.
 */
function syncNewReplicaSet(s: State, newRS: Obj | undefined, oldRSs: Obj[], create: boolean): Obj | undefined {
  const { d } = s;
  const maxOld = oldRSs.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);
  const newRevision = String(maxOld + 1);
  if (newRS) {
    const ann = newRS.metadata?.annotations ?? {};
    const want: Record<string, string> = {};
    if (revisionOf(newRS) < maxOld + 1) want[REVISION] = newRevision;
    for (const [k, v] of Object.entries(copiedAnnotations(d))) if (ann[k] !== v) want[k] = v;
    if (Object.keys(want).length) {
      s.actions.push({ type: 'annotateReplicaSet', name: newRS.metadata.name, annotations: want });
      newRS.metadata = { ...newRS.metadata, annotations: { ...ann, ...want } };
    }
    if (!s.conditions.some((c) => c.type === 'Progressing') && d.spec?.progressDeadlineSeconds != null) {
      s.conditions = setCondition(s.conditions, { type: 'Progressing', status: 'True', reason: 'FoundNewReplicaSet', message: `Found new replica set "${newRS.metadata.name}"` }, s.now);
    }
    return newRS;
  }
  if (!create) return undefined;
  const hash = computeHash(d.spec?.template ?? {}, d.status?.collisionCount);
  const template = structuredClone(d.spec?.template ?? {});
  template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [HASH_LABEL]: hash } };
  const selector = structuredClone(d.spec?.selector ?? {});
  selector.matchLabels = { ...(selector.matchLabels ?? {}), [HASH_LABEL]: hash };
  const name = `${d.metadata.name}-${hash}`;
  const rs: Obj = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name,
      namespace: d.metadata.namespace,
      labels: { ...(template.metadata.labels as Obj) },
      annotations: { ...copiedAnnotations(d), ...replicaAnnotations(d), [REVISION]: newRevision },
      ownerReferences: [ownerRefFor(d, 'apps/v1', 'Deployment')],
    },
    spec: { replicas: 0, minReadySeconds: d.spec?.minReadySeconds ?? 0, selector, template },
  };
  rs.spec.replicas = newRSNewReplicas(d, [...oldRSs], { ...rs, spec: { ...rs.spec, replicas: 0 } });
  s.actions.push({ type: 'createReplicaSet', replicaSet: rs });
  const working = structuredClone(rs);
  working.status = { replicas: 0, readyReplicas: 0, availableReplicas: 0 };
  s.rss.push(working);
  if (d.spec?.progressDeadlineSeconds != null) {
    s.conditions = setCondition(s.conditions, { type: 'Progressing', status: 'True', reason: 'NewReplicaSetCreated', message: `Created new replica set "${name}"` }, s.now);
  }
  return working;
}

/** upstream NewRSNewReplicas. */
export function newRSNewReplicas(d: Obj, allRSs: Obj[], newRS: Obj): number {
  if (!isRolling(d)) return desired(d);
  const current = allRSs.filter((r) => r.metadata?.name !== newRS.metadata?.name).reduce((n, r) => n + specReplicas(r), 0) + specReplicas(newRS);
  const maxTotal = desired(d) + maxSurgeOf(d);
  if (current >= maxTotal) return specReplicas(newRS);
  const up = Math.min(maxTotal - current, Math.max(0, desired(d) - specReplicas(newRS)));
  return specReplicas(newRS) + up;
}

/** upstream reconcileOldReplicaSets (with cleanupUnhealthyReplicas and scaleDownOldReplicaSetsForRollingUpdate). */
function reconcileOld(s: State, newRS: Obj, oldRSs: Obj[]): boolean {
  const { d } = s;
  const oldPods = oldRSs.reduce((n, r) => n + specReplicas(r), 0);
  if (oldPods === 0) return false;
  const all = [newRS, ...oldRSs];
  const allPods = all.reduce((n, r) => n + specReplicas(r), 0);
  const minAvailable = desired(d) - maxUnavailableOf(d);
  const newUnavailable = specReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
  const maxScaledDown = allPods - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return false;
  let scaled = false;
  // Unhealthy replicas first: scaling them down never hurts availability.
  let cleaned = 0;
  for (const rs of [...oldRSs].sort(byCreation)) {
    if (cleaned >= maxScaledDown) break;
    const unhealthy = specReplicas(rs) - (rs.status?.availableReplicas ?? 0);
    if (specReplicas(rs) === 0 || unhealthy <= 0) continue;
    const down = Math.min(unhealthy, maxScaledDown - cleaned);
    scale(s, rs, specReplicas(rs) - down);
    cleaned += down;
    scaled = true;
  }
  // Then healthy ones, as long as enough stay available.
  const available = all.reduce((n, r) => n + (r.status?.availableReplicas ?? 0), 0);
  const total = Math.min(available - minAvailable, maxScaledDown - cleaned);
  let done = 0;
  for (const rs of [...oldRSs].sort(byCreation)) {
    if (done >= total) break;
    if (specReplicas(rs) === 0) continue;
    const down = Math.min(specReplicas(rs), total - done);
    scale(s, rs, specReplicas(rs) - down);
    done += down;
    scaled = true;
  }
  return scaled;
}

/** upstream isScalingEvent: an active ReplicaSet's desired-replicas annotation differs from spec.replicas. */
export function isScalingEvent(d: Obj, rss: Obj[]): boolean {
  return rss.some((rs) => specReplicas(rs) > 0 && rs.metadata?.annotations?.[DESIRED_REPLICAS] !== undefined && rs.metadata.annotations[DESIRED_REPLICAS] !== String(desired(d)));
}

/** Go's math.Round (half away from zero). */
const goRound = (x: number): number => Math.sign(x) * Math.round(Math.abs(x));

/** upstream DeploymentController.scale: a replica count change, spread proportionally across active ReplicaSets. */
function scaleDeployment(s: State, newRS: Obj | undefined, oldRSs: Obj[]): void {
  const { d } = s;
  const active = [newRS, ...oldRSs].filter((r): r is Obj => !!r && specReplicas(r) > 0);
  const target = active.length === 1 ? active[0] : active.length === 0 ? newRS : undefined;
  if (target) {
    scale(s, target, desired(d));
    return;
  }
  if (newRS && specReplicas(newRS) === desired(d) && (newRS.status?.availableReplicas ?? 0) >= desired(d)) {
    for (const rs of oldRSs) if (specReplicas(rs) > 0) scale(s, rs, 0);
    return;
  }
  if (!isRolling(d)) return;
  const allowed = desired(d) + maxSurgeOf(d);
  const current = active.reduce((n, r) => n + specReplicas(r), 0);
  const toAdd = allowed - current;
  if (toAdd === 0) return;
  // Largest first (newer first on ties) when adding; smallest first when removing, as upstream sorts.
  const sorted = [...active].sort((a, b) => (toAdd > 0 ? specReplicas(b) - specReplicas(a) || created(b) - created(a) : specReplicas(a) - specReplicas(b) || created(a) - created(b)));
  const sizes = new Map<Obj, number>();
  let added = 0;
  for (const rs of sorted) {
    const annotated = Number.parseInt(rs.metadata?.annotations?.[MAX_REPLICAS] ?? '', 10);
    const base = Number.isNaN(annotated) || annotated === 0 ? current : annotated;
    let part = goRound((specReplicas(rs) * allowed) / base) - specReplicas(rs);
    part = toAdd > 0 ? Math.min(part, toAdd - added) : Math.max(part, toAdd - added);
    sizes.set(rs, specReplicas(rs) + part);
    added += part;
  }
  // The leftover goes to the first (largest) ReplicaSet.
  if (sorted.length && added !== toAdd) sizes.set(sorted[0]!, Math.max(0, sizes.get(sorted[0]!)! + toAdd - added));
  for (const rs of sorted) scale(s, rs, Math.max(0, sizes.get(rs)!));
}

/** upstream cleanupDeployment: old ReplicaSets at 0 beyond revisionHistoryLimit, oldest first. */
function cleanup(s: State, oldRSs: Obj[]): void {
  const limit = s.d.spec?.revisionHistoryLimit;
  if (limit === undefined || limit === null) return;
  const cleanable = oldRSs.filter((rs) => !rs.metadata?.deletionTimestamp).sort(byCreation);
  let diff = cleanable.length - limit;
  for (const rs of cleanable) {
    if (diff <= 0) break;
    if (specReplicas(rs) !== 0 || (rs.status?.replicas ?? 0) !== 0) continue;
    if (rs.metadata?.generation !== undefined && rs.status?.observedGeneration !== undefined && rs.status.observedGeneration < rs.metadata.generation) continue;
    s.actions.push({ type: 'deleteReplicaSet', name: rs.metadata.name, uid: rs.metadata.uid });
    s.rss = s.rss.filter((r) => r !== rs);
    diff--;
  }
}

/** upstream calculateStatus. */
function calculateStatus(s: State, newRS: Obj | undefined): Obj {
  const { d } = s;
  const sum = (f: (r: Obj) => number) => s.rss.reduce((n, r) => n + f(r), 0);
  const available = sum((r) => r.status?.availableReplicas ?? 0);
  const total = sum(specReplicas);
  const status: Obj = {
    observedGeneration: d.metadata?.generation,
    replicas: sum((r) => r.status?.replicas ?? 0),
    updatedReplicas: newRS?.status?.replicas ?? 0,
    readyReplicas: sum((r) => r.status?.readyReplicas ?? 0),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, total - available),
  };
  if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
  const minAvailable = desired(d) - maxUnavailableOf(d);
  s.conditions = setCondition(
    s.conditions,
    available >= minAvailable
      ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
      : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' },
    s.now,
  );
  return status;
}

/** upstream DeploymentComplete. */
export function deploymentComplete(d: Obj, st: Obj): boolean {
  return st.updatedReplicas === desired(d) && st.replicas === desired(d) && st.availableReplicas === desired(d) && (st.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
}

/** upstream DeploymentProgressing: the new status shows progress over the old one. */
function deploymentProgressing(d: Obj, st: Obj): boolean {
  const old = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (st.replicas ?? 0) - (st.updatedReplicas ?? 0);
  return (
    (st.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (st.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (st.availableReplicas ?? 0) > (old.availableReplicas ?? 0)
  );
}

/** upstream syncRolloutStatus's Progressing condition; returns ms until the deadline when one is running. */
function progressing(s: State, newRS: Obj | undefined, st: Obj): number | undefined {
  const { d } = s;
  const deadline = d.spec?.progressDeadlineSeconds;
  if (deadline == null) {
    s.conditions = s.conditions.filter((c) => c.type !== 'Progressing');
    return undefined;
  }
  const cur = s.conditions.find((c) => c.type === 'Progressing');
  if (d.spec?.paused) {
    if (cur?.reason !== 'DeploymentPaused') s.conditions = setCondition(s.conditions, { type: 'Progressing', status: 'Unknown', reason: 'DeploymentPaused', message: 'Deployment is paused' }, s.now);
    return undefined;
  }
  if (cur?.reason === 'DeploymentPaused') {
    s.conditions = setCondition(s.conditions, { type: 'Progressing', status: 'Unknown', reason: 'DeploymentResumed', message: 'Deployment is resumed' }, s.now);
    return undefined; // upstream's next sync resets the timer from the resume
  }
  const rsName = newRS?.metadata?.name;
  if (deploymentComplete(d, st)) {
    if (rsName) s.conditions = setCondition(s.conditions, { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rsName}" has successfully progressed.` }, s.now);
    return undefined;
  }
  if (deploymentProgressing(d, st)) {
    s.conditions = setCondition(s.conditions, { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: rsName ? `ReplicaSet "${rsName}" is progressing.` : 'Deployment is progressing.' }, s.now, true);
    return deadline * 1000 + 1000;
  }
  const c = s.conditions.find((x) => x.type === 'Progressing');
  if (!c || c.reason === 'NewReplicaSetAvailable' || c.reason === 'ProgressDeadlineExceeded') return undefined;
  const last = Date.parse(c.lastUpdateTime ?? '') || s.now;
  const left = last + deadline * 1000 - s.now;
  if (left <= 0) {
    s.conditions = setCondition(s.conditions, { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: rsName ? `ReplicaSet "${rsName}" has timed out progressing.` : `Deployment "${d.metadata?.name}" has timed out progressing.` }, s.now);
    return undefined;
  }
  return left + 1000;
}

/**
 * One sync of a Deployment (upstream syncDeployment): `rss` are the
 * ReplicaSets it controls (after adoption). `now` is ms since the epoch.
 */
export function planDeployment(d: Obj, rss: Obj[], now: number): DeploymentPlan {
  const s: State = { d, rss: rss.map((r) => structuredClone(r)), actions: [], now, conditions: structuredClone(d.status?.conditions ?? []) };
  const finish = (newRS: Obj | undefined, doCleanup: boolean, rollout: boolean): DeploymentPlan => {
    const oldRSs = s.rss.filter((r) => r !== newRS);
    if (doCleanup) cleanup(s, oldRSs);
    const status = calculateStatus(s, newRS);
    const requeue = rollout ? progressing(s, newRS, status) : undefined;
    if (s.conditions.length) status.conditions = s.conditions;
    // The deployment's revision follows its new ReplicaSet's.
    const rev = newRS?.metadata?.annotations?.[REVISION];
    if (rev && d.metadata?.annotations?.[REVISION] !== rev) s.actions.push({ type: 'annotateDeployment', annotations: { [REVISION]: rev } });
    const plan: DeploymentPlan = { actions: s.actions, status };
    if (requeue !== undefined) plan.requeueAfterMs = requeue;
    return plan;
  };
  if (d.metadata?.deletionTimestamp) {
    const newRS = findNewReplicaSet(d, s.rss);
    return finish(newRS, false, false);
  }
  const found = findNewReplicaSet(d, s.rss);
  const old = () => s.rss.filter((r) => r !== found);
  if (d.spec?.paused || isScalingEvent(d, s.rss)) {
    // upstream sync(): no new ReplicaSet, only scaling (and history cleanup while paused).
    const newRS = syncNewReplicaSet(s, found, old(), false);
    scaleDeployment(s, newRS, s.rss.filter((r) => r !== newRS));
    const p = finish(newRS, !!d.spec?.paused, true);
    return p;
  }
  if (!isRolling(d)) {
    // Recreate: old ReplicaSets to 0, wait for their pods to go, then the new one.
    let newRS = syncNewReplicaSet(s, found, old(), false);
    const oldRSs = s.rss.filter((r) => r !== newRS);
    let scaledDown = false;
    for (const rs of oldRSs) {
      if (specReplicas(rs) > 0) {
        scale(s, rs, 0);
        scaledDown = true;
      }
    }
    if (scaledDown || oldRSs.some((r) => (r.status?.replicas ?? 0) > 0)) return finish(newRS, false, true);
    if (!newRS) newRS = syncNewReplicaSet(s, undefined, oldRSs, true);
    else scale(s, newRS, desired(d));
    const st = finish(newRS, false, true);
    if (deploymentComplete(d, st.status)) {
      cleanup(s, s.rss.filter((r) => r !== newRS));
      return finish(newRS, false, true);
    }
    return st;
  }
  // RollingUpdate.
  const newRS = syncNewReplicaSet(s, found, old(), true)!;
  const oldRSs = s.rss.filter((r) => r !== newRS);
  if (found) {
    // upstream reconcileNewReplicaSet: scale up (within maxSurge) or down to the target.
    if (specReplicas(newRS) > desired(d)) scale(s, newRS, desired(d));
    else if (specReplicas(newRS) < desired(d)) {
      const to = newRSNewReplicas(d, s.rss, newRS);
      if (to !== specReplicas(newRS)) scale(s, newRS, to);
    }
  }
  const scaledNew = s.actions.some((a) => (a.type === 'scaleReplicaSet' && a.name === newRS.metadata.name) || a.type === 'createReplicaSet');
  if (!scaledNew) reconcileOld(s, newRS, oldRSs);
  const probe = finish(newRS, false, true);
  if (deploymentComplete(d, probe.status)) {
    // Rebuild with cleanup (finish is idempotent on the working state except actions).
    s.actions = s.actions.filter((a) => a.type !== 'annotateDeployment');
    return finish(newRS, true, true);
  }
  return probe;
}

/** The ReplicaSets a deployment controls, by controllerRef uid. */
export function ownedBy(d: Obj, rss: Obj[]): Obj[] {
  return rss.filter((rs) => controllerRefOf(rs)?.uid === d.metadata?.uid);
}

/** Whether the stored status differs from the computed one. */
export function deploymentStatusChanged(d: Obj, st: Obj): boolean {
  return canonicalJSON(d.status ?? {}) !== canonicalJSON(st);
}
