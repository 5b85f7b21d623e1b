// JSON patch (RFC 6902) as the API server applies it for
// `Content-Type: application/json-patch+json`: upstream uses
// gopkg.in/evanphx/json-patch.v4 with its default options, whose behaviour and
// error messages this module follows, including where it departs from the RFC:
//
// - negative array indexes count from the end ("/a/-1" is the last element);
// - "add" and "remove" at the document root ("") fail with "doc is missing path";
//   "replace" at the root replaces the document with an object or array
//   (and with any other value silently does nothing);
// - "test" against a missing object key passes when the value is null;
// - a path not starting with "/" has its first segment ignored.
//
// Errors: a patch that is not an array of operation objects is a 400
// (BadRequest); more than 10000 operations a 413; an operation that does not
// apply (unknown op, missing path, failing test, bad index) a 422 whose Status
// message is upstream's generic one, the detail below being the cause.

import { GENERIC_422_MESSAGE, PatchError } from './errors.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test' | string;
  path?: string;
  from?: string;
  value?: unknown;
}

/** upstream maxJSONPatchOperations */
export const MAX_JSON_PATCH_OPERATIONS = 10000;

/** A failing operation: 422, reported with upstream's generic Status message. */
const fail = (message: string): PatchError => new PatchError(message, 422, { statusMessage: GENERIC_422_MESSAGE });

// evanphx/json-patch sentinel errors, which wrapping appends as ": <cause>"
const MISSING = 'missing value';
const INVALID_INDEX = 'invalid index referenced';
const TEST_FAILED = 'test failed';

/** An error from a container operation, tagged with whether its cause is ErrMissing. */
class OpError extends Error {
  constructor(
    message: string,
    readonly missing = false,
  ) {
    super(message);
  }
}

type Obj = { [key: string]: unknown };
type Container = Obj | unknown[];

const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const isContainer = (v: unknown): v is Container => v !== null && typeof v === 'object';
const has = (o: Obj, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** RFC 6901 token escaping: "~" -> "~0", "/" -> "~1". */
export function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** RFC 6901 token unescaping, in one left-to-right pass ("~01" is "~1"). */
export function unescapePointerToken(token: string): string {
  return token.replace(/~[01]/g, (m) => (m === '~1' ? '/' : '~'));
}

/** "/a/b~1c" -> ["a", "b/c"]; "" -> []. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer.split('/').slice(1).map(unescapePointerToken);
}

/** ["a", "b/c"] -> "/a/b~1c". */
export function formatPointer(tokens: readonly string[]): string {
  return tokens.map((t) => `/${escapePointerToken(t)}`).join('');
}

/** Go's %q, close enough for the ASCII that array indexes are made of. */
const quote = (s: string): string => JSON.stringify(s);

/** strconv.Atoi, with Go's error text. */
function atoi(key: string): number {
  if (!/^[+-]?[0-9]+$/.test(key)) throw new OpError(`strconv.Atoi: parsing ${quote(key)}: invalid syntax`);
  const v = BigInt(key);
  if (v > 2n ** 63n - 1n || v < -(2n ** 63n)) throw new OpError(`strconv.Atoi: parsing ${quote(key)}: value out of range`);
  return Number(v);
}

const invalidIndex = (idx: number): OpError => new OpError(`Unable to access invalid index: ${idx}: ${INVALID_INDEX}`);

/** Resolves a possibly negative index against length n, or throws. */
function resolveIndex(idx: number, n: number): number {
  if (idx < 0) {
    if (idx < -n) throw invalidIndex(idx);
    return idx + n;
  }
  return idx;
}

// --- container operations (partialDoc / partialArray) -------------------------

function cGet(c: Container, key: string): unknown {
  if (Array.isArray(c)) {
    const idx = resolveIndex(atoi(key), c.length);
    if (idx >= c.length) throw invalidIndex(idx);
    return c[idx];
  }
  if (!has(c, key)) throw new OpError(`unable to get nonexistent key: ${key}: ${MISSING}`, true);
  return c[key];
}

function cSet(c: Container, key: string, value: unknown): void {
  if (Array.isArray(c)) {
    const idx = resolveIndex(atoi(key), c.length);
    c[idx] = value;
    return;
  }
  defineKey(c, key, value);
}

function cAdd(c: Container, key: string, value: unknown): void {
  if (!Array.isArray(c)) {
    defineKey(c, key, value);
    return;
  }
  if (key === '-') {
    c.push(value);
    return;
  }
  let idx: number;
  try {
    idx = atoi(key);
  } catch (e) {
    throw new OpError(`value was not a proper array index: '${key}': ${(e as Error).message}`);
  }
  const size = c.length + 1;
  if (idx >= size) throw invalidIndex(idx);
  c.splice(resolveIndex(idx, size), 0, value);
}

function cRemove(c: Container, key: string): void {
  if (Array.isArray(c)) {
    const idx = atoi(key);
    if (idx >= c.length) throw invalidIndex(idx);
    c.splice(resolveIndex(idx, c.length), 1);
    return;
  }
  if (!has(c, key)) throw new OpError(`Unable to remove nonexistent key: ${key}: ${MISSING}`, true);
  delete c[key];
}

/** Sets an own property, even one named "__proto__". */
function defineKey(o: Obj, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
}

/** findObject: the container holding the last token, and that token; undefined when the path does not resolve. */
function findObject(doc: Container, path: string): [Container, string] | undefined {
  const split = path.split('/');
  if (split.length < 2) return undefined;
  let cur: Container = doc;
  for (const part of split.slice(1, -1)) {
    let next: unknown;
    try {
      next = cGet(cur, unescapePointerToken(part));
    } catch {
      return undefined;
    }
    if (!isContainer(next)) return undefined;
    cur = next;
  }
  return [cur, unescapePointerToken(split[split.length - 1]!)];
}

/** Deep equality of JSON values (key order does not matter). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => jsonEqual(v, bb[i]));
  }
  const ak = Object.keys(a);
  const bo = b as Obj;
  if (ak.length !== Object.keys(bo).length) return false;
  return ak.every((k) => has(bo, k) && jsonEqual((a as Obj)[k], bo[k]));
}

const clone = <T>(v: T): T => (v === undefined ? v : structuredClone(v));

// --- decoding -----------------------------------------------------------------

/** The JSON type name Go's decoder reports in "cannot unmarshal X into ...". */
function goJsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  switch (typeof v) {
    case 'object':
      return 'object';
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    default:
      return 'number';
  }
}

