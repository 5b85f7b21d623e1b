// PodSpec and PodTemplateSpec, as upstream's ValidatePodSpec and
// ValidatePodTemplateSpec: volumes, containers, scheduling constraints, DNS,
// security context. Used by pods and by every workload's template.

import { inclusiveRangeError, isDNS1123Subdomain, isLabelValue, nameIsDNSLabel, nameIsDNSSubdomain } from './formats.js';
import {
  type Errs,
  type Obj,
  arr,
  child,
  duplicate,
  forbidden,
  index,
  invalid,
  isObj,
  isSet,
  key,
  notSupported,
  rec,
  required,
  str,
  validateAnnotations,
  validateDNS1123Label,
  validateDNS1123Subdomain,
  validateIP,
  validateLabelName,
  validateLabelSelector,
  validateLabels,
  validateNameRef,
  validateQualifiedName,
  NOT_POSITIVE,
} from './common.js';
import {
  type ContainerContext,
  type VolumeMap,
  VOLUME_FIELD_PATHS,
  validateAppArmorProfile,
  validateContainers,
  validateEphemeralContainers,
  validateID,
  validateInitContainers,
  validateLocalDescendingPath,
  validateLocalNonReservedPath,
  validateObjectFieldSelector,
  validatePathNoBacksteps,
  validateResourceFieldSelector,
  validateResourceRequirements,
  validateSeccompProfile,
} from './containers.js';
import { validateTemplateObjectMeta } from './metadata.js';
import { isNegative, isPositive, parseQuantity, quantityString } from './quantity.js';
import { VOLUME_SOURCE_KEYS } from '../defaults/podspec.js';

export interface PodSpecOptions {
  /** The spec belongs to a Pod (not a template): hostPort must equal containerPort on the host network. */
  isPod: boolean;
  /** The pod's metadata, for generic ephemeral volume names (pods only). */
  podMeta?: Obj;
}

// ---- volumes ----

const FILE_MODE_ERROR = 'must be a number between 0 and 0777 (octal), both inclusive';
const validateMode = (m: unknown, path: string): Errs => (typeof m === 'number' && (m < 0 || m > 0o777) ? [invalid(path, m, FILE_MODE_ERROR)] : []);

function validateKeyToPath(kp: Obj, path: string): Errs {
  const errs: Errs = [];
  if (!str(kp?.key)) errs.push(required(child(path, 'key'), ''));
  if (!str(kp?.path)) errs.push(required(child(path, 'path'), ''));
  errs.push(...validateLocalNonReservedPath(str(kp?.path), child(path, 'path')));
  errs.push(...validateMode(kp?.mode, child(path, 'mode')));
  return errs;
}

function validateDownwardAPIFile(f: Obj, path: string): Errs {
  const errs: Errs = [];
  if (!str(f?.path)) errs.push(required(child(path, 'path'), ''));
  errs.push(...validateLocalNonReservedPath(str(f?.path), child(path, 'path')));
  if (isObj(f?.fieldRef)) {
    errs.push(...validateObjectFieldSelector(f.fieldRef, VOLUME_FIELD_PATHS, child(path, 'fieldRef')));
    if (isObj(f.resourceFieldRef)) errs.push(invalid(path, 'resource', 'fieldRef and resourceFieldRef can not be specified simultaneously'));
  } else if (isObj(f?.resourceFieldRef)) {
    errs.push(...validateResourceFieldSelector(f.resourceFieldRef, child(path, 'resourceFieldRef'), true));
  } else {
    errs.push(required(path, 'one of fieldRef and resourceFieldRef is required'));
  }
  errs.push(...validateMode(f?.mode, child(path, 'mode')));
  return errs;
}

function validateProjected(src: Obj, path: string): Errs {
  const errs = validateMode(src?.defaultMode, child(path, 'defaultMode'));
  const paths = new Set<string>();
  const addPath = (p: string, bad: unknown): void => {
    if (!p) return;
    if (paths.has(p)) errs.push(invalid(path, bad, 'conflicting duplicate paths'));
    paths.add(p);
  };
  arr(src?.sources).forEach((s, i) => {
    const sp = index(child(path, 'sources'), i);
    let n = 0;
    for (const kind of ['secret', 'configMap']) {
      if (!isObj(s?.[kind])) continue;
      n++;
      const kp = child(sp, kind);
      if (!str(s[kind].name)) errs.push(required(child(kp, 'name'), ''));
      arr(s[kind].items).forEach((item, j) => {
        errs.push(...validateKeyToPath(item, index(child(kp, 'items'), j)));
        addPath(str(item?.path), str(s[kind].name));
      });
    }
    if (isObj(s?.downwardAPI)) {
      n++;
      for (const f of arr(s.downwardAPI.items)) {
        errs.push(...validateDownwardAPIFile(f, child(sp, 'downwardAPI')));
        addPath(str(f?.path), str(f?.path));
      }
    }
    if (isObj(s?.serviceAccountToken)) {
      n++;
      const t = s.serviceAccountToken;
      const tp = child(sp, 'serviceAccountToken');
      const exp = typeof t.expirationSeconds === 'number' ? t.expirationSeconds : 0;
      if (exp < 600) errs.push(invalid(child(tp, 'expirationSeconds'), exp, 'may not specify a duration less than 10 minutes'));
      if (exp > 2 ** 32) errs.push(invalid(child(tp, 'expirationSeconds'), exp, 'may not specify a duration larger than 2^32 seconds'));
      if (!str(t.path)) errs.push(required(child(path, 'path'), ''));
      else errs.push(...validateLocalNonReservedPath(str(t.path), child(path, 'path')));
    }
    if (isObj(s?.clusterTrustBundle)) {
      n++;
      const ctb = s.clusterTrustBundle;
      const cp = child(sp, 'clusterTrustBundle');
      if (isSet(ctb.name) && isSet(ctb.signerName)) errs.push(invalid(cp, ctb, 'only one of name and signerName may be used'));
      else if (!isSet(ctb.name) && !isSet(ctb.signerName)) errs.push(required(cp, 'either name or signerName must be specified'));
      if (!str(ctb.path)) errs.push(required(child(cp, 'path'), ''));
      errs.push(...validateLocalNonReservedPath(str(ctb.path), child(cp, 'path')));
      addPath(str(ctb.path), str(ctb.path));
    }
    if (n > 1) errs.push(forbidden(sp, 'may not specify more than 1 volume type per source'));
  });
  return errs;
}

