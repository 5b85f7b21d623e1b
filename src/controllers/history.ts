// ControllerRevisions, as upstream's pkg/controller/history and the parts of
// the StatefulSet and DaemonSet controllers that keep their history: a
// revision stores a strategic merge patch that restores the owner's pod
// template (what `kubectl rollout undo` applies), is named `<owner>-<hash>`,
// carries the `controller-revision-hash` label, and is numbered; old,
// unused revisions are truncated to spec.revisionHistoryLimit.
import { canonicalJSON, normalize } from './deployment/plan.js';
import { type Obj, claim, nextAvailableCheck, ownerRefFor, selectorOf } from './replicaset/plan.js';

export const REVISION_HASH_LABEL = 'controller-revision-hash';
export const CONTROLLER_REVISIONS = 'apps/controllerrevisions';
export const DEFAULT_REVISION_HISTORY_LIMIT = 10;

/** Names longer than this lose their tail before `-<hash>` (upstream ControllerRevisionName). */
const MAX_PREFIX = 223;

/**
 * upstream getPatch (StatefulSet and DaemonSet alike): the owner's
 * spec.template with `$patch: replace`, under spec; keys sorted as Go's
 * json.Marshal of a map sorts them, so that kubectl's byte comparison can match.
 */
export function templatePatch(owner: Obj): Obj {
  const template = { ...structuredClone(owner.spec?.template ?? {}), $patch: 'replace' };
  return JSON.parse(canonicalJSON({ spec: { template } })) as Obj;
}

/** upstream ControllerRevisionName. */
export function revisionName(ownerName: string, hash: string): string {
  return `${ownerName.length > MAX_PREFIX ? ownerName.slice(0, MAX_PREFIX) : ownerName}-${hash}`;
}

/** upstream history.NewControllerRevision: labels from the template plus the hash label, a controller ref. */
export function newControllerRevision(owner: Obj, kind: string, data: Obj, hash: string, revision: number): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name: revisionName(owner.metadata.name, hash),
      namespace: owner.metadata.namespace,
      labels: { ...(owner.spec?.template?.metadata?.labels ?? {}), [REVISION_HASH_LABEL]: hash },
      ownerReferences: [ownerRefFor(owner, 'apps/v1', kind)],
    },
    data,
    revision,
  };
}

export const revisionNumber = (cr: Obj): number => Number(cr.revision ?? 0) || 0;

/** upstream history.EqualRevision: the same data (semantically, as JSON). */
export function equalRevision(a: Obj | undefined, b: Obj | undefined): boolean {
  if (!a || !b) return false;
  return canonicalJSON(normalize(a.data) ?? null) === canonicalJSON(normalize(b.data) ?? null);
}

const created = (o: Obj): number => Date.parse(o.metadata?.creationTimestamp ?? '') || 0;

/** upstream history.SortControllerRevisions: by revision, then creation, then name. */
export function sortRevisions(revs: Obj[]): Obj[] {
  return [...revs].sort((a, b) => revisionNumber(a) - revisionNumber(b) || created(a) - created(b) || String(a.metadata?.name).localeCompare(String(b.metadata?.name)));
}

/** upstream nextRevision: one more than the highest. */
export function nextRevision(revs: Obj[]): number {
  return revs.reduce((m, r) => Math.max(m, revisionNumber(r)), 0) + 1;
}

/** The template stored in a revision (upstream ApplyRevision, for the template only). */
export function templateOf(rev: Obj | undefined): Obj | undefined {
  const t = rev?.data?.spec?.template;
  if (!t) return undefined;
  const { $patch: _, ...rest } = t;
  return rest;
}

/** The owner with its template replaced by the revision's. */
export function applyRevision(owner: Obj, rev: Obj | undefined): Obj {
  const template = templateOf(rev);
  return template ? { ...owner, spec: { ...owner.spec, template: structuredClone(template) } } : owner;
}

/**
 * The revisions to delete to keep at most `limit` old revisions: the oldest
 * that no live thing uses. `countLive` (DaemonSet) counts live old revisions
 * against the limit too; the StatefulSet counts only the unused ones.
 */
