// Strategic merge patch (application/strategic-merge-patch+json), as
// upstream's k8s.io/apimachinery/pkg/util/strategicpatch applies it on the
// server: maps merge recursively and null deletes a key; lists merge by their
// patch merge key (lists of scalars with the merge strategy are sets), other
// lists are replaced; the directives `$patch: replace|delete` (on maps and on
// list elements), `$retainKeys`, `$deleteFromPrimitiveList/<field>` and
// `$setElementOrder/<field>` are honoured. Element order follows upstream:
// items named by the patch (or by $setElementOrder) keep that order, items
// only on the server keep theirs, and the two are interleaved by the server
// order (new items come before server-only ones).
//
// Resources without a schema (custom resources) get JSON merge patch
// semantics (RFC 7386), which is what upstream offers for them.
//
// Pure: the inputs are not modified.

import type { GroupResource } from '../registry.js';
import { PatchError } from './errors.js';
import { childNode, hasSchema, itemsNode, parsePatchStrategy, resolveNode, rootNode, type SchemaNode } from './schema.js';

type Obj = Record<string, unknown>;

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList';
const SET_ELEMENT_ORDER = '$setElementOrder';

// Upstream (k8s.io/apimachinery/pkg/util/mergepatch) error texts. The API
// server answers 400 for malformed directives (interpretStrategicMergePatchError)
// and 422 for lists of lists; other merge errors reach the client as
// 500s, as upstream's handler does not translate them.
const ERR_BAD_PRIMITIVE_LIST = 'invalid patch format of primitive list';
const ERR_BAD_RETAIN_KEYS = 'invalid patch format of retainKeys';
const ERR_BAD_SET_ELEMENT_ORDER = 'invalid patch format of setElementOrder list';
const ERR_NO_LIST_OF_LISTS = 'lists of lists are not supported';

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const clone = <T>(v: T): T => (v === undefined ? v : structuredClone(v));

/** Go's %v rendering of decoded JSON, for error messages that quote values. */
export function goFormat(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (v === 0) return '0';
    const exp = Math.floor(Math.log10(Math.abs(v)));
    if (exp < -4 || exp >= 6) {
      const [m, e] = v.toExponential().split('e');
      const n = Number(e);
      return `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
    }
    return String(v);
  }
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(goFormat).join(' ')}]`;
  if (isObj(v)) {
    const keys = Object.keys(v).sort();
    return `map[${keys.map((k) => `${k}:${goFormat(v[k])}`).join(' ')}]`;
  }
  return String(v);
}

const errNoMergeKey = (m: Obj, key: string) => new PatchError(`map: ${goFormat(m)} does not contain declared merge key: ${key}`, 500);
const errBadPatchType = (t: unknown, m: Obj) => new PatchError(`unknown patch type: ${goFormat(t)} in map: ${goFormat(m)}`, 500);

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isObj(a)) {
    if (!isObj(b)) return false;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** RFC 7386 JSON merge patch. */
export function jsonMergePatch(original: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return clone(patch);
  const out: Obj = isObj(original) ? { ...original } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = jsonMergePatch(out[k], v);
  }
  return out;
}

/**
 * Applies a strategic merge patch to `original` for resource `gr`. Throws
 * PatchError (with the HTTP code the API server should answer) when the patch
 * is malformed.
 */
export function strategicMergePatch(gr: GroupResource, original: unknown, patch: unknown): Obj {
  if (!isObj(patch)) {
    throw new PatchError(`json: cannot unmarshal ${jsonKind(patch)} into Go value of type map[string]interface {}`, 400);
  }
  if (!hasSchema(gr)) return jsonMergePatch(original, patch) as Obj;
  const orig = isObj(original) ? clone(original) : {};
  return mergeMap(orig, clone(patch), rootNode(gr));
}

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  return typeof v;
}

