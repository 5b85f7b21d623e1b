// Containers as upstream's core validation checks them: ports, environment,
// mounts, resources, probes and lifecycle handlers, security context. Shared
// by regular, init and ephemeral containers of pods and pod templates.

import {
  inclusiveRangeError,
  isConfigMapKey,
  isEnvVarName,
  isHTTPHeaderName,
  isQualifiedName,
  isValidPortName,
  isValidPortNum,
  nameIsDNSSubdomain,
} from './formats.js';
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
  notFound,
  notSupported,
  rec,
  required,
  str,
  validateDNS1123Label,
  validateNonnegative,
  validatePortNumOrName,
} from './common.js';
import { QUANTITY_FORMAT_ERROR, cmpQuantity, isInteger, isNegative, parseQuantity, quantityString } from './quantity.js';

export const SUPPORTED_PROTOCOLS = ['SCTP', 'TCP', 'UDP'];

/** Volume name -> source, for the volumes that validated. */
export type VolumeMap = Map<string, Obj>;

export interface ContainerContext {
  volumes: VolumeMap;
  /** The pod's terminationGracePeriodSeconds, when set. */
  gracePeriod: number | undefined;
  restartPolicy: string;
  hostUsers: boolean;
}

// ---- ports ----

export function validateContainerPorts(ports: unknown, path: string): Errs {
  const errs: Errs = [];
  const names = new Set<string>();
  arr(ports).forEach((p, i) => {
    const ip = index(path, i);
    const name = str(p?.name);
    if (name) {
      const msgs = isValidPortName(name);
      if (msgs.length) for (const m of msgs) errs.push(invalid(child(ip, 'name'), name, m));
      else if (names.has(name)) errs.push(duplicate(child(ip, 'name'), name));
      else names.add(name);
    }
    if (!p?.containerPort) errs.push(required(child(ip, 'containerPort'), ''));
    else for (const m of isValidPortNum(p.containerPort)) errs.push(invalid(child(ip, 'containerPort'), p.containerPort, m));
    if (p?.hostPort) for (const m of isValidPortNum(p.hostPort)) errs.push(invalid(child(ip, 'hostPort'), p.hostPort, m));
    if (!p?.protocol) errs.push(required(child(ip, 'protocol'), ''));
    else if (!SUPPORTED_PROTOCOLS.includes(p.protocol)) errs.push(notSupported(child(ip, 'protocol'), p.protocol, SUPPORTED_PROTOCOLS));
  });
  return errs;
}

/** Host ports must be unique per protocol and host IP across the given containers. */
export function checkHostPortConflicts(containers: Obj[], path: string, seen = new Set<string>()): Errs {
  const errs: Errs = [];
  containers.forEach((c, ci) => {
    arr(c?.ports).forEach((p, pi) => {
      if (!p?.hostPort) return;
      const k = `${str(p.protocol)}/${str(p.hostIP)}/${p.hostPort}`;
      if (seen.has(k)) errs.push(duplicate(child(index(child(index(path, ci), 'ports'), pi), 'hostPort'), k));
      else seen.add(k);
    });
  });
  return errs;
}

// ---- environment ----

const ENV_FIELD_PATHS = [
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.serviceAccountName',
  'status.hostIP',
  'status.hostIPs',
  'status.podIP',
  'status.podIPs',
];
export const VOLUME_FIELD_PATHS = ['metadata.annotations', 'metadata.labels', 'metadata.name', 'metadata.namespace', 'metadata.uid'];
/** Field labels the v1 downward API can convert at all. */
const CONVERTIBLE_FIELD_PATHS = new Set([
  'metadata.annotations',
  'metadata.labels',
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.restartPolicy',
  'spec.serviceAccountName',
  'spec.schedulerName',
  'status.phase',
  'status.hostIP',
  'status.hostIPs',
  'status.podIP',
  'status.podIPs',
]);
const RESOURCE_FIELD_PATHS = [
  'limits.cpu',
  'limits.ephemeral-storage',
  'limits.memory',
  'requests.cpu',
  'requests.ephemeral-storage',
  'requests.memory',
];

