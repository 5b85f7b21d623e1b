// resource.Quantity, as upstream's k8s.io/apimachinery/pkg/api/resource.
//
//   <quantity>        ::= <signedNumber><suffix>
//   <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
//   <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
//   <decimalSI>       ::= n | u | m | "" | k | M | G | T | P | E
//   <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>
//
// A quantity remembers the kind of suffix it was written with and prints in
// that kind, in canonical form: no fractional digits, the largest suffix that
// loses no precision ("1000m" -> "1", "0.5" -> "500m", "1536Mi" stays,
// "1.5Gi" -> "1536Mi", "1e3" stays "1e3"). Values are exact (a bigint scaled
// by a power of ten); anything finer than 1n is rounded up (away from zero),
// and binary-suffixed values are capped at 2^63-1, as upstream.

export class QuantityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QuantityError';
  }
}

/** upstream ErrFormatWrong, ErrNumeric, ErrSuffix. */
export const ERR_FORMAT_WRONG = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
export const ERR_NUMERIC = 'unable to parse numeric part of quantity';
export const ERR_SUFFIX = "unable to parse quantity's suffix";

export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

export interface Quantity {
  /** value = unscaled * 10^-scale */
  readonly unscaled: bigint;
  readonly scale: number;
  readonly format: QuantityFormat;
  /**
   * The text it was parsed from, when upstream keeps that text for
   * serialization (it does for simple inputs such as "100m", "+1", "1.500",
   * "1E3"); quantityString() prints it, formatQuantity() never does.
   */
  readonly original?: string;
}

export type QuantityLike = Quantity | string | number;

const DEC_SUFFIX_EXP: ReadonlyMap<string, number> = new Map([
  ['n', -9],
  ['u', -6],
  ['m', -3],
  ['', 0],
  ['k', 3],
  ['M', 6],
  ['G', 9],
  ['T', 12],
  ['P', 15],
  ['E', 18],
]);
const DEC_EXP_SUFFIX: ReadonlyMap<number, string> = new Map([...DEC_SUFFIX_EXP].map(([s, e]) => [e, s]));
const BIN_SUFFIX_EXP: ReadonlyMap<string, number> = new Map([
  ['Ki', 10],
  ['Mi', 20],
  ['Gi', 30],
  ['Ti', 40],
  ['Pi', 50],
  ['Ei', 60],
]);
const BIN_EXP_SUFFIX: ReadonlyMap<number, string> = new Map([...BIN_SUFFIX_EXP].map(([s, e]) => [e, s]));

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
/** Values are held to nano precision (upstream Nano scale). */
const MAX_SCALE = 9;

/** Larger powers of ten mean an absurd quantity (say "1e2000000000" + "1"); refuse rather than hang. */
const MAX_POW10 = 100_000;
function pow10(n: number): bigint {
  if (n > MAX_POW10) throw new QuantityError('quantity is too large to compute with');
  return 10n ** BigInt(n);
}
const abs = (v: bigint): bigint => (v < 0n ? -v : v);
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** The scanner of upstream parseQuantityString: sign, numerator, denominator, suffix. */
function scan(str: string): { positive: boolean; num: string; denom: string; suffix: string; hasDigits: boolean } {
  let positive = true;
  let pos = 0;
  const end = str.length;
  if (str[0] === '-') {
    positive = false;
    pos++;
  } else if (str[0] === '+') {
    pos++;
  }
  const afterSign = pos;
  while (pos < end && str[pos] === '0') pos++;
  if (pos >= end) return { positive, num: '0', denom: '', suffix: '', hasDigits: pos > afterSign };
  const numStart = pos;
  while (pos < end && isDigit(str[pos])) pos++;
  let num = str.slice(numStart, pos);
  const hasNumDigits = pos > afterSign;
  if (num === '') num = '0';
  let denom = '';
  if (pos < end && str[pos] === '.') {
    pos++;
    const denomStart = pos;
    while (pos < end && isDigit(str[pos])) pos++;
    denom = str.slice(denomStart, pos);
  }
  const hasDigits = hasNumDigits || denom !== '';
  const suffixStart = pos;
  while (pos < end && 'eEinumkKMGTP'.includes(str[pos]!)) pos++;
  if (pos < end && (str[pos] === '-' || str[pos] === '+')) pos++;
  while (pos < end && isDigit(str[pos])) pos++;
  if (pos < end) throw new QuantityError(ERR_FORMAT_WRONG);
  return { positive, num, denom, suffix: str.slice(suffixStart), hasDigits };
}