/** Merges `patch` into `original` (both owned copies, mutated). */
function mergeMap(original: Obj | undefined, patch: Obj, node: SchemaNode): Obj {
  if (Object.prototype.hasOwnProperty.call(patch, DIRECTIVE)) {
    const directive = patch[DIRECTIVE];
    if (directive === 'replace') {
      // Take the patch literally (minus the directive), cleaning nested directives and nulls.
      delete patch[DIRECTIVE];
      return mergeMap({}, patch, node);
    }
    if (directive === 'delete') return {};
    throw errBadPatchType(directive, patch);
  }
  const out = original ?? {};
  node = resolveNode(node, out);

  applyRetainKeys(out, patch);
  applySetElementOrder(out, patch, node);

  // Deletions from primitive lists first, then the fields themselves.
  const keys = Object.keys(patch);
  const ordered = [...keys.filter((k) => k.startsWith(DELETE_FROM_PRIMITIVE_LIST)), ...keys.filter((k) => !k.startsWith(DELETE_FROM_PRIMITIVE_LIST))];
  for (const key of ordered) {
    const patchV = patch[key];
    if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      const field = extractKey(key, DELETE_FROM_PRIMITIVE_LIST, ERR_BAD_PRIMITIVE_LIST);
      if (!Array.isArray(patchV)) throw new PatchError(ERR_BAD_PRIMITIVE_LIST, 400);
      const cur = out[field];
      if (!Array.isArray(cur)) continue;
      out[field] = cur.filter((x) => !patchV.some((d) => deepEqual(d, x)));
      continue;
    }
    if (patchV === null) {
      delete out[key];
      continue;
    }
    const child = childNode(node, key);
    const cur = out[key];
    if (cur === undefined || cur === null) {
      if (isObj(patchV) && patchV[DIRECTIVE] === 'delete') continue; // deleting what is not there
      out[key] = fresh(patchV, child);
      continue;
    }
    if (isObj(cur) && isObj(patchV)) {
      const strategy = parsePatchStrategy(patchStrategyOf(child)).strategy;
      out[key] = strategy === 'replace' ? fresh(patchV, child) : mergeMap(cur, patchV, child);
    } else if (Array.isArray(cur) && Array.isArray(patchV)) {
      out[key] = mergeList(cur, patchV, child);
    } else {
      out[key] = fresh(patchV, child);
    }
  }
  return out;
}

function patchStrategyOf(node: SchemaNode): string | undefined {
  return node.kind === 'struct' || node.kind === 'map' || node.kind === 'list' || node.kind === 'open' ? node.patchStrategy : undefined;
}

/** A patch value for a place the original does not have: merged into an empty value of its kind. */
function fresh(patchV: unknown, node: SchemaNode): unknown {
  if (isObj(patchV)) return mergeMap({}, patchV, node);
  if (Array.isArray(patchV)) return mergeList([], patchV, node);
  return patchV;
}

function extractKey(key: string, prefix: string, err: string): string {
  const i = key.indexOf('/');
  if (i < 0 || key.slice(0, i) !== prefix) throw new PatchError(err, 400);
  return key.slice(i + 1);
}

function applyRetainKeys(original: Obj, patch: Obj): void {
  if (!Object.prototype.hasOwnProperty.call(patch, RETAIN_KEYS)) return;
  const retain = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(retain)) throw new PatchError(ERR_BAD_RETAIN_KEYS, 400);
  const keep = new Set(retain.map((x) => String(x)));
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(DELETE_FROM_PRIMITIVE_LIST) || k.startsWith(SET_ELEMENT_ORDER) || k === DIRECTIVE) continue;
    if (!keep.has(k)) throw new PatchError(ERR_BAD_RETAIN_KEYS, 400);
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
}

interface ListInfo {
  merge: boolean;
  mergeKey?: string;
}

function listInfo(node: SchemaNode): ListInfo {
  if (node.kind !== 'list') return { merge: false };
  return { merge: parsePatchStrategy(node.patchStrategy).strategy === 'merge', mergeKey: node.mergeKey };
}

