// networking.k8s.io/v1 NetworkPolicies and Ingresses.

import {
  cidrContains,
  isDNS1123Subdomain,
  isValidPortName,
  isValidPortNum,
  isWildcardDNS1123Subdomain,
  nameIsDNS1035Label,
  nameIsDNSSubdomain,
  parseCIDR,
  parseIP,
} from './formats.js';
import {
  type Errs,
  type Obj,
  arr,
  child,
  forbidden,
  index,
  invalid,
  isObj,
  isSet,
  notSupported,
  rec,
  required,
  str,
  validateConditions,
  validateLabelSelector,
  validateNameRef,
} from './common.js';
import { type MetaRules, validateObjectMeta, validateObjectMetaUpdate } from './metadata.js';
import { SUPPORTED_PROTOCOLS } from './containers.js';
import { validateLoadBalancerIngress } from './services.js';

const META: MetaRules = { namespaced: true, nameFn: nameIsDNSSubdomain };

// ---- NetworkPolicy ----

function validatePolicyPort(port: Obj, path: string): Errs {
  const errs: Errs = [];
  if (isSet(port?.protocol) && !SUPPORTED_PROTOCOLS.includes(port.protocol)) {
    errs.push(notSupported(child(path, 'protocol'), port.protocol, ['TCP', 'UDP', 'SCTP']));
  }
  const p = port?.port;
  if (isSet(p)) {
    if (typeof p === 'number') {
      for (const m of isValidPortNum(p)) errs.push(invalid(child(path, 'port'), p, m));
      if (isSet(port.endPort)) {
        if (port.endPort < p) errs.push(invalid(child(path, 'endPort'), p, 'must be greater than or equal to `port`'));
        for (const m of isValidPortNum(port.endPort)) errs.push(invalid(child(path, 'endPort'), port.endPort, m));
      }
    } else {
      if (isSet(port.endPort)) errs.push(invalid(child(path, 'endPort'), port.endPort, 'may not be specified when `port` is non-numeric'));
      for (const m of isValidPortName(str(p))) errs.push(invalid(child(path, 'port'), p, m));
    }
  } else if (isSet(port?.endPort)) {
    errs.push(invalid(child(path, 'endPort'), port.endPort, 'may not be specified when `port` is not specified'));
  }
  return errs;
}

function validateIPBlock(b: Obj, path: string): Errs {
  if (!str(b?.cidr)) return [required(child(path, 'cidr'), '')];
  const cidr = parseCIDR(b.cidr);
  if (!cidr) return [invalid(child(path, 'cidr'), b.cidr, 'not a valid CIDR')];
  const errs: Errs = [];
  for (const [i, e] of arr(b.except).entries()) {
    const ep = index(child(path, 'except'), i);
    const ex = parseCIDR(e);
    if (!ex) return [...errs, invalid(ep, e, 'not a valid CIDR')];
    if (!cidrContains(cidr, ex.ip) || cidr.prefix >= ex.prefix) errs.push(invalid(ep, e, 'must be a strict subset of `cidr`'));
  }
  return errs;
}

function validatePeer(peer: Obj, path: string): Errs {
  const errs: Errs = [];
  let n = 0;
  if (isObj(peer?.podSelector)) {
    n++;
    errs.push(...validateLabelSelector(peer.podSelector, child(path, 'podSelector')));
  }
  if (isObj(peer?.namespaceSelector)) {
    n++;
    errs.push(...validateLabelSelector(peer.namespaceSelector, child(path, 'namespaceSelector')));
  }
  if (isObj(peer?.ipBlock)) {
    n++;
    errs.push(...validateIPBlock(peer.ipBlock, child(path, 'ipBlock')));
  }
  if (n === 0) errs.push(required(path, 'must specify a peer'));
  else if (n > 1 && isObj(peer?.ipBlock)) errs.push(forbidden(path, 'may not specify both ipBlock and another peer'));
  return errs;
}