export function revisionsToTruncate(old: Obj[], isLive: (r: Obj) => boolean, limit: number, countLive = false): Obj[] {
  const sorted = sortRevisions(old);
  const unused = sorted.filter((r) => !isLive(r));
  const excess = (countLive ? sorted.length : unused.length) - limit;
  return excess > 0 ? unused.slice(0, excess) : [];
}

export const historyLimit = (owner: Obj): number => owner.spec?.revisionHistoryLimit ?? DEFAULT_REVISION_HISTORY_LIMIT;

// ---- the history of one owner --------------------------------------------------

export type RevisionAction = { type: 'createRevision'; revision: Obj } | { type: 'updateRevisionNumber'; name: string; revision: number } | { type: 'deleteRevision'; name: string; uid: string };

export interface History {
  /** Revisions the owner controls (adopted ones included), sorted. */
  revisions: Obj[];
  adopt: Obj[];
  release: Obj[];
  /** The revision of the owner's current template (maybe still to be created). */
  update: Obj;
  actions: RevisionAction[];
}

/**
 * The owner's history and the revision matching its template (upstream
 * getStatefulSetRevisions / DaemonSet constructHistory): the newest equal
 * revision is reused (renumbered to the top when it is not the newest, as a
 * rollback does), else `candidate` (built by the caller with its own hash) is
 * created.
 */
export function syncHistory(owner: Obj, allRevisions: Obj[], candidate: (next: number) => Obj): History {
  const c = claim(owner, allRevisions, selectorOf(owner));
  const revisions = sortRevisions(c.owned);
  const next = nextRevision(revisions);
  const want = candidate(next);
  const equal = revisions.filter((r) => equalRevision(r, want));
  const actions: RevisionAction[] = [];
  let update: Obj;
  const last = revisions[revisions.length - 1];
  const lastEqual = equal[equal.length - 1];
  if (lastEqual && lastEqual === last) update = last!;
  else if (lastEqual) {
    update = { ...lastEqual, revision: next };
    actions.push({ type: 'updateRevisionNumber', name: lastEqual.metadata.name, revision: next });
  } else {
    update = want;
    actions.push({ type: 'createRevision', revision: want });
  }
  return { revisions, adopt: c.adopt, release: c.release, update, actions };
}

/** Whether any of `status`'s fields differs from the owner's stored status (absent numbers count as 0). */
export function statusFieldsChanged(owner: Obj, status: Obj): boolean {
  const cur = owner.status ?? {};
  return Object.keys(status).some((k) => (cur[k] ?? (typeof status[k] === 'number' ? 0 : undefined)) !== status[k]);
}

// ---- the common start of a plan ------------------------------------------------

export interface WorkloadPlan<A, S> {
  adoptPods: Obj[];
  releasePods: Obj[];
  adoptRevisions: Obj[];
  releaseRevisions: Obj[];
  /** Revision actions first, then pod actions, then history truncation. */
  actions: (A | RevisionAction)[];
  status: S;
  /** Look again after this many ms (availability after minReadySeconds). */
  requeueAfterMs?: number;
}

/**
 * Claims the owner's pods (those `member` accepts count as its own) and
 * starts its plan: adoptions, the history's actions, the status computed
 * from the pods, and when to look again for availability.
 */
export function startPlan<A, S>(owner: Obj, pods: Obj[], hist: History, now: number, status: (owned: Obj[]) => S, member: (p: Obj) => boolean = () => true): { plan: WorkloadPlan<A, S>; owned: Obj[] } {
  const c = claim(owner, pods, selectorOf(owner));
  const owned = c.owned.filter(member);
  const plan: WorkloadPlan<A, S> = { adoptPods: c.adopt, releasePods: c.release, adoptRevisions: hist.adopt, releaseRevisions: hist.release, actions: [...hist.actions], status: status(owned) };
  const requeue = nextAvailableCheck(owner, owned, now);
  if (requeue !== undefined) plan.requeueAfterMs = requeue;
  return { plan, owned };
}