export function validateObjectFieldSelector(fs: Obj, allowed: string[], path: string): Errs {
  const apiVersion = str(fs?.apiVersion);
  const fieldPath = str(fs?.fieldPath);
  if (!apiVersion) return [required(child(path, 'apiVersion'), '')];
  if (!fieldPath) return [required(child(path, 'fieldPath'), '')];
  if (apiVersion !== 'v1') return [invalid(child(path, 'fieldPath'), fieldPath, `error converting fieldPath: unsupported pod version: ${apiVersion}`)];
  const sub = /^(metadata\.(?:labels|annotations))\['(.*)'\]$/.exec(fieldPath);
  const base = sub ? sub[1]! : fieldPath;
  if (!CONVERTIBLE_FIELD_PATHS.has(base)) return [invalid(child(path, 'fieldPath'), fieldPath, `error converting fieldPath: field label not supported: ${fieldPath}`)];
  if (sub) {
    const k = base === 'metadata.annotations' ? sub[2]!.toLowerCase() : sub[2]!;
    return isQualifiedName(k).map((m) => invalid(path, k, m));
  }
  if (!allowed.includes(fieldPath)) return [notSupported(child(path, 'fieldPath'), fieldPath, [...allowed].sort())];
  return [];
}

export function validateResourceFieldSelector(fs: Obj, path: string, isVolume: boolean): Errs {
  const errs: Errs = [];
  const resource = str(fs?.resource);
  if (isVolume && !str(fs?.containerName)) errs.push(required(child(path, 'containerName'), ''));
  else if (!resource) errs.push(required(child(path, 'resource'), ''));
  else if (!RESOURCE_FIELD_PATHS.includes(resource) && !resource.startsWith('requests.hugepages-') && !resource.startsWith('limits.hugepages-')) {
    errs.push(notSupported(child(path, 'resource'), resource, RESOURCE_FIELD_PATHS));
  }
  return errs;
}

function validateKeySelector(s: Obj, path: string): Errs {
  const errs: Errs = [];
  const name = str(s?.name);
  for (const m of nameIsDNSSubdomain(name, false)) errs.push(invalid(child(path, 'name'), name, m));
  const k = str(s?.key);
  if (!k) errs.push(required(child(path, 'key'), ''));
  else for (const m of isConfigMapKey(k)) errs.push(invalid(child(path, 'key'), k, m));
  return errs;
}