function validateNetworkPolicySpec(np: Obj): Errs {
  const spec = rec(np?.spec);
  const errs = validateLabelSelector(spec.podSelector, 'spec.podSelector');
  for (const [dir, peers] of [
    ['ingress', 'from'],
    ['egress', 'to'],
  ] as const) {
    arr(spec[dir]).forEach((rule, i) => {
      const rp = index(`spec.${dir}`, i);
      arr(rule?.ports).forEach((port, j) => errs.push(...validatePolicyPort(port, index(child(rp, 'ports'), j))));
      arr(rule?.[peers]).forEach((peer, j) => errs.push(...validatePeer(peer, index(child(rp, peers), j))));
    });
  }
  const types = arr(spec.policyTypes);
  if (types.length > 2) {
    errs.push(invalid('spec.policyTypes', types, 'may not specify more than two policyTypes'));
    return errs;
  }
  types.forEach((t, i) => {
    if (t !== 'Ingress' && t !== 'Egress') errs.push(notSupported(index('spec.policyTypes', i), t, ['Ingress', 'Egress']));
  });
  return errs;
}

export const validateNetworkPolicyCreate = (np: Obj): Errs => [...validateObjectMeta(np?.metadata, META), ...validateNetworkPolicySpec(np)];

export const validateNetworkPolicyUpdate = (np: Obj, old: Obj): Errs => [
  ...validateObjectMetaUpdate(np?.metadata, old?.metadata),
  ...validateNetworkPolicySpec(np),
];

export const validateNetworkPolicyStatusUpdate = (np: Obj, old: Obj): Errs => [
  ...validateObjectMetaUpdate(np?.metadata, old?.metadata),
  ...validateConditions(np?.status?.conditions, 'status.conditions'),
];

// ---- Ingress ----

const PATH_TYPES = ['Exact', 'ImplementationSpecific', 'Prefix'];
const INVALID_PATH_SEQUENCES = ['//', '/./', '/../', '%2f', '%2F'];
const INVALID_PATH_SUFFIXES = ['/..', '/.'];

/** A path segment name as API paths need them: not "." or "..", no "/" or "%". */
function pathSegmentErrors(v: string): string[] {
  if (v === '.' || v === '..') return [`may not be '${v}'`];
  const errs: string[] = [];
  for (const bad of ['/', '%']) if (v.includes(bad)) errs.push(`may not contain '${bad}'`);
  return errs;
}

function validateBackend(b: Obj, path: string): Errs {
  const errs: Errs = [];
  const hasResource = isObj(b?.resource);
  const hasService = isObj(b?.service);
  if (hasResource && hasService) return [invalid(path, '', 'cannot set both resource and service backends')];
  if (hasResource) {
    const r = b.resource;
    const rp = child(path, 'resource');
    if (isSet(r.apiGroup)) for (const m of isDNS1123Subdomain(str(r.apiGroup))) errs.push(invalid(child(rp, 'apiGroup'), r.apiGroup, m));
    if (!str(r.kind)) errs.push(required(child(rp, 'kind'), 'kind is required'));
    else for (const m of pathSegmentErrors(str(r.kind))) errs.push(invalid(child(rp, 'kind'), r.kind, m));
    if (!str(r.name)) errs.push(required(child(rp, 'name'), 'name is required'));
    else for (const m of pathSegmentErrors(str(r.name))) errs.push(invalid(child(rp, 'name'), r.name, m));
  } else if (hasService) {
    const s = b.service;
    const sp = child(path, 'service');
    if (!str(s.name)) errs.push(required(child(sp, 'name'), ''));
    else errs.push(...validateNameRef(str(s.name), child(sp, 'name'), nameIsDNS1035Label));
    const portName = str(s.port?.name);
    const portNumber = typeof s.port?.number === 'number' ? s.port.number : 0;
    if (portName && portNumber) errs.push(invalid(path, '', 'cannot set both port name & port number'));
    else if (portName) for (const m of isValidPortName(portName)) errs.push(invalid(`${sp}.port.name`, portName, m));
    else if (portNumber) for (const m of isValidPortNum(portNumber)) errs.push(invalid(`${sp}.port.number`, portNumber, m));
    else errs.push(required(path, 'port name or number is required'));
  } else {
    errs.push(invalid(path, '', 'resource or service backend is required'));
  }
  return errs;
}

