// Defaulting of API objects by GroupResource (`<group>/<plural>`), as
// upstream's v1 defaulting does when a request body is decoded: fills in
// unset fields in place. Apply it to every object written (create and
// update), before validation.
//
//   applyDefaults(gr, obj)             the v1 defaults
//   prepareForCreate(gr, obj)          creation-time strategy steps (after uid/name are assigned)
//   prepareForUpdate(gr, obj, old)     update-time strategy steps (before validating an update)
//
// Hooks for the allocators: setServiceIPFamilies (services/specs).

import { type Obj, isObj } from './util.js';
import { defaultPod } from './podspec.js';
import { defaultService, normalizeClusterIPs, prepareServiceForUpdate } from './services.js';
import { addKubernetesFinalizer, defaultEndpoints, defaultNamespace, defaultNode, defaultSecret } from './core.js';
import { defaultDaemonSet, defaultDeployment, defaultReplicaSet, defaultStatefulSet } from './apps.js';
import { defaultJob, generateJobSelector } from './batch.js';
import { defaultEndpointSlice, defaultNetworkPolicy } from './networking.js';

export { setServiceIPFamilies, normalizeClusterIPs, prepareServiceForUpdate, DEFAULT_IP_FAMILY } from './services.js';
export { generateJobSelector } from './batch.js';
export { defaultPullPolicy } from './podspec.js';

const DEFAULTERS: Record<string, (obj: Obj) => void> = {
  '/namespaces': defaultNamespace,
  '/pods': defaultPod,
  '/services': defaultService,
  '/endpoints': defaultEndpoints,
  '/nodes': defaultNode,
  '/secrets': defaultSecret,
  'apps/deployments': defaultDeployment,
  'apps/replicasets': defaultReplicaSet,
  'apps/statefulsets': defaultStatefulSet,
  'apps/daemonsets': defaultDaemonSet,
  'batch/jobs': defaultJob,
  'discovery.k8s.io/endpointslices': defaultEndpointSlice,
  'networking.k8s.io/networkpolicies': defaultNetworkPolicy,
};

/** Fills in the v1 defaults of `obj` in place. Unknown resources are left alone. */
export function applyDefaults(gr: string, obj: Obj): void {
  if (!isObj(obj)) return;
  DEFAULTERS[gr]?.(obj);
}

/**
 * Creation-time steps of upstream's strategies that are not defaults:
 * the namespace's kubernetes finalizer, the Job's generated selector (needs
 * metadata.uid), clusterIPs from clusterIP. Safe to call after applyDefaults.
 */
export function prepareForCreate(gr: string, obj: Obj): void {
  if (!isObj(obj)) return;
  switch (gr) {
    case '/namespaces':
      addKubernetesFinalizer(obj);
      break;
    case 'batch/jobs':
      if (obj.metadata?.uid) generateJobSelector(obj);
      break;
    case '/services':
      normalizeClusterIPs(obj);
      break;
  }
}

/**
 * Update-time steps of upstream's strategies: a Service keeps the addresses
 * and ports allocated to it when the client leaves them out, and drops the
 * fields its new type no longer uses. Validation applies the same view, so
 * calling this only changes what gets stored.
 */
export function prepareForUpdate(gr: string, obj: Obj, old: Obj): void {
  if (!isObj(obj) || !isObj(old)) return;
  if (gr === '/services') prepareServiceForUpdate(obj, old);
}
