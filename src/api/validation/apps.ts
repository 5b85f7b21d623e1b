// apps/v1: Deployments, ReplicaSets, StatefulSets, DaemonSets,
// ControllerRevisions.

import { nameIsDNSLabel, nameIsDNSSubdomain } from './formats.js';
import {
  type Errs,
  type Obj,
  forbidden,
  intOrPercentValue,
  invalid,
  isNotMoreThan100Percent,
  isObj,
  isSet,
  notSupported,
  rec,
  required,
  selectorIsEmpty,
  selectorIsUsable,
  selectorMatches,
  semanticEqual,
  validateImmutable,
  validateLabelSelector,
  validateLabels,
  validateAnnotations,
  validateNonnegative,
  validatePositiveIntOrPercent,
} from './common.js';
import { type MetaRules, validateObjectMeta, validateObjectMetaUpdate } from './metadata.js';
import { validatePodSpecificAnnotations, validatePodTemplateSpec } from './podspec.js';

const SUBDOMAIN_META: MetaRules = { namespaced: true, nameFn: nameIsDNSSubdomain };
/** StatefulSet names become pod hostnames (`<name>-<ordinal>`), so they must be DNS labels. */
const STATEFULSET_META: MetaRules = { namespaced: true, nameFn: nameIsDNSLabel };

/** spec.selector: required, valid and non-empty. Returns whether it can be matched against labels. */
function validateWorkloadSelector(spec: Obj, kind: string, errs: Errs): boolean {
  const sel = spec?.selector;
  if (!isObj(sel)) {
    errs.push(required('spec.selector', ''));
    return true;
  }
  errs.push(...validateLabelSelector(sel, 'spec.selector'));
  if (selectorIsEmpty(sel)) errs.push(invalid('spec.selector', sel, `empty selector is invalid for ${kind}`));
  if (!selectorIsUsable(sel)) {
    errs.push(invalid('spec.selector', sel, 'invalid label selector'));
    return false;
  }
  return true;
}

/** The template must carry the labels the selector selects. A missing selector selects nothing. */
function validateSelectorMatchesTemplate(spec: Obj, errs: Errs): void {
  const sel = spec?.selector;
  const labels = spec?.template?.metadata?.labels;
  if (isObj(sel) && selectorIsEmpty(sel)) return;
  if (!isObj(sel) || !selectorMatches(sel, labels)) {
    errs.push(invalid('spec.template.metadata.labels', labels ?? null, '`selector` does not match template `labels`'));
  }
}

/** Templates of controllers whose pods run forever. */
function validateAlwaysRestartingTemplate(spec: Obj, kind: string, errs: Errs): void {
  const tspec = rec(spec?.template?.spec);
  if (tspec.restartPolicy !== 'Always') errs.push(notSupported('spec.template.spec.restartPolicy', tspec.restartPolicy ?? '', ['Always']));
  if (isSet(tspec.activeDeadlineSeconds)) {
    errs.push(forbidden('spec.template.spec.activeDeadlineSeconds', `activeDeadlineSeconds in ${kind} is not Supported`));
  }
}

// ---- ReplicaSets and Deployments ----

/** Selector and template of the ReplicaSet family (ReplicaSets, and Deployments which make them). */
function validateSelectorAndTemplate(spec: Obj, selectorKind: string, templateKind: string): Errs {
  const errs: Errs = [];
  if (validateWorkloadSelector(spec, selectorKind, errs)) {
    if (!isObj(spec?.template)) {
      errs.push(required('spec.template', ''));
    } else {
      validateSelectorMatchesTemplate(spec, errs);
      errs.push(...validatePodTemplateSpec(spec.template, 'spec.template'));
      validateAlwaysRestartingTemplate(spec, templateKind, errs);
    }
  }
  return errs;
}

function validateReplicaSetSpec(rs: Obj): Errs {
  const spec = rec(rs?.spec);
  return [
    ...validateNonnegative(spec.replicas, 'spec.replicas'),
    ...validateNonnegative(spec.minReadySeconds, 'spec.minReadySeconds'),
    // Upstream's message says "deployment" for replica sets too.
    ...validateSelectorAndTemplate(spec, 'deployment', 'ReplicaSet'),
  ];
}

export const validateReplicaSetCreate = (rs: Obj): Errs => [...validateObjectMeta(rs?.metadata, SUBDOMAIN_META), ...validateReplicaSetSpec(rs)];

export function validateReplicaSetUpdate(rs: Obj, old: Obj): Errs {
  return [
    ...validateObjectMetaUpdate(rs?.metadata, old?.metadata),
    ...validateReplicaSetSpec(rs),
    ...validateImmutable(rs?.spec?.selector, old?.spec?.selector, 'spec.selector'),
  ];
}