/** $setElementOrder/<field>: merges that field's list now and orders it as the directive says. */
function applySetElementOrder(original: Obj, patch: Obj, node: SchemaNode): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ELEMENT_ORDER)) continue;
    const order = patch[key];
    delete patch[key];
    if (!Array.isArray(order)) throw new PatchError(ERR_BAD_SET_ELEMENT_ORDER, 400);
    const field = extractKey(key, SET_ELEMENT_ORDER, ERR_BAD_SET_ELEMENT_ORDER);
    const child = childNode(node, field);
    const info = listInfo(child);
    const mergeKey = info.mergeKey ?? '';

    const origV = original[field];
    const patchV = patch[field];
    const origList = Array.isArray(origV) ? origV : undefined;
    if (origV !== undefined && origV !== null && !origList) throw new PatchError(`expected a []interface {}, but received a ${goType(origV)}`, 500);
    if (patchV !== undefined && patchV !== null && !Array.isArray(patchV)) throw new PatchError(`expected a []interface {}, but received a ${goType(patchV)}`, 500);
    const patchList = Array.isArray(patchV) ? patchV : undefined;
    validatePatchWithSetOrderList(patchList ?? [], order, mergeKey);

    let merged: unknown[];
    if (origList && !patchList) merged = origList;
    else if (!origList && patchList) merged = mergeList([], patchList, child);
    else if (origList && patchList) merged = mergeList(origList, patchList, child);
    else continue;
    if (!info.merge) {
      // A list that is replaced, not merged: nothing to order against.
      original[field] = merged;
      delete patch[field];
      continue;
    }

    const isMapKind = merged.some(isObj) || order.some(isObj);
    let patchItems: unknown[];
    let serverOnly: unknown[];
    if (isMapKind) {
      if (!mergeKey) throw new PatchError(`cannot merge lists without merge key for ${field}`, 500);
      [patchItems, serverOnly] = partitionMaps(merged, order, mergeKey);
    } else {
      [patchItems, serverOnly] = partitionPrimitives(merged, order);
    }
    const both = normalizeElementOrder(patchItems, serverOnly, order, origList ?? [], isMapKind ? mergeKey : '');
    original[field] = both;
    delete patch[field];
  }
}

function goType(v: unknown): string {
  if (Array.isArray(v)) return '[]interface {}';
  if (isObj(v)) return 'map[string]interface {}';
  if (typeof v === 'number') return 'float64';
  return typeof v;
}

/** The order of items in the patch list must agree with $setElementOrder, and the patch items must be in it. */
function validatePatchWithSetOrderList(patchList: unknown[], order: unknown[], mergeKey: string): void {
  if (order.length === 0 || patchList.length === 0) return;
  const nonDelete = mergeKey ? patchList.filter((x) => !(isObj(x) && x[DIRECTIVE] === 'delete')) : patchList;
  let pi = 0;
  let oi = 0;
  while (pi < nonDelete.length && oi < order.length) {
    const p = nonDelete[pi];
    if (isObj(p) && Object.prototype.hasOwnProperty.call(p, DIRECTIVE)) {
      pi++;
      continue;
    }
    if (sameItem(p, order[oi], mergeKey)) pi++;
    oi++;
  }
  if (pi < nonDelete.length && oi >= order.length) {
    throw new PatchError(
      `The order in patch list:\n${goFormat(patchList)}\n doesn't match ${SET_ELEMENT_ORDER} list:\n${goFormat(order)}\n`,
      500,
    );
  }
}

function sameItem(a: unknown, b: unknown, mergeKey: string): boolean {
  if (!mergeKey) return deepEqual(a, b);
  if (!isObj(a)) throw new PatchError(`expected a map[string]interface {}, but received a ${goType(a)}`, 500);
  if (!isObj(b)) throw new PatchError(`expected a map[string]interface {}, but received a ${goType(b)}`, 500);
  if (!(mergeKey in a)) throw errNoMergeKey(a, mergeKey);
  if (!(mergeKey in b)) throw errNoMergeKey(b, mergeKey);
  return deepEqual(a[mergeKey], b[mergeKey]);
}

