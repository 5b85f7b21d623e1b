// Field errors, as upstream's k8s.io/apimachinery/pkg/util/validation/field.
// Validation returns a list of them; the API server turns the list into a 422
// metav1.Status whose details.causes carry one entry per error.

export type FieldErrorType =
  | 'FieldValueRequired'
  | 'FieldValueNotFound'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueDuplicate'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'FieldValueTypeInvalid'
  | 'InternalError';

export interface FieldError {
  type: FieldErrorType;
  /** Path in upstream form: `spec.containers[0].ports[1].containerPort`, `metadata.labels[app]`. */
  field: string;
  badValue?: unknown;
  detail?: string;
}

/** Renders a value as upstream's error messages do (Go %#v-like for common cases). */
export function formatBadValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

/** `spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive` */
export function fieldErrorMessage(e: FieldError): string {
  const d = e.detail ? `: ${e.detail}` : '';
  switch (e.type) {
    case 'FieldValueRequired':
      return `${e.field}: Required value${d}`;
    case 'FieldValueForbidden':
      return `${e.field}: Forbidden${d}`;
    case 'FieldValueTooLong':
      return `${e.field}: Too long${d}`;
    case 'FieldValueTooMany':
      return `${e.field}: Too many${d}`;
    case 'InternalError':
      return `${e.field}: Internal error${d}`;
    case 'FieldValueNotFound':
      return `${e.field}: Not found: ${formatBadValue(e.badValue)}${d}`;
    case 'FieldValueNotSupported':
      return `${e.field}: Unsupported value: ${formatBadValue(e.badValue)}${d}`;
    case 'FieldValueDuplicate':
      return `${e.field}: Duplicate value: ${formatBadValue(e.badValue)}${d}`;
    case 'FieldValueTypeInvalid':
      return `${e.field}: Invalid value: ${formatBadValue(e.badValue)}${d}`;
    case 'FieldValueInvalid':
    default:
      return `${e.field}: Invalid value: ${formatBadValue(e.badValue)}${d}`;
  }
}

export const required = (field: string, detail?: string): FieldError => ({ type: 'FieldValueRequired', field, detail });
export const invalid = (field: string, badValue: unknown, detail?: string): FieldError => ({ type: 'FieldValueInvalid', field, badValue, detail });
export const notSupported = (field: string, badValue: unknown, valid: string[]): FieldError => ({
  type: 'FieldValueNotSupported',
  field,
  badValue,
  detail: `supported values: ${valid.map((v) => JSON.stringify(v)).join(', ')}`,
});
export const duplicate = (field: string, badValue: unknown): FieldError => ({ type: 'FieldValueDuplicate', field, badValue });
export const forbidden = (field: string, detail: string): FieldError => ({ type: 'FieldValueForbidden', field, detail });
export const tooLong = (field: string, max: number): FieldError => ({ type: 'FieldValueTooLong', field, detail: `may not be more than ${max} bytes` });
