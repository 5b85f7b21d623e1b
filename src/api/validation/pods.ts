// Pods: create, update (the spec is immutable but for a few fields), status
// updates, and bindings.

import { nameIsDNSSubdomain, parseIP } from './formats.js';
import {
  type Errs,
  type Obj,
  arr,
  child,
  describeDiff,
  duplicate,
  forbidden,
  index,
  invalid,
  isObj,
  isSet,
  notSupported,
  rec,
  required,
  semanticEqual,
  str,
  validateIP,
  validateImmutable,
  validateNameRef,
  validateQualifiedName,
} from './common.js';
import { type MetaRules, validateObjectMeta, validateObjectMetaUpdate } from './metadata.js';
import { APPARMOR_CONTAINER_PREFIX, validatePodSpec, validatePodSpecificAnnotations, validateTolerations } from './podspec.js';

const POD_META: MetaRules = { namespaced: true, nameFn: nameIsDNSSubdomain };
const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

function validatePodMetadataAndSpec(pod: Obj): Errs {
  const meta = rec(pod?.metadata);
  const spec = rec(pod?.spec);
  const errs = validateObjectMeta(meta, POD_META);
  errs.push(...validatePodSpecificAnnotations(meta.annotations, spec, 'metadata.annotations'));
  errs.push(...validatePodSpec(spec, 'spec', { isPod: true, podMeta: meta }));
  if (!str(spec.serviceAccountName)) {
    arr(spec.volumes).forEach((v, vi) => {
      arr(v?.projected?.sources).forEach((s, si) => {
        if (isObj(s?.serviceAccountToken)) {
          errs.push(forbidden(`spec.volumes[${vi}].projected.sources[${si}].serviceAccountToken`, 'must not be specified when serviceAccountName is not set'));
        }
      });
    });
  }
  for (const list of ['containers', 'initContainers']) {
    arr(spec[list]).forEach((c, i) => {
      const img = str(c?.image);
      if (img !== img.trim()) errs.push(invalid(`spec.${list}[${i}].image`, img, 'must not have leading or trailing whitespace'));
    });
  }
  return errs;
}

export function validatePodCreate(pod: Obj): Errs {
  const errs = validatePodMetadataAndSpec(pod);
  const spec = rec(pod?.spec);
  if (arr(spec.ephemeralContainers).length > 0) errs.push(forbidden('spec.ephemeralContainers', 'cannot be set on create'));
  if (str(spec.nodeName) && arr(spec.schedulingGates).length > 0) {
    errs.push(forbidden('spec.nodeName', 'cannot be set until all schedulingGates have been cleared'));
  }
  return errs;
}

function validatePodAnnotationUpdates(pod: Obj, old: Obj): Errs {
  const errs: Errs = [];
  const na = rec(pod?.metadata?.annotations);
  const oa = rec(old?.metadata?.annotations);
  const path = 'metadata.annotations';
  for (const [k, v] of Object.entries(oa)) {
    if (k in na && na[k] === v) continue;
    if (k.startsWith(APPARMOR_CONTAINER_PREFIX)) errs.push(forbidden(`${path}[${k}]`, 'may not remove or update AppArmor annotations'));
    if (k === MIRROR_POD_ANNOTATION) errs.push(forbidden(`${path}[${k}]`, 'may not remove or update mirror pod annotation'));
  }
  for (const k of Object.keys(na)) {
    if (k in oa) continue;
    if (k.startsWith(APPARMOR_CONTAINER_PREFIX)) errs.push(forbidden(`${path}[${k}]`, 'may not add AppArmor annotations'));
    if (k === MIRROR_POD_ANNOTATION) errs.push(forbidden(`${path}[${k}]`, 'may not add mirror pod annotation'));
  }
  return errs;
}

export const UPDATABLE_POD_SPEC_FIELDS = [
  '`spec.containers[*].image`',
  '`spec.initContainers[*].image`',
  '`spec.activeDeadlineSeconds`',
  '`spec.tolerations` (only additions to existing tolerations)',
  '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
];

function validateContainerUpdates(next: unknown, prev: unknown, path: string): { errs: Errs; stop: boolean } {
  const n = arr(next);
  if (n.length !== arr(prev).length) return { errs: [forbidden(path, 'pod updates may not add or remove containers')], stop: true };
  const errs: Errs = [];
  n.forEach((c, i) => {
    const img = str(c?.image);
    if (!img) errs.push(required(`${path}[${i}].image`, ''));
    if (img !== img.trim()) errs.push(invalid(`${path}[${i}].image`, img, 'must not have leading or trailing whitespace'));
  });
  return { errs, stop: false };
}

/** Existing tolerations may only gain new neighbours or change their tolerationSeconds. */
function validateOnlyAddedTolerations(next: unknown, prev: unknown, path: string): Errs {
  for (const o of arr(prev)) {
    const found = arr(next).some((n) => semanticEqual({ ...rec(o), tolerationSeconds: n?.tolerationSeconds }, n));
    if (!found) return [forbidden(path, 'existing toleration can not be modified except its tolerationSeconds')];
  }
  return validateTolerations(next, path);
}

