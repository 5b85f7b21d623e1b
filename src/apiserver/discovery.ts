// API discovery: the legacy documents (/api, /apis, /apis/<group>,
// /api/v1, /apis/<group>/<version>) and aggregated discovery
// (apidiscovery.k8s.io v2 and v2beta1, chosen from the Accept header).
import { RESOURCES, type ResourceInfo, servedGroups } from '../api/registry.js';
import { acceptedVersion } from './http.js';

const gv = (group: string, version: string) => (group ? `${group}/${version}` : version);

export function apiVersions(serverAddress: string) {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function apiGroup(group: string, version: string) {
  const v = { groupVersion: gv(group, version), version };
  return { name: group, versions: [v], preferredVersion: v };
}

export function apiGroupList() {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: servedGroups()
      .filter((g) => g.group !== '')
      .map((g) => apiGroup(g.group, g.version)),
  };
}

export function apiGroupDoc(group: string) {
  const g = servedGroups().find((x) => x.group === group && group !== '');
  return g ? { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(g.group, g.version) } : undefined;
}

export function apiResourceList(group: string, version: string) {
  const rs = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (rs.length === 0) return undefined;
  const resources: object[] = [];
  for (const r of rs) {
    resources.push({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames ? { shortNames: r.shortNames } : {}),
      ...(r.categories ? { categories: r.categories } : {}),
    });
    for (const [name, sub] of Object.entries(r.subresources ?? {})) {
      resources.push({
        name: `${r.plural}/${name}`,
        singularName: '',
        namespaced: r.namespaced,
        ...(sub.group !== undefined ? { group: sub.group, version: sub.version } : {}),
        kind: sub.kind,
        verbs: sub.verbs,
      });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv(group, version), resources };
}

function resourceDiscovery(r: ResourceInfo) {
  return {
    resource: r.plural,
    responseKind: { group: r.group, version: r.version, kind: r.kind },
    scope: r.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: r.singular,
    verbs: r.verbs,
    ...(r.shortNames ? { shortNames: r.shortNames } : {}),
    ...(r.categories ? { categories: r.categories } : {}),
    ...(r.subresources
      ? {
          subresources: Object.entries(r.subresources).map(([name, sub]) => ({
            subresource: name,
            responseKind: { group: sub.group ?? r.group, version: sub.version ?? r.version, kind: sub.kind },
            verbs: sub.verbs,
          })),
        }
      : {}),
  };
}

/** Aggregated discovery for /api (core) or /apis (every other group). */
export function aggregatedDiscovery(legacy: boolean, apiVersion: string) {
  const groups = servedGroups().filter((g) => (legacy ? g.group === '' : g.group !== ''));
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion,
    metadata: {},
    items: groups.map((g) => ({
      metadata: { name: g.group, creationTimestamp: null },
      versions: [
        {
          version: g.version,
          resources: RESOURCES.filter((r) => r.group === g.group && r.version === g.version).map(resourceDiscovery),
          freshness: 'Current',
        },
      ],
    })),
  };
}

/**
 * Which aggregated discovery version the client accepts, if any: kubectl asks
 * `application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,...`.
 */
export function wantsAggregated(accept: string | undefined): string | undefined {
  return acceptedVersion(accept, 'apidiscovery.k8s.io', 'APIGroupDiscoveryList', ['v2', 'v2beta1']);
}
