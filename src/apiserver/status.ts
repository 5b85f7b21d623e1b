// API errors as metav1.Status objects, with upstream's codes, reasons and
// message formats (k8s.io/apimachinery/pkg/api/errors).
import { type FieldError, fieldErrorMessage } from '../api/field-errors.js';

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

export class ApiError extends Error {
  constructor(
    public readonly code: number,
    public readonly reason: string,
    message: string,
    public readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toStatus(): Status {
    const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, code: this.code };
    if (this.details) s.details = this.details;
    return s;
  }
}

/** `pods`, `deployments.apps`: how upstream names a resource in messages. */
export function qualifiedResource(group: string, resource: string): string {
  return group ? `${resource}.${group}` : resource;
}

export const notFound = (group: string, resource: string, name: string) =>
  new ApiError(404, 'NotFound', `${qualifiedResource(group, resource)} "${name}" not found`, { name, group: group || undefined, kind: resource });

export const alreadyExists = (group: string, resource: string, name: string) =>
  new ApiError(409, 'AlreadyExists', `${qualifiedResource(group, resource)} "${name}" already exists`, { name, group: group || undefined, kind: resource });

export const conflict = (group: string, resource: string, name: string, why: string) =>
  new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(group, resource)} "${name}": ${why}`, {
    name,
    group: group || undefined,
    kind: resource,
  });

export const OBJECT_MODIFIED = 'the object has been modified; please apply your changes to the latest version and try again';

/** 422 Invalid: `Pod "x" is invalid: spec.containers: Required value` (a list in brackets when several). */
export function invalid(group: string, kind: string, name: string, errors: FieldError[]): ApiError {
  const msgs = errors.map(fieldErrorMessage);
  const list = msgs.length === 1 ? msgs[0] : `[${msgs.join(', ')}]`;
  const qualifiedKind = group ? `${kind}.${group}` : kind;
  return new ApiError(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${list}`, {
    name,
    group: group || undefined,
    kind,
    causes: errors.map((e, i) => ({ reason: e.type, message: msgs[i].slice(e.field.length + 2), field: e.field })),
  });
}

export const badRequest = (message: string, causes?: StatusCause[]) =>
  new ApiError(400, 'BadRequest', message, causes ? { causes } : undefined);

export const gone = (message: string) => new ApiError(410, 'Expired', message);

export const tooLarge = (limit: number) =>
  new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`);

export const unsupportedMediaType = (got: string, accepted: string[]) =>
  new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`, {
    causes: [{ reason: 'UnsupportedMediaType', message: `unsupported media type "${got}"` }],
  });

export const notAcceptable = (accepted: string[]) =>
  new ApiError(406, 'NotAcceptable', `only the following media types are accepted: ${accepted.join(', ')}`);

export const methodNotAllowed = (method: string, what: string) =>
  new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${method} ${what})`);

export const unauthorized = () => new ApiError(401, 'Unauthorized', 'Unauthorized');

export const forbidden = (message: string) => new ApiError(403, 'Forbidden', message);

export const serviceUnavailable = (message: string) => new ApiError(503, 'ServiceUnavailable', message);

export const internalError = (message: string) =>
  new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] });

export const routeNotFound = () => new ApiError(404, 'NotFound', 'the server could not find the requested resource');

export function successStatus(details?: StatusDetails): Status & { status: 'Success' } {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details, code: 200 } as Status & { status: 'Success' };
}