/**
 * jsonpatch.DecodePatch on an already-parsed body: the patch must be a JSON
 * array whose elements are objects (or null). Throws PatchError 400.
 */
export function decodeJsonPatch(patch: unknown): JsonPatchOperation[] {
  if (!Array.isArray(patch)) {
    if (patch === null) return [];
    throw new PatchError(`json: cannot unmarshal ${goJsonType(patch)} into Go value of type jsonpatch.Patch`, 400);
  }
  for (const op of patch) {
    if (op !== null && !isObject(op)) {
      throw new PatchError(`json: cannot unmarshal ${goJsonType(op)} into Go value of type jsonpatch.Operation`, 400);
    }
  }
  return patch as JsonPatchOperation[];
}

// Operation field accessors, as evanphx's Operation methods.

function kind(op: Obj | null): string {
  const v = op?.op;
  if (v === undefined || v === null) return 'unknown';
  return typeof v === 'string' ? v : 'unknown';
}

/** Path()/From(): the string, or an error message (missing field, or not a string). */
function pointerField(op: Obj | null, field: 'path' | 'from'): { ok: true; value: string } | { ok: false; error: string } {
  const v = op?.[field];
  if (v === undefined || v === null) return { ok: false, error: `operation missing ${field} field: ${MISSING}` };
  if (typeof v !== 'string') return { ok: false, error: `json: cannot unmarshal ${goJsonType(v)} into Go value of type string` };
  return { ok: true, value: v };
}

/** value(): an absent or null value is null. */
const valueOf = (op: Obj | null): unknown => (op && has(op, 'value') && op.value !== undefined ? op.value : null);

// --- apply --------------------------------------------------------------------

interface State {
  doc: Container;
}

function opAdd(st: State, op: Obj | null): void {
  const p = pointerField(op, 'path');
  if (!p.ok) throw fail(`add operation failed to decode path: ${MISSING}`);
  const path = p.value;
  const found = findObject(st.doc, path);
  if (!found) throw fail(`add operation does not apply: doc is missing path: "${path}": ${MISSING}`);
  try {
    cAdd(found[0], found[1], clone(valueOf(op)));
  } catch (e) {
    throw fail(`error in add for path: '${path}': ${(e as Error).message}`);
  }
}

function opRemove(st: State, op: Obj | null): void {
  const p = pointerField(op, 'path');
  if (!p.ok) throw fail(`remove operation failed to decode path: ${p.error}`);
  const path = p.value;
  const found = findObject(st.doc, path);
  if (!found) throw fail(`remove operation does not apply: doc is missing path: "${path}": ${MISSING}`);
  try {
    cRemove(found[0], found[1]);
  } catch (e) {
    throw fail(`error in remove for path: '${path}': ${(e as Error).message}`);
  }
}

