// Subresources beyond status: scale, binding, eviction, and the node-agent
// seams (log, exec, attach, portforward) that the node-agent issue fills in.
import { selectorToString } from '../api/selectors.js';
import type { SubresourceHandler } from './handler.js';
import { decodeObject, mediaType } from './http.js';
import type { Obj } from './objects.js';
import { nowTime } from './objects.js';
import { patchDocument, PATCH_TYPES } from './patching.js';
import type { RequestContext, ResourceStorage } from './rest.js';
import { ApiError, badRequest, conflict, methodNotAllowed, serviceUnavailable, successStatus, unsupportedMediaType } from './status.js';

function toScale(o: Obj): Obj {
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: o.metadata.name,
      namespace: o.metadata.namespace,
      uid: o.metadata.uid,
      resourceVersion: o.metadata.resourceVersion,
      creationTimestamp: o.metadata.creationTimestamp,
    },
    spec: { replicas: o.spec?.replicas ?? 0 },
    status: { replicas: o.status?.replicas ?? 0, selector: o.spec?.selector ? selectorToString(o.spec.selector) : '' },
  };
}

export const scaleHandler: SubresourceHandler = async ({ storage, namespace, name, method, req, ctx, body }) => {
  if (method === 'GET') return toScale(await storage.get(namespace, name));
  if (method !== 'PUT' && method !== 'PATCH') throw methodNotAllowed(method, `${storage.info.plural}/scale`);
  let scaleBody: Obj | undefined;
  let patch: { type: string; raw: string } | undefined;
  if (method === 'PUT') {
    scaleBody = decodeObject(await body(), mediaType(req));
  } else {
    const type = mediaType(req);
    if (!PATCH_TYPES.includes(type) || type === 'application/apply-patch+yaml') {
      throw unsupportedMediaType(type, PATCH_TYPES.filter((t) => t !== 'application/apply-patch+yaml'));
    }
    patch = { type, raw: (await body()).toString('utf8') };
  }
  const updated = await storage.guaranteedUpdate(namespace, name, ctx, (cur) => {
    const scale = patch ? patchDocument('autoscaling/scale', toScale(cur), patch.type, patch.raw) : scaleBody!;
    const replicas = scale.spec?.replicas;
    if (replicas !== undefined && (!Number.isInteger(replicas) || replicas < 0)) {
      throw new ApiError(422, 'Invalid', `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`);
    }
    cur.spec = { ...(cur.spec ?? {}), replicas: replicas ?? 0 };
    if (scale.metadata?.resourceVersion) cur.metadata.resourceVersion = scale.metadata.resourceVersion;
    return cur;
  });
  return toScale(updated);
};

/** Binds a pod to a node (pods/binding, and the bindings resource). */
export async function bindPod(pods: ResourceStorage, ns: string | undefined, name: string, binding: Obj, ctx: RequestContext): Promise<Obj> {
  const node = binding?.target?.name;
  if (!node) throw badRequest('Binding.target.name is required');
  await pods.guaranteedUpdate(
    ns,
    name,
    ctx,
    (pod) => {
      if (pod.metadata.deletionTimestamp) throw conflict('', 'pods', name, `pod ${name} is being deleted, cannot be assigned to a host`);
      if (pod.spec?.nodeName) throw conflict('', 'pods', name, `pod ${name} is already assigned to node "${pod.spec.nodeName}"`);
      const uid = binding.metadata?.uid;
      if (uid && uid !== pod.metadata.uid) throw conflict('', 'pods', name, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${pod.metadata.uid}`);
      pod.spec.nodeName = node;
      const conditions = (pod.status?.conditions ?? []).filter((c: Obj) => c.type !== 'PodScheduled');
      conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: nowTime() });
      pod.status = { ...(pod.status ?? {}), conditions };
      return pod;
    },
    { subresource: 'binding' },
  );
  return successStatus();
}

export const bindingHandler: SubresourceHandler = async ({ storage, namespace, name, method, req, ctx, body }) => {
  if (method !== 'POST') throw methodNotAllowed(method, 'pods/binding');
  return bindPod(storage, namespace, name, decodeObject(await body(), mediaType(req)), ctx);
};

export const evictionHandler: SubresourceHandler = async ({ storage, namespace, name, method, req, ctx, body }) => {
  if (method !== 'POST') throw methodNotAllowed(method, 'pods/eviction');
  const eviction = decodeObject(await body(), mediaType(req));
  const opts = (eviction.deleteOptions ?? {}) as Obj;
  if (opts.dryRun?.length) ctx.dryRun = true;
  await storage.delete(namespace, name, opts, ctx);
  return successStatus();
};

/** log/exec/attach/portforward: proxied to the pod's node agent when there is one. */
export function nodeSeam(proxy?: (pod: Obj, sub: string, req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void): SubresourceHandler {
  return async ({ storage, namespace, name, req, res, query }) => {
    const pod = await storage.get(namespace, name);
    const sub = new URL(req.url ?? '/', 'https://x').pathname.split('/').pop()!;
    if (!pod.spec?.nodeName) throw badRequest(`pod ${name} does not have a host assigned`);
    const container = query.get('container');
    const names = (pod.spec.containers ?? []).map((c: Obj) => c.name);
    if (container && ![...names, ...(pod.spec.initContainers ?? []).map((c: Obj) => c.name)].includes(container)) {
      throw badRequest(`container ${container} is not valid for pod ${name}`);
    }
    if (proxy) {
      proxy(pod, sub, req, res);
      return undefined;
    }
    throw serviceUnavailable(`no node agent is serving node "${pod.spec.nodeName}" (needed for ${sub})`);
  };
}
