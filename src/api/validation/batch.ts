// batch/v1 Jobs.

import { isDNS1123Label, isDomainPrefixedPath, nameIsDNSSubdomain } from './formats.js';
import {
  type Errs,
  type Obj,
  arr,
  child,
  duplicate,
  index,
  invalid,
  isObj,
  isSet,
  key,
  notSupported,
  rec,
  required,
  selectorIsUsable,
  selectorMatches,
  semanticEqual,
  str,
  tooMany,
  validateImmutable,
  validateLabelSelector,
  validateNonnegative,
  validateQualifiedName,
} from './common.js';
import { type MetaRules, validateObjectMeta, validateObjectMetaUpdate } from './metadata.js';
import { validatePodTemplateSpec } from './podspec.js';
import { CONTROLLER_UID_LABEL, JOB_NAME_LABEL, LEGACY_CONTROLLER_UID_LABEL, LEGACY_JOB_NAME_LABEL } from '../defaults/batch.js';

const JOB_META: MetaRules = { namespaced: true, nameFn: nameIsDNSSubdomain };


const MAX_PARALLELISM_INDEXED = 100000;
const MAX_FAILED_INDEXES = 100000;
const MAX_POD_FAILURE_POLICY_RULES = 20;
const MAX_ON_EXIT_CODES_VALUES = 255;
const MAX_ON_POD_CONDITIONS = 20;
const MAX_MANAGED_BY = 63;

const isManual = (job: Obj): boolean => job?.spec?.manualSelector === true;
/** A job whose selector the server generates but has not yet (no uid assigned yet): selector rules wait for it. */
const selectorPending = (job: Obj): boolean => !isManual(job) && !isObj(job?.spec?.selector) && !str(job?.metadata?.uid);

function validateHasLabel(labels: unknown, k: string, expected: string): Errs {
  const l = rec(labels);
  const p = key('spec.template.metadata.labels', k);
  if (!(k in l)) return [required(p, `must be '${expected}'`)];
  if (l[k] !== expected) return [invalid(p, l, `must be '${expected}'`)];
  return [];
}

/** With a generated selector, the template must carry the generated labels and the selector must be the generated one. */
function validateGeneratedSelector(job: Obj, requirePrefixed: boolean): Errs {
  if (isManual(job) || !isObj(job?.spec?.selector)) return [];
  const errs: Errs = [];
  const uid = str(job?.metadata?.uid);
  const name = str(job?.metadata?.name);
  if (!uid) errs.push(required('metadata.uid', ''));
  const labels = job?.spec?.template?.metadata?.labels;
  errs.push(...validateHasLabel(labels, LEGACY_CONTROLLER_UID_LABEL, uid), ...validateHasLabel(labels, LEGACY_JOB_NAME_LABEL, name));
  const expected: Record<string, string> = { [LEGACY_CONTROLLER_UID_LABEL]: uid, [LEGACY_JOB_NAME_LABEL]: name };
  if (requirePrefixed) {
    errs.push(...validateHasLabel(labels, CONTROLLER_UID_LABEL, uid), ...validateHasLabel(labels, JOB_NAME_LABEL, name));
    expected[CONTROLLER_UID_LABEL] = uid;
    expected[JOB_NAME_LABEL] = name;
  }
  if (selectorIsUsable(job.spec.selector) && !selectorMatches(job.spec.selector, expected)) {
    errs.push(invalid('spec.selector', job.spec.selector, '`selector` not auto-generated'));
  }
  return errs;
}

