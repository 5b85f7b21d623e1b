// The quantity operations validation needs, over src/api/quantity.ts
// (upstream resource.Quantity): parse leniently as JSON decoding does,
// compare, sign, integrality, and print as the API server prints.

import { type Quantity, compareQuantities, quantityFromJSON, quantitySign, quantityString as print, scaledValue } from '../quantity.js';

export { ERR_FORMAT_WRONG as QUANTITY_FORMAT_ERROR } from '../quantity.js';

export type Q = Quantity;

/** A quantity from JSON (string or number); null when absent or malformed. */
export function parseQuantity(v: unknown): Q | null {
  try {
    return quantityFromJSON(v) ?? null;
  } catch {
    return null;
  }
}

export const cmpQuantity = (a: Q, b: Q): number => compareQuantities(a, b);
export const isNegative = (q: Q): boolean => quantitySign(q) < 0;
export const isPositive = (q: Q): boolean => quantitySign(q) > 0;
/** upstream: MilliValue() % 1000 == 0. */
export const isInteger = (q: Q): boolean => scaledValue(q, -3) % 1000n === 0n;

/** How a quantity from an object prints in messages (upstream Quantity.String()); the raw value when it does not parse. */
export function quantityString(v: unknown): string {
  const q = parseQuantity(v);
  return q ? print(q) : String(v);
}
