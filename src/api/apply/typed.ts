// Schema-aware walks over objects for server-side apply, after
// sigs.k8s.io/structured-merge-diff/typed: the field set of a value, the merge
// of an applied configuration into a live object, the comparison of two
// objects (added / modified / removed fields) and the pruning of fields an
// applier stopped applying.
//
// Lists of listType map are keyed by their list-map keys, sets by value;
// atomic lists, atomic maps/structs and scalars are leaves. Struct fields are
// "named" (their parents are implied owners); map entries and list items are
// members of the sets of their own.

import { childNode, itemsNode, resolveNode, type SchemaNode } from '../patch/schema.js';
import { FieldSet, field, keyElement, pathString, type Path, type PathElement } from './fieldpath.js';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isEmptyish = (v: unknown) => v === undefined || v === null || (isObj(v) && Object.keys(v).length === 0) || (Array.isArray(v) && v.length === 0);

/** A value that does not fit its schema (a list item without its key, a duplicate key...). */
export class TypedError extends Error {
  constructor(
    public readonly path: string,
    public readonly detail: string,
  ) {
    super(`${path || '.'}: ${detail}`);
    this.name = 'TypedError';
  }
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isObj(a)) {
    if (!isObj(b)) return false;
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    if (ka.length !== kb.length) return false;
    return ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

/** Nodes whose value is owned as a whole. */
function isLeafNode(n: SchemaNode): boolean {
  switch (n.kind) {
    case 'scalar':
      return true;
    case 'struct':
    case 'map':
      return n.atomic;
    case 'list':
      return n.listType === 'atomic';
    default:
      return true;
  }
}

/** The path element of list item `item` at `index` in a list of listType map or set. */
export function itemElement(node: SchemaNode, item: unknown, index: number, path: Path): PathElement {
  if (node.kind !== 'list') return { kind: 'index', index };
  if (node.listType === 'map') {
    if (!isObj(item)) throw new TypedError(pathString(path), `element ${index}: associative list with keys may not have non-map elements`);
    const keys = node.keys ?? [];
    const fields: Array<[string, unknown]> = [];
    for (const k of keys) {
      const v = item[k];
      if (v !== undefined && v !== null) fields.push([k, v]);
      else if (node.keyDefaults && node.keyDefaults[k] !== undefined) fields.push([k, node.keyDefaults[k]]);
      else {
        throw new TypedError(
          pathString(path),
          `element ${index}: associative list with keys has an element that omits key field ${JSON.stringify(k)} (and doesn't have default value)`,
        );
      }
    }
    return keyElement(fields);
  }
  if (node.listType === 'set') {
    if (isObj(item)) throw new TypedError(pathString(path), `element ${index}: associative list without keys has an element that's a map type`);
    if (Array.isArray(item)) throw new TypedError(pathString(path), `element ${index}: associative list without keys has an element that's a list type`);
    return { kind: 'value', value: item };
  }
  return { kind: 'index', index };
}

const peId = (pe: PathElement) => JSON.stringify(pe);

interface Keyed {
  pe: PathElement;
  id: string;
  value: unknown;
}

function keyItems(node: SchemaNode, list: unknown[], path: Path): Keyed[] {
  return list.map((item, i) => {
    const pe = itemElement(node, item, i, path);
    return { pe, id: peId(pe), value: item };
  });
}

// ---------------------------------------------------------------------------
// Field sets

/**
 * The fields a value sets (ToFieldSet): leaves, list items, map entries,
 * null or empty struct fields. With `validate`, duplicate list keys are errors.
 */
export function toFieldSet(value: unknown, node: SchemaNode, validate = false): FieldSet {
  const set = new FieldSet();
  walkFieldSet(value, node, [], set, validate);
  return set;
}

function walkFieldSet(value: unknown, node: SchemaNode, path: Path, set: FieldSet, validate: boolean): void {
  node = resolveNode(node, value);
  if (isLeafNode(node) || (!isObj(value) && !Array.isArray(value))) {
    if (path.length) set.insert(path);
    return;
  }
  if (Array.isArray(value)) {
    if (node.kind !== 'list') {
      if (path.length) set.insert(path);
      return;
    }
    const seen = new Set<string>();
    const items = itemsNode(node);
    keyItems(node, value, path).forEach(({ pe, id, value: item }) => {
      if (validate && seen.has(id)) throw new TypedError(pathString(path), `duplicate entries for key ${pathString([pe])}`);
      seen.add(id);
      const p = [...path, pe];
      walkFieldSet(item, items, p, set, validate);
      set.insert(p);
    });
    return;
  }
  if (node.kind !== 'struct' && node.kind !== 'map') {
    if (path.length) set.insert(path);
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    const p = [...path, field(k)];
    const child = childNode(node, k);
    if (v === null || (isObj(v) && Object.keys(v).length === 0)) {
      set.insert(p);
      continue;
    }
    walkFieldSet(v, child, p, set, validate);
    if (node.kind === 'map') set.insert(p);
  }
}

/**
 * Adds, for every owned path, the struct fields on its way as members
 * (EnsureNamedFieldsAreMembers): owning `.spec.replicas` implies `.spec`,
 * owning `.metadata.labels.app` implies `.metadata.labels` but not the entry's
 * parent map as a map key.
 */
export function ensureNamedFieldsAreMembers(set: FieldSet, node: SchemaNode): FieldSet {
  const out = new FieldSet();
  const walk = (s: FieldSet, n: SchemaNode, prefix: Path) => {
    const { members, children } = s.entries();
    for (const pe of members) out.insert([...prefix, pe]);
    for (const [pe, sub] of children) {
      const p = [...prefix, pe];
      if (pe.kind === 'field' && (n.kind === 'struct' || n.kind === 'open')) out.insert(p);
      const next = pe.kind === 'field' ? childNode(n.kind === 'list' ? n.items : n, pe.name) : itemsNode(n);
      walk(sub, next, p);
    }
  };
  walk(set, node, []);
  return out;
}

// ---------------------------------------------------------------------------
// Merge (the applied configuration over the live object)

/** Removes null-valued keys (an applied `field: null` owns the field and leaves it unset). */
export function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (isObj(v)) {
    const out: Obj = {};
    for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = dropNulls(x);
    return out;
  }
  return v;
}