/** upstream suffixer.interpret: base, exponent and format of a suffix. */
function interpret(suffix: string): { base: 2 | 10; exponent: number; format: QuantityFormat } {
  const d = DEC_SUFFIX_EXP.get(suffix);
  if (d !== undefined) return { base: 10, exponent: d, format: 'DecimalSI' };
  const b = BIN_SUFFIX_EXP.get(suffix);
  if (b !== undefined) return { base: 2, exponent: b, format: 'BinarySI' };
  if (suffix.length > 1 && (suffix[0] === 'e' || suffix[0] === 'E') && /^[+-]?[0-9]+$/.test(suffix.slice(1))) {
    const e = BigInt(suffix.slice(1));
    if (e >= INT64_MIN && e <= INT64_MAX) {
      // upstream narrows the int64 exponent to int32
      return { base: 10, exponent: Number(BigInt.asIntN(32, e)), format: 'DecimalExponent' };
    }
  }
  throw new QuantityError(ERR_SUFFIX);
}

/** Divides by 10^n, rounding away from zero. */
function divRoundUp(v: bigint, n: number): bigint {
  if (v === 0n) return 0n;
  // dividing by more digits than v has leaves a fraction of one unit: rounds to +-1
  if (n > abs(v).toString().length) return v < 0n ? -1n : 1n;
  const d = pow10(n);
  const q = v / d;
  if (q * d === v) return q;
  return v < 0n ? q - 1n : q + 1n;
}

/**
 * resource.ParseQuantity. Throws QuantityError with upstream's message, e.g.
 * `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`.
 * No surrounding whitespace is allowed (see quantityFromJSON for the lenient
 * decoding used on API objects). A number is taken in its JavaScript spelling.
 */
export function parseQuantity(input: string | number): Quantity {
  let str: string;
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) throw new QuantityError(ERR_FORMAT_WRONG);
    str = String(input);
  } else {
    str = input;
  }
  if (str.length === 0) throw new QuantityError(ERR_FORMAT_WRONG);
  if (str === '0') return { unscaled: 0n, scale: 0, format: 'DecimalSI', original: '0' };

  const { positive, num, denom, suffix, hasDigits } = scan(str);
  const { base, exponent, format } = interpret(suffix);
  const digits = num + denom;

  // upstream's int64 fast path decides whether the original text is kept
  let original: string | undefined;
  let fast = false;
  if (base === 10) {
    const precision = 18 - digits.length;
    const fastScale = exponent - denom.length;
    if (precision >= 0 && fastScale >= -MAX_SCALE) {
      fast = true;
      if (fastScale % 3 === 0 && !digits.endsWith('000') && digits[0] !== '0') original = str;
    }
  } else if (denom.length === 0) {
    const precision = 15 - num.length - Math.trunc((exponent * 3) / 10) - 1;
    if (precision >= 0 && BigInt(num) << BigInt(exponent) <= INT64_MAX) {
      fast = true;
      if (exponent % 10 === 0 && (BigInt(num) & 7n) !== 0n) original = str;
    }
  }
  if (!fast && !hasDigits) throw new QuantityError(ERR_NUMERIC);

  let unscaled = BigInt(digits);
  let scale: number;
  if (base === 10) {
    scale = denom.length - exponent;
  } else {
    unscaled <<= BigInt(exponent);
    scale = denom.length;
  }
  if (!positive) unscaled = -unscaled;
  let fmt: QuantityFormat = format;
  if (unscaled !== 0n && scale > MAX_SCALE) {
    unscaled = divRoundUp(unscaled, scale - MAX_SCALE);
    scale = MAX_SCALE;
  }
  if (fmt === 'BinarySI') {
    // capped at int64; below one unit it prints as DecimalSI
    const cap = INT64_MAX * pow10(Math.max(scale, 0));
    if (scale >= 0 && abs(unscaled) > cap) unscaled = unscaled < 0n ? -cap : cap;
    if (unscaled !== 0n && compareAbsToOne(unscaled, scale) < 0) fmt = 'DecimalSI';
  }
  const q: Quantity = original !== undefined ? { unscaled, scale, format: fmt, original } : { unscaled, scale, format: fmt };
  return q;
}

