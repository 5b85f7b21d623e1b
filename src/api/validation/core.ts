// The smaller core/v1 kinds: namespaces, nodes, config maps, secrets,
// service accounts, endpoints.

import { isConfigMapKey, isLabelValue, isQualifiedName, isValidPortNum, nameIsDNSLabel, nameIsDNSSubdomain, parseCIDR } from './formats.js';
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
  semanticEqual,
  str,
  tooLong,
  validateCIDR,
  validateDNS1123Label,
  validateIP,
  validateLabelName,
  validateNameRef,
  validateNonSpecialIP,
  validateQualifiedName,
} from './common.js';
import { type MetaRules, validateKubeFinalizerName, validateObjectMeta, validateObjectMetaUpdate } from './metadata.js';
import { SUPPORTED_PROTOCOLS, validateResourceQuantity } from './containers.js';
import { validateTaintEffect } from './podspec.js';

// ---- namespaces ----

export const NAMESPACE_META: MetaRules = { namespaced: false, nameFn: nameIsDNSLabel };
/** Namespace finalizers (spec.finalizers): qualified names, standard when unqualified. */
function validateNamespaceFinalizers(list: unknown, path: string, indexed: boolean): Errs {
  const errs: Errs = [];
  arr(list).forEach((f, i) => {
    const v = str(f);
    const p = indexed ? index(path, i) : path;
    for (const m of isQualifiedName(v)) errs.push(invalid(p, v, m));
    errs.push(...validateKubeFinalizerName(v, p));
  });
  return errs;
}

export function validateNamespaceCreate(ns: Obj): Errs {
  return [...validateObjectMeta(ns?.metadata, NAMESPACE_META), ...validateNamespaceFinalizers(ns?.spec?.finalizers, 'spec.finalizers', false)];
}

export function validateNamespaceUpdate(ns: Obj, old: Obj): Errs {
  return validateObjectMetaUpdate(ns?.metadata, old?.metadata);
}

export function validateNamespaceStatusUpdate(ns: Obj, old: Obj): Errs {
  const errs = validateObjectMetaUpdate(ns?.metadata, old?.metadata);
  const phase = str(ns?.status?.phase);
  if (!ns?.metadata?.deletionTimestamp) {
    if (phase !== 'Active') errs.push(invalid('status.Phase', phase, "may only be 'Active' if `deletionTimestamp` is empty"));
  } else if (phase !== 'Terminating') {
    errs.push(invalid('status.Phase', phase, "may only be 'Terminating' if `deletionTimestamp` is not empty"));
  }
  return errs;
}

/** namespaces/finalize: the metadata rules and valid finalizer names. */
export function validateNamespaceFinalizeUpdate(ns: Obj, old: Obj): Errs {
  return [...validateObjectMetaUpdate(ns?.metadata, old?.metadata), ...validateNamespaceFinalizers(ns?.spec?.finalizers, 'spec.finalizers', true)];
}

// ---- nodes ----

export const NODE_META: MetaRules = { namespaced: false, nameFn: nameIsDNSSubdomain };

function validateNodeTaints(taints: unknown, path: string): Errs {
  const errs: Errs = [];
  const seen = new Map<string, Set<string>>();
  arr(taints).forEach((t, i) => {
    const p = index(path, i);
    errs.push(...validateLabelName(str(t?.key), child(p, 'key')));
    const msgs = isLabelValue(str(t?.value));
    if (msgs.length) errs.push(invalid(child(p, 'value'), str(t?.value), msgs.join(';')));
    errs.push(...validateTaintEffect(t?.effect, false, child(p, 'effect')));
    const effect = str(t?.effect);
    const keys = seen.get(effect) ?? new Set<string>();
    if (keys.has(str(t?.key))) {
      errs.push({ ...duplicate(p, t), detail: 'taints must be unique by key and effect pair' });
      return;
    }
    keys.add(str(t?.key));
    seen.set(effect, keys);
  });
  return errs;
}