function validatePodFailurePolicy(spec: Obj, path: string): Errs {
  const errs: Errs = [];
  const rules = arr(spec.podFailurePolicy?.rules);
  const rp = child(path, 'rules');
  if (rules.length > MAX_POD_FAILURE_POLICY_RULES) errs.push(tooMany(rp, rules.length, MAX_POD_FAILURE_POLICY_RULES));
  const containers = new Set([...arr(spec.template?.spec?.containers), ...arr(spec.template?.spec?.initContainers)].map((c) => str(c?.name)));
  const actions = ['Count', 'FailIndex', 'FailJob', 'Ignore'];
  rules.forEach((r, i) => {
    const p = index(rp, i);
    const action = str(r?.action);
    if (!action) errs.push(required(child(p, 'action'), `valid values: ${JSON.stringify(actions).replace(/,/g, ' ')}`));
    else if (action === 'FailIndex') {
      if (!isSet(spec.backoffLimitPerIndex)) errs.push(invalid(child(p, 'action'), action, 'requires the backoffLimitPerIndex to be set'));
    } else if (!actions.includes(action)) errs.push(notSupported(child(p, 'action'), action, actions));
    const codes = r?.onExitCodes;
    if (isObj(codes)) {
      const cp = child(p, 'onExitCodes');
      const op = str(codes.operator);
      if (!op) errs.push(required(child(cp, 'operator'), 'valid values: ["In" "NotIn"]'));
      else if (op !== 'In' && op !== 'NotIn') errs.push(notSupported(child(cp, 'operator'), op, ['In', 'NotIn']));
      if (isSet(codes.containerName) && !containers.has(str(codes.containerName))) {
        errs.push(invalid(child(cp, 'containerName'), codes.containerName, 'must be one of the container or initContainer names in the pod template'));
      }
      const values = arr(codes.values);
      const vp = child(cp, 'values');
      if (values.length === 0) errs.push(invalid(vp, values, 'at least one value is required'));
      else if (values.length > MAX_ON_EXIT_CODES_VALUES) errs.push(tooMany(vp, values.length, MAX_ON_EXIT_CODES_VALUES));
      const seen = new Set<number>();
      let ordered = true;
      values.forEach((v, j) => {
        if (op === 'In' && v === 0) errs.push(invalid(index(vp, j), v, 'must not be 0 for the In operator'));
        if (seen.has(v)) errs.push(duplicate(index(vp, j), v));
        seen.add(v);
        if (j > 0 && values[j - 1] > v) ordered = false;
      });
      if (!ordered) errs.push(invalid(vp, values, 'must be ordered'));
    }
    const conds = arr(r?.onPodConditions);
    if (conds.length > MAX_ON_POD_CONDITIONS) errs.push(tooMany(child(p, 'onPodConditions'), conds.length, MAX_ON_POD_CONDITIONS));
    conds.forEach((c, j) => {
      const cp = index(child(p, 'onPodConditions'), j);
      errs.push(...validateQualifiedName(str(c?.type), child(cp, 'type')));
      const st = str(c?.status);
      if (!st) errs.push(required(child(cp, 'status'), 'valid values: ["False" "True" "Unknown"]'));
      else if (!['False', 'True', 'Unknown'].includes(st)) errs.push(notSupported(child(cp, 'status'), st, ['False', 'True', 'Unknown']));
    });
    if (isObj(codes) && conds.length > 0) errs.push(invalid(p, null, 'specifying both OnExitCodes and OnPodConditions is not supported'));
    if (!isObj(codes) && conds.length === 0) errs.push(invalid(p, null, 'specifying one of OnExitCodes and OnPodConditions is required'));
  });
  return errs;
}