function compareAbsToOne(unscaled: bigint, scale: number): number {
  const a = abs(unscaled);
  if (scale <= 0) return a * pow10(-scale) < 1n ? -1 : a * pow10(-scale) > 1n ? 1 : 0;
  const one = pow10(scale);
  return a < one ? -1 : a > one ? 1 : 0;
}

/**
 * A quantity from an API object's JSON (upstream Quantity.UnmarshalJSON):
 * strings are trimmed, numbers accepted. Returns undefined for null/undefined.
 */
export function quantityFromJSON(v: unknown): Quantity | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'number') return parseQuantity(v);
  if (typeof v === 'string') return parseQuantity(v.trim());
  throw new QuantityError(ERR_FORMAT_WRONG);
}

/** True when `s` parses as a quantity. */
export function isValidQuantity(s: string): boolean {
  try {
    parseQuantity(s);
    return true;
  } catch {
    return false;
  }
}

const toQ = (q: QuantityLike): Quantity => (typeof q === 'object' ? q : parseQuantity(q));

// ---------------------------------------------------------------------------
// constructors

/** resource.NewQuantity(value, format). */
export function newQuantity(value: number | bigint, format: QuantityFormat = 'DecimalSI'): Quantity {
  return { unscaled: BigInt(value), scale: 0, format };
}

/** resource.NewMilliQuantity(milli, format). */
export function newMilliQuantity(milli: number | bigint, format: QuantityFormat = 'DecimalSI'): Quantity {
  return { unscaled: BigInt(milli), scale: 3, format };
}

/** resource.NewScaledQuantity(value, scale): value * 10^scale. */
export function newScaledQuantity(value: number | bigint, exponent: number): Quantity {
  return { unscaled: BigInt(value), scale: -exponent, format: 'DecimalSI' };
}

// ---------------------------------------------------------------------------
// arithmetic and comparison

function align(a: Quantity, b: Quantity): [bigint, bigint, number] {
  const s = Math.max(a.scale, b.scale);
  return [a.unscaled * pow10(s - a.scale), b.unscaled * pow10(s - b.scale), s];
}

