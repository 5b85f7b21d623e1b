// JSON merge patch (RFC 7386) as the API server applies it for
// `Content-Type: application/merge-patch+json` (upstream: evanphx/json-patch
// MergePatch):
//
// - an object patch merges into the document key by key, recursively;
// - a null value deletes the key (deleting a missing key is not an error);
// - anything else (arrays, scalars) replaces the target value wholesale;
// - where a patch value is written into the document without merging (the key
//   was missing, null, or not an object), null members of the objects it
//   contains are dropped, as upstream does; null array elements are kept.
//
// Errors: a patch that is `null` or a scalar is a 400 "Invalid JSON Patch"; a
// document that is `null` is "Invalid JSON Document" (500 upstream: it can
// only come from the server itself). A patch that is an array replaces the
// whole document (which the API server then fails to decode as an object).

import { PatchError } from './errors.js';

type Obj = { [key: string]: unknown };

const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const has = (o: Obj, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

function setKey(o: Obj, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
}

/** A deep copy of a patch value with null object members removed (pruneNulls). */
function pruned(v: unknown): unknown {
  if (Array.isArray(v)) return v.map((e) => (e === null ? null : pruned(e)));
  if (isObject(v)) {
    const out: Obj = {};
    for (const [k, e] of Object.entries(v)) if (e !== null) setKey(out, k, pruned(e));
    return out;
  }
  return v;
}

/** A deep copy without pruning. */
const copy = (v: unknown): unknown => (v === null || typeof v !== 'object' ? v : structuredClone(v));

/** mergeDocs: merges `patch` into `doc` in place. */
function mergeInto(doc: Obj, patch: Obj): void {
  for (const [k, pv] of Object.entries(patch)) {
    if (pv === null) {
      delete doc[k];
      continue;
    }
    const cur = has(doc, k) ? doc[k] : undefined;
    if (cur === undefined || cur === null) {
      setKey(doc, k, pruned(pv));
    } else if (!isObject(cur)) {
      setKey(doc, k, pruned(pv));
    } else if (!isObject(pv)) {
      // upstream returns the patch value as is here, without pruning
      setKey(doc, k, copy(pv));
    } else {
      mergeInto(cur, pv);
    }
  }
}

/**
 * Applies `patch` to a copy of `doc` and returns the result; neither argument
 * is modified. Both are parsed JSON.
 */
export function applyMergePatch<T = unknown>(doc: T, patch: unknown): T {
  if (patch === null || patch === undefined || typeof patch !== 'object') throw new PatchError('Invalid JSON Patch', 400);
  if (doc === null || doc === undefined) throw new PatchError('Invalid JSON Document', 500);
  if (Array.isArray(patch)) return pruned(patch) as T;
  if (!isObject(doc)) return pruned(patch) as T;
  const out = structuredClone(doc) as Obj;
  mergeInto(out, patch as Obj);
  return out as T;
}

/**
 * The merge patch that turns `original` into `modified` (RFC 7386 diff, as
 * jsonpatch.CreateMergePatch): changed keys carry their new value, removed
 * keys null, nested objects are diffed recursively, arrays and scalars are
 * replaced wholesale. Both must be objects.
 */
export function createMergePatch(original: Obj, modified: Obj): Obj {
  const out: Obj = {};
  for (const [k, mv] of Object.entries(modified)) {
    const has0 = has(original, k);
    const ov = has0 ? original[k] : undefined;
    if (!has0) {
      setKey(out, k, copy(mv));
    } else if (isObject(ov) && isObject(mv)) {
      const sub = createMergePatch(ov, mv);
      if (Object.keys(sub).length > 0) setKey(out, k, sub);
    } else if (!deepEqual(ov, mv)) {
      setKey(out, k, copy(mv));
    }
  }
  for (const k of Object.keys(original)) if (!has(modified, k)) setKey(out, k, null);
  return out;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => deepEqual(v, bb[i]));
  }
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => has(b as Obj, k) && deepEqual((a as Obj)[k], (b as Obj)[k]));
}