export function validatePodUpdate(pod: Obj, old: Obj): Errs {
  const errs = validateObjectMetaUpdate(pod?.metadata, old?.metadata);
  errs.push(...validatePodMetadataAndSpec(pod));
  errs.push(...validatePodAnnotationUpdates(pod, old));
  const spec = rec(pod?.spec);
  const oldSpec = rec(old?.spec);

  for (const list of ['containers', 'initContainers']) {
    const r = validateContainerUpdates(spec[list], oldSpec[list], `spec.${list}`);
    errs.push(...r.errs);
    if (r.stop) return errs;
  }
  // activeDeadlineSeconds may be set, or lowered, but not raised or removed.
  if (isSet(spec.activeDeadlineSeconds)) {
    const v = spec.activeDeadlineSeconds;
    if (typeof v !== 'number' || v < 0 || v > 2147483647) {
      errs.push(invalid('spec.activeDeadlineSeconds', v, 'must be between 0 and 2147483647, inclusive'));
      return errs;
    }
    if (typeof oldSpec.activeDeadlineSeconds === 'number' && oldSpec.activeDeadlineSeconds < v) {
      errs.push(invalid('spec.activeDeadlineSeconds', v, 'must be less than or equal to previous value'));
      return errs;
    }
  } else if (isSet(oldSpec.activeDeadlineSeconds)) {
    errs.push(invalid('spec.activeDeadlineSeconds', null, 'must not update from a positive integer to nil value'));
  }
  errs.push(...validateOnlyAddedTolerations(spec.tolerations, oldSpec.tolerations, 'spec.tolerations'));
  // Scheduling gates may only be removed.
  const oldGates = new Set(arr(oldSpec.schedulingGates).map((g) => str(g?.name)));
  arr(spec.schedulingGates).forEach((g, i) => {
    if (!oldGates.has(str(g?.name))) {
      errs.push(forbidden(`spec.schedulingGates[${i}].name`, `only deletion is allowed, but found new scheduling gate '${str(g?.name)}'`));
    }
  });
  if (semanticEqual(spec, oldSpec)) return errs;

  // Put back what may change, then whatever still differs may not.
  const munged: Obj = structuredClone(spec);
  for (const list of ['containers', 'initContainers']) {
    if (Array.isArray(munged[list])) munged[list].forEach((c: Obj, i: number) => isObj(c) && (c.image = oldSpec[list]?.[i]?.image));
  }
  munged.activeDeadlineSeconds = oldSpec.activeDeadlineSeconds;
  munged.schedulingGates = oldSpec.schedulingGates;
  munged.tolerations = oldSpec.tolerations;
  if (typeof oldSpec.terminationGracePeriodSeconds === 'number' && oldSpec.terminationGracePeriodSeconds < 0 && munged.terminationGracePeriodSeconds === 1) {
    munged.terminationGracePeriodSeconds = oldSpec.terminationGracePeriodSeconds;
  }
  if (arr(oldSpec.schedulingGates).length > 0) {
    // A gated pod may gain node selector entries (but not lose or change any).
    const ns = rec(munged.nodeSelector);
    const ons = rec(oldSpec.nodeSelector);
    if (!semanticEqual(ns, ons)) {
      if (Object.entries(ons).some(([k, v]) => ns[k] !== v)) {
        errs.push(invalid('spec.nodeSelector', munged.nodeSelector, 'only additions to spec.nodeSelector are allowed (no mutations or deletions)'));
      }
      munged.nodeSelector = oldSpec.nodeSelector;
    }
  }
  if (!semanticEqual(munged, oldSpec)) {
    const diff = describeDiff(oldSpec, munged, 'spec').join('\n');
    errs.push(forbidden('spec', `pod updates may not change fields other than ${UPDATABLE_POD_SPEC_FIELDS.join(',')}\n${diff}`));
  }
  return errs;
}

const SYSTEM_CONDITIONS = new Set(['PodScheduled', 'Ready', 'Initialized']);

function validateIPList(list: unknown, path: string): Errs {
  const errs: Errs = [];
  const items = arr(list);
  items.forEach((e, i) => errs.push(...validateIP(e?.ip, index(path, i))));
  if (items.length > 1) {
    const parsed = items.map((e) => parseIP(e?.ip));
    if (parsed.every((p) => p)) {
      const fams = new Set(parsed.map((p) => p!.family));
      if (fams.size !== items.length || items.length > 2) errs.push(invalid(path, items, `may specify no more than one IP for each IP family`));
    }
    const seen = new Set<string>();
    items.forEach((e, i) => {
      if (seen.has(str(e?.ip))) errs.push(duplicate(index(path, i), e));
      seen.add(str(e?.ip));
    });
  }
  return errs;
}