function validateHTTPPath(p: Obj, path: string): Errs {
  const errs: Errs = [];
  if (!isSet(p?.pathType)) return [required(child(path, 'pathType'), 'pathType must be specified')];
  const v = str(p.path);
  switch (p.pathType) {
    case 'Exact':
    case 'Prefix':
      if (!v.startsWith('/')) errs.push(invalid(child(path, 'path'), v, 'must be an absolute path'));
      if (v) {
        for (const seq of INVALID_PATH_SEQUENCES) if (v.includes(seq)) errs.push(invalid(child(path, 'path'), v, `must not contain '${seq}'`));
        for (const suf of INVALID_PATH_SUFFIXES) if (v.endsWith(suf)) errs.push(invalid(child(path, 'path'), v, `cannot end with '${suf}'`));
      }
      break;
    case 'ImplementationSpecific':
      if (v && !v.startsWith('/')) errs.push(invalid(child(path, 'path'), v, 'must be an absolute path'));
      break;
    default:
      errs.push(notSupported(child(path, 'pathType'), p.pathType, PATH_TYPES));
  }
  errs.push(...validateBackend(p.backend, child(path, 'backend')));
  return errs;
}

function validateIngressSpec(ing: Obj, allowInvalidSecretName: boolean): Errs {
  const spec = rec(ing?.spec);
  const errs: Errs = [];
  const rules = arr(spec.rules);
  if (rules.length === 0 && !isObj(spec.defaultBackend)) errs.push(invalid('spec', spec.rules ?? null, 'either `defaultBackend` or `rules` must be specified'));
  if (isObj(spec.defaultBackend)) errs.push(...validateBackend(spec.defaultBackend, 'spec.defaultBackend'));
  rules.forEach((r, i) => {
    const rp = index('spec.rules', i);
    const host = str(r?.host);
    if (host) {
      if (parseIP(host)) errs.push(invalid(child(rp, 'host'), host, 'must be a DNS name, not an IP address'));
      const msgs = host.includes('*') ? isWildcardDNS1123Subdomain(host) : isDNS1123Subdomain(host);
      for (const m of msgs) errs.push(invalid(child(rp, 'host'), host, m));
    }
    if (isObj(r?.http)) {
      const paths = arr(r.http.paths);
      if (paths.length === 0) errs.push(required(`${rp}.http.paths`, ''));
      paths.forEach((p, j) => errs.push(...validateHTTPPath(p, index(`${rp}.http.paths`, j))));
    }
  });
  arr(spec.tls).forEach((t, i) => {
    const tp = index('spec.tls', i);
    arr(t?.hosts).forEach((h, j) => {
      const host = str(h);
      const msgs = host.includes('*') ? isWildcardDNS1123Subdomain(host) : isDNS1123Subdomain(host);
      for (const m of msgs) errs.push(invalid(index(child(tp, 'hosts'), j), host, m));
    });
    if (!allowInvalidSecretName && str(t?.secretName)) errs.push(...validateNameRef(str(t.secretName), child(tp, 'secretName'), nameIsDNSSubdomain));
  });
  if (isSet(spec.ingressClassName)) errs.push(...validateNameRef(str(spec.ingressClassName), 'spec.ingressClassName', nameIsDNSSubdomain));
  return errs;
}

export function validateIngressCreate(ing: Obj): Errs {
  const errs = [...validateObjectMeta(ing?.metadata, META), ...validateIngressSpec(ing, false)];
  const cls = ing?.metadata?.annotations?.['kubernetes.io/ingress.class'];
  if (isSet(cls) && isSet(ing?.spec?.ingressClassName)) {
    errs.push(invalid('annotations.kubernetes.io/ingress.class', cls, 'can not be set when the class field is also set'));
  }
  return errs;
}

export function validateIngressUpdate(ing: Obj, old: Obj): Errs {
  // Stored objects with bad TLS secret names stay updatable.
  const allowInvalidSecretName = arr(old?.spec?.tls).some((t) => str(t?.secretName) && nameIsDNSSubdomain(str(t.secretName), false).length > 0);
  return [...validateObjectMetaUpdate(ing?.metadata, old?.metadata), ...validateObjectMeta(ing?.metadata, META), ...validateIngressSpec(ing, allowInvalidSecretName)];
}

export function validateIngressStatusUpdate(ing: Obj, old: Obj): Errs {
  return [
    ...validateObjectMetaUpdate(ing?.metadata, old?.metadata),
    ...validateLoadBalancerIngress(arr(ing?.status?.loadBalancer?.ingress), 'status.loadBalancer.ingress', false),
  ];
}