function validateNodeResources(node: Obj): Errs {
  const errs: Errs = [];
  for (const list of ['capacity', 'allocatable']) {
    for (const [k, v] of Object.entries(rec(node?.status?.[list]))) errs.push(...validateResourceQuantity(k, v, `status.${list}.${k}`));
  }
  return errs;
}

/** spec.podCIDRs, or the single spec.podCIDR an older client set. */
const podCIDRsOf = (node: Obj): string[] => {
  const list = arr(node?.spec?.podCIDRs).map(str);
  return list.length ? list : str(node?.spec?.podCIDR) ? [str(node.spec.podCIDR)] : [];
};

/** What a node must satisfy whether created or updated: taints, resource quantities, pod CIDRs. */
function validateNodeSpec(node: Obj): Errs {
  const errs = validateNodeTaints(node?.spec?.taints, 'spec.taints');
  errs.push(...validateNodeResources(node));
  const cidrs = podCIDRsOf(node);
  const path = 'spec.podCIDRs';
  cidrs.forEach((c, i) => errs.push(...validateCIDR(c, index(path, i))));
  if (cidrs.length > 1) {
    const parsed = cidrs.map(parseCIDR);
    if (parsed.every((p) => p) && (cidrs.length > 2 || parsed[0]!.ip.family === parsed[1]!.ip.family)) {
      errs.push(invalid(path, cidrs, 'may specify no more than one CIDR for each IP family'));
    }
    const seen = new Set<string>();
    cidrs.forEach((c, i) => {
      if (seen.has(c)) errs.push(duplicate(index(path, i), c));
      seen.add(c);
    });
  }
  if (str(node?.spec?.podCIDR) && arr(node?.spec?.podCIDRs).length && str(node.spec.podCIDR) !== str(node.spec.podCIDRs[0])) {
    errs.push(invalid('spec.podCIDR', node.spec.podCIDR, 'must match the first element of podCIDRs'));
  }
  return errs;
}

export function validateNodeCreate(node: Obj): Errs {
  return [...validateObjectMeta(node?.metadata, NODE_META), ...validateNodeSpec(node)];
}

/** Node updates (spec and status alike): podCIDRs and providerID may only go from unset to set. */
export function validateNodeUpdate(node: Obj, old: Obj): Errs {
  const errs = validateObjectMetaUpdate(node?.metadata, old?.metadata);
  errs.push(...validateNodeSpec(node));
  const seen = new Set<string>();
  arr(node?.status?.addresses).forEach((a, i) => {
    const k = `${str(a?.type)}/${str(a?.address)}`;
    if (seen.has(k)) errs.push(duplicate(`status.addresses[${i}]`, a));
    seen.add(k);
  });
  const oldCIDRs = podCIDRsOf(old);
  const cidrs = podCIDRsOf(node);
  if (oldCIDRs.length > 0 && (oldCIDRs.length !== cidrs.length || oldCIDRs.some((c, i) => c !== cidrs[i]))) {
    errs.push(forbidden('spec.podCIDRs', 'node updates may not change podCIDR except from "" to valid'));
  }
  const oldProvider = str(old?.spec?.providerID);
  if (oldProvider && oldProvider !== str(node?.spec?.providerID)) {
    errs.push(forbidden('spec.providerID', 'node updates may not change providerID except from "" to valid'));
  }
  if (str(node?.spec?.externalID) !== str(old?.spec?.externalID)) errs.push(forbidden('spec.externalID', 'may not be updated'));
  return errs;
}

// ---- config maps and secrets ----

/** Objects whose data is stored in etcd whole: the limit upstream puts on ConfigMaps and Secrets. */
export const MAX_SECRET_SIZE = 1024 * 1024;

const CONFIG_META: MetaRules = { namespaced: true, nameFn: nameIsDNSSubdomain };