/** Merges two lists per the field's strategy (owned copies). */
function mergeList(original: unknown[], patch: unknown[], node: SchemaNode): unknown[] {
  const info = listInfo(node);
  if (!info.merge) return clone(patch);
  if (original.length === 0 && patch.length === 0) return original;

  const all = [...original, ...patch];
  if (all.some(Array.isArray)) throw new PatchError(ERR_NO_LIST_OF_LISTS, 422);
  const mapKind = all.some(isObj);
  if (mapKind && all.some((x) => !isObj(x))) {
    throw new PatchError(`list element types are not identical: ${goFormat([original, patch])}`, 500);
  }
  const elem = itemsNode(node);

  if (!mapKind) {
    const merged = dedupe([...original, ...patch]);
    const [patchItems, serverOnly] = partitionPrimitives(merged, patch);
    return normalizeElementOrder(patchItems, serverOnly, patch, original, '');
  }

  const mergeKey = info.mergeKey;
  if (!mergeKey) throw new PatchError('cannot merge lists without merge key', 500);

  // Special elements: `$patch: delete` removes every original item with that
  // key; `$patch: replace` makes the other patch items the whole list.
  let base = original as Obj[];
  const plain: Obj[] = [];
  let replace = false;
  for (const item of patch as Obj[]) {
    if (!Object.prototype.hasOwnProperty.call(item, DIRECTIVE)) {
      plain.push(item);
      continue;
    }
    const d = item[DIRECTIVE];
    if (d === 'delete') {
      if (!(mergeKey in item)) throw errNoMergeKey(item, mergeKey);
      base = base.filter((o) => !deepEqual(o[mergeKey], item[mergeKey]));
    } else if (d === 'replace') {
      replace = true;
    } else if (d === 'merge') {
      throw new PatchError('merging lists cannot yet be specified in the patch', 500);
    } else {
      throw errBadPatchType(d, item);
    }
  }
  if (replace) return plain.map((x) => fresh(x, elem));

  const merged: unknown[] = [...base];
  for (const item of plain) {
    if (!(mergeKey in item)) throw errNoMergeKey(item, mergeKey);
    const i = merged.findIndex((o) => isObj(o) && mergeKey in o && deepEqual(o[mergeKey], item[mergeKey]));
    if (i >= 0) merged[i] = mergeMap(merged[i] as Obj, item, elem);
    else merged.push(fresh(item, elem));
  }
  const [patchItems, serverOnly] = partitionMaps(merged, plain, mergeKey);
  return normalizeElementOrder(patchItems, serverOnly, plain, base, mergeKey);
}

function dedupe(xs: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const x of xs) if (!out.some((y) => deepEqual(x, y))) out.push(x);
  return out;
}

function partitionPrimitives(list: unknown[], by: unknown[]): [unknown[], unknown[]] {
  const inPatch: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const v of list) (by.some((b) => deepEqual(b, v)) ? inPatch : serverOnly).push(v);
  return [inPatch, serverOnly];
}

function partitionMaps(list: unknown[], by: unknown[], mergeKey: string): [unknown[], unknown[]] {
  const inPatch: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const v of list) {
    if (!isObj(v)) throw new PatchError(`expected a map[string]interface {}, but received a ${goType(v)}`, 500);
    if (!(mergeKey in v)) throw errNoMergeKey(v, mergeKey);
    const found = by.some((b) => isObj(b) && mergeKey in b && deepEqual(b[mergeKey], v[mergeKey]));
    (found ? inPatch : serverOnly).push(v);
  }
  return [inPatch, serverOnly];
}

/** Position of `item` in `order` (by merge key for maps, by value for scalars), or -1. */
function indexIn(order: unknown[], item: unknown, mergeKey: string): number {
  if (!mergeKey) return order.findIndex((o) => deepEqual(o, item));
  if (!isObj(item)) return -1;
  return order.findIndex((o) => isObj(o) && deepEqual(o[mergeKey], item[mergeKey]));
}

/**
 * Sorts the patch items by `patchOrder` and the server-only items by
 * `serverOrder`, then interleaves them: a server-only item goes first only
 * when both it and the next patch item are on the server and it comes first
 * there (upstream's normalizeElementOrder + mergeSortedSlice).
 */
function normalizeElementOrder(patchItems: unknown[], serverOnly: unknown[], patchOrder: unknown[], serverOrder: unknown[], mergeKey: string): unknown[] {
  const sortBy = (xs: unknown[], order: unknown[]) => {
    const deletes = mergeKey ? xs.filter((x) => isObj(x) && x[DIRECTIVE] === 'delete') : [];
    const rest = mergeKey ? xs.filter((x) => !(isObj(x) && x[DIRECTIVE] === 'delete')) : [...xs];
    const keyed = rest.map((x, i) => ({ x, i, at: indexIn(order, x, mergeKey) }));
    keyed.sort((a, b) => (a.at >= 0 && b.at >= 0 ? a.at - b.at : 0) || a.i - b.i);
    return [...keyed.map((k) => k.x), ...deletes];
  };
  const right = sortBy(patchItems, patchOrder);
  const left = sortBy(serverOnly, serverOrder);
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = indexIn(serverOrder, left[i], mergeKey);
      const ri = indexIn(serverOrder, right[j], mergeKey);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}