function validateJobSpecFields(spec: Obj): Errs {
  const errs: Errs = [];
  for (const f of ['parallelism', 'completions', 'activeDeadlineSeconds', 'backoffLimit', 'ttlSecondsAfterFinished', 'backoffLimitPerIndex', 'maxFailedIndexes']) {
    if (isSet(spec[f])) errs.push(...validateNonnegative(spec[f], `spec.${f}`));
  }
  if (isSet(spec.maxFailedIndexes) && !isSet(spec.backoffLimitPerIndex)) errs.push(required('spec.backoffLimitPerIndex', 'when maxFailedIndexes is specified'));
  if (isSet(spec.managedBy)) {
    const mb = str(spec.managedBy);
    if (!mb) errs.push(required('spec.managedBy', ''));
    else for (const [bad, m] of isDomainPrefixedPath(mb)) errs.push(invalid('spec.managedBy', bad, m));
    if (mb.length > MAX_MANAGED_BY) errs.push({ type: 'FieldValueTooLong', field: 'spec.managedBy', detail: `may not be more than ${MAX_MANAGED_BY} bytes` });
  }
  const mode = spec.completionMode;
  if (isSet(mode)) {
    if (mode !== 'NonIndexed' && mode !== 'Indexed') errs.push(notSupported('spec.completionMode', mode, ['NonIndexed', 'Indexed']));
    if (mode === 'Indexed') {
      if (!isSet(spec.completions)) errs.push(required('spec.completions', 'when completion mode is Indexed'));
      if (typeof spec.parallelism === 'number' && spec.parallelism > MAX_PARALLELISM_INDEXED) {
        errs.push(invalid('spec.parallelism', spec.parallelism, `must be less than or equal to ${MAX_PARALLELISM_INDEXED} when completion mode is Indexed`));
      }
      if (typeof spec.completions === 'number' && typeof spec.maxFailedIndexes === 'number' && spec.maxFailedIndexes > spec.completions) {
        errs.push(invalid('spec.maxFailedIndexes', spec.maxFailedIndexes, 'must be less than or equal to completions'));
      }
      if (typeof spec.maxFailedIndexes === 'number' && spec.maxFailedIndexes > MAX_FAILED_INDEXES) {
        errs.push(invalid('spec.maxFailedIndexes', spec.maxFailedIndexes, `must be less than or equal to ${MAX_FAILED_INDEXES}`));
      }
    }
  }
  if (!isSet(mode) || mode === 'NonIndexed') {
    if (isSet(spec.backoffLimitPerIndex)) errs.push(invalid('spec.backoffLimitPerIndex', spec.backoffLimitPerIndex, 'requires indexed completion mode'));
    if (isSet(spec.maxFailedIndexes)) errs.push(invalid('spec.maxFailedIndexes', spec.maxFailedIndexes, 'requires indexed completion mode'));
  }
  if (isObj(spec.podFailurePolicy)) errs.push(...validatePodFailurePolicy(spec, 'spec.podFailurePolicy'));
  if (isObj(spec.successPolicy)) {
    if (mode !== 'Indexed') errs.push(invalid('spec.successPolicy', spec.successPolicy, 'requires indexed completion mode'));
    else if (arr(spec.successPolicy.rules).length === 0) {
      errs.push(required('spec.successPolicy.rules', 'at least one rules must be specified when the successPolicy is specified'));
    }
  }
  if (isSet(spec.podReplacementPolicy)) {
    const prp = spec.podReplacementPolicy;
    if (isObj(spec.podFailurePolicy)) {
      if (prp !== 'Failed') errs.push(notSupported('spec.podReplacementPolicy', prp, ['Failed']));
    } else if (prp !== 'Failed' && prp !== 'TerminatingOrFailed') {
      errs.push(notSupported('spec.podReplacementPolicy', prp, ['Failed', 'TerminatingOrFailed']));
    }
  }
  errs.push(...validatePodTemplateSpec(spec.template, 'spec.template'));
  const rp = str(spec.template?.spec?.restartPolicy);
  const rpp = 'spec.template.spec.restartPolicy';
  if (rp === 'Always' || rp === '') errs.push(required(rpp, 'valid values: "OnFailure", "Never"'));
  else if (rp !== 'OnFailure' && rp !== 'Never') errs.push(notSupported(rpp, rp, ['OnFailure', 'Never']));
  else if (isObj(spec.podFailurePolicy) && rp !== 'Never') errs.push(invalid(rpp, rp, 'only "Never" is supported when podFailurePolicy is specified'));
  return errs;
}

function validateJobSpec(job: Obj): Errs {
  const spec = rec(job?.spec);
  const errs = validateJobSpecFields(spec);
  if (selectorPending(job)) return errs;
  const sel = spec.selector;
  if (!isObj(sel)) errs.push(required('spec.selector', ''));
  else errs.push(...validateLabelSelector(sel, 'spec.selector'));
  if (!isObj(sel) || (selectorIsUsable(sel) && !selectorMatches(sel, spec.template?.metadata?.labels))) {
    errs.push(invalid('spec.template.metadata.labels', spec.template?.metadata?.labels ?? null, '`selector` does not match template `labels`'));
  }
  return errs;
}