/** The decoded size of a base64 value; -1 when it is not base64. */
function base64Size(v: unknown): number {
  const s = str(v);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 === 1) return -1;
  return Buffer.from(s, 'base64').length;
}

export function validateConfigMap(cm: Obj): Errs {
  const errs = validateObjectMeta(cm?.metadata, CONFIG_META);
  let total = 0;
  const data = rec(cm?.data);
  const bin = rec(cm?.binaryData);
  for (const [k, v] of Object.entries(data)) {
    for (const m of isConfigMapKey(k)) errs.push(invalid(key('data', k), k, m));
    if (k in bin) errs.push(invalid(key('data', k), k, 'duplicate of key present in binaryData'));
    total += Buffer.byteLength(str(v));
  }
  for (const [k, v] of Object.entries(bin)) {
    for (const m of isConfigMapKey(k)) errs.push(invalid(key('binaryData', k), k, m));
    const n = base64Size(v);
    if (n < 0) errs.push(invalid(key('binaryData', k), '<binary data>', 'must be base64-encoded'));
    total += Math.max(n, 0);
  }
  if (total > MAX_SECRET_SIZE) errs.push(tooLong('', MAX_SECRET_SIZE));
  return errs;
}

export function validateConfigMapUpdate(cm: Obj, old: Obj): Errs {
  const errs = validateObjectMetaUpdate(cm?.metadata, old?.metadata);
  if (old?.immutable === true) {
    if (cm?.immutable !== true) errs.push(forbidden('immutable', 'field is immutable when `immutable` is set'));
    if (!semanticEqual(cm?.data, old?.data)) errs.push(forbidden('data', 'field is immutable when `immutable` is set'));
    if (!semanticEqual(cm?.binaryData, old?.binaryData)) errs.push(forbidden('binaryData', 'field is immutable when `immutable` is set'));
  }
  errs.push(...validateConfigMap(cm));
  return errs;
}

const REDACTED = '<secret contents redacted>';

export function validateSecret(s: Obj): Errs {
  const errs = validateObjectMeta(s?.metadata, CONFIG_META);
  const data = rec(s?.data);
  let total = 0;
  for (const [k, v] of Object.entries(data)) {
    for (const m of isConfigMapKey(k)) errs.push(invalid(key('data', k), k, m));
    const n = base64Size(v);
    if (n < 0) errs.push(invalid(key('data', k), REDACTED, 'must be base64-encoded'));
    total += Math.max(n, 0);
  }
  if (total > MAX_SECRET_SIZE) errs.push(tooLong('data', MAX_SECRET_SIZE));
  const has = (k: string): boolean => Object.prototype.hasOwnProperty.call(data, k);
  const jsonKey = (k: string): void => {
    if (!has(k)) {
      errs.push(required(key('data', k), ''));
      return;
    }
    try {
      const parsed = JSON.parse(Buffer.from(str(data[k]), 'base64').toString('utf8'));
      if (!isObj(parsed)) throw new Error('json: cannot unmarshal into Go value of type map[string]interface {}');
    } catch (e) {
      errs.push(invalid(key('data', k), REDACTED, (e as Error).message));
    }
  };
  switch (str(s?.type)) {
    case 'kubernetes.io/service-account-token':
      if (!str(s?.metadata?.annotations?.['kubernetes.io/service-account.name'])) {
        errs.push(required('metadata.annotations[kubernetes.io/service-account.name]', ''));
      }
      break;
    case 'kubernetes.io/dockercfg':
      jsonKey('.dockercfg');
      break;
    case 'kubernetes.io/dockerconfigjson':
      jsonKey('.dockerconfigjson');
      break;
    case 'kubernetes.io/basic-auth':
      if (!has('username') && !has('password')) errs.push(required(key('data', 'username'), ''), required(key('data', 'password'), ''));
      break;
    case 'kubernetes.io/ssh-auth':
      if (base64Size(data['ssh-privatekey']) <= 0) errs.push(required(key('data', 'ssh-privatekey'), ''));
      break;
    case 'kubernetes.io/tls':
      if (!has('tls.crt')) errs.push(required(key('data', 'tls.crt'), ''));
      if (!has('tls.key')) errs.push(required(key('data', 'tls.key'), ''));
      break;
  }
  return errs;
}

