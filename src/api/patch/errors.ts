// Errors raised by the patch machinery: JSON patch (RFC 6902), JSON merge
// patch (RFC 7386), strategic merge patch and server-side apply.
//
// `code` is the HTTP status the API server answers with. Upstream
// (k8s.io/apiserver/pkg/endpoints/handlers/patch.go) uses:
//   400 BadRequest             a patch document that cannot be decoded (not a
//                              JSON array of operations, a merge patch that is
//                              `null` or a scalar: "Invalid JSON Patch")
//   413 RequestEntityTooLarge  more than 10000 JSON patch operations
//   422 Invalid                a JSON patch that decodes but does not apply: an
//                              unknown op, a path that does not exist, a failing
//                              `test` op, a bad array index. Upstream builds this
//                              with NewGenericServerResponse(422, ...), so the
//                              Status message is the generic
//                              "the server rejected our request due to an error
//                              in our request" and the detailed text (this
//                              error's `message`) travels in
//                              details.causes[0].message.
//   409 Conflict               (apply) field manager conflicts
//   415 UnsupportedMediaType   an unknown patch content type

export interface PatchErrorDetails {
  /** metav1.Status reason; derived from `code` when omitted. */
  reason?: string;
  /**
   * When set, the Status `message` upstream reports instead of `message`; the
   * API server then puts `message` in details.causes[0].message.
   */
  statusMessage?: string;
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  409: 'Conflict',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  500: 'InternalError',
};

/** The Status message upstream uses for a 422 built by NewGenericServerResponse. */
export const GENERIC_422_MESSAGE = 'the server rejected our request due to an error in our request';

export class PatchError extends Error {
  /** metav1.Status reason for `code` (BadRequest, Invalid, Conflict, ...). */
  readonly reason: string;
  /** See PatchErrorDetails.statusMessage. */
  readonly statusMessage?: string;

  constructor(message: string, public readonly code: number = 422, details: PatchErrorDetails = {}) {
    super(message);
    this.name = 'PatchError';
    this.reason = details.reason ?? REASONS[code] ?? 'Unknown';
    if (details.statusMessage !== undefined) this.statusMessage = details.statusMessage;
  }
}
