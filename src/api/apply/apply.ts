// Server-side apply (application/apply-patch+yaml) and the managed-fields
// bookkeeping of ordinary writes, after upstream's field manager
// (k8s.io/apimachinery/pkg/util/managedfields and structured-merge-diff/merge):
//
//  apply():        merges an applied configuration into the live object;
//                  fields this manager applied before but no longer does are
//                  removed unless someone else owns them; values that change
//                  fields owned by other managers are conflicts, unless forced,
//                  in which case the fields move to the applier.
//  recordUpdate(): for create/update/patch, the writer owns what it changed
//                  and other managers lose what changed under them.
//
// Both are pure: they return the new object (with metadata.managedFields)
// and never touch their inputs.

import { invalid, required, tooLong, type FieldError } from '../field-errors.js';
import { PatchError } from '../patch/errors.js';
import { lookupResource, type GroupResource } from '../registry.js';
import { rootNode, type SchemaNode } from '../patch/schema.js';
import { FieldSet, field, goJSON, pathString, type Path } from './fieldpath.js';
import {
  ANCIENT_CHANGES,
  BEFORE_FIRST_APPLY,
  capUpdateManagers,
  cloneManaged,
  decodeManagedFields,
  encodeManagedFields,
  isResetManagedFields,
  managerIdentifier,
  printManager,
  type Managed,
  type ManagedFieldsEntry,
  type ManagerState,
} from './managedfields.js';
import { compare, deepEqual, ensureNamedFieldsAreMembers, mergeValues, prune, removeFieldPaths, toFieldSet, TypedError, type Comparison } from './typed.js';

type Obj = Record<string, unknown>;

export { ANCIENT_CHANGES, BEFORE_FIRST_APPLY };

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';
/** validation.FieldManagerMaxLength */
export const FIELD_MANAGER_MAX_LENGTH = 128;
/** metav1.CauseTypeFieldManagerConflict */
export const CAUSE_FIELD_MANAGER_CONFLICT = 'FieldManagerConflict';

/**
 * Managers kubectl sets explicitly (--field-manager defaults): server-side
 * apply uses "kubectl"; the other commands name themselves.
 */
export const KUBECTL_MANAGERS = {
  serverSideApply: 'kubectl',
  clientSideApply: 'kubectl-client-side-apply',
  create: 'kubectl-create',
  edit: 'kubectl-edit',
  patch: 'kubectl-patch',
  replace: 'kubectl-replace',
  label: 'kubectl-label',
  annotate: 'kubectl-annotate',
  scale: 'kubectl-scale',
  set: 'kubectl-set',
  rollout: 'kubectl-rollout',
  expose: 'kubectl-expose',
  run: 'kubectl-run',
  taint: 'kubectl-taint',
} as const;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPrintable = (ch: string) => /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(ch);

/**
 * The manager of a write that names none: the user agent up to its first
 * "/", without unprintable characters, cut at 128 bytes
 * ("kubectl/v1.30.0 (linux/amd64) kubernetes/7c48c2b" -> "kubectl").
 */
