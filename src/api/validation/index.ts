// Validation of API objects by GroupResource (`<group>/<plural>`), as
// upstream's per-resource strategies call it. Objects are expected to have
// been defaulted (src/api/defaults) first, as upstream's are when decoded.
//
//   validateCreate(gr, obj)            -> errors of a new object
//   validateUpdate(gr, obj, old)       -> errors of a replacement, incl. immutable fields
//   validateStatusUpdate(gr, obj, old) -> errors of a write to the status subresource
//
// Unknown resources get metadata checks only.

import type { FieldError } from '../field-errors.js';
import { lookupResource } from '../registry.js';
import { nameIsDNSSubdomain } from './formats.js';
import type { Obj } from './common.js';
import { validateObjectMeta, validateObjectMetaUpdate } from './metadata.js';
import { validateBinding, validatePodCreate, validatePodEphemeralContainersUpdate, validatePodStatusUpdate, validatePodUpdate } from './pods.js';
import { validateServiceCreate, validateServiceStatusUpdate, validateServiceUpdate } from './services.js';
import {
  SERVICE_ACCOUNT_META,
  validateConfigMap,
  validateConfigMapUpdate,
  validateEndpoints,
  validateEndpointsUpdate,
  validateNamespaceCreate,
  validateNamespaceFinalizeUpdate,
  validateNamespaceStatusUpdate,
  validateNamespaceUpdate,
  validateNodeCreate,
  validateNodeUpdate,
  validateSecret,
  validateSecretUpdate,
} from './core.js';
import {
  validateControllerRevisionCreate,
  validateControllerRevisionUpdate,
  validateDaemonSetCreate,
  validateDaemonSetStatusUpdate,
  validateDaemonSetUpdate,
  validateDeploymentCreate,
  validateDeploymentStatusUpdate,
  validateDeploymentUpdate,
  validateReplicaSetCreate,
  validateReplicaSetStatusUpdate,
  validateReplicaSetUpdate,
  validateStatefulSetCreate,
  validateStatefulSetStatusUpdate,
  validateStatefulSetUpdate,
} from './apps.js';
import { validateJobCreate, validateJobStatusUpdate, validateJobUpdate } from './batch.js';
import { validateEndpointSlice, validateEndpointSliceUpdate } from './discovery.js';
import { validateLeaseCreate, validateLeaseUpdate } from './coordination.js';
import { validateCoreEventCreate, validateCoreEventUpdate, validateEventsV1Create, validateEventsV1Update } from './events.js';
import {
  validateIngressCreate,
  validateIngressStatusUpdate,
  validateIngressUpdate,
  validateNetworkPolicyCreate,
  validateNetworkPolicyStatusUpdate,
  validateNetworkPolicyUpdate,
} from './networking.js';

type Create = (obj: Obj) => FieldError[];
type Update = (obj: Obj, old: Obj) => FieldError[];

interface Strategy {
  create: Create;
  update: Update;
  /** Status subresource writes; metadata rules only when absent. */
  status?: Update;
}

const metaUpdateOnly: Update = (obj, old) => validateObjectMetaUpdate(obj?.metadata, old?.metadata);

const STRATEGIES: Record<string, Strategy> = {
  '/namespaces': { create: validateNamespaceCreate, update: validateNamespaceUpdate, status: validateNamespaceStatusUpdate },
  '/pods': { create: validatePodCreate, update: validatePodUpdate, status: validatePodStatusUpdate },
  '/bindings': { create: validateBinding, update: metaUpdateOnly },
  '/services': { create: validateServiceCreate, update: validateServiceUpdate, status: validateServiceStatusUpdate },
  '/endpoints': { create: validateEndpoints, update: validateEndpointsUpdate },
  '/nodes': { create: validateNodeCreate, update: validateNodeUpdate, status: validateNodeUpdate },
  '/configmaps': { create: validateConfigMap, update: validateConfigMapUpdate },
  '/secrets': { create: validateSecret, update: validateSecretUpdate },
  '/serviceaccounts': {
    create: (sa) => validateObjectMeta(sa?.metadata, SERVICE_ACCOUNT_META),
    update: (sa, old) => [...validateObjectMetaUpdate(sa?.metadata, old?.metadata), ...validateObjectMeta(sa?.metadata, SERVICE_ACCOUNT_META)],
  },
  '/events': { create: validateCoreEventCreate, update: validateCoreEventUpdate },
  'apps/deployments': { create: validateDeploymentCreate, update: validateDeploymentUpdate, status: validateDeploymentStatusUpdate },
  'apps/replicasets': { create: validateReplicaSetCreate, update: validateReplicaSetUpdate, status: validateReplicaSetStatusUpdate },
  'apps/statefulsets': { create: validateStatefulSetCreate, update: validateStatefulSetUpdate, status: validateStatefulSetStatusUpdate },
  'apps/daemonsets': { create: validateDaemonSetCreate, update: validateDaemonSetUpdate, status: validateDaemonSetStatusUpdate },
  'apps/controllerrevisions': { create: validateControllerRevisionCreate, update: validateControllerRevisionUpdate },
  'batch/jobs': { create: validateJobCreate, update: validateJobUpdate, status: validateJobStatusUpdate },
  'discovery.k8s.io/endpointslices': { create: validateEndpointSlice, update: validateEndpointSliceUpdate },
  'coordination.k8s.io/leases': { create: validateLeaseCreate, update: validateLeaseUpdate },
  'events.k8s.io/events': { create: validateEventsV1Create, update: validateEventsV1Update },
  'networking.k8s.io/networkpolicies': {
    create: validateNetworkPolicyCreate,
    update: validateNetworkPolicyUpdate,
    status: validateNetworkPolicyStatusUpdate,
  },
  'networking.k8s.io/ingresses': { create: validateIngressCreate, update: validateIngressUpdate, status: validateIngressStatusUpdate },
};

/** Metadata rules for a resource this module has no strategy for. */
function genericStrategy(gr: string): Strategy {
  const slash = gr.indexOf('/');
  const info = slash >= 0 ? lookupResource(gr.slice(0, slash), gr.slice(slash + 1)) : undefined;
  const rules = { namespaced: info?.namespaced, nameFn: nameIsDNSSubdomain };
  return { create: (obj) => validateObjectMeta(obj?.metadata, rules), update: metaUpdateOnly };
}

const strategyOf = (gr: string): Strategy => STRATEGIES[gr] ?? genericStrategy(gr);

export function validateCreate(gr: string, obj: Obj): FieldError[] {
  return strategyOf(gr).create(obj);
}

export function validateUpdate(gr: string, obj: Obj, old: Obj): FieldError[] {
  return strategyOf(gr).update(obj, old);
}

export function validateStatusUpdate(gr: string, obj: Obj, old: Obj): FieldError[] {
  return (strategyOf(gr).status ?? metaUpdateOnly)(obj, old);
}

/** namespaces/finalize: the namespace controller removing its finalizer. */
export function validateNamespaceFinalize(obj: Obj, old: Obj): FieldError[] {
  return validateNamespaceFinalizeUpdate(obj, old);
}

/** pods/ephemeralcontainers: adding ephemeral containers to a running pod. */
export function validateEphemeralContainersUpdate(obj: Obj, old: Obj): FieldError[] {
  return validatePodEphemeralContainersUpdate(obj, old);
}