/** -1, 0 or 1 as a <, =, > b. */
export function compareQuantities(a: QuantityLike, b: QuantityLike): -1 | 0 | 1 {
  const qa = toQ(a);
  const qb = toQ(b);
  const sa = qa.unscaled === 0n ? 0 : qa.unscaled < 0n ? -1 : 1;
  const sb = qb.unscaled === 0n ? 0 : qb.unscaled < 0n ? -1 : 1;
  if (sa !== sb) return sa < sb ? -1 : 1;
  if (sa === 0) return 0;
  // Different orders of magnitude need no big multiplication.
  const ma = magnitude(qa);
  const mb = magnitude(qb);
  if (ma !== mb) return (ma < mb) === sa > 0 ? -1 : 1;
  const [x, y] = align(qa, qb);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** floor(log10(|value|)) */
function magnitude(q: Quantity): number {
  return abs(q.unscaled).toString().length - 1 - q.scale;
}

export const quantityEquals = (a: QuantityLike, b: QuantityLike): boolean => compareQuantities(a, b) === 0;
export const isZeroQuantity = (q: QuantityLike): boolean => toQ(q).unscaled === 0n;
/** -1, 0 or 1. */
export const quantitySign = (q: QuantityLike): -1 | 0 | 1 => {
  const u = toQ(q).unscaled;
  return u === 0n ? 0 : u < 0n ? -1 : 1;
};

/** a + b, in a's format (b's when a is zero), as upstream Quantity.Add. */
export function addQuantities(a: QuantityLike, b: QuantityLike): Quantity {
  const qa = toQ(a);
  const qb = toQ(b);
  const [x, y, scale] = align(qa, qb);
  return { unscaled: x + y, scale, format: qa.unscaled === 0n ? qb.format : qa.format };
}

/** a - b, in a's format (b's when a is zero), as upstream Quantity.Sub. */
export function subtractQuantities(a: QuantityLike, b: QuantityLike): Quantity {
  const qa = toQ(a);
  const qb = toQ(b);
  const [x, y, scale] = align(qa, qb);
  return { unscaled: x - y, scale, format: qa.unscaled === 0n ? qb.format : qa.format };
}

export function negateQuantity(q: QuantityLike): Quantity {
  const x = toQ(q);
  return { unscaled: -x.unscaled, scale: x.scale, format: x.format };
}

/** The sum of a list (zero in DecimalSI for none). */
export function sumQuantities(qs: Iterable<QuantityLike>): Quantity {
  let acc: Quantity = { unscaled: 0n, scale: 0, format: 'DecimalSI' };
  for (const q of qs) acc = addQuantities(acc, q);
  return acc;
}

/** The value in units of 10^exponent, rounded away from zero (upstream ScaledValue). */
export function scaledValue(q: QuantityLike, exponent: number): bigint {
  const x = toQ(q);
  const shift = -exponent - x.scale; // digits to add (>0) or remove (<0)
  if (shift >= 0) return x.unscaled * pow10(shift);
  return divRoundUp(x.unscaled, -shift);
}

/** upstream MilliValue(): thousandths, rounded away from zero ("100m" -> 100, "1" -> 1000, "1n" -> 1). */
export function toMilli(q: QuantityLike): number {
  return Number(scaledValue(q, -3));
}

/** upstream Value(): the integer value, rounded away from zero ("1.2" -> 2, "1Ki" -> 1024, "100m" -> 1). */
export function quantityValue(q: QuantityLike): number {
  return Number(scaledValue(q, 0));
}

/** The value as a JavaScript number (exact decimal value, to double precision): "500m" -> 0.5, "1Gi" -> 1073741824. */
export function toNumber(q: QuantityLike): number {
  const x = toQ(q);
  return Number(`${x.unscaled}e${-x.scale}`);
}

// ---------------------------------------------------------------------------
// formatting

/**
 * The canonical form (upstream CanonicalizeBytes): no fractional digits and the
 * largest suffix of the quantity's format that loses no precision.
 *  DecimalSI: "1000m" -> "1", "0.5" -> "500m", "1500" -> "1500", "2000" -> "2k"
 *  BinarySI:  "1536Mi" stays, "1.5Gi" -> "1536Mi", "1Ki"*1024 -> "1Mi"; values
 *             below 1024 or not integral print as DecimalSI ("0.5Ki" -> "512")
 *  DecimalExponent: "1e3" -> "1e3", "1500e0" -> "1500", "1.5e3" -> "1500"
 * Decimal values beyond the E suffix (10^21 and up) print in exponent form,
 * as upstream does since its fix for kubernetes#141249.
 */
export function formatQuantity(q: QuantityLike): string {
  const x = toQ(q);
  if (x.unscaled === 0n) return '0';
  let format = x.format;
  if (format === 'BinarySI') {
    const integral = x.scale <= 0 || x.unscaled % pow10(x.scale) === 0n;
    if (compareQuantities(x, { unscaled: -1024n, scale: 0, format }) > 0 && compareQuantities(x, { unscaled: 1024n, scale: 0, format }) < 0) {
      format = 'DecimalSI';
    } else if (!integral) {
      format = 'DecimalSI';
    }
  }
  if (format === 'BinarySI') {
    let v = x.scale <= 0 ? x.unscaled * pow10(-x.scale) : x.unscaled / pow10(x.scale);
    let e = 0;
    while (v % 1024n === 0n && abs(v) >= 1024n) {
      v /= 1024n;
      e += 10;
    }
    while (e > 60) {
      v *= 1024n;
      e -= 10;
    }
    return v.toString() + (e === 0 ? '' : BIN_EXP_SUFFIX.get(e)!);
  }
  // decimal: move factors of ten into the exponent, then lower it to a multiple of 3
  let mantissa = x.unscaled;
  let exponent = -x.scale;
  while (mantissa % 10n === 0n) {
    mantissa /= 10n;
    exponent++;
  }
  while (exponent % 3 !== 0) {
    mantissa *= 10n;
    exponent--;
  }
  if (format === 'DecimalExponent') return exponent === 0 ? mantissa.toString() : `${mantissa}e${exponent}`;
  const suffix = DEC_EXP_SUFFIX.get(exponent);
  return suffix !== undefined ? mantissa.toString() + suffix : `${mantissa}e${exponent}`;
}

/**
 * What upstream's Quantity.String() / MarshalJSON print: the original text
 * when upstream keeps it, the canonical form otherwise. This is what the API
 * server writes back for a quantity it was sent.
 */
export function quantityString(q: QuantityLike): string {
  const x = toQ(q);
  return x.original ?? formatQuantity(x);
}

/** Parses and re-serializes as the API server would ("1000m" -> "1", "100m" -> "100m"). */
export function normalizeQuantity(s: string): string {
  return quantityString(parseQuantity(s));
}