export function defaultManagerFromUserAgent(userAgent: string | undefined): string {
  const prefix = (userAgent ?? '').split('/')[0];
  let out = '';
  let bytes = 0;
  for (const ch of prefix) {
    if (!isPrintable(ch)) continue;
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > FIELD_MANAGER_MAX_LENGTH) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/** The fieldManager option when given, else derived from the user agent. */
export function managerOrUserAgent(fieldManager: string | undefined, userAgent: string | undefined): string {
  return fieldManager ? fieldManager : defaultManagerFromUserAgent(userAgent);
}

/** Validation of the fieldManager option (required for apply; at most 128 bytes; printable). */
export function validateFieldManager(fieldManager: string | undefined, isApply: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const m = fieldManager ?? '';
  if (isApply && m === '') errs.push(required('fieldManager', 'is required for apply patch'));
  if (Buffer.byteLength(m, 'utf8') > FIELD_MANAGER_MAX_LENGTH) errs.push(tooLong('fieldManager', FIELD_MANAGER_MAX_LENGTH));
  let i = 0;
  for (const ch of m) {
    if (!isPrintable(ch)) errs.push(invalid(`fieldManager[${i}]`, m, 'invalid character'));
    i += Buffer.byteLength(ch, 'utf8');
  }
  return errs;
}

/**
 * Fields a write through this endpoint must not touch and nobody owns
 * through it: the status of a resource with a status subresource when
 * writing the main resource, the spec when writing status.
 */
export function defaultResetFields(gr: GroupResource, subresource?: string): string[][] {
  const i = gr.indexOf('/');
  const info = lookupResource(gr.slice(0, i), gr.slice(i + 1));
  if (subresource === 'status') return [['spec']];
  if (!subresource && info?.subresources?.status) return [['status']];
  return [];
}

// ---------------------------------------------------------------------------
// Conflicts

export interface FieldConflict {
  /** The manager identifier (JSON of the entry: manager, operation, apiVersion for updaters, subresource). */
  manager: string;
  /** The field, as upstream prints it: `.spec.replicas`, `.spec.template.spec.containers[name="nginx"].image`. */
  field: string;
  /** `conflict with "kubectl-client-side-apply" using apps/v1` */
  message: string;
  path: Path;
}

/** A metav1.Status, as the API server sends it. */
export interface ConflictStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: 'Conflict';
  details: { causes: Array<{ reason: string; message: string; field: string }> };
  code: 409;
}

