// ObjectMeta on create and update, as upstream's
// k8s.io/apimachinery/pkg/api/validation/objectmeta.go plus core's extra
// check of finalizer names.

import { isQualifiedName, nameIsDNSLabel, type NameFn } from './formats.js';
import {
  type Errs,
  type Obj,
  arr,
  child,
  forbidden,
  index,
  invalid,
  isObj,
  rec,
  required,
  str,
  validateAnnotations,
  validateImmutable,
  validateLabels,
  validateNonnegative,
} from './common.js';

export interface MetaRules {
  /** Whether the kind lives in a namespace (true), is cluster-scoped (false) or unknown (undefined: not checked). */
  namespaced: boolean | undefined;
  /** The name format of the kind. */
  nameFn: NameFn;
}

const STANDARD_FINALIZERS = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);

/** Core's rule: a finalizer without a '/' must be one of the standard ones. */
export function validateKubeFinalizerName(v: string, path: string): Errs {
  if (!v.includes('/') && !STANDARD_FINALIZERS.has(v)) {
    return [invalid(path, v, 'name is neither a standard finalizer name nor is it fully qualified')];
  }
  return [];
}

export function validateFinalizers(finalizers: unknown, path: string): Errs {
  const errs: Errs = [];
  const list = arr(finalizers).map(str);
  for (const f of list) for (const m of isQualifiedName(f)) errs.push(invalid(path, f, m));
  if (list.includes('orphan') && list.includes('foregroundDeletion')) {
    errs.push(invalid(path, list, 'finalizer orphan and foregroundDeletion cannot be both set'));
  }
  return errs;
}

/** `apps/v1` -> version "v1"; `v1` -> "v1"; `apps/` -> "". */
function versionOf(apiVersion: string): string {
  const parts = apiVersion.split('/');
  if (parts.length === 1) return parts[0]!;
  if (parts.length === 2) return parts[1]!;
  return '';
}

export function validateOwnerReferences(refs: unknown, path: string): Errs {
  const errs: Errs = [];
  let firstController = '';
  for (const ref of arr(refs)) {
    const apiVersion = str(ref?.apiVersion);
    if (!versionOf(apiVersion)) errs.push(invalid(child(path, 'apiVersion'), apiVersion, 'version must not be empty'));
    if (!str(ref?.kind)) errs.push(invalid(child(path, 'kind'), str(ref?.kind), 'must not be empty'));
    if (!str(ref?.name)) errs.push(invalid(child(path, 'name'), str(ref?.name), 'must not be empty'));
    if (!str(ref?.uid)) errs.push(invalid(child(path, 'uid'), str(ref?.uid), 'must not be empty'));
    if (apiVersion === 'v1' && ref?.kind === 'Event') errs.push(invalid(path, ref, '/v1, Kind=Event is disallowed from being an owner'));
    if (ref?.controller === true) {
      const name = `${str(ref.kind)}/${str(ref.name)}`;
      if (firstController) {
        errs.push(
          invalid(
            path,
            refs,
            `Only one reference can have Controller set to true. Found "true" in references for ${firstController} and ${name}`,
          ),
        );
      } else {
        firstController = name;
      }
    }
  }
  return errs;
}

function validateManagedFields(fields: unknown, path: string): Errs {
  const errs: Errs = [];
  arr(fields).forEach((f, i) => {
    const p = index(path, i);
    if (f?.operation !== 'Apply' && f?.operation !== 'Update') errs.push(invalid(child(p, 'operation'), f?.operation ?? '', 'must be `Apply` or `Update`'));
    if (f?.fieldsType && f.fieldsType !== 'FieldsV1') errs.push(invalid(child(p, 'fieldsType'), f.fieldsType, 'must be `FieldsV1`'));
    if (str(f?.manager).length > 128) errs.push({ type: 'FieldValueTooLong', field: child(p, 'manager'), detail: 'may not be more than 128 bytes' });
  });
  return errs;
}

