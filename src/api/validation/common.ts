// Field-level building blocks shared by every kind: paths, error
// constructors, semantic equality, labels, annotations, selectors, names,
// IPs, ports. Kind files compose these; nothing kind-specific lives here.

import {
  type FieldError,
  type FieldErrorType,
  duplicate,
  forbidden,
  invalid,
  notSupported,
  required,
  tooLong,
} from '../field-errors.js';
import {
  CIDR_ERROR,
  IP_ERROR,
  isDNS1123Label,
  isDNS1123Subdomain,
  isLabelValue,
  isQualifiedName,
  isValidPercent,
  isValidPortName,
  isValidPortNum,
  nonSpecialIPErrors,
  parseCIDR,
  parseIP,
  regexError,
} from './formats.js';

export type { FieldError };
export { duplicate, forbidden, invalid, notSupported, required, tooLong };

/** Objects arrive as parsed JSON; validation reads them defensively. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obj = any;

export type Errs = FieldError[];

// ---- paths, in upstream's form: `spec.containers[0].name`, `metadata.labels[app]` ----

export const child = (path: string, name: string): string => (path ? `${path}.${name}` : name);
export const index = (path: string, i: number): string => `${path}[${i}]`;
export const key = (path: string, k: string): string => `${path}[${k}]`;

// ---- error constructors field-errors.ts does not have ----

/**
 * `Not found: "x"`. FieldErrorType has no NotFound member yet; the type name is
 * upstream's and fieldErrorMessage should render it as `<field>: Not found: <value>`.
 */
export const notFound = (field: string, badValue: unknown): FieldError => ({
  type: 'FieldValueNotFound',
  field,
  badValue,
});

export const tooMany = (field: string, actual: number, max: number): FieldError => ({
  type: 'FieldValueTooMany',
  field,
  badValue: actual,
  detail: `${actual}: must have at most ${max} items`,
});

export const FIELD_IMMUTABLE = 'field is immutable';
export const IS_NEGATIVE = 'must be greater than or equal to 0';
export const NOT_POSITIVE = 'must be greater than zero';

// ---- value helpers ----

export const isObj = (v: unknown): v is Record<string, Obj> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v : []);
export const rec = (v: unknown): Record<string, Obj> => (isObj(v) ? v : {});
export const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));
export const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
export const isSet = (v: unknown): boolean => v !== undefined && v !== null;

/**
 * Zero values as Go sees a decoded object: absent, null, "", 0, false, empty
 * list and empty map are all "unset" when comparing for changes.
 */
function isZero(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  return false;
}

/** Equality as apiequality.Semantic.DeepEqual: unset and zero values compare equal. */
export function semanticEqual(a: unknown, b: unknown): boolean {
  if (isZero(a) && isZero(b)) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => semanticEqual(x, b[i]));
  }
  if (isObj(a) || isObj(b)) {
    const ao = isObj(a) ? a : {};
    const bo = isObj(b) ? b : {};
    if (!isObj(a) && !isZero(a)) return false;
    if (!isObj(b) && !isZero(b)) return false;
    const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
    for (const k of keys) if (!semanticEqual(ao[k], bo[k])) return false;
    return true;
  }
  return a === b;
}

/** A short description of what changed between two values, one line per differing leaf. */
export function describeDiff(a: unknown, b: unknown, path = ''): string[] {
  if (semanticEqual(a, b)) return [];
  const bothObj = (isObj(a) || isZero(a)) && (isObj(b) || isZero(b)) && (isObj(a) || isObj(b));
  if (bothObj) {
    const ao = rec(a);
    const bo = rec(b);
    const keys = [...new Set([...Object.keys(ao), ...Object.keys(bo)])].sort();
    return keys.flatMap((k) => describeDiff(ao[k], bo[k], child(path, k)));
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    return a.flatMap((x, i) => describeDiff(x, b[i], index(path, i)));
  }
  return [`  ${path || '<root>'}: ${JSON.stringify(a ?? null)} -> ${JSON.stringify(b ?? null)}`];
}

