// Tables of discovery.k8s.io, networking.k8s.io and coordination.k8s.io:
// upstream's printEndpointSlice, printNetworkPolicy, printIngress and printLease.

import { formatLabelSelector, listWithMore, loadBalancerIngress, since } from './format.js';
import { ageColumn, column, nameColumn, type Printer } from './types.js';

const age = (obj: any, now: number): string => since(obj.metadata?.creationTimestamp, now);

export const endpointslices: Printer = {
  columns: [
    nameColumn(),
    column('AddressType', 'string', 'EndpointSlice.addressType'),
    column('Ports', 'string', 'EndpointSlice.ports'),
    column('Endpoints', 'string', 'EndpointSlice.endpoints'),
    ageColumn(),
  ],
  row(slice: any, { now }) {
    // A port without a number prints its name, and "*" (all ports) without either.
    const ports = (slice.ports ?? []).map((p: any) => (p.port != null ? String(p.port) : (p.name ?? '*')));
    const addresses = (slice.endpoints ?? []).flatMap((e: any) => e.addresses ?? []);
    return { cells: [slice.metadata?.name ?? '', slice.addressType ?? '', listWithMore(ports), listWithMore(addresses), age(slice, now)] };
  },
};

export const networkpolicies: Printer = {
  columns: [nameColumn(), column('Pod-Selector', 'string', 'NetworkPolicySpec.podSelector'), ageColumn()],
  row: (np: any, { now }) => ({ cells: [np.metadata?.name ?? '', formatLabelSelector(np.spec?.podSelector ?? {}), age(np, now)] }),
};

/** The HOSTS cell: up to three rule hosts, " + N more..." (counting all rules), "*" when no rule names a host. */
function ingressHosts(rules: any[] | undefined): string {
  const all = rules ?? [];
  const max = 3;
  const list: string[] = [];
  let more = false;
  for (const rule of all) {
    if (list.length === max) more = true;
    if (!more && rule?.host) list.push(rule.host);
  }
  if (list.length === 0) return '*';
  return more ? `${list.join(',')} + ${all.length - max} more...` : list.join(',');
}

export const ingresses: Printer = {
  columns: [
    nameColumn(),
    column('Class', 'string', 'The name of the IngressClass resource that should be used for additional configuration'),
    column('Hosts', 'string', 'Hosts that incoming requests are matched against before the ingress rule'),
    column('Address', 'string', 'Address is a list containing ingress points for the load-balancer'),
    column('Ports', 'string', 'Ports of TLS configurations that open'),
    ageColumn(),
  ],
  row: (ing: any, { now }) => ({
    cells: [
      ing.metadata?.name ?? '',
      ing.spec?.ingressClassName ?? '<none>',
      ingressHosts(ing.spec?.rules),
      loadBalancerIngress(ing.status?.loadBalancer?.ingress),
      (ing.spec?.tls ?? []).length > 0 ? '80, 443' : '80',
      age(ing, now),
    ],
  }),
};

export const leases: Printer = {
  columns: [nameColumn(), column('Holder', 'string', 'LeaseSpec.holderIdentity'), ageColumn()],
  row: (l: any, { now }) => ({ cells: [l.metadata?.name ?? '', l.spec?.holderIdentity ?? '', age(l, now)] }),
};