const HOST_PATH_TYPES = ['', 'BlockDevice', 'CharDevice', 'Directory', 'DirectoryOrCreate', 'File', 'FileOrCreate', 'Socket'];

function validateVolumeSource(kind: string, src: Obj, path: string, volName: string, podMeta: Obj | undefined): Errs {
  const errs: Errs = [];
  const s = rec(src);
  switch (kind) {
    case 'emptyDir': {
      const q = isSet(s.sizeLimit) ? parseQuantity(s.sizeLimit) : null;
      if (isSet(s.sizeLimit) && (!q || isNegative(q))) errs.push(forbidden(child(path, 'sizeLimit'), 'SizeLimit field must be a valid resource quantity'));
      break;
    }
    case 'hostPath':
      if (!str(s.path)) return [required(child(path, 'path'), '')];
      errs.push(...validatePathNoBacksteps(str(s.path), child(path, 'path')));
      if (isSet(s.type) && !HOST_PATH_TYPES.includes(s.type)) errs.push(notSupported(child(path, 'type'), s.type, HOST_PATH_TYPES));
      break;
    case 'gitRepo':
      if (!str(s.repository)) errs.push(required(child(path, 'repository'), ''));
      errs.push(...validateLocalDescendingPath(str(s.directory), child(path, 'directory')));
      break;
    case 'secret':
      if (!str(s.secretName)) errs.push(required(child(path, 'secretName'), ''));
      errs.push(...validateMode(s.defaultMode, child(path, 'defaultMode')));
      arr(s.items).forEach((kp, i) => errs.push(...validateKeyToPath(kp, index(child(path, 'items'), i))));
      break;
    case 'configMap':
      if (!str(s.name)) errs.push(required(child(path, 'name'), ''));
      errs.push(...validateMode(s.defaultMode, child(path, 'defaultMode')));
      arr(s.items).forEach((kp, i) => errs.push(...validateKeyToPath(kp, index(child(path, 'items'), i))));
      break;
    case 'persistentVolumeClaim':
      if (!str(s.claimName)) errs.push(required(child(path, 'claimName'), ''));
      break;
    case 'nfs':
      if (!str(s.server)) errs.push(required(child(path, 'server'), ''));
      if (!str(s.path)) errs.push(required(child(path, 'path'), ''));
      if (!str(s.path).startsWith('/')) errs.push(invalid(child(path, 'path'), str(s.path), 'must be an absolute path'));
      break;
    case 'downwardAPI':
      errs.push(...validateMode(s.defaultMode, child(path, 'defaultMode')));
      for (const f of arr(s.items)) errs.push(...validateDownwardAPIFile(f, path));
      break;
    case 'projected':
      errs.push(...validateProjected(s, path));
      break;
    case 'csi': {
      const driver = str(s.driver);
      const dp = child(path, 'driver');
      if (!driver) errs.push(required(dp, ''));
      if (driver.length > 63) errs.push({ type: 'FieldValueTooLong', field: dp, detail: 'may not be more than 63 bytes' });
      for (const m of isDNS1123Subdomain(driver.toLowerCase())) errs.push(invalid(dp, driver, m));
      if (isObj(s.nodePublishSecretRef)) {
        const n = str(s.nodePublishSecretRef.name);
        if (!n) errs.push(required(child(child(path, 'nodePublishSecretRef'), 'name'), ''));
        else errs.push(...validateNameRef(n, child(path, 'name'), nameIsDNSSubdomain));
      }
      break;
    }
    case 'ephemeral':
      if (!isObj(s.volumeClaimTemplate)) {
        errs.push(required(child(path, 'volumeClaimTemplate'), ''));
      } else {
        const tp = child(path, 'volumeClaimTemplate');
        errs.push(...validateTemplateObjectMeta(s.volumeClaimTemplate.metadata, child(tp, 'metadata')));
        errs.push(...validatePVCSpecBasics(s.volumeClaimTemplate.spec, child(tp, 'spec')));
        const podName = str(podMeta?.name);
        if (podName && volName) {
          const pvcName = `${podName}-${volName}`;
          for (const m of nameIsDNSSubdomain(pvcName, false)) errs.push(invalid(child(path, 'name'), volName, `PVC name "${pvcName}": ${m}`));
        }
      }
      break;
    case 'image':
      if (isSet(s.pullPolicy) && !['Always', 'IfNotPresent', 'Never'].includes(s.pullPolicy)) {
        errs.push(notSupported(child(path, 'pullPolicy'), s.pullPolicy, ['Always', 'IfNotPresent', 'Never']));
      }
      break;
    default:
      // The remaining (mostly cloud and legacy in-tree) sources are accepted as given.
      break;
  }
  return errs;
}

