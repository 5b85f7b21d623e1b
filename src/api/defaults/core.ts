// Defaults of the smaller core/v1 kinds.

import { type Obj, arr, ensureObj, isObj } from './util.js';
import { normalizeResourceList } from './podspec.js';

export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
export const KUBERNETES_FINALIZER = 'kubernetes';

/**
 * Every namespace carries its name as a label and has a phase. A namespace
 * being created (no resourceVersion yet) starts Active with the kubernetes
 * finalizer, as upstream's strategy makes it; later writes must not restore
 * the finalizer once the namespace controller has removed it.
 */
export function defaultNamespace(ns: Obj): void {
  const meta = ensureObj(ns, 'metadata');
  if (meta.name) ensureObj(meta, 'labels')[NAMESPACE_NAME_LABEL] = meta.name;
  if (!meta.resourceVersion) {
    addKubernetesFinalizer(ns);
    ns.status = { phase: 'Active' };
  }
  const status = ensureObj(ns, 'status');
  if (!status.phase) status.phase = 'Active';
}

/** Namespace creation (upstream's strategy): the kubernetes finalizer guards the namespace's contents. */
export function addKubernetesFinalizer(ns: Obj): void {
  const spec = ensureObj(ns, 'spec');
  const list = arr(spec.finalizers);
  if (!list.includes(KUBERNETES_FINALIZER)) spec.finalizers = [...list, KUBERNETES_FINALIZER];
}

/**
 * Secrets default to Opaque. stringData is write-only convenience: as
 * upstream's v1 conversion does, it is merged into data (base64) and dropped.
 */
export function defaultSecret(s: Obj): void {
  if (!s.type) s.type = 'Opaque';
  if (isObj(s.stringData)) {
    const data = ensureObj(s, 'data');
    for (const [k, v] of Object.entries(s.stringData)) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
  }
  delete s.stringData;
}

export function defaultNode(node: Obj): void {
  const status = node.status;
  if (!isObj(status)) return;
  normalizeResourceList(status.capacity);
  normalizeResourceList(status.allocatable);
  if (!isObj(status.allocatable) && isObj(status.capacity)) status.allocatable = { ...status.capacity };
}

export function defaultEndpoints(ep: Obj): void {
  for (const ss of arr(ep.subsets)) for (const p of arr(ss?.ports)) if (isObj(p) && !p.protocol) p.protocol = 'TCP';
}
