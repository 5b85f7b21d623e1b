// Services: ports, types, cluster IPs and families, traffic policies, and the
// rules for changing them on update.

import { isValidPortNum, nameIsDNS1035Label, parseIP } from './formats.js';
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
  notSupported,
  rec,
  required,
  semanticEqual,
  str,
  validateCIDR,
  validateDNS1123Label,
  validateDNS1123Subdomain,
  validateIP,
  validateLabels,
  validateNonSpecialIP,
  validatePortNumOrName,
  validateQualifiedName,
} from './common.js';
import { type MetaRules, validateObjectMeta, validateObjectMetaUpdate } from './metadata.js';
import { SUPPORTED_PROTOCOLS } from './containers.js';
import {
  externallyAccessible,
  isHeadless,
  needsHealthCheck,
  normalizeClusterIPs,
  prepareServiceForUpdate,
} from '../defaults/services.js';

const SERVICE_META: MetaRules = { namespaced: true, nameFn: nameIsDNS1035Label };
const TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const MAX_CLIENT_IP_AFFINITY_SECONDS = 86400;

function validateServicePort(sp: Obj, requireName: boolean, names: Set<string>, path: string): Errs {
  const errs: Errs = [];
  const name = str(sp?.name);
  if (requireName && !name) errs.push(required(child(path, 'name'), ''));
  else if (name) {
    errs.push(...validateDNS1123Label(name, child(path, 'name')));
    if (names.has(name)) errs.push(duplicate(child(path, 'name'), name));
    else names.add(name);
  }
  for (const m of isValidPortNum(sp?.port)) errs.push(invalid(child(path, 'port'), sp?.port ?? 0, m));
  if (!sp?.protocol) errs.push(required(child(path, 'protocol'), ''));
  else if (!SUPPORTED_PROTOCOLS.includes(sp.protocol)) errs.push(notSupported(child(path, 'protocol'), sp.protocol, SUPPORTED_PROTOCOLS));
  errs.push(...validatePortNumOrName(sp?.targetPort, child(path, 'targetPort')));
  if (isSet(sp?.appProtocol)) errs.push(...validateQualifiedName(str(sp.appProtocol), child(path, 'appProtocol')));
  return errs;
}

/** clusterIP, clusterIPs, ipFamilies and ipFamilyPolicy, alone and together. */
function validateClusterIPsRelatedFields(svc: Obj): Errs {
  const spec = rec(svc?.spec);
  if (spec.type === 'ExternalName') return [];
  const errs: Errs = [];
  const ipsPath = 'spec.clusterIPs';
  const ips = arr(spec.clusterIPs).map(str);
  const clusterIP = str(spec.clusterIP);
  if (clusterIP) {
    if (ips.length === 0) errs.push(required(ipsPath, ''));
    else if (ips[0] !== clusterIP) errs.push(invalid(ipsPath, ips, 'first value must match `clusterIP`'));
  } else if (ips.length > 0) {
    errs.push(invalid(ipsPath, ips, 'must be empty when `clusterIP` is not specified'));
  }
  const families = arr(spec.ipFamilies).map(str);
  const seen = new Set<string>();
  families.forEach((f, i) => {
    if (f !== 'IPv4' && f !== 'IPv6') errs.push(notSupported(index('spec.ipFamilies', i), f, ['IPv4', 'IPv6']));
    if (seen.has(f)) errs.push(duplicate(index('spec.ipFamilies', i), f));
    seen.add(f);
  });
  if (isSet(spec.ipFamilyPolicy) && !['PreferDualStack', 'RequireDualStack', 'SingleStack'].includes(spec.ipFamilyPolicy)) {
    errs.push(notSupported('spec.ipFamilyPolicy', spec.ipFamilyPolicy, ['PreferDualStack', 'RequireDualStack', 'SingleStack']));
  }
  let bad = false;
  ips.forEach((ip, i) => {
    if (i === 0 && ip === 'None') {
      if (ips.length > 1) {
        bad = true;
        errs.push(invalid(ipsPath, ips, "'None' must be the first and only value"));
      }
      return;
    }
    const e = validateIP(ip, index(ipsPath, i));
    if (e.length) bad = true;
    errs.push(...e);
  });
  if (ips.length > 2) errs.push(invalid(ipsPath, ips, 'may only hold up to 2 values'));
  if (bad) return errs;
  if (ips.length > 1) {
    const fams = ips.map((ip) => parseIP(ip)!.family);
    if (fams[0] === fams[1]) errs.push(invalid(ipsPath, ips, 'may specify no more than one IP for each IP family'));
  }
  if (!isHeadless(svc) && ips.length > 0 && families.length > 0) {
    ips.forEach((ip, i) => {
      if (i >= families.length) return;
      const fam = parseIP(ip)?.family;
      if (families[i] === 'IPv4' && fam === 6) errs.push(invalid(index(ipsPath, i), ip, `expected an IPv4 value as indicated by \`ipFamilies[${i}]\``));
      if (families[i] === 'IPv6' && fam !== 6) errs.push(invalid(index(ipsPath, i), ip, `expected an IPv6 value as indicated by \`ipFamilies[${i}]\``));
    });
  }
  return errs;
}