const ACCESS_MODES = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];

/** The parts of a PersistentVolumeClaimSpec every claim needs: access modes and a storage request. */
export function validatePVCSpecBasics(spec: Obj, path: string): Errs {
  const errs: Errs = [];
  const modes = arr(spec?.accessModes);
  if (modes.length === 0) errs.push(required(child(path, 'accessModes'), 'at least 1 access mode is required'));
  for (const m of modes) if (!ACCESS_MODES.includes(m)) errs.push(notSupported(child(path, 'accessModes'), m, ACCESS_MODES));
  if (modes.includes('ReadWriteOncePod') && modes.some((m) => m !== 'ReadWriteOncePod' && ACCESS_MODES.includes(m))) {
    errs.push(forbidden(child(path, 'accessModes'), 'may not use ReadWriteOncePod with other access modes'));
  }
  if (isObj(spec?.selector)) errs.push(...validateLabelSelector(spec.selector, child(path, 'selector')));
  const storage = rec(spec?.resources?.requests).storage;
  const sp = key(child(path, 'resources'), 'storage');
  if (!isSet(storage)) {
    errs.push(required(sp, ''));
  } else {
    const q = parseQuantity(storage);
    if (!q || !isPositive(q)) errs.push(invalid(sp, quantityString(storage), NOT_POSITIVE));
  }
  if (isSet(spec?.volumeMode) && spec.volumeMode !== 'Block' && spec.volumeMode !== 'Filesystem') {
    errs.push(notSupported(child(path, 'volumeMode'), spec.volumeMode, ['Block', 'Filesystem']));
  }
  if (str(spec?.storageClassName)) errs.push(...validateNameRef(spec.storageClassName, child(path, 'storageClassName'), nameIsDNSSubdomain));
  return errs;
}

export function validateVolumes(volumes: unknown, path: string, podMeta: Obj | undefined): { vols: VolumeMap; errs: Errs } {
  const errs: Errs = [];
  const vols: VolumeMap = new Map();
  const created = new Set<string>();
  const podName = str(podMeta?.name);
  if (podName) for (const v of arr(volumes)) if (isObj(v?.ephemeral)) created.add(`${podName}-${str(v.name)}`);
  arr(volumes).forEach((v, i) => {
    const ip = index(path, i);
    const name = str(v?.name);
    const el: Errs = [];
    let n = 0;
    for (const kind of VOLUME_SOURCE_KEYS) {
      if (!isSet(v?.[kind])) continue;
      if (n > 0) {
        el.push(forbidden(child(ip, kind), 'may not specify more than 1 volume type'));
        continue;
      }
      n++;
      el.push(...validateVolumeSource(kind, v[kind], child(ip, kind), name, podMeta));
    }
    if (n === 0) el.push(required(ip, 'must specify a volume type'));
    if (!name) el.push(required(child(ip, 'name'), ''));
    else el.push(...validateDNS1123Label(name, child(ip, 'name')));
    if (vols.has(name)) el.push(duplicate(child(ip, 'name'), name));
    if (el.length === 0) vols.set(name, v);
    else errs.push(...el);
    const claim = str(v?.persistentVolumeClaim?.claimName);
    if (claim && created.has(claim)) {
      errs.push(invalid(child(child(ip, 'persistentVolumeClaim'), 'claimName'), claim, 'must not reference a PVC that gets created for an ephemeral volume'));
    }
  });
  return { vols, errs };
}

// ---- scheduling: node selectors, affinity, tolerations, spread ----