export function validateSecretUpdate(s: Obj, old: Obj): Errs {
  const errs = validateObjectMetaUpdate(s?.metadata, old?.metadata);
  if (str(s?.type) !== str(old?.type)) errs.push(invalid('type', str(s?.type), 'field is immutable'));
  if (old?.immutable === true) {
    if (s?.immutable !== true) errs.push(forbidden('immutable', 'field is immutable when `immutable` is set'));
    if (!semanticEqual(s?.data, old?.data)) errs.push(forbidden('data', 'field is immutable when `immutable` is set'));
  }
  errs.push(...validateSecret(s));
  return errs;
}

// ---- service accounts ----

export const SERVICE_ACCOUNT_META: MetaRules = { namespaced: true, nameFn: nameIsDNSSubdomain };

// ---- endpoints ----

const ENDPOINTS_META: MetaRules = { namespaced: true, nameFn: nameIsDNSSubdomain };

function validateEndpointAddress(a: Obj, path: string): Errs {
  const errs = validateIP(a?.ip, child(path, 'ip'));
  if (str(a?.hostname)) errs.push(...validateDNS1123Label(a.hostname, child(path, 'hostname')));
  if (isSet(a?.nodeName)) errs.push(...validateNameRef(str(a.nodeName), child(path, 'nodeName'), nameIsDNSSubdomain));
  errs.push(...validateNonSpecialIP(str(a?.ip), child(path, 'ip')));
  return errs;
}

/** A port of an Endpoints subset or EndpointSlice: name (required when there are several), number, protocol. */
export function validateEndpointPort(p: Obj, requireName: boolean, path: string): Errs {
  const errs: Errs = [];
  const name = str(p?.name);
  if (requireName && !name) errs.push(required(child(path, 'name'), ''));
  else if (name) errs.push(...validateDNS1123Label(name, child(path, 'name')));
  for (const m of isValidPortNum(p?.port)) errs.push(invalid(child(path, 'port'), p?.port ?? 0, m));
  if (!p?.protocol) errs.push(required(child(path, 'protocol'), ''));
  else if (!SUPPORTED_PROTOCOLS.includes(p.protocol)) errs.push(notSupported(child(path, 'protocol'), p.protocol, SUPPORTED_PROTOCOLS));
  if (isSet(p?.appProtocol)) errs.push(...validateQualifiedName(str(p.appProtocol), child(path, 'appProtocol')));
  return errs;
}

export function validateEndpoints(ep: Obj): Errs {
  const errs = validateObjectMeta(ep?.metadata, ENDPOINTS_META);
  arr(ep?.subsets).forEach((ss, i) => {
    const p = index('subsets', i);
    if (arr(ss?.addresses).length === 0 && arr(ss?.notReadyAddresses).length === 0) {
      errs.push(required(p, 'must specify `addresses` or `notReadyAddresses`'));
    }
    arr(ss?.addresses).forEach((a, j) => errs.push(...validateEndpointAddress(a, index(child(p, 'addresses'), j))));
    arr(ss?.notReadyAddresses).forEach((a, j) => errs.push(...validateEndpointAddress(a, index(child(p, 'notReadyAddresses'), j))));
    const ports = arr(ss?.ports);
    ports.forEach((port, j) => errs.push(...validateEndpointPort(port, ports.length > 1, index(child(p, 'ports'), j))));
  });
  return errs;
}

export function validateEndpointsUpdate(ep: Obj, old: Obj): Errs {
  return [...validateObjectMetaUpdate(ep?.metadata, old?.metadata), ...validateEndpoints(ep)];
}
