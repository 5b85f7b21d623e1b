// networking.k8s.io/v1 and discovery.k8s.io/v1 defaults.

import { type Obj, arr, ensureObj, isObj } from './util.js';

/** Ports default to TCP; a policy without policyTypes covers Ingress, and Egress when it has egress rules. */
export function defaultNetworkPolicy(np: Obj): void {
  const spec = ensureObj(np, 'spec');
  for (const dir of ['ingress', 'egress']) {
    for (const rule of arr(spec[dir])) for (const p of arr(rule?.ports)) if (isObj(p) && !p.protocol) p.protocol = 'TCP';
  }
  if (arr(spec.policyTypes).length === 0) {
    spec.policyTypes = ['Ingress'];
    if (arr(spec.egress).length > 0) spec.policyTypes.push('Egress');
  }
}

export function defaultEndpointSlice(es: Obj): void {
  for (const p of arr(es.ports)) {
    if (!isObj(p)) continue;
    if (p.name === undefined || p.name === null) p.name = '';
    if (!p.protocol) p.protocol = 'TCP';
  }
}