/** Metadata on create. A missing name is fine when generateName is set: the server generates it. */
export function validateObjectMeta(meta: Obj, rules: MetaRules, path = 'metadata'): Errs {
  const errs: Errs = [];
  const m = rec(meta);
  const generateName = str(m.generateName);
  const name = str(m.name);
  if (generateName) for (const msg of rules.nameFn(generateName, true)) errs.push(invalid(child(path, 'generateName'), generateName, msg));
  if (!name) {
    if (!generateName) errs.push(required(child(path, 'name'), 'name or generateName is required'));
  } else {
    for (const msg of rules.nameFn(name, false)) errs.push(invalid(child(path, 'name'), name, msg));
  }
  const ns = str(m.namespace);
  if (rules.namespaced === true) {
    if (!ns) errs.push(required(child(path, 'namespace'), ''));
    else for (const msg of nameIsDNSLabel(ns, false)) errs.push(invalid(child(path, 'namespace'), ns, msg));
  } else if (rules.namespaced === false) {
    if (ns) errs.push(forbidden(child(path, 'namespace'), 'not allowed on this type'));
  } else if (ns) {
    for (const msg of nameIsDNSLabel(ns, false)) errs.push(invalid(child(path, 'namespace'), ns, msg));
  }
  errs.push(...validateNonnegative(m.generation, child(path, 'generation')));
  errs.push(...validateLabels(m.labels, child(path, 'labels')));
  errs.push(...validateAnnotations(m.annotations, child(path, 'annotations')));
  errs.push(...validateOwnerReferences(m.ownerReferences, child(path, 'ownerReferences')));
  errs.push(...validateFinalizers(m.finalizers, child(path, 'finalizers')));
  errs.push(...validateManagedFields(m.managedFields, child(path, 'managedFields')));
  arr(m.finalizers).forEach((f, i) => errs.push(...validateKubeFinalizerName(str(f), index(child(path, 'finalizers'), i))));
  return errs;
}

/** Metadata on update (spec or status): identity is immutable, and a resourceVersion is required. */
export function validateObjectMetaUpdate(meta: Obj, oldMeta: Obj, path = 'metadata'): Errs {
  const errs: Errs = [];
  const m = rec(meta);
  const o = rec(oldMeta);
  if (o.deletionTimestamp) {
    const oldF = new Set(arr(o.finalizers).map(str));
    const extra = [...new Set(arr(m.finalizers).map(str))].filter((f) => !oldF.has(f)).sort();
    if (extra.length) {
      errs.push(
        forbidden(
          child(path, 'finalizers'),
          `no new finalizers can be added if the object is being deleted, found new finalizers []string{${extra.map((f) => JSON.stringify(f)).join(', ')}}`,
        ),
      );
    }
  }
  if (!str(m.resourceVersion)) errs.push(invalid(child(path, 'resourceVersion'), str(m.resourceVersion), 'must be specified for an update'));
  if (typeof m.generation === 'number' && typeof o.generation === 'number' && m.generation < o.generation) {
    errs.push(invalid(child(path, 'generation'), m.generation, 'must not be decremented'));
  }
  for (const f of ['name', 'namespace', 'uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds']) {
    errs.push(...validateImmutable(m[f], o[f], child(path, f)));
  }
  errs.push(...validateLabels(m.labels, child(path, 'labels')));
  errs.push(...validateAnnotations(m.annotations, child(path, 'annotations')));
  errs.push(...validateOwnerReferences(m.ownerReferences, child(path, 'ownerReferences')));
  errs.push(...validateManagedFields(m.managedFields, child(path, 'managedFields')));
  arr(m.finalizers).forEach((f, i) => errs.push(...validateKubeFinalizerName(str(f), index(child(path, 'finalizers'), i))));
  return errs;
}

/** Metadata of an embedded template that only carries labels and annotations (e.g. PVC templates). */
export function validateTemplateObjectMeta(meta: Obj, path: string): Errs {
  const errs = validateAnnotations(meta?.annotations, child(path, 'annotations'));
  errs.push(...validateLabels(meta?.labels, child(path, 'labels')));
  if (isObj(meta)) {
    for (const [k, v] of Object.entries(meta)) {
      if (k !== 'labels' && k !== 'annotations' && v !== undefined && v !== null && v !== '') errs.push(forbidden(child(path, k), 'cannot be set'));
    }
  }
  return errs;
}