/** A clone with clusterIPs derived from clusterIP when a client set only the latter. */
function normalized(svc: Obj, old?: Obj): Obj {
  const c = isObj(svc) ? structuredClone(svc) : {};
  if (!isObj(c.spec)) c.spec = {};
  if (old) prepareServiceForUpdate(c, old);
  else normalizeClusterIPs(c);
  return c;
}

function validateServiceSpec(svc: Obj): Errs {
  const errs: Errs = [];
  const meta = rec(svc?.metadata);
  const spec = rec(svc?.spec);
  const ports = arr(spec.ports);
  const type = str(spec.type);

  const annotations = rec(meta.annotations);
  const hints = annotations['service.kubernetes.io/topology-aware-hints'];
  const mode = annotations['service.kubernetes.io/topology-mode'];
  if (isSet(hints) && isSet(mode) && hints !== mode) {
    errs.push(
      invalid('metadata.annotations[service.kubernetes.io/topology-mode]', mode, 'must match annotations[service.kubernetes.io/topology-aware-hints] when both are specified'),
    );
  }
  if (ports.length === 0 && !isHeadless(svc) && type !== 'ExternalName') errs.push(required('spec.ports', ''));
  const ips = arr(spec.clusterIPs);
  switch (type) {
    case 'LoadBalancer':
    case 'NodePort':
      if (isHeadless(svc)) errs.push(invalid('spec.clusterIPs[0]', ips[0], `may not be set to 'None' for ${type} services`));
      break;
    case 'ExternalName': {
      if (ips.length > 0) errs.push(forbidden('spec.clusterIPs', 'may not be set for ExternalName services'));
      if (arr(spec.ipFamilies).length > 0) errs.push(forbidden('spec.ipFamilies', 'may not be set for ExternalName services'));
      if (isSet(spec.ipFamilyPolicy)) errs.push(forbidden('spec.ipFamilyPolicy', 'may not be set for ExternalName services'));
      // The value is a CNAME, which may end in a dot.
      const cname = str(spec.externalName).replace(/\.$/, '');
      if (cname) errs.push(...validateDNS1123Subdomain(cname, 'spec.externalName'));
      else errs.push(required('spec.externalName', ''));
      break;
    }
  }
  const names = new Set<string>();
  ports.forEach((p, i) => errs.push(...validateServicePort(p, ports.length > 1, names, index('spec.ports', i))));
  if (isSet(spec.selector)) errs.push(...validateLabels(spec.selector, 'spec.selector'));

  const affinity = str(spec.sessionAffinity);
  if (!affinity) errs.push(required('spec.sessionAffinity', ''));
  else if (affinity !== 'ClientIP' && affinity !== 'None') errs.push(notSupported('spec.sessionAffinity', affinity, ['ClientIP', 'None']));
  const cfgPath = 'spec.sessionAffinityConfig';
  if (affinity === 'ClientIP') {
    const cfg = spec.sessionAffinityConfig;
    if (!isObj(cfg)) errs.push(required(cfgPath, 'when session affinity type is ClientIP'));
    else if (!isObj(cfg.clientIP)) errs.push(required(child(cfgPath, 'clientIP'), 'when session affinity type is ClientIP'));
    else if (!isSet(cfg.clientIP.timeoutSeconds)) errs.push(required(`${cfgPath}.clientIP.timeoutSeconds`, 'when session affinity type is ClientIP'));
    else {
      const t = cfg.clientIP.timeoutSeconds;
      if (typeof t !== 'number' || t <= 0 || t > MAX_CLIENT_IP_AFFINITY_SECONDS) {
        errs.push(invalid(`${cfgPath}.clientIP.timeoutSeconds`, t, `must be greater than 0 and less than ${MAX_CLIENT_IP_AFFINITY_SECONDS}`));
      }
    }
  } else if (affinity === 'None' && isSet(spec.sessionAffinityConfig)) {
    errs.push(forbidden(cfgPath, 'must not be set when session affinity is None'));
  }

  errs.push(...validateClusterIPsRelatedFields(svc));
  arr(spec.externalIPs).forEach((ip, i) => {
    const p = index('spec.externalIPs', i);
    const e = validateIP(ip, p);
    errs.push(...(e.length ? e : validateNonSpecialIP(str(ip), p)));
  });
  if (!type) errs.push(required('spec.type', ''));
  else if (!TYPES.includes(type)) errs.push(notSupported('spec.type', type, TYPES));
  if (type === 'ClusterIP') {
    ports.forEach((p, i) => {
      if (p?.nodePort) errs.push(forbidden(`spec.ports[${i}].nodePort`, "may not be used when `type` is 'ClusterIP'"));
    });
  }
  const nodePorts = new Set<string>();
  ports.forEach((p, i) => {
    if (!p?.nodePort) return;
    const k = `${str(p.protocol)}/${p.nodePort}`;
    if (nodePorts.has(k)) errs.push(duplicate(`spec.ports[${i}].nodePort`, p.nodePort));
    nodePorts.add(k);
  });
  const portKeys = new Set<string>();
  ports.forEach((p, i) => {
    const k = `${str(p?.protocol)}/${p?.port}`;
    if (portKeys.has(k)) errs.push(duplicate(`spec.ports[${i}]`, { protocol: str(p?.protocol), port: p?.port }));
    portKeys.add(k);
  });

  const ranges = arr(spec.loadBalancerSourceRanges);
  if (ranges.length > 0) {
    // Upstream's path is capitalised here.
    if (type !== 'LoadBalancer') errs.push(forbidden('spec.LoadBalancerSourceRanges', "may only be used when `type` is 'LoadBalancer'"));
    ranges.forEach((r, i) => errs.push(...validateCIDR(str(r).trim(), `spec.LoadBalancerSourceRanges[${i}]`)));
  } else if (isSet(annotations['service.beta.kubernetes.io/load-balancer-source-ranges'])) {
    const p = 'metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]';
    if (type !== 'LoadBalancer') errs.push(forbidden(p, "may only be used when `type` is 'LoadBalancer'"));
    const v = str(annotations['service.beta.kubernetes.io/load-balancer-source-ranges']).trim();
    if (v) for (const c of v.split(',')) errs.push(...validateCIDR(c.trim(), p));
  }
  if (isSet(spec.allocateLoadBalancerNodePorts) && type !== 'LoadBalancer') {
    errs.push(forbidden('spec.allocateLoadBalancerNodePorts', "may only be used when `type` is 'LoadBalancer'"));
  }
  if (type === 'LoadBalancer' && !isSet(spec.allocateLoadBalancerNodePorts)) errs.push(required('allocateLoadBalancerNodePorts', ''));
  if (type === 'LoadBalancer') {
    if (isSet(spec.loadBalancerClass)) errs.push(...validateQualifiedName(str(spec.loadBalancerClass), 'spec.loadBalancerClass'));
  } else if (isSet(spec.loadBalancerClass)) {
    errs.push(forbidden('spec.loadBalancerClass', "may only be used when `type` is 'LoadBalancer'"));
  }

  const etp = str(spec.externalTrafficPolicy);
  if (!externallyAccessible(svc)) {
    if (etp) errs.push(invalid('spec.externalTrafficPolicy', etp, 'may only be set for externally-accessible services'));
  } else if (!etp) {
    errs.push(required('spec.externalTrafficPolicy', ''));
  } else if (etp !== 'Cluster' && etp !== 'Local') {
    errs.push(notSupported('spec.externalTrafficPolicy', etp, ['Cluster', 'Local']));
  }
  const hc = spec.healthCheckNodePort;
  if (!needsHealthCheck(svc)) {
    if (hc) errs.push(invalid('spec.healthCheckNodePort', hc, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"));
  } else if (hc) {
    // Unset is fine here: the node-port allocator assigns it after validation.
    for (const m of isValidPortNum(hc)) errs.push(invalid('spec.healthCheckNodePort', hc, m));
  }
  if (!isSet(spec.internalTrafficPolicy)) {
    if (['NodePort', 'LoadBalancer', 'ClusterIP'].includes(type)) errs.push(required('spec.internalTrafficPolicy', ''));
  } else if (spec.internalTrafficPolicy !== 'Cluster' && spec.internalTrafficPolicy !== 'Local') {
    errs.push(notSupported('spec.internalTrafficPolicy', spec.internalTrafficPolicy, ['Cluster', 'Local']));
  }
  if (isSet(spec.trafficDistribution) && !['PreferClose', 'PreferSameZone', 'PreferSameNode'].includes(spec.trafficDistribution)) {
    errs.push(notSupported('spec.trafficDistribution', spec.trafficDistribution, ['PreferClose', 'PreferSameZone', 'PreferSameNode']));
  }
  return errs;
}

export function validateServiceCreate(svc: Obj): Errs {
  return [...validateObjectMeta(svc?.metadata, SERVICE_META), ...validateServiceSpec(normalized(svc))];
}

/** Primary cluster IP and family stay; a secondary may be added, or released with SingleStack. */
function validateUpgradeDowngrade(svc: Obj, old: Obj): Errs {
  const errs: Errs = [];
  const spec = rec(svc.spec);
  const o = rec(old.spec);
  if (spec.type === 'ExternalName' || o.type === 'ExternalName') return errs;
  const newHeadless = isHeadless(svc);
  const oldHeadless = isHeadless(old);
  const ips = arr(spec.clusterIPs);
  const oldIPs = arr(o.clusterIPs);
  const singleStack = spec.ipFamilyPolicy === 'SingleStack';
  if (!(oldHeadless && newHeadless)) {
    if (oldIPs.length === ips.length) {
      oldIPs.forEach((ip, i) => {
        if (ip !== ips[i]) errs.push(invalid(`spec.clusterIPs[${i}]`, ips, 'may not change once set'));
      });
    } else if (oldIPs.length > ips.length) {
      if (ips.length === 0) errs.push(invalid('spec.clusterIPs[0]', ips, 'primary clusterIP can not be unset'));
      if (ips.length > 0 && ips[0] !== oldIPs[0]) errs.push(invalid('spec.clusterIPs[0]', ips, 'may not change once set'));
      if (ips.length === 1 && !singleStack) {
        errs.push(invalid('spec.ipFamilyPolicy', spec.ipFamilyPolicy ?? null, "must be set to 'SingleStack' when releasing the secondary clusterIP"));
      }
    } else if (oldIPs.length > 0 && ips[0] !== oldIPs[0]) {
      errs.push(invalid('spec.clusterIPs[0]', ips, 'may not change once set'));
    }
  }
  if (newHeadless !== oldHeadless || newHeadless) return errs;
  const fams = arr(spec.ipFamilies);
  const oldFams = arr(o.ipFamilies);
  if (oldFams.length === fams.length) {
    if (oldFams.some((f, i) => f !== fams[i])) errs.push(invalid('spec.ipFamilies[0]', fams, 'may not change once set'));
  } else if (oldFams.length > fams.length) {
    if (ips.length === 0) errs.push(invalid('spec.ipFamilies[0]', fams, 'primary ipFamily can not be unset'));
    if (fams.length > 0 && fams[0] !== oldFams[0]) errs.push(invalid('spec.ipFamilies[0]', ips, 'may not change once set'));
    if (fams.length === 1 && !singleStack) {
      errs.push(invalid('spec.ipFamilyPolicy', spec.ipFamilyPolicy ?? null, "must be set to 'SingleStack' when releasing the secondary ipFamily"));
    }
  } else if (oldFams.length > 0 && fams.length > 0 && fams[0] !== oldFams[0]) {
    errs.push(invalid('spec.ipFamilies[0]', ips, 'may not change once set'));
  }
  return errs;
}

export function validateServiceUpdate(svc: Obj, old: Obj): Errs {
  const errs = validateObjectMetaUpdate(svc?.metadata, old?.metadata);
  const n = normalized(svc, old);
  errs.push(...validateUpgradeDowngrade(n, old ?? {}));
  const o = rec(old?.spec);
  if (n.spec.type === 'LoadBalancer' && o.type === 'LoadBalancer' && !semanticEqual(n.spec.loadBalancerClass, o.loadBalancerClass)) {
    errs.push(invalid('spec.loadBalancerClass', n.spec.loadBalancerClass ?? null, 'may not change once set'));
  }
  if (needsHealthCheck(old) && needsHealthCheck(n) && n.spec.healthCheckNodePort !== o.healthCheckNodePort) {
    errs.push(forbidden('spec.healthCheckNodePort', 'field is immutable'));
  }
  errs.push(...validateServiceSpec(n));
  return errs;
}

export function validateServiceStatusUpdate(svc: Obj, old: Obj): Errs {
  const errs = validateObjectMetaUpdate(svc?.metadata, old?.metadata);
  const path = 'status.loadBalancer.ingress';
  const ingress = arr(svc?.status?.loadBalancer?.ingress);
  if (svc?.spec?.type !== 'LoadBalancer' && ingress.length > 0) {
    errs.push(forbidden(path, "may only be used when `spec.type` is 'LoadBalancer'"));
    return errs;
  }
  errs.push(...validateLoadBalancerIngress(ingress, path, true));
  return errs;
}

/** Load-balancer ingress points (of services and ingresses). */
export function validateLoadBalancerIngress(ingress: Obj[], path: string, withIPMode: boolean): Errs {
  const errs: Errs = [];
  ingress.forEach((ing, i) => {
    const p = index(path, i);
    if (str(ing?.ip)) errs.push(...validateIP(ing.ip, child(p, 'ip')));
    if (withIPMode) {
      if (isSet(ing?.ipMode) && !str(ing?.ip)) errs.push(forbidden(child(p, 'ipMode'), 'may not be specified when `ip` is not set'));
      else if (isSet(ing?.ipMode) && ing.ipMode !== 'VIP' && ing.ipMode !== 'Proxy') errs.push(notSupported(child(p, 'ipMode'), ing.ipMode, ['Proxy', 'VIP']));
    }
    const host = str(ing?.hostname);
    if (host) {
      errs.push(...validateDNS1123Subdomain(host, child(p, 'hostname')));
      if (parseIP(host)) errs.push(invalid(child(p, 'hostname'), host, 'must be a DNS name, not an IP address'));
    }
  });
  return errs;
}