/** Merges `rhs` (applied configuration) into `lhs` (live), returning a new value; undefined when unset. */
export function mergeValues(lhs: unknown, rhs: unknown, node: SchemaNode, path: Path = []): unknown {
  if (rhs === undefined) return lhs;
  if (rhs === null) return undefined;
  // (The applied configuration is validated as a whole by toFieldSet before merging.)
  if (lhs === undefined || lhs === null) return dropNulls(structuredClone(rhs));
  const n = resolveNode(node, rhs);
  if (isLeafNode(n) || Array.isArray(lhs) !== Array.isArray(rhs) || isObj(lhs) !== isObj(rhs) || (!isObj(rhs) && !Array.isArray(rhs))) {
    return dropNulls(structuredClone(rhs));
  }
  if (isEmptyish(lhs) && isEmptyish(rhs)) return structuredClone(rhs);

  if (Array.isArray(rhs)) {
    if (n.kind !== 'list') return structuredClone(rhs);
    return mergeList(lhs as unknown[], rhs, n, path);
  }
  const l = lhs as Obj;
  const r = rhs as Obj;
  const out: Obj = {};
  for (const [k, lv] of Object.entries(l)) {
    if (lv === undefined) continue;
    const v = Object.prototype.hasOwnProperty.call(r, k) ? mergeValues(lv, r[k], childNode(n, k), [...path, field(k)]) : lv;
    if (v !== undefined) out[k] = v;
  }
  for (const [k, rv] of Object.entries(r)) {
    if (Object.prototype.hasOwnProperty.call(l, k) && l[k] !== undefined) continue;
    const v = mergeValues(undefined, rv, childNode(n, k), [...path, field(k)]);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * Merges two associative lists: items only in the live list keep their
 * place, applied items follow the applied order, shared items are merged.
 */
function mergeList(lhs: unknown[], rhs: unknown[], node: SchemaNode & { kind: 'list' }, path: Path): unknown[] {
  const items = itemsNode(node);
  const l = keyItems(node, lhs, path);
  const r = keyItems(node, rhs, path);
  const rById = new Map<string, Keyed>();
  for (const x of r) {
    if (rById.has(x.id)) throw new TypedError(pathString(path), `duplicate entries for key ${pathString([x.pe])}`);
    rById.set(x.id, x);
  }
  const lById = new Map<string, Keyed>();
  for (const x of l) if (!lById.has(x.id)) lById.set(x.id, x);

  const shared = r.filter((x) => lById.has(x.id)).map((x) => x.id);
  let nextShared = 0;
  const merged = new Set<string>();
  const out: unknown[] = [];
  const emit = (id: string, lv: unknown, rv: unknown, pe: PathElement) => {
    const v = mergeValues(lv, rv, items, [...path, pe]);
    if (v !== undefined) out.push(v);
    merged.add(id);
    if (shared[nextShared] === id) nextShared++;
  };
  let li = 0;
  let ri = 0;
  while (li < l.length || ri < r.length) {
    if (li < l.length && ri < r.length) {
      const lx = l[li];
      if (lx.id === r[ri].id && !merged.has(lx.id)) {
        emit(lx.id, lById.get(lx.id)!.value, r[ri].value, lx.pe);
        li++;
        ri++;
        continue;
      }
      if (rById.has(lx.id) && nextShared < shared.length && shared[nextShared] !== lx.id) {
        li++; // a shared item whose turn has not come: it is emitted from the applied side
        continue;
      }
    }
    if (li < l.length) {
      const lx = l[li];
      if (!rById.has(lx.id)) {
        out.push(lx.value);
        li++;
        continue;
      }
      if (merged.has(lx.id)) {
        li++;
        continue;
      }
    }
    if (ri < r.length) {
      const rx = r[ri];
      if (!merged.has(rx.id)) emit(rx.id, lById.get(rx.id)?.value, rx.value, rx.pe);
      ri++;
      continue;
    }
    li++;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Comparison

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/** The fields added, modified and removed going from `lhs` to `rhs`. */
export function compare(lhs: unknown, rhs: unknown, node: SchemaNode): Comparison {
  const c: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  walkCompare(lhs, rhs, node, [], c);
  return c;
}

function leaf(lhs: unknown, rhs: unknown, path: Path, c: Comparison): void {
  if (path.length === 0) return;
  const l = lhs === null ? undefined : lhs;
  const r = rhs === null ? undefined : rhs;
  if (l === undefined && r === undefined) return;
  if (l === undefined) c.added.insert(path);
  else if (r === undefined) c.removed.insert(path);
  else if (!deepEqual(l, r)) c.modified.insert(path);
}

function walkCompare(lhs: unknown, rhs: unknown, node: SchemaNode, path: Path, c: Comparison): void {
  const l = lhs === null ? undefined : lhs;
  const r = rhs === null ? undefined : rhs;
  if (l === undefined && r === undefined) return;
  const n = resolveNode(node, r !== undefined ? r : l);
  const sameShape = l === undefined || r === undefined || (Array.isArray(l) === Array.isArray(r) && isObj(l) === isObj(r));
  if (isLeafNode(n) || !sameShape || (!isObj(r ?? l) && !Array.isArray(r ?? l))) return leaf(l, r, path, c);
  if (isEmptyish(l) && isEmptyish(r)) return leaf(l, r, path, c);

  if (Array.isArray(r ?? l)) {
    if (n.kind !== 'list') return leaf(l, r, path, c);
    const items = itemsNode(n);
    const lk = keyItems(n, (l as unknown[] | undefined) ?? [], path);
    const rk = keyItems(n, (r as unknown[] | undefined) ?? [], path);
    const groups = new Map<string, { pe: PathElement; l: unknown[]; r: unknown[] }>();
    for (const x of lk) {
      const g = groups.get(x.id) ?? { pe: x.pe, l: [], r: [] };
      g.l.push(x.value);
      groups.set(x.id, g);
    }
    for (const x of rk) {
      const g = groups.get(x.id) ?? { pe: x.pe, l: [], r: [] };
      g.r.push(x.value);
      groups.set(x.id, g);
    }
    for (const g of groups.values()) {
      const p = [...path, g.pe];
      if (g.l.length > 1 || g.r.length > 1) {
        // Duplicates: compare the entries for that key as a whole.
        leaf(g.l.length ? g.l : undefined, g.r.length ? g.r : undefined, p, c);
        continue;
      }
      const lv = g.l[0];
      const rv = g.r[0];
      if (lv === undefined) c.added.insert(p);
      if (rv === undefined) c.removed.insert(p);
      walkCompare(lv, rv, items, p, c);
    }
    return;
  }

  if (n.kind !== 'struct' && n.kind !== 'map') return leaf(l, r, path, c);
  if (n.kind === 'map' && path.length) {
    if (l === undefined) c.added.insert(path);
    else if (r === undefined) c.removed.insert(path);
  }
  const lo = (l as Obj | undefined) ?? {};
  const ro = (r as Obj | undefined) ?? {};
  const keys = new Set([...Object.keys(lo), ...Object.keys(ro)]);
  for (const k of keys) walkCompare(lo[k], ro[k], childNode(n, k), [...path, field(k)], c);
}

// ---------------------------------------------------------------------------
// Pruning

/**
 * Removes from `value` what the applier stopped applying: a path in `last`
 * (the applier's previous set, named fields made members) goes when it, or
 * an ancestor that came from `last`, is no longer owned by anyone (`managed`,
 * the union of every manager's set with named fields made members).
 */
export function prune(value: unknown, node: SchemaNode, last: FieldSet, managed: FieldSet): unknown {
  return walkPrune(value, node, [], last, managed, false, false);
}

function walkPrune(value: unknown, node: SchemaNode, path: Path, last: FieldSet, managed: FieldSet, parentInLast: boolean, parentGone: boolean): unknown {
  const n = resolveNode(node, value);
  if (isLeafNode(n)) return value;
  const decide = (p: Path) => {
    const inLast = parentInLast || last.has(p);
    const unowned = inLast && !managed.has(p);
    return { inLast, gone: parentGone || unowned, remove: last.has(p) && (unowned || parentGone) };
  };
  if (Array.isArray(value)) {
    if (n.kind !== 'list') return value;
    const items = itemsNode(n);
    const out: unknown[] = [];
    keyItems(n, value, path).forEach(({ pe, value: item }) => {
      const p = [...path, pe];
      const d = decide(p);
      if (d.remove) return;
      out.push(walkPrune(item, items, p, last, managed, d.inLast, d.gone));
    });
    return out;
  }
  if (!isObj(value) || (n.kind !== 'struct' && n.kind !== 'map')) return value;
  const out: Obj = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    const p = [...path, field(k)];
    const d = decide(p);
    if (d.remove) continue;
    out[k] = walkPrune(v, childNode(n, k), p, last, managed, d.inLast, d.gone);
  }
  return out;
}

/** Deletes the subtrees at the given field-name paths (reset fields such as `status`). */
export function removeFieldPaths(value: unknown, paths: string[][]): unknown {
  if (!isObj(value) || paths.length === 0) return value;
  const out: Obj = { ...value };
  const here = new Set(paths.filter((p) => p.length === 1).map((p) => p[0]));
  for (const k of here) delete out[k];
  const deeper = new Map<string, string[][]>();
  for (const p of paths) if (p.length > 1) deeper.set(p[0], [...(deeper.get(p[0]) ?? []), p.slice(1)]);
  for (const [k, rest] of deeper) if (k in out) out[k] = removeFieldPaths(out[k], rest);
  return out;
}
