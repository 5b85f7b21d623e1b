// Small object helpers for the API server: keys, names, metadata.
import { randomUUID, randomInt } from 'node:crypto';
import type { ResourceInfo } from '../api/registry.js';

export type Obj = Record<string, any>;

export function storageKey(r: ResourceInfo, namespace: string | undefined, name: string): string {
  return r.namespaced ? `/registry/${r.storagePath}/${namespace}/${name}` : `/registry/${r.storagePath}/${name}`;
}

/** The key prefix of a resource's objects, optionally in one namespace. */
export function storagePrefix(r: ResourceInfo, namespace?: string): string {
  return r.namespaced && namespace ? `/registry/${r.storagePath}/${namespace}/` : `/registry/${r.storagePath}/`;
}

// Upstream's generateName alphabet: no vowels (no accidental words), no confusable 0/1/3.
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
export function generateName(base: string): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return base.slice(0, 63 - 5) + s;
}

/** RFC 3339 with whole seconds, as metav1.Time serialises. */
export function nowTime(d = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export const newUid = (): string => randomUUID();

export function clone<T>(o: T): T {
  return structuredClone(o);
}

/** Deep equality of JSON values. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i]));
  }
  const ak = Object.keys(a as object).filter((k) => (a as Obj)[k] !== undefined);
  const bk = Object.keys(b as object).filter((k) => (b as Obj)[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => jsonEqual((a as Obj)[k], (b as Obj)[k]));
}

/** Everything but metadata and status: a change here bumps metadata.generation. */
export function specPart(o: Obj): Obj {
  const { metadata: _m, status: _s, ...rest } = o;
  return rest;
}
