// coordination.k8s.io/v1 Leases.

import { nameIsDNSSubdomain } from './formats.js';
import { type Errs, type Obj, isSet, validateNonnegative, validatePositive } from './common.js';
import { type MetaRules, validateObjectMeta, validateObjectMetaUpdate } from './metadata.js';

const LEASE_META: MetaRules = { namespaced: true, nameFn: nameIsDNSSubdomain };

function validateLeaseSpec(lease: Obj): Errs {
  const spec = lease?.spec ?? {};
  const errs: Errs = [];
  if (isSet(spec.leaseDurationSeconds)) errs.push(...validatePositive(spec.leaseDurationSeconds, 'spec.leaseDurationSeconds'));
  if (isSet(spec.leaseTransitions)) errs.push(...validateNonnegative(spec.leaseTransitions, 'spec.leaseTransitions'));
  return errs;
}

export const validateLeaseCreate = (l: Obj): Errs => [...validateObjectMeta(l?.metadata, LEASE_META), ...validateLeaseSpec(l)];
export const validateLeaseUpdate = (l: Obj, old: Obj): Errs => [...validateObjectMetaUpdate(l?.metadata, old?.metadata), ...validateLeaseSpec(l)];
