// Small helpers for defaulting parsed JSON objects in place.

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obj = any;

export const isObj = (v: unknown): v is Record<string, Obj> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v : []);

/** Makes `o[k]` an object (creating it when absent) and returns it. */
export function ensureObj(o: Obj, k: string): Obj {
  if (!isObj(o[k])) o[k] = {};
  return o[k];
}

/** Sets `o[k] = v` unless a value is present (null and undefined count as absent). */
export function setDefault(o: Obj, k: string, v: unknown): void {
  if (o[k] === undefined || o[k] === null) o[k] = v;
}

export const sameJSON = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