function validateNodeSelectorRequirement(r: Obj, allowInvalidValues: boolean, path: string): Errs {
  const errs: Errs = [];
  const values = arr(r?.values);
  switch (r?.operator) {
    case 'In':
    case 'NotIn':
      if (values.length === 0) errs.push(required(child(path, 'values'), "must be specified when `operator` is 'In' or 'NotIn'"));
      break;
    case 'Exists':
    case 'DoesNotExist':
      if (values.length > 0) errs.push(forbidden(child(path, 'values'), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
      break;
    case 'Gt':
    case 'Lt':
      if (values.length !== 1) errs.push(required(child(path, 'values'), "must be specified single value when `operator` is 'Lt' or 'Gt'"));
      break;
    default:
      errs.push(invalid(child(path, 'operator'), r?.operator ?? '', 'not a valid selector operator'));
  }
  errs.push(...validateLabelName(str(r?.key), child(path, 'key')));
  if (!allowInvalidValues) {
    values.forEach((v, i) => {
      for (const m of isLabelValue(str(v))) errs.push(invalid(index(child(path, 'values'), i), v, m));
    });
  }
  return errs;
}

function validateNodeFieldSelectorRequirement(r: Obj, path: string): Errs {
  const errs: Errs = [];
  if (r?.operator === 'In' || r?.operator === 'NotIn') {
    if (arr(r.values).length !== 1) errs.push(required(child(path, 'values'), "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"));
  } else {
    errs.push(invalid(child(path, 'operator'), r?.operator ?? '', 'not a valid selector operator'));
  }
  if (r?.key !== 'metadata.name') {
    errs.push(invalid(child(path, 'key'), r?.key ?? '', 'not a valid field selector key'));
  } else {
    arr(r.values).forEach((v, i) => errs.push(...validateNameRef(str(v), index(child(path, 'values'), i), nameIsDNSSubdomain)));
  }
  return errs;
}

function validateNodeSelectorTerm(t: Obj, allowInvalidValues: boolean, path: string): Errs {
  const errs: Errs = [];
  arr(t?.matchExpressions).forEach((r, j) => errs.push(...validateNodeSelectorRequirement(r, allowInvalidValues, index(child(path, 'matchExpressions'), j))));
  arr(t?.matchFields).forEach((r, j) => errs.push(...validateNodeFieldSelectorRequirement(r, index(child(path, 'matchFields'), j))));
  return errs;
}

export function validateNodeSelector(ns: Obj, path: string): Errs {
  const terms = arr(ns?.nodeSelectorTerms);
  const tp = child(path, 'nodeSelectorTerms');
  if (terms.length === 0) return [required(tp, 'must have at least one node selector term')];
  return terms.flatMap((t, i) => validateNodeSelectorTerm(t, false, index(tp, i)));
}

function validatePodAffinityTerm(t: Obj, path: string): Errs {
  const errs: Errs = [];
  errs.push(...validateLabelSelector(t?.labelSelector, child(path, 'labelSelector')));
  errs.push(...validateLabelSelector(t?.namespaceSelector, child(path, 'namespaceSelector')));
  for (const n of arr(t?.namespaces)) errs.push(...validateNameRef(str(n), child(path, 'namespace'), nameIsDNSLabel));
  for (const list of ['matchLabelKeys', 'mismatchLabelKeys']) {
    const keys = arr(t?.[list]).map(str);
    if (keys.length === 0) continue;
    if (!isObj(t?.labelSelector)) {
      errs.push(forbidden(child(path, list), 'must not be specified when labelSelector is not set'));
      continue;
    }
    keys.forEach((k, i) => errs.push(...validateLabelName(k, index(child(path, list), i))));
  }
  const mismatch = new Set(arr(t?.mismatchLabelKeys).map(str));
  arr(t?.matchLabelKeys).forEach((k, i) => {
    if (mismatch.has(str(k))) errs.push(invalid(index(child(path, 'matchLabelKeys'), i), k, 'exists in both matchLabelKeys and mismatchLabelKeys'));
  });
  if (!str(t?.topologyKey)) errs.push(required(child(path, 'topologyKey'), 'can not be empty'));
  errs.push(...validateLabelName(str(t?.topologyKey), child(path, 'topologyKey')));
  return errs;
}

function validateWeight(w: unknown, path: string): Errs {
  return typeof w !== 'number' || w <= 0 || w > 100 ? [invalid(path, w ?? 0, 'must be in the range 1-100')] : [];
}

function validatePodAffinityKind(a: Obj, path: string): Errs {
  const errs: Errs = [];
  arr(a?.requiredDuringSchedulingIgnoredDuringExecution).forEach((t, i) =>
    errs.push(...validatePodAffinityTerm(t, index(child(path, 'requiredDuringSchedulingIgnoredDuringExecution'), i))),
  );
  arr(a?.preferredDuringSchedulingIgnoredDuringExecution).forEach((w, i) => {
    const p = index(child(path, 'preferredDuringSchedulingIgnoredDuringExecution'), i);
    errs.push(...validateWeight(w?.weight, child(p, 'weight')));
    errs.push(...validatePodAffinityTerm(w?.podAffinityTerm, child(p, 'podAffinityTerm')));
  });
  return errs;
}

export function validateAffinity(a: Obj, path: string): Errs {
  if (!isObj(a)) return [];
  const errs: Errs = [];
  const na = a.nodeAffinity;
  if (isObj(na)) {
    const np = child(path, 'nodeAffinity');
    if (isObj(na.requiredDuringSchedulingIgnoredDuringExecution)) {
      errs.push(...validateNodeSelector(na.requiredDuringSchedulingIgnoredDuringExecution, child(np, 'requiredDuringSchedulingIgnoredDuringExecution')));
    }
    arr(na.preferredDuringSchedulingIgnoredDuringExecution).forEach((t, i) => {
      const p = index(child(np, 'preferredDuringSchedulingIgnoredDuringExecution'), i);
      errs.push(...validateWeight(t?.weight, child(p, 'weight')));
      // Preferred terms tolerate invalid label values: they can still match on a single-node cluster.
      errs.push(...validateNodeSelectorTerm(t?.preference, true, child(p, 'preference')));
    });
  }
  if (isObj(a.podAffinity)) errs.push(...validatePodAffinityKind(a.podAffinity, child(path, 'podAffinity')));
  if (isObj(a.podAntiAffinity)) errs.push(...validatePodAffinityKind(a.podAntiAffinity, child(path, 'podAntiAffinity')));
  return errs;
}

const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

export function validateTaintEffect(effect: unknown, allowEmpty: boolean, path: string): Errs {
  if (!allowEmpty && !effect) return [required(path, '')];
  return TAINT_EFFECTS.includes(str(effect)) ? [] : [notSupported(path, effect ?? '', TAINT_EFFECTS)];
}

export function validateTolerations(tolerations: unknown, path: string): Errs {
  const errs: Errs = [];
  arr(tolerations).forEach((t, i) => {
    const p = index(path, i);
    const k = str(t?.key);
    const op = str(t?.operator);
    if (k) errs.push(...validateLabelName(k, child(p, 'key')));
    if (!k && op !== 'Exists') {
      errs.push(invalid(child(p, 'operator'), op, 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    }
    if (isSet(t?.tolerationSeconds) && t.effect !== 'NoExecute') {
      errs.push(invalid(child(p, 'effect'), str(t.effect), "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    }
    switch (op) {
      case 'Equal':
      case '': {
        const msgs = isLabelValue(str(t?.value));
        if (msgs.length) errs.push(invalid(child(p, 'operator'), str(t?.value), msgs.join(';')));
        break;
      }
      case 'Exists':
        if (str(t?.value)) errs.push(invalid(child(p, 'operator'), str(t.value), "value must be empty when `operator` is 'Exists'"));
        break;
      default:
        errs.push(notSupported(child(p, 'operator'), op, ['Equal', 'Exists']));
    }
    if (str(t?.effect)) errs.push(...validateTaintEffect(t.effect, true, child(p, 'effect')));
  });
  return errs;
}

function validateTopologySpreadConstraints(list: unknown, path: string): Errs {
  const errs: Errs = [];
  const items = arr(list);
  items.forEach((c, i) => {
    const p = index(path, i);
    if (typeof c?.maxSkew !== 'number' || c.maxSkew <= 0) errs.push(invalid(child(p, 'maxSkew'), c?.maxSkew ?? 0, NOT_POSITIVE));
    if (!str(c?.topologyKey)) errs.push(required(child(p, 'topologyKey'), 'can not be empty'));
    const wu = str(c?.whenUnsatisfiable);
    if (wu !== 'DoNotSchedule' && wu !== 'ScheduleAnyway') errs.push(notSupported(child(p, 'whenUnsatisfiable'), wu, ['DoNotSchedule', 'ScheduleAnyway']));
    if (items.slice(i + 1).some((o) => str(o?.topologyKey) === str(c?.topologyKey) && str(o?.whenUnsatisfiable) === wu)) {
      errs.push(duplicate(child(p, '{topologyKey, whenUnsatisfiable}'), `{${str(c?.topologyKey)}, ${wu}}`));
    }
    if (isSet(c?.minDomains)) {
      if (typeof c.minDomains !== 'number' || c.minDomains <= 0) errs.push(invalid(child(p, 'minDomains'), c.minDomains, NOT_POSITIVE));
      if (wu !== 'DoNotSchedule') errs.push(invalid(child(p, 'minDomains'), c.minDomains, `can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ${wu}`));
    }
    for (const f of ['nodeAffinityPolicy', 'nodeTaintsPolicy']) {
      if (isSet(c?.[f]) && c[f] !== 'Honor' && c[f] !== 'Ignore') errs.push(notSupported(child(p, f), c[f], ['Honor', 'Ignore']));
    }
    const mlk = arr(c?.matchLabelKeys).map(str);
    if (mlk.length) {
      const sel = c?.labelSelector;
      if (!isObj(sel)) errs.push(forbidden(child(p, 'matchLabelKeys'), 'must not be specified when labelSelector is not set'));
      const selKeys = new Set([...Object.keys(rec(sel?.matchLabels)), ...arr(sel?.matchExpressions).map((e) => str(e?.key))]);
      mlk.forEach((k, j) => {
        errs.push(...validateLabelName(k, index(child(p, 'matchLabelKeys'), j)));
        if (selKeys.has(k)) errs.push(invalid(index(child(p, 'matchLabelKeys'), j), k, 'exists in both matchLabelKeys and labelSelector'));
      });
    }
    errs.push(...validateLabelSelector(c?.labelSelector, child(p, 'labelSelector')));
  });
  return errs;
}

// ---- DNS ----

export const MAX_DNS_NAMESERVERS = 3;
export const MAX_DNS_SEARCH_PATHS = 32;
export const MAX_DNS_SEARCH_LIST_CHARS = 2048;
const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];

function validateDNSConfig(cfg: Obj, dnsPolicy: string, path: string): Errs {
  const errs: Errs = [];
  if (dnsPolicy === 'None') {
    if (!isObj(cfg)) return [required(path, 'must provide `dnsConfig` when `dnsPolicy` is None')];
    if (arr(cfg.nameservers).length === 0) return [required(child(path, 'nameservers'), 'must provide at least one DNS nameserver when `dnsPolicy` is None')];
  }
  if (!isObj(cfg)) return errs;
  const ns = arr(cfg.nameservers);
  if (ns.length > MAX_DNS_NAMESERVERS) errs.push(invalid(child(path, 'nameservers'), ns, `must not have more than ${MAX_DNS_NAMESERVERS} nameservers`));
  ns.forEach((n, i) => errs.push(...validateIP(n, index(child(path, 'nameservers'), i))));
  const searches = arr(cfg.searches).map(str);
  if (searches.length > MAX_DNS_SEARCH_PATHS) errs.push(invalid(child(path, 'searches'), searches, `must not have more than ${MAX_DNS_SEARCH_PATHS} search paths`));
  if (searches.join(' ').length > MAX_DNS_SEARCH_LIST_CHARS) {
    errs.push(invalid(child(path, 'searches'), searches, `must not have more than ${MAX_DNS_SEARCH_LIST_CHARS} characters (including spaces) in the search list`));
  }
  searches.forEach((s, i) => {
    const trimmed = s.endsWith('.') ? s.slice(0, -1) : s;
    errs.push(...validateDNS1123Subdomain(trimmed, index(child(path, 'searches'), i)));
  });
  arr(cfg.options).forEach((o, i) => {
    if (!str(o?.name)) errs.push(required(index(child(path, 'options'), i), 'must not be empty'));
  });
  return errs;
}

// ---- pod security context ----

const SYSCTL_SEGMENT = '[a-z0-9]([-_a-z0-9]*[a-z0-9])?';
const SYSCTL_RE = new RegExp(`^(${SYSCTL_SEGMENT}[\\./])*${SYSCTL_SEGMENT}$`);

function validatePodSecurityContext(sc: Obj, spec: Obj, path: string): Errs {
  if (!isObj(sc)) return [];
  const errs: Errs = [];
  errs.push(...validateID(sc.fsGroup, child(path, 'fsGroup')));
  errs.push(...validateID(sc.runAsUser, child(path, 'runAsUser')));
  errs.push(...validateID(sc.runAsGroup, child(path, 'runAsGroup')));
  arr(sc.supplementalGroups).forEach((g, i) => errs.push(...validateID(g, index(child(path, 'supplementalGroups'), i))));
  if (spec?.shareProcessNamespace === true && spec?.hostPID === true) {
    errs.push(invalid(child(path, 'shareProcessNamespace'), true, 'ShareProcessNamespace and HostPID cannot both be enabled'));
  }
  const names = new Set<string>();
  arr(sc.sysctls).forEach((s, i) => {
    const np = child(index(child(path, 'sysctls'), i), 'name');
    const name = str(s?.name);
    if (!name) errs.push(required(np, ''));
    else if (name.length > 253 || !SYSCTL_RE.test(name)) errs.push(invalid(np, name, `must have at most 253 characters and match regex ${SYSCTL_RE.source}`));
    else if (names.has(name)) errs.push(duplicate(np, name));
    if (spec?.hostNetwork === true && (name.startsWith('net.') || name.startsWith('net/'))) errs.push(invalid(np, name, "may not be specified when 'hostNetwork' is true"));
    if (spec?.hostIPC === true && (name.startsWith('kernel.shm') || name.startsWith('kernel.msg') || name.startsWith('kernel.sem') || name.startsWith('fs.mqueue.'))) {
      errs.push(invalid(np, name, "may not be specified when 'hostIPC' is true"));
    }
    names.add(name);
  });
  if (isSet(sc.fsGroupChangePolicy) && sc.fsGroupChangePolicy !== 'Always' && sc.fsGroupChangePolicy !== 'OnRootMismatch') {
    errs.push(notSupported(child(path, 'fsGroupChangePolicy'), sc.fsGroupChangePolicy, ['Always', 'OnRootMismatch']));
  }
  errs.push(...validateSeccompProfile(sc.seccompProfile, child(path, 'seccompProfile')));
  errs.push(...validateAppArmorProfile(sc.appArmorProfile, child(path, 'appArmorProfile')));
  if (isSet(sc.supplementalGroupsPolicy) && sc.supplementalGroupsPolicy !== 'Merge' && sc.supplementalGroupsPolicy !== 'Strict') {
    errs.push(notSupported(child(path, 'supplementalGroupsPolicy'), sc.supplementalGroupsPolicy, ['Merge', 'Strict']));
  }
  if (isSet(sc.seLinuxChangePolicy) && sc.seLinuxChangePolicy !== 'MountOption' && sc.seLinuxChangePolicy !== 'Recursive') {
    errs.push(notSupported(child(path, 'seLinuxChangePolicy'), sc.seLinuxChangePolicy, ['MountOption', 'Recursive']));
  }
  return errs;
}

// ---- the spec ----

const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];

export function validatePodSpec(spec: Obj, path: string, opts: PodSpecOptions): Errs {
  const s = rec(spec);
  const errs: Errs = [];
  if (!isSet(s.terminationGracePeriodSeconds)) errs.push(required(child(path, 'terminationGracePeriodSeconds'), ''));
  const gracePeriod = typeof s.terminationGracePeriodSeconds === 'number' ? s.terminationGracePeriodSeconds : undefined;
  const hostUsers = s.hostUsers !== false;
  const { vols, errs: volErrs } = validateVolumes(s.volumes, child(path, 'volumes'), opts.podMeta);
  errs.push(...volErrs);
  const ctx: ContainerContext = { volumes: vols, gracePeriod, restartPolicy: str(s.restartPolicy), hostUsers };
  errs.push(...validateContainers(s.containers, ctx, child(path, 'containers')));
  errs.push(...validateInitContainers(s.initContainers, s.containers, ctx, child(path, 'initContainers')));
  errs.push(...validateEphemeralContainers(s.ephemeralContainers, s, ctx, child(path, 'ephemeralContainers')));

  if (s.hostNetwork === true) {
    arr(s.containers).forEach((c, i) => {
      arr(c?.ports).forEach((p, j) => {
        const hp = typeof p?.hostPort === 'number' ? p.hostPort : 0;
        // Templates may leave hostPort unset: it is defaulted when the pod is made.
        if ((opts.isPod || hp !== 0) && hp !== p?.containerPort) {
          errs.push(invalid(child(index(child(index(child(path, 'containers'), i), 'ports'), j), 'hostPort'), hp, 'must match `containerPort` when `hostNetwork` is true'));
        }
      });
    });
  }
  const rp = str(s.restartPolicy);
  if (!rp) errs.push(required(child(path, 'restartPolicy'), ''));
  else if (!RESTART_POLICIES.includes(rp)) errs.push(notSupported(child(path, 'restartPolicy'), rp, RESTART_POLICIES));
  const dp = str(s.dnsPolicy);
  if (!dp) errs.push(required(child(path, 'dnsPolicy'), ''));
  else if (!DNS_POLICIES.includes(dp)) errs.push(notSupported(child(path, 'dnsPolicy'), dp, DNS_POLICIES));
  errs.push(...validateLabels(s.nodeSelector, child(path, 'nodeSelector')));
  errs.push(...validatePodSecurityContext(s.securityContext, s, child(path, 'securityContext')));
  arr(s.imagePullSecrets).forEach((r, i) => {
    if (!isObj(r) || Object.keys(r).some((k) => k !== 'name')) errs.push(invalid(index(child(path, 'imagePullSecrets'), i), r, 'only name may be set'));
  });
  errs.push(...validateAffinity(s.affinity, child(path, 'affinity')));
  errs.push(...validateDNSConfig(s.dnsConfig, dp, child(path, 'dnsConfig')));
  arr(s.readinessGates).forEach((g, i) => errs.push(...validateQualifiedName(str(g?.conditionType), child(index(child(path, 'readinessGates'), i), 'conditionType'))));
  const gates = new Set<string>();
  arr(s.schedulingGates).forEach((g, i) => {
    const gp = index(child(path, 'schedulingGates'), i);
    errs.push(...validateQualifiedName(str(g?.name), gp));
    if (gates.has(str(g?.name))) errs.push(duplicate(gp, str(g?.name)));
    gates.add(str(g?.name));
  });
  errs.push(...validateTopologySpreadConstraints(s.topologySpreadConstraints, child(path, 'topologySpreadConstraints')));
  if (!hostUsers) {
    for (const f of ['hostNetwork', 'hostPID', 'hostIPC']) if (s[f] === true) errs.push(forbidden(child(path, f), 'when `pod.Spec.HostUsers` is false'));
  }
  if (str(s.serviceAccountName)) errs.push(...validateNameRef(s.serviceAccountName, child(path, 'serviceAccountName'), nameIsDNSSubdomain));
  if (str(s.nodeName)) errs.push(...validateNameRef(s.nodeName, child(path, 'nodeName'), nameIsDNSSubdomain));
  if (isSet(s.activeDeadlineSeconds)) {
    const v = s.activeDeadlineSeconds;
    if (typeof v !== 'number' || v < 1 || v > 2147483647) errs.push(invalid(child(path, 'activeDeadlineSeconds'), v, inclusiveRangeError(1, 2147483647)));
  }
  if (str(s.hostname)) errs.push(...validateDNS1123Label(s.hostname, child(path, 'hostname')));
  if (str(s.subdomain)) errs.push(...validateDNS1123Label(s.subdomain, child(path, 'subdomain')));
  errs.push(...validateTolerations(s.tolerations, child(path, 'tolerations')));
  arr(s.hostAliases).forEach((a, i) => {
    const ap = index(child(path, 'hostAliases'), i);
    errs.push(...validateIP(a?.ip, child(ap, 'ip')));
    arr(a?.hostnames).forEach((h, j) => errs.push(...validateDNS1123Subdomain(str(h), index(child(ap, 'hostnames'), j))));
  });
  if (str(s.priorityClassName)) errs.push(...validateNameRef(s.priorityClassName, child(path, 'priorityClassName'), nameIsDNSSubdomain));
  if (isSet(s.runtimeClassName)) errs.push(...validateNameRef(str(s.runtimeClassName), child(path, 'runtimeClassName'), nameIsDNSSubdomain));
  if (isSet(s.preemptionPolicy)) {
    if (!s.preemptionPolicy) errs.push(required(child(path, 'preemptionPolicy'), ''));
    else if (s.preemptionPolicy !== 'PreemptLowerPriority' && s.preemptionPolicy !== 'Never') {
      errs.push(notSupported(child(path, 'preemptionPolicy'), s.preemptionPolicy, ['PreemptLowerPriority', 'Never']));
    }
  }
  if (isObj(s.overhead)) errs.push(...validateResourceRequirements({ limits: s.overhead }, child(path, 'overhead')));
  if (isObj(s.os)) {
    const name = str(s.os.name);
    if (name !== 'linux' && name !== 'windows') errs.push(notSupported(child(child(path, 'os'), 'name'), name, ['linux', 'windows']));
  }
  return errs;
}

// ---- annotations with meaning for pods ----

const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';
const DELETION_COST_ANNOTATION = 'controller.kubernetes.io/pod-deletion-cost';
const SECCOMP_POD_ANNOTATION = 'seccomp.security.alpha.kubernetes.io/pod';
const SECCOMP_CONTAINER_PREFIX = 'container.seccomp.security.alpha.kubernetes.io/';
export const APPARMOR_CONTAINER_PREFIX = 'container.apparmor.security.beta.kubernetes.io/';

function validateSeccompAnnotationValue(v: string, path: string): Errs {
  if (v === 'runtime/default' || v === 'docker/default' || v === 'unconfined') return [];
  if (v.startsWith('localhost/')) return validateLocalDescendingPath(v.slice('localhost/'.length), path);
  return [invalid(path, v, 'must be a valid seccomp profile')];
}

export function validatePodSpecificAnnotations(annotations: unknown, spec: Obj, path: string): Errs {
  const errs: Errs = [];
  const a = rec(annotations);
  if (MIRROR_POD_ANNOTATION in a && !str(spec?.nodeName)) {
    errs.push(invalid(key(path, MIRROR_POD_ANNOTATION), a[MIRROR_POD_ANNOTATION], 'must set spec.nodeName if mirror pod annotation is set'));
  }
  if (DELETION_COST_ANNOTATION in a) {
    const v = str(a[DELETION_COST_ANNOTATION]);
    if (!/^[+-]?[0-9]+$/.test(v) || Number(v) < -2147483648 || Number(v) > 2147483647) {
      errs.push(invalid(key(path, DELETION_COST_ANNOTATION), v, 'must be a 32bit integer'));
    }
  }
  for (const [k, v] of Object.entries(a)) {
    if (k === SECCOMP_POD_ANNOTATION || k.startsWith(SECCOMP_CONTAINER_PREFIX)) errs.push(...validateSeccompAnnotationValue(str(v), child(path, k)));
    if (k.startsWith(APPARMOR_CONTAINER_PREFIX)) {
      const container = k.slice(APPARMOR_CONTAINER_PREFIX.length);
      const all = [...arr(spec?.containers), ...arr(spec?.initContainers), ...arr(spec?.ephemeralContainers)];
      if (!all.some((c) => str(c?.name) === container)) errs.push(invalid(key(path, k), container, 'container not found'));
      const p = str(v);
      if (p && p !== 'runtime/default' && p !== 'unconfined' && !p.startsWith('localhost/')) {
        errs.push(invalid(key(path, k), p, `invalid AppArmor profile name: ${JSON.stringify(p)}`));
      }
    }
  }
  return errs;
}

/** A pod template: labels, annotations, the spec, and no ephemeral containers. */
export function validatePodTemplateSpec(tmpl: Obj, path: string): Errs {
  const t = rec(tmpl);
  const meta = rec(t.metadata);
  const errs: Errs = [];
  // Upstream names the embedded ObjectMeta's fields without `metadata.` here (`spec.template.labels`).
  errs.push(...validateLabels(meta.labels, child(path, 'labels')));
  errs.push(...validateAnnotations(meta.annotations, child(path, 'annotations')));
  errs.push(...validatePodSpecificAnnotations(meta.annotations, t.spec, child(path, 'annotations')));
  errs.push(...validatePodSpec(t.spec, child(path, 'spec'), { isPod: false }));
  if (arr(t.spec?.ephemeralContainers).length > 0) {
    errs.push(forbidden(child(child(path, 'spec'), 'ephemeralContainers'), 'ephemeral containers not allowed in pod template'));
  }
  return errs;
}
