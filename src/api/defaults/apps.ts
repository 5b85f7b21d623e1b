// apps/v1 defaults (upstream pkg/apis/apps/v1/defaults.go), plus the pod
// template defaults every workload gets.

import { type Obj, arr, ensureObj, isObj, setDefault } from './util.js';
import { defaultPVCSpec, defaultPodTemplateSpec } from './podspec.js';

export const DEFAULT_REVISION_HISTORY_LIMIT = 10;
export const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;

export function defaultDeployment(d: Obj): void {
  const spec = ensureObj(d, 'spec');
  setDefault(spec, 'replicas', 1);
  const strategy = ensureObj(spec, 'strategy');
  if (!strategy.type) strategy.type = 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') {
    const ru = ensureObj(strategy, 'rollingUpdate');
    setDefault(ru, 'maxUnavailable', '25%');
    setDefault(ru, 'maxSurge', '25%');
  }
  setDefault(spec, 'revisionHistoryLimit', DEFAULT_REVISION_HISTORY_LIMIT);
  setDefault(spec, 'progressDeadlineSeconds', DEFAULT_PROGRESS_DEADLINE_SECONDS);
  defaultPodTemplateSpec(spec.template);
}

export function defaultReplicaSet(rs: Obj): void {
  const spec = ensureObj(rs, 'spec');
  setDefault(spec, 'replicas', 1);
  defaultPodTemplateSpec(spec.template);
}

export function defaultDaemonSet(ds: Obj): void {
  const spec = ensureObj(ds, 'spec');
  const us = ensureObj(spec, 'updateStrategy');
  if (!us.type) us.type = 'RollingUpdate';
  if (us.type === 'RollingUpdate') {
    const ru = ensureObj(us, 'rollingUpdate');
    setDefault(ru, 'maxUnavailable', 1);
    setDefault(ru, 'maxSurge', 0);
  }
  setDefault(spec, 'revisionHistoryLimit', DEFAULT_REVISION_HISTORY_LIMIT);
  defaultPodTemplateSpec(spec.template);
}

export function defaultStatefulSet(ss: Obj): void {
  const spec = ensureObj(ss, 'spec');
  if (!spec.podManagementPolicy) spec.podManagementPolicy = 'OrderedReady';
  const us = ensureObj(spec, 'updateStrategy');
  if (!us.type) {
    us.type = 'RollingUpdate';
    ensureObj(us, 'rollingUpdate');
  }
  if (us.type === 'RollingUpdate' && isObj(us.rollingUpdate)) setDefault(us.rollingUpdate, 'partition', 0);
  const retention = ensureObj(spec, 'persistentVolumeClaimRetentionPolicy');
  if (!retention.whenDeleted) retention.whenDeleted = 'Retain';
  if (!retention.whenScaled) retention.whenScaled = 'Retain';
  setDefault(spec, 'replicas', 1);
  setDefault(spec, 'revisionHistoryLimit', DEFAULT_REVISION_HISTORY_LIMIT);
  defaultPodTemplateSpec(spec.template);
  for (const pvc of arr(spec.volumeClaimTemplates)) {
    if (!isObj(pvc)) continue;
    defaultPVCSpec(ensureObj(pvc, 'spec'));
    const status = ensureObj(pvc, 'status');
    if (!status.phase) status.phase = 'Pending';
  }
}
