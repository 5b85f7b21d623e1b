// PATCH: JSON patch, JSON merge patch, strategic merge patch and server-side
// apply, each applied inside a compare-and-swap loop; and managedFields
// bookkeeping for every write.
import { type ResourceInfo, apiVersionOf } from '../api/registry.js';
import { apply, defaultManagerFromUserAgent, recordUpdate } from '../api/apply/index.js';
import { applyJsonPatch } from '../api/patch/json-patch.js';
import { applyMergePatch } from '../api/patch/merge-patch.js';
import { strategicMergePatch } from '../api/patch/strategic.js';
import { parseDocument } from './http.js';
import type { Obj } from './objects.js';
import { nowTime } from './objects.js';
import type { RequestContext, ResourceStorage } from './rest.js';
import { ApiError, badRequest } from './status.js';
import type { K8sObject } from './watch-cache.js';

export const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
];

function parsePatchJson(raw: string): unknown {
  if (raw.trim() === '') throw badRequest('the patch body is empty');
  return parseDocument(raw, 'json');
}

/** Applies a (non-apply) patch of `type` to `doc`, returning a new document. */
export function patchDocument(gr: string, doc: Obj, type: string, raw: string): Obj {
  const patch = parsePatchJson(raw);
  let out: unknown;
  switch (type) {
    case 'application/json-patch+json':
      if (!Array.isArray(patch)) throw badRequest('the JSON patch must be an array of operations');
      out = applyJsonPatch(doc, patch);
      break;
    case 'application/merge-patch+json':
      if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) throw badRequest('the merge patch must be a JSON object');
      out = applyMergePatch(doc, patch);
      break;
    case 'application/strategic-merge-patch+json':
      if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) throw badRequest('the strategic merge patch must be a JSON object');
      out = strategicMergePatch(gr, doc, patch as Obj);
      break;
    default:
      throw badRequest(`unsupported patch type ${type}`);
  }
  if (out === null || typeof out !== 'object' || Array.isArray(out)) throw new ApiError(422, 'Invalid', 'the patch result is not an object');
  return out as Obj;
}

function managerOf(ctx: RequestContext): string {
  return ctx.fieldManager ?? defaultManagerFromUserAgent(ctx.userAgent ?? '');
}

/** Records field ownership of a create/update/patch (not apply, which records its own). */
export function recordManagedFields(info: ResourceInfo, oldObj: Obj | undefined, newObj: Obj, ctx: RequestContext): void {
  if ((ctx as RequestContext & { applying?: boolean }).applying) return;
  const gr = `${info.group}/${info.plural}`;
  const { managedFields } = recordUpdate({
    gr,
    oldObj,
    newObj,
    manager: managerOf(ctx),
    operation: 'Update',
    apiVersion: apiVersionOf(info),
    now: nowTime(),
  });
  if (managedFields.length) newObj.metadata.managedFields = managedFields;
  else delete newObj.metadata.managedFields;
}

export interface PatchRequest {
  storage: ResourceStorage;
  namespace: string | undefined;
  name: string;
  type: string;
  raw: string;
  ctx: RequestContext;
  subresource?: string;
  force: boolean;
}

export async function applyPatch(p: PatchRequest): Promise<{ object: K8sObject; created: boolean }> {
  const { storage, namespace, name, ctx } = p;
  if (p.type !== 'application/apply-patch+yaml') {
    const object = await storage.guaranteedUpdate(namespace, name, ctx, (cur) => patchDocument(storage.gr, cur, p.type, p.raw), {
      subresource: p.subresource,
    });
    return { object, created: false };
  }
  // Server-side apply.
  if (!ctx.fieldManager) throw badRequest('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
  const applied = parseDocument(p.raw, 'yaml') as Obj;
  if (applied === null || typeof applied !== 'object' || Array.isArray(applied)) throw badRequest('the apply patch must be an object');
  const want = apiVersionOf(storage.info);
  if (applied.apiVersion !== want || applied.kind !== storage.info.kind) {
    throw badRequest(`the apply patch must name apiVersion ${want} and kind ${storage.info.kind} (got ${applied.apiVersion} ${applied.kind})`);
  }
  if (applied.metadata?.name && applied.metadata.name !== name) {
    throw badRequest(`the name of the object (${applied.metadata.name}) does not match the name on the URL (${name})`);
  }
  (ctx as RequestContext & { applying?: boolean }).applying = true;
  const run = (live: Obj | undefined): Obj => {
    const r = apply({
      gr: storage.gr,
      live,
      applied,
      manager: ctx.fieldManager!,
      force: p.force,
      apiVersion: want,
      now: nowTime(),
      subresource: p.subresource,
    });
    if (!r.ok) throw new ApiError(409, 'Conflict', r.message, r.status.details);
    return r.object;
  };
  let created = false;
  const object = await storage.guaranteedUpdate(namespace, name, ctx, (cur) => run(cur), {
    subresource: p.subresource,
    allowCreate: () => {
      created = true;
      const o = run(undefined);
      o.metadata = { ...(o.metadata ?? {}), name };
      return o;
    },
  });
  return { object, created };
}