function validateDeploymentStrategy(strategy: Obj): Errs {
  const errs: Errs = [];
  const s = rec(strategy);
  switch (s.type) {
    case 'Recreate':
      if (isSet(s.rollingUpdate)) errs.push(forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'"));
      break;
    case 'RollingUpdate': {
      const ru = s.rollingUpdate;
      if (!isObj(ru)) {
        errs.push(required('spec.strategy.rollingUpdate', 'this should be defaulted and never be nil'));
        break;
      }
      const p = 'spec.strategy.rollingUpdate';
      errs.push(...validatePositiveIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`));
      errs.push(...validatePositiveIntOrPercent(ru.maxSurge, `${p}.maxSurge`));
      if (intOrPercentValue(ru.maxUnavailable) === 0 && intOrPercentValue(ru.maxSurge) === 0) {
        errs.push(invalid(`${p}.maxUnavailable`, ru.maxUnavailable ?? 0, 'may not be 0 when `maxSurge` is 0'));
      }
      errs.push(...isNotMoreThan100Percent(ru.maxUnavailable, `${p}.maxUnavailable`));
      break;
    }
    default:
      errs.push(notSupported('spec.strategy', strategy ?? null, ['Recreate', 'RollingUpdate']));
  }
  return errs;
}

function validateDeploymentSpec(d: Obj): Errs {
  const spec = rec(d?.spec);
  const errs = validateNonnegative(spec.replicas, 'spec.replicas');
  errs.push(...validateSelectorAndTemplate(spec, 'deployment', 'ReplicaSet'));
  errs.push(...validateDeploymentStrategy(spec.strategy));
  errs.push(...validateNonnegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  if (isSet(spec.revisionHistoryLimit)) errs.push(...validateNonnegative(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit'));
  if (isObj(spec.rollbackTo)) errs.push(...validateNonnegative(spec.rollbackTo.revision, 'spec.rollback.version'));
  if (isSet(spec.progressDeadlineSeconds)) {
    errs.push(...validateNonnegative(spec.progressDeadlineSeconds, 'spec.progressDeadlineSeconds'));
    if (spec.progressDeadlineSeconds <= (typeof spec.minReadySeconds === 'number' ? spec.minReadySeconds : 0)) {
      errs.push(invalid('spec.progressDeadlineSeconds', spec.progressDeadlineSeconds, 'must be greater than minReadySeconds'));
    }
  }
  return errs;
}

export const validateDeploymentCreate = (d: Obj): Errs => [...validateObjectMeta(d?.metadata, SUBDOMAIN_META), ...validateDeploymentSpec(d)];

export function validateDeploymentUpdate(d: Obj, old: Obj): Errs {
  return [
    ...validateObjectMetaUpdate(d?.metadata, old?.metadata),
    ...validateDeploymentSpec(d),
    ...validateImmutable(d?.spec?.selector, old?.spec?.selector, 'spec.selector'),
  ];
}

// ---- status of the replicated kinds ----

const CANNOT_EXCEED = 'cannot be greater than status.replicas';

function validateCollisionCount(obj: Obj, old: Obj): Errs {
  const n = obj?.status?.collisionCount;
  const o = old?.status?.collisionCount;
  if (typeof o === 'number' && (typeof n !== 'number' || n < o)) {
    return [invalid('status.collisionCount', typeof n === 'number' ? n : 0, 'cannot be decremented')];
  }
  return [];
}

function validateReplicaCounts(status: Obj, fields: string[], notAboveReplicas: string[], availableNotAboveReady: string): Errs {
  const s = rec(status);
  const errs: Errs = [];
  for (const f of fields) errs.push(...validateNonnegative(s[f], `status.${f}`));
  const replicas = typeof s.replicas === 'number' ? s.replicas : 0;
  for (const f of notAboveReplicas) if (typeof s[f] === 'number' && s[f] > replicas) errs.push(invalid(`status.${f}`, s[f], CANNOT_EXCEED));
  if (typeof s.availableReplicas === 'number' && s.availableReplicas > (typeof s.readyReplicas === 'number' ? s.readyReplicas : 0)) {
    errs.push(invalid('status.availableReplicas', s.availableReplicas, availableNotAboveReady));
  }
  return errs;
}

export function validateDeploymentStatusUpdate(d: Obj, old: Obj): Errs {
  return [
    ...validateObjectMetaUpdate(d?.metadata, old?.metadata),
    ...validateReplicaCounts(
      d?.status,
      ['observedGeneration', 'replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas', 'collisionCount'],
      ['updatedReplicas', 'readyReplicas', 'availableReplicas'],
      'cannot be greater than readyReplicas',
    ),
    ...validateCollisionCount(d, old),
  ];
}

export function validateReplicaSetStatusUpdate(rs: Obj, old: Obj): Errs {
  return [
    ...validateObjectMetaUpdate(rs?.metadata, old?.metadata),
    ...validateReplicaCounts(
      rs?.status,
      ['replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration'],
      ['fullyLabeledReplicas', 'readyReplicas', 'availableReplicas'],
      'cannot be greater than readyReplicas',
    ),
  ];
}

export function validateStatefulSetStatusUpdate(ss: Obj, old: Obj): Errs {
  return [
    ...validateReplicaCounts(
      ss?.status,
      ['replicas', 'readyReplicas', 'currentReplicas', 'updatedReplicas', 'availableReplicas', 'observedGeneration', 'collisionCount'],
      ['readyReplicas', 'currentReplicas', 'updatedReplicas', 'availableReplicas'],
      'cannot be greater than status.readyReplicas',
    ),
    ...validateObjectMetaUpdate(ss?.metadata, old?.metadata),
    ...validateCollisionCount(ss, old),
  ];
}

export function validateDaemonSetStatusUpdate(ds: Obj, old: Obj): Errs {
  const s = rec(ds?.status);
  const errs = validateObjectMetaUpdate(ds?.metadata, old?.metadata);
  for (const f of [
    'currentNumberScheduled',
    'numberMisscheduled',
    'desiredNumberScheduled',
    'numberReady',
    'observedGeneration',
    'updatedNumberScheduled',
    'numberAvailable',
    'numberUnavailable',
    'collisionCount',
  ]) {
    errs.push(...validateNonnegative(s[f], `status.${f}`));
  }
  errs.push(...validateCollisionCount(ds, old));
  return errs;
}

// ---- StatefulSets ----

function validateStatefulSetSpec(ss: Obj): Errs {
  const spec = rec(ss?.spec);
  const errs: Errs = [];
  const pmp = spec.podManagementPolicy;
  if (!pmp) errs.push(required('spec.podManagementPolicy', ''));
  else if (pmp !== 'OrderedReady' && pmp !== 'Parallel') errs.push(invalid('spec.podManagementPolicy', pmp, "must be 'OrderedReady' or 'Parallel'"));
  const us = rec(spec.updateStrategy);
  switch (us.type) {
    case undefined:
    case '':
      errs.push(required('spec.updateStrategy', ''));
      break;
    case 'OnDelete':
      if (isSet(us.rollingUpdate)) errs.push(invalid('spec.updateStrategy.rollingUpdate', us.rollingUpdate, "only allowed for updateStrategy 'RollingUpdate'"));
      break;
    case 'RollingUpdate':
      if (isObj(us.rollingUpdate)) {
        const p = 'spec.updateStrategy.rollingUpdate';
        errs.push(...validateNonnegative(us.rollingUpdate.partition, `${p}.partition`));
        const mu = us.rollingUpdate.maxUnavailable;
        if (isSet(mu)) {
          errs.push(...validatePositiveIntOrPercent(mu, `${p}.maxUnavailable`));
          if (intOrPercentValue(mu) === 0) errs.push(invalid(`${p}.maxUnavailable`, mu, 'cannot be 0'));
          errs.push(...isNotMoreThan100Percent(mu, `${p}.maxUnavailable`));
        }
      }
      break;
    default:
      errs.push(invalid('spec.updateStrategy', spec.updateStrategy, "must be 'RollingUpdate' or 'OnDelete'"));
  }
  const retention = spec.persistentVolumeClaimRetentionPolicy;
  if (isObj(retention)) {
    for (const f of ['whenDeleted', 'whenScaled']) {
      if (retention[f] !== 'Retain' && retention[f] !== 'Delete') {
        errs.push(notSupported(`spec.persistentVolumeClaimRetentionPolicy.${f}`, retention[f] ?? '', ['Retain', 'Delete']));
      }
    }
  }
  errs.push(...validateNonnegative(spec.replicas, 'spec.replicas'));
  errs.push(...validateNonnegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  if (isObj(spec.ordinals)) errs.push(...validateNonnegative(spec.ordinals.start, 'spec.ordinals.start'));
  if (validateWorkloadSelector(spec, 'statefulset', errs)) {
    validateSelectorMatchesTemplate(spec, errs);
    // Upstream checks only the template's metadata here; pods are validated when the controller creates them.
    const meta = rec(spec.template?.metadata);
    errs.push(...validateLabels(meta.labels, 'spec.template.labels'));
    errs.push(...validateAnnotations(meta.annotations, 'spec.template.annotations'));
    errs.push(...validatePodSpecificAnnotations(meta.annotations, spec.template?.spec, 'spec.template.annotations'));
  }
  validateAlwaysRestartingTemplate(spec, 'StatefulSet', errs);
  return errs;
}

export const validateStatefulSetCreate = (ss: Obj): Errs => [...validateObjectMeta(ss?.metadata, STATEFULSET_META), ...validateStatefulSetSpec(ss)];

/** The spec fields a StatefulSet update may change. */
const STATEFULSET_MUTABLE = ['replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds'];

export function validateStatefulSetUpdate(ss: Obj, old: Obj): Errs {
  const errs = validateObjectMetaUpdate(ss?.metadata, old?.metadata);
  errs.push(...validateStatefulSetSpec(ss));
  const next = { ...rec(ss?.spec) };
  const prev = { ...rec(old?.spec) };
  for (const f of STATEFULSET_MUTABLE) {
    delete next[f];
    delete prev[f];
  }
  if (!semanticEqual(next, prev)) {
    errs.push(
      forbidden(
        'spec',
        "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
      ),
    );
  }
  return errs;
}

// ---- DaemonSets ----

function validateDaemonSetSpec(ds: Obj): Errs {
  const spec = rec(ds?.spec);
  const errs = validateLabelSelector(spec.selector, 'spec.selector');
  const sel = spec.selector;
  if (!isObj(sel) || (selectorIsUsable(sel) && !selectorMatches(sel, spec.template?.metadata?.labels))) {
    errs.push(invalid('spec.template.metadata.labels', spec.template?.metadata?.labels ?? null, '`selector` does not match template `labels`'));
  }
  if (isObj(sel) && selectorIsEmpty(sel)) errs.push(invalid('spec.selector', sel, 'empty selector is invalid for daemonset'));
  errs.push(...validatePodTemplateSpec(spec.template, 'spec.template'));
  validateAlwaysRestartingTemplate(spec, 'DaemonSet', errs);
  errs.push(...validateNonnegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  errs.push(...validateNonnegative(spec.templateGeneration, 'spec.templateGeneration'));
  const us = rec(spec.updateStrategy);
  switch (us.type) {
    case 'OnDelete':
      break;
    case 'RollingUpdate': {
      const ru = us.rollingUpdate;
      const p = 'spec.updateStrategy.rollingUpdate';
      if (!isObj(ru)) {
        errs.push(required(p, ''));
        break;
      }
      errs.push(...validatePositiveIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`));
      errs.push(...validatePositiveIntOrPercent(ru.maxSurge, `${p}.maxSurge`));
      errs.push(...isNotMoreThan100Percent(ru.maxUnavailable, `${p}.maxUnavailable`));
      errs.push(...isNotMoreThan100Percent(ru.maxSurge, `${p}.maxSurge`));
      const hasUnavailable = intOrPercentValue(ru.maxUnavailable) !== 0;
      const hasSurge = intOrPercentValue(ru.maxSurge) !== 0;
      if (hasUnavailable && hasSurge) errs.push(invalid(`${p}.maxSurge`, ru.maxSurge, 'may not be set when maxUnavailable is non-zero'));
      if (!hasUnavailable && !hasSurge) errs.push(required(`${p}.maxUnavailable`, 'cannot be 0 when maxSurge is 0'));
      break;
    }
    default:
      errs.push(notSupported('spec.updateStrategy', spec.updateStrategy ?? null, ['RollingUpdate', 'OnDelete']));
  }
  if (isSet(spec.revisionHistoryLimit)) errs.push(...validateNonnegative(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit'));
  return errs;
}

export const validateDaemonSetCreate = (ds: Obj): Errs => [...validateObjectMeta(ds?.metadata, SUBDOMAIN_META), ...validateDaemonSetSpec(ds)];

export function validateDaemonSetUpdate(ds: Obj, old: Obj): Errs {
  return [
    ...validateObjectMetaUpdate(ds?.metadata, old?.metadata),
    ...validateDaemonSetSpec(ds),
    ...validateImmutable(ds?.spec?.selector, old?.spec?.selector, 'spec.selector'),
  ];
}

// ---- ControllerRevisions ----

export function validateControllerRevisionCreate(cr: Obj): Errs {
  const errs = validateObjectMeta(cr?.metadata, SUBDOMAIN_META);
  if (!isSet(cr?.data)) errs.push(required('data', 'data is mandatory'));
  errs.push(...validateNonnegative(cr?.revision, 'revision'));
  return errs;
}

export function validateControllerRevisionUpdate(cr: Obj, old: Obj): Errs {
  return [
    ...validateObjectMetaUpdate(cr?.metadata, old?.metadata),
    ...validateControllerRevisionCreate(cr),
    ...validateImmutable(cr?.data, old?.data, 'data'),
  ];
}