/** `Apply failed with 1 conflict: conflict with "x" using apps/v1: .spec.replicas`, or the grouped multi-conflict form. */
export function conflictMessage(conflicts: FieldConflict[]): string {
  if (conflicts.length === 1) return `Apply failed with 1 conflict: ${conflicts[0].message}: ${conflicts[0].field}`;
  const byManager = new Map<string, string[]>();
  for (const c of conflicts) byManager.set(c.manager, [...(byManager.get(c.manager) ?? []), c.field]);
  const lines: string[] = [];
  for (const m of [...byManager.keys()].sort()) {
    lines.push(`conflicts with ${printManager(m)}:`);
    for (const f of byManager.get(m)!) lines.push(`- ${f}`);
  }
  return `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
}

/** The 409 Status upstream answers an apply with conflicts. */
export function conflictStatus(conflicts: FieldConflict[]): ConflictStatus {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: conflictMessage(conflicts),
    reason: 'Conflict',
    details: { causes: conflicts.map((c) => ({ reason: CAUSE_FIELD_MANAGER_CONFLICT, message: c.message, field: c.field })) },
    code: 409,
  };
}

function conflictsFrom(sets: Map<string, FieldSet>): FieldConflict[] {
  const out: FieldConflict[] = [];
  for (const id of [...sets.keys()].sort()) {
    for (const path of sets.get(id)!.paths()) {
      out.push({ manager: id, field: pathString(path), message: `conflict with ${printManager(id)}`, path });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Shared machinery

/** Fields never tracked: identity and server-managed metadata (stripMetaManager). */
const STRIP_SET = FieldSet.fromPaths(
  [
    ['apiVersion'],
    ['kind'],
    ['metadata'],
    ['metadata', 'name'],
    ['metadata', 'namespace'],
    ['metadata', 'creationTimestamp'],
    ['metadata', 'selfLink'],
    ['metadata', 'uid'],
    ['metadata', 'clusterName'],
    ['metadata', 'generation'],
    ['metadata', 'managedFields'],
    ['metadata', 'resourceVersion'],
  ].map((p) => p.map(field)),
);

function pathsToSet(paths: string[][]): FieldSet {
  return FieldSet.fromPaths(paths.filter((p) => p.length > 0).map((p) => p.map(field)));
}

function formatTime(now: Date | string): string {
  const d = typeof now === 'string' ? new Date(now) : now;
  if (Number.isNaN(d.getTime())) return String(now);
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A copy without metadata.managedFields. */
function withoutManagedFields(obj: Obj): Obj {
  const out = structuredClone(obj);
  if (isObj(out.metadata)) {
    const md = out.metadata as Obj;
    delete md.managedFields;
  }
  return out;
}

function withManagedFields(obj: Obj, entries: ManagedFieldsEntry[]): Obj {
  const out = { ...obj };
  const md: Obj = isObj(out.metadata) ? { ...(out.metadata as Obj) } : {};
  if (entries.length) md.managedFields = entries;
  else delete md.managedFields;
  out.metadata = md;
  return out;
}

function filterComparison(c: Comparison, ignored: FieldSet): Comparison {
  if (ignored.isEmpty()) return c;
  return { added: c.added.recursiveDifference(ignored), modified: c.modified.recursiveDifference(ignored), removed: c.removed.recursiveDifference(ignored) };
}

/**
 * Updater.update: other managers lose the fields that changed (with
 * force) or those changes are conflicts (without), and everyone loses the
 * fields that were removed.
 */
function updateManagers(
  oldObj: unknown,
  newObj: unknown,
  node: SchemaNode,
  managed: Managed,
  workflow: string,
  force: boolean,
  ignored: FieldSet,
): { managed: Managed; comparison: Comparison } | { conflicts: Map<string, FieldSet> } {
  const comparison = filterComparison(compare(oldObj, newObj, node), ignored);
  const changed = comparison.modified.union(comparison.added);
  const conflicts = new Map<string, FieldSet>();
  for (const [id, m] of managed) {
    if (id === workflow) continue;
    const c = m.set.intersection(changed);
    if (!c.isEmpty()) conflicts.set(id, c);
  }
  if (!force && conflicts.size) return { conflicts };
  for (const [id, c] of conflicts) {
    const m = managed.get(id)!;
    managed.set(id, { ...m, set: m.set.difference(c) });
  }
  if (!comparison.removed.isEmpty()) {
    for (const [id, m] of managed) if (id !== workflow) managed.set(id, { ...m, set: m.set.difference(comparison.removed) });
  }
  for (const [id, m] of managed) if (m.set.isEmpty()) managed.delete(id);
  return { managed, comparison };
}

/** Records a non-apply write by `manager` (Updater.Update behind managedFieldsUpdater). */
function recordUpdateInto(
  oldObj: unknown,
  newObj: unknown,
  node: SchemaNode,
  managed: Managed,
  who: { manager: string; apiVersion: string; subresource?: string },
  time: string,
  ignored: FieldSet,
): Managed {
  const CURRENT = '\u0000current-operation';
  const r = updateManagers(oldObj, newObj, node, managed, CURRENT, true, ignored);
  if ('conflicts' in r) throw new Error('unreachable: forced update has no conflicts');
  let set = r.comparison.modified.union(r.comparison.added).recursiveDifference(ignored);
  set = set.difference(STRIP_SET);
  const out = r.managed;
  if (set.isEmpty()) return out;
  const id = managerIdentifier({ manager: who.manager, operation: 'Update', apiVersion: who.apiVersion, subresource: who.subresource });
  const prev = out.get(id);
  const state: ManagerState = { manager: who.manager, operation: 'Update', apiVersion: who.apiVersion, time, set: prev ? set.union(prev.set) : set };
  if (who.subresource) state.subresource = who.subresource;
  out.set(id, state);
  return out;
}

function gvkString(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/', 2) : ['', apiVersion];
  return `${group}/${version}, Kind=${kind}`;
}

function objectGVKNN(obj: Obj, apiVersion: string): string {
  const md = isObj(obj.metadata) ? (obj.metadata as Obj) : {};
  const ns = typeof md.namespace === 'string' ? md.namespace : '';
  const name = typeof md.name === 'string' ? md.name : '';
  return `${gvkString(typeof obj.apiVersion === 'string' ? obj.apiVersion : apiVersion, typeof obj.kind === 'string' ? obj.kind : '')}; ${ns}/${name}`;
}

// ---------------------------------------------------------------------------
// apply

export interface ApplyOptions {
  gr: GroupResource;
  /** The current object; null/undefined when the apply creates it. */
  live: Obj | null | undefined;
  /** The applied configuration (the decoded apply-patch+yaml body). */
  applied: unknown;
  manager: string;
  force?: boolean;
  /** The API version of the request, e.g. "apps/v1" or "v1". */
  apiVersion: string;
  now: Date | string;
  /** "status" for applies to the status subresource. */
  subresource?: string;
  /** Fields ignored in the configuration and never owned; defaults to defaultResetFields(gr, subresource). */
  resetFields?: string[][];
}

export interface ApplySuccess {
  ok: true;
  /** The resulting object, with metadata.managedFields. */
  object: Obj;
  managedFields: ManagedFieldsEntry[];
  /** False when the apply changed nothing but (possibly) ownership. */
  changed: boolean;
  /** Whether metadata.managedFields differ from the live object's (a no-op apply may still take ownership). */
  managedFieldsChanged: boolean;
}

export interface ApplyConflicts {
  ok: false;
  conflicts: FieldConflict[];
  message: string;
  /** The 409 Status to answer with. */
  status: ConflictStatus;
}

export type ApplyResult = ApplySuccess | ApplyConflicts;

/**
 * Server-side apply. Throws PatchError for configurations that cannot be
 * applied (400: wrong type, managedFields set, list items missing their keys,
 * duplicate keys); returns the conflicts as data otherwise.
 */
export function apply(opts: ApplyOptions): ApplyResult {
  const { gr, manager, apiVersion, subresource } = opts;
  if (!isObj(opts.applied)) throw new PatchError('the apply configuration must be an object', 400);
  const applied = opts.applied;
  const appliedMeta = isObj(applied.metadata) ? (applied.metadata as Obj) : undefined;
  if (appliedMeta && appliedMeta.managedFields !== undefined && appliedMeta.managedFields !== null) {
    throw new PatchError('metadata.managedFields must be nil', 400);
  }
  checkVersion(gr, applied, apiVersion);

  const node = rootNode(gr);
  const time = formatTime(opts.now);
  const ignored = pathsToSet(opts.resetFields ?? defaultResetFields(gr, subresource));
  const config = removeFieldPaths(applied, opts.resetFields ?? defaultResetFields(gr, subresource)) as Obj;
  const liveObj = opts.live ? opts.live : undefined;
  const live = liveObj ? withoutManagedFields(liveObj) : {};

  let managed: Managed;
  try {
    managed = decodeManagedFields(liveObj && isObj(liveObj.metadata) ? (liveObj.metadata as Obj).managedFields : undefined);
  } catch (e) {
    throw new PatchError(`failed to decode managed fields: ${(e as Error).message}`, 500);
  }

  // An object nobody manages yet: everything it has belongs to "before-first-apply".
  if (liveObj && managed.size === 0) {
    try {
      managed = recordUpdateInto({}, live, node, managed, { manager: BEFORE_FIRST_APPLY, apiVersion, subresource }, time, ignored);
    } catch (e) {
      throw typedError(e, 'failed to create typed live object', live, apiVersion);
    }
  }

  const applierId = managerIdentifier({ manager, operation: 'Apply', subresource });
  let configSet: FieldSet;
  try {
    configSet = toFieldSet(config, node, true).recursiveDifference(ignored);
  } catch (e) {
    throw typedError(e, 'failed to create typed patch object', applied, apiVersion);
  }

  const attempt = (force: boolean) => applyOnce(live, config, configSet, node, cloneManaged(managed), applierId, { manager, apiVersion, subresource }, force, ignored);
  let r = attempt(!!opts.force);
  if ('conflicts' in r && manager === 'kubectl') {
    // Upgrading from client-side apply: conflicts on fields whose live value is
    // what the last-applied annotation says are the applier's own.
    const allowed = allowedFromLastApplied(liveObj, live, node);
    if (allowed) {
      let remaining = 0;
      const filtered = new Map<string, FieldSet>();
      for (const [id, s] of r.conflicts) {
        const left = s.difference(allowed);
        if (!left.isEmpty()) {
          filtered.set(id, left);
          remaining++;
        }
      }
      r = remaining === 0 ? attempt(true) : { conflicts: filtered };
    }
  }
  if ('conflicts' in r) {
    const conflicts = conflictsFrom(r.conflicts);
    return { ok: false, conflicts, message: conflictMessage(conflicts), status: conflictStatus(conflicts) };
  }

  let object = r.object;
  let result = r.managed;
  if (r.changed) {
    const s = result.get(applierId);
    if (s) result.set(applierId, { ...s, time });
  } else {
    object = live;
  }
  result = capUpdateManagers(result);

  // kubectl's server-side apply keeps a client-side last-applied annotation in sync.
  if (manager === 'kubectl') object = syncLastApplied(object, applied);

  const entries = encodeManagedFields(result);
  const out = withManagedFields(object, entries);
  const liveMF = liveObj && isObj(liveObj.metadata) ? (liveObj.metadata as Obj).managedFields : undefined;
  return {
    ok: true,
    object: out,
    managedFields: entries,
    changed: !deepEqual(object, live),
    managedFieldsChanged: !deepEqual(entries, Array.isArray(liveMF) ? liveMF : []),
  };
}

function applyOnce(
  live: Obj,
  config: Obj,
  configSet: FieldSet,
  node: SchemaNode,
  managed: Managed,
  applierId: string,
  who: { manager: string; apiVersion: string; subresource?: string },
  force: boolean,
  ignored: FieldSet,
): { object: Obj; managed: Managed; changed: boolean } | { conflicts: Map<string, FieldSet> } {
  let merged: Obj;
  try {
    merged = mergeValues(live, config, node) as Obj;
  } catch (e) {
    throw typedError(e, 'failed to merge', live, who.apiVersion);
  }
  const last = managed.get(applierId);
  const state: ManagerState = { manager: who.manager, operation: 'Apply', apiVersion: who.apiVersion, set: configSet };
  if (who.subresource) state.subresource = who.subresource;
  if (last?.time) state.time = last.time;
  managed.set(applierId, state);

  let pruned = merged;
  if (last && !last.set.isEmpty()) {
    let everyone = new FieldSet();
    for (const m of managed.values()) everyone = everyone.union(m.set);
    pruned = prune(merged, node, ensureNamedFieldsAreMembers(last.set, node), ensureNamedFieldsAreMembers(everyone, node)) as Obj;
  }

  const r = updateManagers(live, pruned, node, managed, applierId, force, ignored);
  if ('conflicts' in r) return r;
  const mine = r.managed.get(applierId);
  if (mine) {
    const stripped = mine.set.difference(STRIP_SET);
    if (stripped.isEmpty()) r.managed.delete(applierId);
    else r.managed.set(applierId, { ...mine, set: stripped });
  }
  return { object: pruned, managed: r.managed, changed: !deepEqual(live, pruned) };
}

function checkVersion(gr: GroupResource, applied: Obj, apiVersion: string): void {
  const i = gr.indexOf('/');
  const info = lookupResource(gr.slice(0, i), gr.slice(i + 1));
  const gotVersion = typeof applied.apiVersion === 'string' ? applied.apiVersion : '';
  const gotKind = typeof applied.kind === 'string' ? applied.kind : '';
  if (gotVersion !== apiVersion || (info && gotKind !== info.kind)) {
    throw new PatchError(`invalid object type: ${gvkString(gotVersion, gotKind)}`, 400);
  }
}

function typedError(e: unknown, what: string, obj: Obj, apiVersion: string): Error {
  if (e instanceof TypedError) {
    return new PatchError(`${what} (${objectGVKNN(obj, apiVersion)}): ${e.message}`, what.includes('patch object') ? 400 : 500);
  }
  return e as Error;
}

/** The fields of the last-applied annotation whose values are still live, or undefined. */
function allowedFromLastApplied(liveObj: Obj | undefined, live: Obj, node: SchemaNode): FieldSet | undefined {
  const md = liveObj && isObj(liveObj.metadata) ? (liveObj.metadata as Obj) : undefined;
  const ann = md && isObj(md.annotations) ? (md.annotations as Obj)[LAST_APPLIED_ANNOTATION] : undefined;
  if (typeof ann !== 'string' || ann === '') return undefined;
  try {
    const last: unknown = JSON.parse(ann);
    if (!isObj(last)) return undefined;
    const c = compare(last, live, node);
    return toFieldSet(last, node).difference(c.modified).difference(c.added).difference(c.removed);
  } catch {
    return undefined;
  }
}

/** With the annotation present on the object, rewrites it from the applied configuration (lastAppliedUpdater). */
function syncLastApplied(object: Obj, applied: Obj): Obj {
  const md = isObj(object.metadata) ? (object.metadata as Obj) : undefined;
  const ann = md && isObj(md.annotations) ? (md.annotations as Obj) : undefined;
  if (!ann || !(LAST_APPLIED_ANNOTATION in ann)) return object;
  const cfg = structuredClone(applied);
  const cmd = isObj(cfg.metadata) ? (cfg.metadata as Obj) : undefined;
  if (cmd && isObj(cmd.annotations)) delete (cmd.annotations as Obj)[LAST_APPLIED_ANNOTATION];
  return { ...object, metadata: { ...md, annotations: { ...ann, [LAST_APPLIED_ANNOTATION]: `${goJSON(cfg)}\n` } } };
}

// ---------------------------------------------------------------------------
// recordUpdate

export interface RecordUpdateOptions {
  gr: GroupResource;
  /** The object before the write; null/undefined for a create. */
  oldObj: Obj | null | undefined;
  /** The object being written (its managedFields, if the client set them, are honoured). */
  newObj: Obj;
  manager: string;
  operation?: 'Update';
  apiVersion: string;
  now: Date | string;
  subresource?: string;
  resetFields?: string[][];
}

export interface RecordUpdateResult {
  /** newObj with metadata.managedFields recorded. */
  object: Obj;
  managedFields: ManagedFieldsEntry[];
}

/**
 * Records a create, update or non-apply patch by `manager`. Never throws:
 * like upstream's UpdateNoErrors, an object the bookkeeping cannot handle is
 * returned without managedFields.
 */
export function recordUpdate(opts: RecordUpdateOptions): RecordUpdateResult {
  const { gr, manager, apiVersion, subresource } = opts;
  const node = rootNode(gr);
  const oldMF = opts.oldObj && isObj(opts.oldObj.metadata) ? (opts.oldObj.metadata as Obj).managedFields : undefined;
  const newMF = isObj(opts.newObj.metadata) ? (opts.newObj.metadata as Obj).managedFields : undefined;
  const oldPlain = opts.oldObj ? withoutManagedFields(opts.oldObj) : {};
  const newPlain = withoutManagedFields(opts.newObj);
  try {
    const managed = decodeLiveOrNew(oldMF, newMF, !!subresource);
    const ignored = pathsToSet(opts.resetFields ?? defaultResetFields(gr, subresource));
    let result = recordUpdateInto(oldPlain, newPlain, node, managed, { manager, apiVersion, subresource }, formatTime(opts.now), ignored);
    result = capUpdateManagers(result);
    const entries = encodeManagedFields(result);
    return { object: withManagedFields(newPlain, entries), managedFields: entries };
  } catch {
    return { object: withManagedFields(newPlain, []), managedFields: [] };
  }
}

/** The managed fields a write starts from: the request's own when it sets them (and not via a subresource), else the live ones. */
function decodeLiveOrNew(liveMF: unknown, newMF: unknown, ignoreRequest: boolean): Managed {
  const decodeOrEmpty = (x: unknown) => {
    try {
      return decodeManagedFields(x);
    } catch {
      return new Map() as Managed;
    }
  };
  if (ignoreRequest) return decodeOrEmpty(liveMF);
  if (isResetManagedFields(newMF)) return new Map();
  try {
    const m = decodeManagedFields(newMF);
    if (m.size > 0) return m;
  } catch {
    // fall back to the live object's
  }
  return decodeOrEmpty(liveMF);
}

/** The managers of an object, decoded (for inspection and tests). */
export function managersOf(obj: Obj): Managed {
  return decodeManagedFields(isObj(obj.metadata) ? (obj.metadata as Obj).managedFields : undefined);
}
