// metadata.managedFields: decoding the entries into per-manager field sets
// and encoding them back, as k8s.io/apimachinery/pkg/util/managedfields does.
//
// A manager is identified by its name, operation, subresource and (for
// Update only) apiVersion: every Apply by "kubectl" shares one entry, while
// Updates by the same client through apps/v1 and apps/v1beta1 are separate.

import { FieldSet } from './fieldpath.js';

export type Operation = 'Apply' | 'Update';

/** metav1.ManagedFieldsEntry */
export interface ManagedFieldsEntry {
  manager?: string;
  operation?: Operation;
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

export interface ManagerState {
  manager: string;
  operation: Operation;
  apiVersion: string;
  subresource?: string;
  time?: string;
  set: FieldSet;
}

/** Identifier -> state. */
export type Managed = Map<string, ManagerState>;

/** The manager that owns every field of an object that had no managedFields when it was first applied to. */
export const BEFORE_FIRST_APPLY = 'before-first-apply';
/** The bucket the oldest Update entries are merged into beyond DEFAULT_MAX_UPDATE_MANAGERS. */
export const ANCIENT_CHANGES = 'ancient-changes';
export const DEFAULT_MAX_UPDATE_MANAGERS = 10;

/**
 * The identifier of a manager: the JSON of its entry without fields, time
 * and type, and without apiVersion for appliers (BuildManagerIdentifier).
 */
export function managerIdentifier(e: { manager: string; operation: Operation; apiVersion?: string; subresource?: string }): string {
  const o: Record<string, string> = { manager: e.manager, operation: e.operation };
  if (e.operation === 'Update' && e.apiVersion) o.apiVersion = e.apiVersion;
  if (e.subresource) o.subresource = e.subresource;
  return JSON.stringify(o);
}

/** How upstream prints a manager identifier in conflict messages. */
export function printManager(id: string): string {
  let e: { manager?: string; operation?: string; apiVersion?: string; subresource?: string; time?: string };
  try {
    e = JSON.parse(id);
  } catch {
    return JSON.stringify(id);
  }
  let s = JSON.stringify(e.manager ?? '');
  if (e.subresource) s = `${s} with subresource ${JSON.stringify(e.subresource)}`;
  if (e.operation === 'Update') return e.time ? `${s} using ${e.apiVersion ?? ''} at ${e.time}` : `${s} using ${e.apiVersion ?? ''}`;
  return s;
}

/** managedFields `[]` or `[{}]` in a request clears the object's managed fields. */
export function isResetManagedFields(mf: unknown): boolean {
  if (!Array.isArray(mf)) return false;
  if (mf.length === 0) return true;
  return mf.length === 1 && typeof mf[0] === 'object' && mf[0] !== null && Object.keys(mf[0]).length === 0;
}

/** Decodes managedFields entries; throws an Error with upstream's wording on malformed ones. */
export function decodeManagedFields(entries: unknown): Managed {
  const managed: Managed = new Map();
  if (entries === undefined || entries === null) return managed;
  if (!Array.isArray(entries)) throw new Error('managedFields must be a list');
  entries.forEach((raw, i) => {
    const e = (raw ?? {}) as ManagedFieldsEntry;
    if (e.operation !== 'Apply' && e.operation !== 'Update') throw new Error('operation must be `Apply` or `Update`');
    if (!e.apiVersion) throw new Error('apiVersion must not be empty');
    if (!e.fieldsType) throw new Error(`missing fieldsType in managed fields entry ${i}`);
    if (e.fieldsType !== 'FieldsV1') throw new Error(`invalid fieldsType ${JSON.stringify(e.fieldsType)} in managed fields entry ${i}`);
    const state: ManagerState = {
      manager: e.manager ?? '',
      operation: e.operation,
      apiVersion: e.apiVersion,
      set: FieldSet.fromFieldsV1(e.fieldsV1 ?? {}),
    };
    if (e.subresource) state.subresource = e.subresource;
    if (e.time) state.time = e.time;
    managed.set(managerIdentifier(state), state);
  });
  return managed;
}

const seconds = (t: string | undefined) => (t ? Math.floor(Date.parse(t) / 1000) || 0 : 0);

/** Encodes the managers into entries, in upstream's order (operation, time, manager, apiVersion, subresource). */
export function encodeManagedFields(managed: Managed): ManagedFieldsEntry[] {
  const out: ManagedFieldsEntry[] = [];
  for (const m of managed.values()) {
    if (m.set.isEmpty()) continue;
    const e: ManagedFieldsEntry = { manager: m.manager, operation: m.operation, apiVersion: m.apiVersion };
    if (m.time) e.time = m.time;
    e.fieldsType = 'FieldsV1';
    e.fieldsV1 = m.set.toFieldsV1();
    if (m.subresource) e.subresource = m.subresource;
    out.push(e);
  }
  const cmp = (a = '', b = '') => (a < b ? -1 : a > b ? 1 : 0);
  out.sort(
    (p, q) =>
      cmp(p.operation, q.operation) ||
      seconds(p.time) - seconds(q.time) ||
      cmp(p.manager, q.manager) ||
      cmp(p.apiVersion, q.apiVersion) ||
      cmp(p.subresource, q.subresource),
  );
  return out;
}

export function cloneManaged(m: Managed): Managed {
  return new Map([...m].map(([k, v]) => [k, { ...v, set: v.set.clone() }]));
}

/**
 * Keeps at most `max` Update entries: the oldest are merged, per apiVersion,
 * into an "ancient-changes" entry (capManagersManager).
 */
export function capUpdateManagers(managed: Managed, max = DEFAULT_MAX_UPDATE_MANAGERS): Managed {
  const updaters = [...managed].filter(([, m]) => m.operation === 'Update').map(([id]) => id);
  if (updaters.length <= max) return managed;
  updaters.sort((a, b) => seconds(managed.get(a)!.time) - seconds(managed.get(b)!.time) || (a < b ? -1 : a > b ? 1 : 0));
  const firstOfVersion = new Map<string, string>();
  let length = updaters.length;
  for (let i = 0; i < updaters.length && length > max; i++) {
    const id = updaters[i];
    const m = managed.get(id)!;
    const version = m.apiVersion;
    const bucket = managerIdentifier({ manager: ANCIENT_CHANGES, operation: 'Update', apiVersion: version });
    const first = firstOfVersion.get(version);
    if (first === undefined) {
      firstOfVersion.set(version, id);
      continue;
    }
    if (!managed.has(bucket)) {
      const s = managed.get(first)!;
      managed.delete(first);
      managed.set(bucket, { ...s, manager: ANCIENT_CHANGES, subresource: undefined });
    }
    const b = managed.get(bucket)!;
    managed.set(bucket, { manager: ANCIENT_CHANGES, operation: 'Update', apiVersion: version, time: m.time, set: m.set.union(b.set) });
    managed.delete(id);
    length--;
  }
  return managed;
}