function validateJob(job: Obj, requirePrefixed: boolean): Errs {
  const errs = validateObjectMeta(job?.metadata, JOB_META);
  errs.push(...validateGeneratedSelector(job, requirePrefixed));
  errs.push(...validateJobSpec(job));
  const spec = rec(job?.spec);
  if (spec.completionMode === 'Indexed' && typeof spec.completions === 'number' && spec.completions > 0) {
    // Indexed pods are named `<job>-<index>`, and the name is also their hostname.
    const host = `${str(job?.metadata?.name)}-${spec.completions - 1}`;
    if (isDNS1123Label(host).length > 0) {
      errs.push(invalid('metadata.name', str(job?.metadata?.name), `will not able to create pod with invalid DNS label: ${host}`));
    }
  }
  return errs;
}

export const validateJobCreate = (job: Obj): Errs => validateJob(job, true);

const hasPrefixedLabels = (job: Obj): boolean => {
  const l = rec(job?.spec?.template?.metadata?.labels);
  return CONTROLLER_UID_LABEL in l && JOB_NAME_LABEL in l;
};

export function validateJobUpdate(job: Obj, old: Obj): Errs {
  const errs = validateObjectMetaUpdate(job?.metadata, old?.metadata);
  errs.push(...validateJobSpec(job));
  errs.push(...validateGeneratedSelector(job, hasPrefixedLabels(old)));
  const spec = rec(job?.spec);
  const prev = rec(old?.spec);
  if (spec.completionMode !== 'Indexed') {
    errs.push(...validateImmutable(spec.completions, prev.completions, 'spec.completions'));
  } else if (!semanticEqual(spec.completions, prev.completions) && isSet(spec.completions) && spec.completions !== spec.parallelism) {
    errs.push(invalid('spec.completions', spec.completions, 'can only be modified in tandem with spec.parallelism'));
  }
  errs.push(...validateImmutable(spec.selector, prev.selector, 'spec.selector'));
  // A suspended job that never started may have its scheduling directives changed (e.g. by a queueing controller).
  let template = spec.template;
  let oldTemplate = prev.template;
  if (prev.suspend === true && !old?.status?.startTime) {
    template = structuredClone(rec(template));
    oldTemplate = structuredClone(rec(oldTemplate));
    for (const t of [template, oldTemplate]) {
      if (!isObj(t.spec)) t.spec = {};
      if (!isObj(t.metadata)) t.metadata = {};
      for (const f of ['nodeSelector', 'tolerations', 'schedulingGates']) delete t.spec[f];
      if (isObj(t.spec.affinity)) delete t.spec.affinity.nodeAffinity;
      delete t.metadata.labels;
      delete t.metadata.annotations;
    }
  }
  if (!semanticEqual(template, oldTemplate)) errs.push(invalid('spec.template', spec.template ?? null, 'field is immutable'));
  for (const f of ['completionMode', 'podFailurePolicy', 'backoffLimitPerIndex', 'managedBy', 'successPolicy']) {
    errs.push(...validateImmutable(spec[f], prev[f], `spec.${f}`));
  }
  return errs;
}

export function validateJobStatusUpdate(job: Obj, old: Obj): Errs {
  const errs = validateObjectMetaUpdate(job?.metadata, old?.metadata);
  const s = rec(job?.status);
  for (const f of ['active', 'succeeded', 'failed', 'ready', 'terminating']) errs.push(...validateNonnegative(s[f], `status.${f}`));
  const seen = new Set<string>();
  for (const list of ['succeeded', 'failed']) {
    arr(s.uncountedTerminatedPods?.[list]).forEach((uid, i) => {
      const p = `status.uncountedTerminatedPods.${list}[${i}]`;
      if (!str(uid)) errs.push(invalid(p, uid ?? '', 'must not be empty'));
      else if (seen.has(uid)) errs.push(duplicate(p, uid));
      else seen.add(uid);
    });
  }
  if (typeof s.ready === 'number' && s.ready > (typeof s.active === 'number' ? s.active : 0)) {
    errs.push(invalid('status.ready', s.ready, 'cannot set more ready pods than active'));
  }
  const prev = rec(old?.status);
  if (typeof prev.failed === 'number' && (s.failed ?? 0) < prev.failed) errs.push(invalid('status.failed', s.failed ?? 0, 'cannot decrease the failed counter'));
  if (typeof prev.succeeded === 'number' && (s.succeeded ?? 0) < prev.succeeded) {
    errs.push(invalid('status.succeeded', s.succeeded ?? 0, 'cannot decrease the succeeded counter'));
  }
  return errs;
}
