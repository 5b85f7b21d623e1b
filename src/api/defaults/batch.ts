// batch/v1 Job defaults (upstream SetDefaults_Job) and selector generation
// (upstream's job strategy, which needs the job's uid).

import { type Obj, ensureObj, isObj, setDefault, arr } from './util.js';
import { defaultPodTemplateSpec } from './podspec.js';

export const CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
export const LEGACY_CONTROLLER_UID_LABEL = 'controller-uid';
export const LEGACY_JOB_NAME_LABEL = 'job-name';
const MAX_INT32 = 2147483647;

export function defaultJob(job: Obj): void {
  const spec = ensureObj(job, 'spec');
  if (spec.completions == null && spec.parallelism == null) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  setDefault(spec, 'parallelism', 1);
  setDefault(spec, 'backoffLimit', spec.backoffLimitPerIndex != null ? MAX_INT32 : 6);
  const meta = ensureObj(job, 'metadata');
  if (!spec.completionMode) spec.completionMode = 'NonIndexed';
  setDefault(spec, 'suspend', false);
  if (isObj(spec.podFailurePolicy)) {
    for (const rule of arr(spec.podFailurePolicy.rules)) for (const p of arr(rule?.onPodConditions)) if (isObj(p) && !p.status) p.status = 'True';
  }
  if (!spec.podReplacementPolicy) spec.podReplacementPolicy = isObj(spec.podFailurePolicy) ? 'Failed' : 'TerminatingOrFailed';
  setDefault(spec, 'manualSelector', false);
  defaultPodTemplateSpec(spec.template);
  // A job being created (no resourceVersion yet) whose uid is known gets its selector, as upstream's strategy does.
  if (!meta.resourceVersion && meta.uid) generateJobSelector(job);
  // The job takes its template's labels when it has none. Upstream copies them before generating the
  // selector and so picks up the generated labels only on a later write; copying after is the same, at once.
  const templateLabels = spec.template?.metadata?.labels;
  if (isObj(templateLabels) && Object.keys(meta.labels ?? {}).length === 0) meta.labels = { ...templateLabels };
}

/**
 * Labels the job's pods with the job's uid and name and selects them by uid,
 * unless the user manages the selector (manualSelector: true). Labels the
 * user already set are kept: validation rejects a conflict.
 */
export function generateJobSelector(job: Obj): void {
  const spec = ensureObj(job, 'spec');
  if (spec.manualSelector === true) return;
  const uid = String(job.metadata?.uid ?? '');
  const name = String(job.metadata?.name ?? '');
  const template = ensureObj(spec, 'template');
  const labels = ensureObj(ensureObj(template, 'metadata'), 'labels');
  for (const k of [LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL]) if (!(k in labels)) labels[k] = name;
  for (const k of [LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL]) if (!(k in labels)) labels[k] = uid;
  const matchLabels = ensureObj(ensureObj(spec, 'selector'), 'matchLabels');
  if (!(CONTROLLER_UID_LABEL in matchLabels)) matchLabels[CONTROLLER_UID_LABEL] = uid;
}