export function validateImmutable(newVal: unknown, oldVal: unknown, path: string): Errs {
  return semanticEqual(newVal, oldVal) ? [] : [invalid(path, newVal ?? null, FIELD_IMMUTABLE)];
}

export function validateNonnegative(v: unknown, path: string): Errs {
  return typeof v === 'number' && v < 0 ? [invalid(path, v, IS_NEGATIVE)] : [];
}

export function validatePositive(v: unknown, path: string): Errs {
  return typeof v === 'number' && v <= 0 ? [invalid(path, v, NOT_POSITIVE)] : [];
}

// ---- names ----

export const validateDNS1123Label = (v: string, path: string): Errs => isDNS1123Label(v).map((m) => invalid(path, v, m));
export const validateDNS1123Subdomain = (v: string, path: string): Errs => isDNS1123Subdomain(v).map((m) => invalid(path, v, m));
export const validateQualifiedName = (v: string, path: string): Errs => isQualifiedName(v).map((m) => invalid(path, v, m));

// ---- labels, annotations, selectors ----

export function validateLabelName(k: string, path: string): Errs {
  return isQualifiedName(k).map((m) => invalid(path, k, m));
}

/** Label maps: keys are qualified names, values label values. Errors name the map, as upstream does. */
export function validateLabels(labels: unknown, path: string): Errs {
  const errs: Errs = [];
  for (const [k, v] of Object.entries(rec(labels))) {
    errs.push(...validateLabelName(k, path));
    const value = str(v);
    for (const m of isLabelValue(value)) errs.push(invalid(path, value, m));
  }
  return errs;
}

export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

export function validateAnnotations(annotations: unknown, path: string): Errs {
  const errs: Errs = [];
  let size = 0;
  for (const [k, v] of Object.entries(rec(annotations))) {
    // Annotation keys are qualified names in any case.
    for (const m of isQualifiedName(k.toLowerCase())) errs.push(invalid(path, k, m));
    size += Buffer.byteLength(k) + Buffer.byteLength(str(v));
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) errs.push(tooLong(path, TOTAL_ANNOTATION_SIZE_LIMIT));
  return errs;
}