/** A container that terminated may not come back unless the restart policy lets it. */
function validateContainerStateTransition(next: unknown, prev: unknown, path: string, restartPolicy: string, restartableInit = new Set<string>()): Errs {
  if (restartPolicy === 'Always') return [];
  const errs: Errs = [];
  arr(prev).forEach((o, i) => {
    const term = o?.state?.terminated;
    if (!isObj(term)) return;
    if (term.exitCode !== 0 && restartPolicy === 'OnFailure') return;
    if (restartableInit.has(str(o?.name))) return;
    for (const n of arr(next)) {
      if (str(n?.name) === str(o?.name) && !isObj(n?.state?.terminated)) {
        errs.push(forbidden(child(index(path, i), 'state'), 'may not be transitioned to non-terminated state'));
      }
    }
  });
  return errs;
}

export function validatePodStatusUpdate(pod: Obj, old: Obj): Errs {
  const errs = validateObjectMetaUpdate(pod?.metadata, old?.metadata);
  errs.push(...validatePodAnnotationUpdates(pod, old));
  errs.push(...validatePodSpecificAnnotations(pod?.metadata?.annotations, pod?.spec, 'metadata.annotations'));
  const status = rec(pod?.status);
  const oldStatus = rec(old?.status);
  // Upstream reports custom condition types under `metadata.conditions[i].Type`; kept for fidelity.
  arr(status.conditions).forEach((c, i) => {
    if (!SYSTEM_CONDITIONS.has(str(c?.type))) errs.push(...validateQualifiedName(str(c?.type), `metadata.conditions[${i}].Type`));
  });
  if (str(pod?.spec?.nodeName) !== str(old?.spec?.nodeName)) errs.push(forbidden('status.nodeName', 'may not be changed directly'));
  if (str(status.nominatedNodeName) && status.nominatedNodeName !== oldStatus.nominatedNodeName) {
    errs.push(...validateNameRef(status.nominatedNodeName, 'status.nominatedNodeName', nameIsDNSSubdomain));
  }
  errs.push(...validateImmutable(status.qosClass, oldStatus.qosClass, 'status.qosClass'));
  const rp = str(old?.spec?.restartPolicy);
  const restartableInit = new Set(arr(old?.spec?.initContainers).filter((c) => c?.restartPolicy === 'Always').map((c) => str(c.name)));
  errs.push(...validateContainerStateTransition(status.containerStatuses, oldStatus.containerStatuses, 'status.containerStatuses', rp));
  errs.push(...validateContainerStateTransition(status.initContainerStatuses, oldStatus.initContainerStatuses, 'status.initContainerStatuses', rp, restartableInit));
  errs.push(
    ...validateContainerStateTransition(status.ephemeralContainerStatuses, oldStatus.ephemeralContainerStatuses, 'status.ephemeralContainerStatuses', 'Never'),
  );
  errs.push(...validateIPList(status.podIPs, 'status.podIPs'));
  const hostIPs = arr(status.hostIPs);
  if (hostIPs.length > 0) {
    if (str(status.hostIP) !== str(hostIPs[0]?.ip)) errs.push(invalid('status.hostIPs[0].ip', str(hostIPs[0]?.ip), 'must be equal to `hostIP`'));
    errs.push(...validateIPList(hostIPs, 'status.hostIPs'));
  }
  return errs;
}

/**
 * pods/ephemeralcontainers: the only spec change allowed is adding ephemeral
 * containers; existing ones may not change or go.
 */
export function validatePodEphemeralContainersUpdate(pod: Obj, old: Obj): Errs {
  const errs = validateObjectMetaUpdate(pod?.metadata, old?.metadata);
  errs.push(...validatePodMetadataAndSpec(pod));
  errs.push(...validatePodAnnotationUpdates(pod, old));
  if (MIRROR_POD_ANNOTATION in rec(old?.metadata?.annotations)) return [forbidden('', 'static pods do not support ephemeral containers')];
  const byName = new Map(arr(pod?.spec?.ephemeralContainers).map((c) => [str(c?.name), c]));
  for (const prev of arr(old?.spec?.ephemeralContainers)) {
    const name = str(prev?.name);
    const cur = byName.get(name);
    if (!cur) errs.push(forbidden('spec.ephemeralContainers', `existing ephemeral containers ${JSON.stringify(name)} may not be removed\n`));
    else if (!semanticEqual(prev, cur)) {
      errs.push(forbidden('spec.ephemeralContainers', `existing ephemeral containers ${JSON.stringify(name)} may not be changed\n${describeDiff(prev, cur).join('\n')}`));
    }
  }
  return errs;
}

/** pods/binding: a Binding names the node a pod goes to. */
export function validateBinding(b: Obj): Errs {
  const errs = validateObjectMeta(b?.metadata, POD_META);
  const kind = str(b?.target?.kind);
  if (kind && kind !== 'Node') errs.push(notSupported('target.kind', kind, ['Node', '<empty>']));
  if (!str(b?.target?.name)) errs.push(required('target.name', ''));
  return errs;
}