function opReplace(st: State, op: Obj | null): void {
  const p = pointerField(op, 'path');
  if (!p.ok) throw fail(`replace operation failed to decode path: ${p.error}`);
  const path = p.value;
  if (path === '') {
    const v = valueOf(op);
    // upstream wraps a nil error here, so a non-container value is silently ignored
    if (isContainer(v)) st.doc = clone(v);
    return;
  }
  const found = findObject(st.doc, path);
  if (!found) throw fail(`replace operation does not apply: doc is missing path: ${path}: ${MISSING}`);
  try {
    cGet(found[0], found[1]);
  } catch {
    throw fail(`replace operation does not apply: doc is missing key: ${path}: ${MISSING}`);
  }
  try {
    cSet(found[0], found[1], clone(valueOf(op)));
  } catch (e) {
    // (sic: upstream says "remove" here)
    throw fail(`error in remove for path: '${path}': ${(e as Error).message}`);
  }
}

function opMove(st: State, op: Obj | null): void {
  const f = pointerField(op, 'from');
  if (!f.ok) throw fail(`move operation failed to decode from: ${f.error}`);
  const from = f.value;
  const src = findObject(st.doc, from);
  if (!src) throw fail(`move operation does not apply: doc is missing from path: ${from}: ${MISSING}`);
  let value: unknown;
  try {
    value = cGet(src[0], src[1]);
    cRemove(src[0], src[1]);
  } catch (e) {
    // (sic: upstream prints the decoded key, not the path)
    throw fail(`error in move for path: '${src[1]}': ${(e as Error).message}`);
  }
  const p = pointerField(op, 'path');
  if (!p.ok) throw fail(`move operation failed to decode path: ${p.error}`);
  const path = p.value;
  const dst = findObject(st.doc, path);
  if (!dst) throw fail(`move operation does not apply: doc is missing destination path: ${path}: ${MISSING}`);
  try {
    cAdd(dst[0], dst[1], value);
  } catch (e) {
    throw fail(`error in move for path: '${path}': ${(e as Error).message}`);
  }
}

function opCopy(st: State, op: Obj | null): void {
  const f = pointerField(op, 'from');
  if (!f.ok) throw fail(`copy operation failed to decode from: ${f.error}`);
  const from = f.value;
  const src = findObject(st.doc, from);
  if (!src) throw fail(`copy operation does not apply: doc is missing from path: ${from}: ${MISSING}`);
  let value: unknown;
  try {
    value = cGet(src[0], src[1]);
  } catch (e) {
    throw fail(`error in copy for from: '${from}': ${(e as Error).message}`);
  }
  const p = pointerField(op, 'path');
  if (!p.ok) throw fail(`copy operation failed to decode path: ${MISSING}`);
  const path = p.value;
  const dst = findObject(st.doc, path);
  if (!dst) throw fail(`copy operation does not apply: doc is missing destination path: ${path}: ${MISSING}`);
  try {
    cAdd(dst[0], dst[1], clone(value));
  } catch (e) {
    throw fail(`error while adding value during copy: ${(e as Error).message}`);
  }
}

function opTest(st: State, op: Obj | null): void {
  const p = pointerField(op, 'path');
  if (!p.ok) throw fail(`test operation failed to decode path: ${p.error}`);
  const path = p.value;
  const expected = valueOf(op);
  const failed = (): PatchError => fail(`testing value ${path} failed: ${TEST_FAILED}`);
  if (path === '') {
    if (jsonEqual(st.doc, expected)) return;
    throw failed();
  }
  const found = findObject(st.doc, path);
  if (!found) throw fail(`test operation does not apply: is missing path: ${path}: ${MISSING}`);
  let actual: unknown = null;
  try {
    actual = cGet(found[0], found[1]);
  } catch (e) {
    if (!(e instanceof OpError && e.missing)) throw fail(`error in test for path: '${path}': ${(e as Error).message}`);
  }
  if (jsonEqual(actual ?? null, expected)) return;
  throw failed();
}

/**
 * Applies a JSON patch to a copy of `doc` (an object or array) and returns it;
 * `doc` is not modified. `patch` is the parsed request body. Throws PatchError
 * (400 undecodable, 413 too many operations, 422 not applicable).
 */
export function applyJsonPatch<T>(doc: T, patch: unknown): T {
  const ops = decodeJsonPatch(patch);
  if (ops.length > MAX_JSON_PATCH_OPERATIONS) {
    throw new PatchError(`The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${ops.length}`, 413);
  }
  if (!isContainer(doc)) throw new PatchError(`json: cannot unmarshal ${goJsonType(doc)} into Go value of type jsonpatch.partialDoc`, 500);
  const st: State = { doc: clone(doc) as Container };
  for (const raw of ops) {
    const op = raw as unknown as Obj | null;
    switch (kind(op)) {
      case 'add':
        opAdd(st, op);
        break;
      case 'remove':
        opRemove(st, op);
        break;
      case 'replace':
        opReplace(st, op);
        break;
      case 'move':
        opMove(st, op);
        break;
      case 'test':
        opTest(st, op);
        break;
      case 'copy':
        opCopy(st, op);
        break;
      default:
        throw fail(`Unexpected kind: ${kind(op)}`);
    }
  }
  return st.doc as T;
}