export function validateEnv(env: unknown, path: string): Errs {
  const errs: Errs = [];
  arr(env).forEach((e, i) => {
    const ip = index(path, i);
    const name = str(e?.name);
    if (!name) errs.push(required(child(ip, 'name'), ''));
    else for (const m of isEnvVarName(name)) errs.push(invalid(child(ip, 'name'), name, m));
    const vf = e?.valueFrom;
    if (!isObj(vf)) return;
    const vp = child(ip, 'valueFrom');
    let n = 0;
    if (vf.fieldRef) {
      n++;
      errs.push(...validateObjectFieldSelector(vf.fieldRef, ENV_FIELD_PATHS, child(vp, 'fieldRef')));
    }
    if (vf.resourceFieldRef) {
      n++;
      errs.push(...validateResourceFieldSelector(vf.resourceFieldRef, child(vp, 'resourceFieldRef'), false));
    }
    if (vf.configMapKeyRef) {
      n++;
      errs.push(...validateKeySelector(vf.configMapKeyRef, child(vp, 'configMapKeyRef')));
    }
    if (vf.secretKeyRef) {
      n++;
      errs.push(...validateKeySelector(vf.secretKeyRef, child(vp, 'secretKeyRef')));
    }
    if (n === 0) errs.push(invalid(vp, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'));
    else if (str(e.value)) errs.push(invalid(vp, '', 'may not be specified when `value` is not empty'));
    else if (n > 1) errs.push(invalid(vp, '', 'may not have more than one field specified at a time'));
  });
  return errs;
}

export function validateEnvFrom(envFrom: unknown, path: string): Errs {
  const errs: Errs = [];
  arr(envFrom).forEach((e, i) => {
    const ip = index(path, i);
    const prefix = str(e?.prefix);
    if (prefix) for (const m of isEnvVarName(prefix)) errs.push(invalid(child(ip, 'prefix'), prefix, m));
    let n = 0;
    for (const src of ['configMapRef', 'secretRef']) {
      if (!isObj(e?.[src])) continue;
      n++;
      const name = str(e[src].name);
      if (!name) errs.push(required(child(child(ip, src), 'name'), ''));
      else for (const m of nameIsDNSSubdomain(name, true)) errs.push(invalid(child(child(ip, src), 'name'), name, m));
    }
    if (n === 0) errs.push(invalid(path, '', 'must specify one of: `configMapRef` or `secretRef`'));
    else if (n > 1) errs.push(invalid(path, '', 'may not have more than one field specified at a time'));
  });
  return errs;
}

// ---- volume mounts and devices ----

/** A path that is relative and has no `..` element. */
export function validateLocalDescendingPath(p: string, path: string): Errs {
  const errs: Errs = [];
  if (p.startsWith('/')) errs.push(invalid(path, p, 'must be a relative path'));
  errs.push(...validatePathNoBacksteps(p, path));
  return errs;
}

export function validatePathNoBacksteps(p: string, path: string): Errs {
  return p.split(/[\\/]/).includes('..') ? [invalid(path, p, "must not contain '..'")] : [];
}

export function validateLocalNonReservedPath(p: string, path: string): Errs {
  const errs = validateLocalDescendingPath(p, path);
  if (p.startsWith('..') && !p.startsWith('../')) errs.push(invalid(path, p, "must not start with '..'"));
  return errs;
}

const PROPAGATIONS = ['Bidirectional', 'HostToContainer', 'None'];

function validateVolumeMounts(c: Obj, ctx: ContainerContext, path: string): Errs {
  const errs: Errs = [];
  const mountPaths = new Set<string>();
  const devices = new Map(arr(c?.volumeDevices).map((d) => [str(d?.name), str(d?.devicePath)]));
  const devicePaths = new Set(devices.values());
  const privileged = c?.securityContext?.privileged === true;
  arr(c?.volumeMounts).forEach((m, i) => {
    const ip = index(path, i);
    const name = str(m?.name);
    const mountPath = str(m?.mountPath);
    if (!name) errs.push(required(child(ip, 'name'), ''));
    if (!ctx.volumes.has(name)) errs.push(notFound(child(ip, 'name'), name));
    if (!mountPath) errs.push(required(child(ip, 'mountPath'), ''));
    if (mountPaths.has(mountPath)) errs.push(invalid(child(ip, 'mountPath'), mountPath, 'must be unique'));
    mountPaths.add(mountPath);
    if (devices.has(name)) errs.push(invalid(child(ip, 'name'), name, 'must not already exist in volumeDevices'));
    if (devicePaths.has(mountPath)) errs.push(invalid(child(ip, 'mountPath'), mountPath, 'must not already exist as a path in volumeDevices'));
    const subPath = str(m?.subPath);
    const subPathExpr = str(m?.subPathExpr);
    if (ctx.volumes.get(name)?.image) {
      if (subPath) errs.push(invalid(child(ip, 'subPath'), subPath, 'not allowed in image volume sources'));
      if (subPathExpr) errs.push(invalid(child(ip, 'subPathExpr'), subPathExpr, 'not allowed in image volume sources'));
    }
    // Upstream reports these on the list's path, not the item's.
    if (subPath) errs.push(...validateLocalDescendingPath(subPath, child(path, 'subPath')));
    if (subPathExpr) {
      if (subPath) errs.push(invalid(child(ip, 'subPathExpr'), subPathExpr, 'subPathExpr and subPath are mutually exclusive'));
      errs.push(...validateLocalDescendingPath(subPathExpr, child(path, 'subPathExpr')));
    }
    if (isSet(m?.mountPropagation)) {
      const mp = child(path, 'mountPropagation');
      if (!PROPAGATIONS.includes(m.mountPropagation)) errs.push(notSupported(mp, m.mountPropagation, PROPAGATIONS));
      if (m.mountPropagation === 'Bidirectional' && !privileged) errs.push(forbidden(mp, 'Bidirectional mount propagation is available only to privileged containers'));
    }
    if (isSet(m?.recursiveReadOnly)) {
      const rp = child(path, 'recursiveReadOnly');
      if (m.recursiveReadOnly === 'Enabled' || m.recursiveReadOnly === 'IfPossible') {
        if (!m.readOnly) errs.push(forbidden(rp, 'may only be specified when readOnly is true'));
        if (isSet(m.mountPropagation) && m.mountPropagation !== 'None') errs.push(forbidden(rp, 'may only be specified when mountPropagation is None or not specified'));
      } else if (m.recursiveReadOnly !== 'Disabled') {
        errs.push(notSupported(rp, m.recursiveReadOnly, ['Disabled', 'Enabled', 'IfPossible']));
      }
    }
  });
  return errs;
}

function validateVolumeDevices(c: Obj, ctx: ContainerContext, path: string): Errs {
  const errs: Errs = [];
  const mounts = new Map(arr(c?.volumeMounts).map((m) => [str(m?.name), str(m?.mountPath)]));
  const mountPaths = new Set(mounts.values());
  const names = new Set<string>();
  const paths = new Set<string>();
  arr(c?.volumeDevices).forEach((d, i) => {
    const ip = index(path, i);
    const name = str(d?.name);
    const devicePath = str(d?.devicePath);
    const src = ctx.volumes.get(name);
    if (!name) errs.push(required(child(ip, 'name'), ''));
    if (names.has(name)) errs.push(invalid(child(ip, 'name'), name, 'must be unique'));
    if (src && !src.persistentVolumeClaim && !src.ephemeral)
      errs.push(invalid(child(ip, 'name'), name, 'can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode'));
    if (!src) errs.push(notFound(child(ip, 'name'), name));
    if (!devicePath) errs.push(required(child(ip, 'devicePath'), ''));
    if (paths.has(devicePath)) errs.push(invalid(child(ip, 'devicePath'), devicePath, 'must be unique'));
    if (devicePath && devicePath.split('/').includes('..')) errs.push(invalid(child(ip, 'devicePath'), devicePath, "can not contain backsteps ('..')"));
    else paths.add(devicePath);
    if (mounts.has(name)) errs.push(invalid(child(ip, 'name'), name, 'must not already exist in volumeMounts'));
    if (mountPaths.has(devicePath)) errs.push(invalid(child(ip, 'devicePath'), devicePath, 'must not already exist as a path in volumeMounts'));
    if (name) names.add(name);
  });
  return errs;
}

// ---- resources ----

const STANDARD_CONTAINER_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage']);
const STANDARD_RESOURCES = new Set([
  'cpu',
  'memory',
  'ephemeral-storage',
  'requests.cpu',
  'requests.memory',
  'requests.ephemeral-storage',
  'limits.cpu',
  'limits.memory',
  'limits.ephemeral-storage',
  'pods',
  'services',
  'replicationcontrollers',
  'resourcequotas',
  'secrets',
  'persistentvolumeclaims',
  'configmaps',
  'services.nodeports',
  'services.loadbalancers',
  'storage',
  'requests.storage',
]);
const isHugePages = (n: string): boolean => n.startsWith('hugepages-');
const isNative = (n: string): boolean => !n.includes('/') || n.includes('kubernetes.io/');
const isExtended = (n: string): boolean => !isNative(n) && !n.startsWith('requests.') && isQualifiedName(`requests.${n}`).length === 0;
/** Whether requests may be below limits (native, non-hugepage resources). */
const isOvercommitAllowed = (n: string): boolean => isNative(n) && !isHugePages(n);

export function validateContainerResourceName(n: string, path: string): Errs {
  const errs: Errs = isQualifiedName(n).map((m) => invalid(path, n, m));
  if (errs.length) return errs;
  if (!n.includes('/')) {
    if (!STANDARD_RESOURCES.has(n) && !isHugePages(n) && !n.startsWith('requests.hugepages-')) {
      errs.push(invalid(path, n, 'must be a standard resource type or fully qualified'));
    }
    if (!STANDARD_CONTAINER_RESOURCES.has(n) && !isHugePages(n)) errs.push(invalid(path, n, 'must be a standard resource for containers'));
  } else if (!isNative(n) && !isExtended(n)) {
    errs.push(invalid(path, n, "doesn't follow extended resource name standard"));
  }
  return errs;
}

export function validateResourceQuantity(name: string, v: unknown, path: string): Errs {
  const q = parseQuantity(v);
  if (!q) return [invalid(path, v ?? '', QUANTITY_FORMAT_ERROR)];
  const errs: Errs = [];
  if (isNegative(q)) errs.push(invalid(path, quantityString(v), 'must be greater than or equal to 0'));
  if (isExtended(name) && !isInteger(q)) errs.push(invalid(path, quantityString(v), 'must be an integer'));
  return errs;
}

export function validateResourceRequirements(res: Obj, path: string): Errs {
  const errs: Errs = [];
  const limPath = child(path, 'limits');
  const reqPath = child(path, 'requests');
  const limits = rec(res?.limits);
  const requests = rec(res?.requests);
  let cpuOrMem = false;
  let huge = false;
  for (const [n, v] of Object.entries(limits)) {
    const p = key(limPath, n);
    errs.push(...validateContainerResourceName(n, p), ...validateResourceQuantity(n, v, p));
    if (isHugePages(n)) huge = true;
    if (n === 'cpu' || n === 'memory') cpuOrMem = true;
  }
  for (const [n, v] of Object.entries(requests)) {
    const p = key(reqPath, n);
    errs.push(...validateContainerResourceName(n, p), ...validateResourceQuantity(n, v, p));
    const q = parseQuantity(v);
    if (n in limits) {
      const l = parseQuantity(limits[n]);
      if (q && l) {
        const c = cmpQuantity(q, l);
        if (c !== 0 && !isOvercommitAllowed(n)) errs.push(invalid(reqPath, quantityString(v), `must be equal to ${n} limit of ${quantityString(limits[n])}`));
        else if (c > 0) errs.push(invalid(reqPath, quantityString(v), `must be less than or equal to ${n} limit of ${quantityString(limits[n])}`));
      }
    } else if (!isOvercommitAllowed(n)) {
      errs.push(required(limPath, 'Limit must be set for non overcommitable resources'));
    }
    if (isHugePages(n)) huge = true;
    if (n === 'cpu' || n === 'memory') cpuOrMem = true;
  }
  if (huge && !cpuOrMem) errs.push(forbidden(path, 'HugePages require cpu or memory'));
  return errs;
}

// ---- probes and lifecycle handlers ----

function validateHTTPGet(h: Obj, path: string): Errs {
  const errs: Errs = [];
  if (!str(h?.path)) errs.push(required(child(path, 'path'), ''));
  errs.push(...validatePortNumOrName(h?.port, child(path, 'port')));
  if (h?.scheme !== 'HTTP' && h?.scheme !== 'HTTPS') errs.push(notSupported(child(path, 'scheme'), h?.scheme ?? '', ['HTTP', 'HTTPS']));
  for (const hdr of arr(h?.httpHeaders)) for (const m of isHTTPHeaderName(str(hdr?.name))) errs.push(invalid(child(path, 'httpHeaders'), str(hdr?.name), m));
  return errs;
}

/** Exactly one handler: exec, httpGet, tcpSocket, grpc (probes) or sleep (lifecycle). */
function validateHandler(h: Obj, kinds: string[], gracePeriod: number | undefined, path: string): Errs {
  const errs: Errs = [];
  let n = 0;
  for (const kind of kinds) {
    if (!isSet(h?.[kind])) continue;
    const p = child(path, kind);
    if (n > 0) {
      errs.push(forbidden(p, 'may not specify more than 1 handler type'));
      continue;
    }
    n++;
    const v = h[kind];
    switch (kind) {
      case 'exec':
        if (arr(v?.command).length === 0) errs.push(required(child(p, 'command'), ''));
        break;
      case 'httpGet':
        errs.push(...validateHTTPGet(v, p));
        break;
      case 'tcpSocket':
        errs.push(...validatePortNumOrName(v?.port, child(p, 'port')));
        break;
      case 'grpc':
        errs.push(...validatePortNumOrName(typeof v?.port === 'number' ? v.port : 0, child(p, 'port')));
        break;
      case 'sleep': {
        const s = v?.seconds;
        if (gracePeriod !== undefined && (typeof s !== 'number' || s < 0 || s > gracePeriod)) {
          errs.push(invalid(p, s ?? 0, `must be non-negative and less than terminationGracePeriodSeconds (${gracePeriod})`));
        }
        break;
      }
    }
  }
  if (n === 0) errs.push(required(path, 'must specify a handler type'));
  return errs;
}

const PROBE_HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc'];
const LIFECYCLE_HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'sleep'];

function validateProbe(p: Obj, gracePeriod: number | undefined, path: string): Errs {
  if (!isObj(p)) return [];
  const errs = validateHandler(p, PROBE_HANDLERS, gracePeriod, path);
  for (const f of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold']) {
    errs.push(...validateNonnegative(p[f], child(path, f)));
  }
  if (typeof p.terminationGracePeriodSeconds === 'number' && p.terminationGracePeriodSeconds <= 0) {
    errs.push(invalid(child(path, 'terminationGracePeriodSeconds'), p.terminationGracePeriodSeconds, 'must be greater than 0'));
  }
  return errs;
}

/** Liveness, readiness and startup probes, and lifecycle hooks: for regular and restartable init containers. */
export function validateProbesAndLifecycle(c: Obj, gracePeriod: number | undefined, path: string): Errs {
  const errs: Errs = [];
  if (isObj(c?.lifecycle)) {
    for (const hook of ['postStart', 'preStop']) {
      if (isObj(c.lifecycle[hook])) errs.push(...validateHandler(c.lifecycle[hook], LIFECYCLE_HANDLERS, gracePeriod, child(child(path, 'lifecycle'), hook)));
    }
  }
  for (const probe of ['livenessProbe', 'startupProbe']) {
    const p = c?.[probe];
    if (!isObj(p)) continue;
    errs.push(...validateProbe(p, gracePeriod, child(path, probe)));
    if (p.successThreshold !== 1) errs.push(invalid(child(child(path, probe), 'successThreshold'), p.successThreshold ?? 0, 'must be 1'));
  }
  if (isObj(c?.readinessProbe)) {
    errs.push(...validateProbe(c.readinessProbe, gracePeriod, child(path, 'readinessProbe')));
    if (isSet(c.readinessProbe.terminationGracePeriodSeconds)) {
      errs.push(
        invalid(
          child(child(path, 'readinessProbe'), 'terminationGracePeriodSeconds'),
          c.readinessProbe.terminationGracePeriodSeconds,
          'must not be set for readinessProbes',
        ),
      );
    }
  }
  return errs;
}

// ---- security context ----

const MAX_ID = 0xffffffff;
export function validateID(v: unknown, path: string): Errs {
  return typeof v === 'number' && (v < 0 || v > MAX_ID) ? [invalid(path, v, inclusiveRangeError(0, MAX_ID))] : [];
}

export function validateSeccompProfile(sp: Obj, path: string): Errs {
  if (!isObj(sp)) return [];
  const errs: Errs = [];
  const types = ['Localhost', 'RuntimeDefault', 'Unconfined'];
  if (!sp.type) errs.push(required(child(path, 'type'), 'type is required when seccompProfile is set'));
  else if (!types.includes(sp.type)) errs.push(notSupported(child(path, 'type'), sp.type, types));
  if (sp.type === 'Localhost') {
    if (!isSet(sp.localhostProfile)) errs.push(required(child(path, 'localhostProfile'), 'must be set when seccomp type is Localhost'));
    else errs.push(...validateLocalDescendingPath(str(sp.localhostProfile), child(path, 'localhostProfile')));
  } else if (isSet(sp.localhostProfile)) {
    errs.push(invalid(child(path, 'localhostProfile'), sp, 'can only be set when seccomp type is Localhost'));
  }
  return errs;
}

export function validateAppArmorProfile(p: Obj, path: string): Errs {
  if (!isObj(p)) return [];
  const errs: Errs = [];
  switch (p.type) {
    case 'Localhost': {
      const lp = p.localhostProfile;
      if (!isSet(lp) || str(lp).trim() === '') {
        if (isSet(lp) && str(lp) !== str(lp).trim()) errs.push(invalid(child(path, 'localhostProfile'), lp, 'must not be padded with whitespace'));
        else errs.push(required(child(path, 'localhostProfile'), 'must be set when AppArmor type is Localhost'));
      } else if (str(lp) !== str(lp).trim()) {
        errs.push(invalid(child(path, 'localhostProfile'), lp, 'must not be padded with whitespace'));
      }
      break;
    }
    case 'RuntimeDefault':
    case 'Unconfined':
      if (isSet(p.localhostProfile)) errs.push(invalid(child(path, 'localhostProfile'), p.localhostProfile, 'can only be set when AppArmor type is Localhost'));
      break;
    case undefined:
    case '':
      errs.push(required(child(path, 'type'), 'type is required when appArmorProfile is set'));
      break;
    default:
      errs.push(notSupported(child(path, 'type'), p.type, ['Localhost', 'RuntimeDefault', 'Unconfined']));
  }
  return errs;
}

export function validateContainerSecurityContext(sc: Obj, hostUsers: boolean, path: string): Errs {
  if (!isObj(sc)) return [];
  const errs: Errs = [];
  errs.push(...validateID(sc.runAsUser, child(path, 'runAsUser')), ...validateID(sc.runAsGroup, child(path, 'runAsGroup')));
  if (isSet(sc.procMount)) {
    if (sc.procMount !== 'Default' && sc.procMount !== 'Unmasked') errs.push(notSupported(child(path, 'procMount'), sc.procMount, ['Default', 'Unmasked']));
    if (hostUsers && sc.procMount === 'Unmasked') errs.push(invalid(child(path, 'procMount'), sc.procMount, '`hostUsers` must be false to use `Unmasked`'));
  }
  errs.push(...validateSeccompProfile(sc.seccompProfile, child(path, 'seccompProfile')));
  if (sc.allowPrivilegeEscalation === false) {
    if (sc.privileged === true) errs.push(invalid(path, sc, 'cannot set `allowPrivilegeEscalation` to false and `privileged` to true'));
    if (arr(sc.capabilities?.add).includes('CAP_SYS_ADMIN'))
      errs.push(invalid(path, sc, 'cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN'));
  }
  errs.push(...validateAppArmorProfile(sc.appArmorProfile, child(path, 'appArmorProfile')));
  return errs;
}

// ---- the container as a whole ----

const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const TERMINATION_MESSAGE_POLICIES = ['File', 'FallbackToLogsOnError'];

/** What every kind of container must satisfy. */
export function validateContainerCommon(c: Obj, ctx: ContainerContext, path: string): Errs {
  const errs: Errs = [];
  const name = str(c?.name);
  if (!name) errs.push(required(child(path, 'name'), ''));
  else errs.push(...validateDNS1123Label(name, child(path, 'name')));
  if (!str(c?.image)) errs.push(required(child(path, 'image'), ''));
  const tmp = c?.terminationMessagePolicy;
  if (!tmp) errs.push(required(child(path, 'terminationMessagePolicy'), ''));
  else if (!TERMINATION_MESSAGE_POLICIES.includes(tmp)) errs.push(notSupported(child(path, 'terminationMessagePolicy'), tmp, TERMINATION_MESSAGE_POLICIES));
  errs.push(...validateContainerPorts(c?.ports, child(path, 'ports')));
  errs.push(...validateEnv(c?.env, child(path, 'env')));
  errs.push(...validateEnvFrom(c?.envFrom, child(path, 'envFrom')));
  errs.push(...validateVolumeMounts(c, ctx, child(path, 'volumeMounts')));
  errs.push(...validateVolumeDevices(c, ctx, child(path, 'volumeDevices')));
  const pp = c?.imagePullPolicy;
  if (!pp) errs.push(required(child(path, 'imagePullPolicy'), ''));
  else if (!PULL_POLICIES.includes(pp)) errs.push(notSupported(child(path, 'imagePullPolicy'), pp, PULL_POLICIES));
  errs.push(...validateResourceRequirements(c?.resources, child(path, 'resources')));
  errs.push(...validateResizePolicy(c?.resizePolicy, ctx.restartPolicy, child(path, 'resizePolicy')));
  errs.push(...validateContainerSecurityContext(c?.securityContext, ctx.hostUsers, child(path, 'securityContext')));
  return errs;
}

function validateResizePolicy(list: unknown, restartPolicy: string, path: string): Errs {
  const errs: Errs = [];
  const seen = new Set<string>();
  arr(list).forEach((p, i) => {
    const rn = str(p?.resourceName);
    if (seen.has(rn)) errs.push(duplicate(index(path, i), rn));
    seen.add(rn);
    if (!rn) errs.push(required(path, ''));
    else if (rn !== 'cpu' && rn !== 'memory') errs.push(notSupported(path, rn, ['cpu', 'memory']));
    const rp = str(p?.restartPolicy);
    if (!rp) errs.push(required(path, ''));
    else if (rp !== 'NotRequired' && rp !== 'RestartContainer') errs.push(notSupported(path, rp, ['NotRequired', 'RestartContainer']));
    if (restartPolicy === 'Never' && rp !== 'NotRequired') errs.push(invalid(path, rp, "must be 'NotRequired' when `restartPolicy` is 'Never'"));
  });
  return errs;
}

export function validateContainers(containers: unknown, ctx: ContainerContext, path: string): Errs {
  const list = arr(containers);
  if (list.length === 0) return [required(path, '')];
  const errs: Errs = [];
  const names = new Set<string>();
  list.forEach((c, i) => {
    const p = index(path, i);
    errs.push(...validateContainerCommon(c, ctx, p));
    const name = str(c?.name);
    if (names.has(name)) errs.push(duplicate(child(p, 'name'), name));
    else names.add(name);
    errs.push(...validateProbesAndLifecycle(c, ctx.gracePeriod, p));
    if (isSet(c?.restartPolicy)) errs.push(forbidden(child(p, 'restartPolicy'), 'may not be set for non-init containers'));
  });
  errs.push(...checkHostPortConflicts(list, path));
  return errs;
}

export function validateInitContainers(inits: unknown, regular: unknown, ctx: ContainerContext, path: string): Errs {
  const errs: Errs = [];
  const names = new Set(arr(regular).map((c) => str(c?.name)));
  arr(inits).forEach((c, i) => {
    const p = index(path, i);
    errs.push(...validateContainerCommon(c, ctx, p));
    let restartable = false;
    if (isSet(c?.restartPolicy)) {
      if (c.restartPolicy !== 'Always') errs.push(notSupported(child(p, 'restartPolicy'), c.restartPolicy, ['Always']));
      restartable = c.restartPolicy === 'Always';
    }
    const name = str(c?.name);
    if (names.has(name)) errs.push(duplicate(child(p, 'name'), name));
    else if (name) names.add(name);
    errs.push(...checkHostPortConflicts([c], path).map((e) => ({ ...e, field: e.field.replace(`${path}[0]`, p) })));
    if (restartable) {
      errs.push(...validateProbesAndLifecycle(c, ctx.gracePeriod, p));
    } else {
      for (const f of ['lifecycle', 'livenessProbe', 'readinessProbe', 'startupProbe']) {
        if (isSet(c?.[f])) errs.push(forbidden(child(p, f), 'may not be set for init containers without restartPolicy=Always'));
      }
    }
  });
  return errs;
}

/** Ephemeral containers: valid containers, unique names, a real target, and no fields that make them part of the workload. */
export function validateEphemeralContainers(list: unknown, spec: Obj, ctx: ContainerContext, path: string): Errs {
  const errs: Errs = [];
  const others = new Set([...arr(spec?.containers), ...arr(spec?.initContainers)].map((c) => str(c?.name)));
  const all = new Set(others);
  const disallowed = ['ports', 'resources', 'livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle', 'resizePolicy', 'restartPolicy'];
  arr(list).forEach((c, i) => {
    const p = index(path, i);
    errs.push(...validateContainerCommon(c, ctx, p));
    const img = str(c?.image);
    if (img !== img.trim()) errs.push(invalid(child(p, 'image'), img, 'must not have leading or trailing whitespace'));
    const name = str(c?.name);
    if (all.has(name)) errs.push(duplicate(child(p, 'name'), name));
    else all.add(name);
    if (str(c?.targetContainerName) && !others.has(c.targetContainerName)) errs.push(notFound(child(p, 'targetContainerName'), c.targetContainerName));
    for (const f of disallowed) {
      const v = c?.[f];
      if (isSet(v) && !(Array.isArray(v) && v.length === 0) && !(isObj(v) && Object.keys(v).length === 0)) {
        errs.push(forbidden(child(p, f), 'cannot be set for an Ephemeral Container'));
      }
    }
    arr(c?.volumeMounts).forEach((m, j) => {
      if (str(m?.subPath)) errs.push(forbidden(child(index(child(p, 'volumeMounts'), j), 'subPath'), 'cannot be set for an Ephemeral Container'));
      if (str(m?.subPathExpr)) errs.push(forbidden(child(index(child(p, 'volumeMounts'), j), 'subPathExpr'), 'cannot be set for an Ephemeral Container'));
    });
  });
  return errs;
}