export function validateLabelSelectorRequirement(r: Obj, path: string): Errs {
  const errs: Errs = [];
  const values = arr(r?.values);
  switch (r?.operator) {
    case 'In':
    case 'NotIn':
      if (values.length === 0) errs.push(required(child(path, 'values'), "must be specified when `operator` is 'In' or 'NotIn'"));
      break;
    case 'Exists':
    case 'DoesNotExist':
      if (values.length > 0) errs.push(forbidden(child(path, 'values'), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
      break;
    default:
      errs.push(invalid(child(path, 'operator'), r?.operator ?? '', 'not a valid selector operator'));
  }
  errs.push(...validateLabelName(str(r?.key), child(path, 'key')));
  values.forEach((v, i) => {
    for (const m of isLabelValue(str(v))) errs.push(invalid(index(child(path, 'values'), i), v, m));
  });
  return errs;
}

export function validateLabelSelector(sel: unknown, path: string): Errs {
  if (!isObj(sel)) return [];
  const errs = validateLabels(sel.matchLabels, child(path, 'matchLabels'));
  arr(sel.matchExpressions).forEach((r, i) => errs.push(...validateLabelSelectorRequirement(r, index(child(path, 'matchExpressions'), i))));
  return errs;
}

export const selectorIsEmpty = (sel: Obj): boolean =>
  Object.keys(rec(sel?.matchLabels)).length + arr(sel?.matchExpressions).length === 0;

/** Whether a selector can be turned into a label query at all (upstream LabelSelectorAsSelector succeeds). */
export const selectorIsUsable = (sel: Obj): boolean => validateLabelSelector(sel, '').length === 0;

/** metav1.LabelSelector semantics; a nil or empty selector matches everything. */
export function selectorMatches(sel: Obj, labels: unknown): boolean {
  const l = rec(labels);
  for (const [k, v] of Object.entries(rec(sel?.matchLabels))) if (l[k] !== v) return false;
  for (const r of arr(sel?.matchExpressions)) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const values = arr(r.values).map(str);
    switch (r.operator) {
      case 'In':
        if (!has || !values.includes(l[r.key])) return false;
        break;
      case 'NotIn':
        if (has && values.includes(l[r.key])) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

// ---- network values ----

export function validateIP(v: unknown, path: string): Errs {
  return parseIP(v) ? [] : [invalid(path, v ?? '', IP_ERROR)];
}

export function validateCIDR(v: unknown, path: string): Errs {
  return parseCIDR(v) ? [] : [invalid(path, v ?? '', CIDR_ERROR)];
}

export function validateNonSpecialIP(v: string, path: string): Errs {
  return nonSpecialIPErrors(v).map((m) => invalid(path, v, m));
}

export function validatePortNumOrName(v: unknown, path: string): Errs {
  if (typeof v === 'number') return isValidPortNum(v).map((m) => invalid(path, v, m));
  if (typeof v === 'string') return isValidPortName(v).map((m) => invalid(path, v, m));
  return [{ type: 'InternalError', field: path, detail: `unknown type: ${JSON.stringify(v ?? null)}` }];
}

/** IntOrString that must be a non-negative integer or a percentage. */
export function validatePositiveIntOrPercent(v: unknown, path: string): Errs {
  if (typeof v === 'string') return isValidPercent(v).map((m) => invalid(path, v, m));
  if (typeof v === 'number') return validateNonnegative(v, path);
  return [invalid(path, v ?? null, "must be an integer or percentage (e.g '5%')")];
}

/** The number of an IntOrString that is an integer or a valid percentage; 0 otherwise. */
export function intOrPercentValue(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && isValidPercent(v).length === 0) return Number(v.slice(0, -1));
  return 0;
}

export function isNotMoreThan100Percent(v: unknown, path: string): Errs {
  if (typeof v !== 'string' || isValidPercent(v).length > 0) return [];
  return Number(v.slice(0, -1)) > 100 ? [invalid(path, v, 'must not be greater than 100%')] : [];
}

/** The name check applied to a field that holds another object's name. */
export function validateNameRef(v: string, path: string, fn: (n: string, prefix: boolean) => string[]): Errs {
  return fn(v, false).map((m) => invalid(path, v, m));
}

// ---- conditions (metav1.Condition) ----

const conditionReasonFmt = '[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?';
export function validateConditions(conditions: unknown, path: string): Errs {
  const errs: Errs = [];
  const seen = new Set<string>();
  arr(conditions).forEach((c, i) => {
    const p = index(path, i);
    const type = str(c?.type);
    if (seen.has(type)) errs.push(duplicate(child(p, 'type'), type));
    seen.add(type);
    errs.push(...validateLabelName(type, child(p, 'type')));
    if (!['True', 'False', 'Unknown'].includes(c?.status)) errs.push(notSupported(child(p, 'status'), c?.status ?? '', ['False', 'True', 'Unknown']));
    if (typeof c?.observedGeneration === 'number' && c.observedGeneration < 0)
      errs.push(invalid(child(p, 'observedGeneration'), c.observedGeneration, 'must be greater than or equal to zero'));
    if (!c?.lastTransitionTime) errs.push(required(child(p, 'lastTransitionTime'), 'must be set'));
    const reason = str(c?.reason);
    if (!reason) errs.push(required(child(p, 'reason'), 'must be set'));
    else if (!new RegExp(`^${conditionReasonFmt}$`).test(reason))
      errs.push(
        invalid(
          child(p, 'reason'),
          reason,
          regexError(
            "a condition reason must start with alphabetic character, optionally followed by a string of alphanumeric characters or '_,:', and must end with an alphanumeric character or '_'",
            conditionReasonFmt,
            'my_name',
            'MY_NAME',
            'MyName',
            'ReasonA,ReasonB',
            'ReasonA:ReasonB',
          ),
        ),
      );
    if (reason.length > 1024) errs.push(tooLong(child(p, 'reason'), 1024));
    if (str(c?.message).length > 32 * 1024) errs.push(tooLong(child(p, 'message'), 32 * 1024));
  });
  return errs;
}
