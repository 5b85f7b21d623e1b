// discovery.k8s.io/v1 EndpointSlices.

import { isDNS1123Label, isDNS1123Subdomain, nameIsDNSSubdomain, parseIP } from './formats.js';
import {
  type Errs,
  type Obj,
  arr,
  child,
  duplicate,
  index,
  invalid,
  isSet,
  notSupported,
  required,
  str,
  tooMany,
  validateDNS1123Label,
  validateImmutable,
  validateNameRef,
  validateQualifiedName,
} from './common.js';
import { type MetaRules, validateObjectMeta, validateObjectMetaUpdate } from './metadata.js';
import { SUPPORTED_PROTOCOLS } from './containers.js';

const SLICE_META: MetaRules = { namespaced: true, nameFn: nameIsDNSSubdomain };
const ADDRESS_TYPES = ['FQDN', 'IPv4', 'IPv6'];
const MAX_ADDRESSES = 100;
const MAX_PORTS = 100;
const MAX_ENDPOINTS = 1000;

function validateFQDN(v: string, path: string): Errs {
  if (!v) return [required(path, '')];
  const name = v.endsWith('.') ? v.slice(0, -1) : v;
  const sub = isDNS1123Subdomain(name);
  if (sub.length) return [invalid(path, name, sub.join(','))];
  const labels = name.split('.');
  if (labels.length < 2) return [invalid(path, name, 'should be a domain with at least two segments separated by dots')];
  for (const l of labels) {
    const m = isDNS1123Label(l);
    if (m.length) return [invalid(path, l, m.join(','))];
  }
  return [];
}

function validateAddress(type: string, v: string, path: string): Errs {
  const ip = parseIP(v);
  switch (type) {
    case 'IPv4':
      return ip?.family === 4 ? [] : [invalid(path, v, 'must be a valid IPv4 address')];
    case 'IPv6':
      return ip?.family === 6 ? [] : [invalid(path, v, 'must be a valid IPv6 address')];
    case 'FQDN':
      return validateFQDN(v, path);
    default:
      return [];
  }
}

export function validateEndpointSlice(es: Obj): Errs {
  const errs = validateObjectMeta(es?.metadata, SLICE_META);
  const type = str(es?.addressType);
  if (!type) errs.push(required('addressType', ''));
  else if (!ADDRESS_TYPES.includes(type)) errs.push(notSupported('addressType', type, ADDRESS_TYPES));

  const endpoints = arr(es?.endpoints);
  if (endpoints.length > MAX_ENDPOINTS) {
    errs.push(tooMany('endpoints', endpoints.length, MAX_ENDPOINTS));
  } else {
    endpoints.forEach((ep, i) => {
      const p = index('endpoints', i);
      const ap = child(p, 'addresses');
      const addrs = arr(ep?.addresses);
      if (addrs.length === 0) errs.push(required(ap, 'must contain at least 1 address'));
      else if (addrs.length > MAX_ADDRESSES) errs.push(tooMany(ap, addrs.length, MAX_ADDRESSES));
      addrs.forEach((a, j) => errs.push(...validateAddress(type, str(a), index(ap, j))));
      if (isSet(ep?.nodeName)) errs.push(...validateNameRef(str(ep.nodeName), child(p, 'nodeName'), nameIsDNSSubdomain));
      if (isSet(ep?.hostname)) errs.push(...validateDNS1123Label(str(ep.hostname), child(p, 'hostname')));
      for (const [j, h] of arr(ep?.hints?.forZones).entries()) {
        if (!str(h?.name)) errs.push(required(`${p}.hints.forZones[${j}].name`, ''));
      }
    });
  }

  const ports = arr(es?.ports);
  if (ports.length > MAX_PORTS) {
    errs.push(tooMany('ports', ports.length, MAX_PORTS));
  } else {
    const names = new Set<string>();
    ports.forEach((port, i) => {
      const p = index('ports', i);
      const name = str(port?.name);
      if (name) errs.push(...validateDNS1123Label(name, child(p, 'name')));
      if (names.has(name)) errs.push(duplicate(child(p, 'name'), name));
      names.add(name);
      if (!isSet(port?.protocol)) errs.push(required(child(p, 'protocol'), ''));
      else if (!SUPPORTED_PROTOCOLS.includes(port.protocol)) errs.push(notSupported(child(p, 'protocol'), port.protocol, SUPPORTED_PROTOCOLS));
      if (isSet(port?.appProtocol)) errs.push(...validateQualifiedName(str(port.appProtocol), child(p, 'appProtocol')));
    });
  }
  return errs;
}

export function validateEndpointSliceUpdate(es: Obj, old: Obj): Errs {
  return [
    ...validateObjectMetaUpdate(es?.metadata, old?.metadata),
    ...validateEndpointSlice(es),
    ...validateImmutable(es?.addressType, old?.addressType, 'addressType'),
  ];
}
