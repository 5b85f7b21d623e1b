// The resources k8ts serves: group, version, kind, plural, short names, scope,
// verbs and subresources, as upstream's discovery documents them. Everything
// that is keyed by resource (validation, defaulting, tables, storage keys,
// discovery, openapi) uses the GroupResource string `<group>/<plural>`, with
// the core group empty: "/pods", "apps/deployments".

export type Verb = 'create' | 'delete' | 'deletecollection' | 'get' | 'list' | 'patch' | 'update' | 'watch';
const ALL: Verb[] = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const NO_COLLECTION_DELETE: Verb[] = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

export interface ResourceInfo {
  group: string; // '' for core
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  verbs: Verb[];
  /** Subresource name -> the kind it speaks (e.g. scale -> autoscaling/v1 Scale). */
  subresources?: Record<string, { kind: string; group?: string; version?: string; verbs: Verb[] }>;
  /** The key under /registry (upstream names; e.g. services are "services/specs"). */
  storagePath: string;
}

export type GroupResource = string;

export const grOf = (r: Pick<ResourceInfo, 'group' | 'plural'>): GroupResource => `${r.group}/${r.plural}`;
export const apiVersionOf = (r: Pick<ResourceInfo, 'group' | 'version'>): string => (r.group ? `${r.group}/${r.version}` : r.version);

const status = { status: { kind: '', verbs: ['get', 'patch', 'update'] as Verb[] } };
const scale = { scale: { kind: 'Scale', group: 'autoscaling', version: 'v1', verbs: ['get', 'patch', 'update'] as Verb[] } };

function r(
  group: string,
  version: string,
  kind: string,
  plural: string,
  namespaced: boolean,
  extra: Partial<ResourceInfo> = {},
): ResourceInfo {
  const info: ResourceInfo = {
    group,
    version,
    kind,
    plural,
    singular: kind.toLowerCase(),
    namespaced,
    verbs: ALL,
    storagePath: plural,
    ...extra,
  };
  // Status subresources speak the parent kind.
  for (const sub of Object.values(info.subresources ?? {})) if (sub.kind === '') sub.kind = kind;
  return info;
}

export const RESOURCES: ResourceInfo[] = [
  // core/v1
  r('', 'v1', 'Namespace', 'namespaces', false, {
    shortNames: ['ns'],
    verbs: NO_COLLECTION_DELETE,
    subresources: { ...structuredClone(status), finalize: { kind: 'Namespace', verbs: ['update'] } },
  }),
  r('', 'v1', 'Pod', 'pods', true, {
    shortNames: ['po'],
    categories: ['all'],
    subresources: {
      ...structuredClone(status),
      binding: { kind: 'Binding', verbs: ['create'] },
      eviction: { kind: 'Eviction', group: 'policy', version: 'v1', verbs: ['create'] },
      log: { kind: 'Pod', verbs: ['get'] },
      exec: { kind: 'PodExecOptions', verbs: ['create', 'get'] },
      attach: { kind: 'PodAttachOptions', verbs: ['create', 'get'] },
      portforward: { kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
      ephemeralcontainers: { kind: 'Pod', verbs: ['get', 'patch', 'update'] },
    },
  }),
  r('', 'v1', 'Binding', 'bindings', true, { verbs: ['create'] }),
  r('', 'v1', 'Service', 'services', true, {
    shortNames: ['svc'],
    categories: ['all'],
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    subresources: structuredClone(status),
    storagePath: 'services/specs',
  }),
  r('', 'v1', 'Endpoints', 'endpoints', true, { singular: 'endpoints', shortNames: ['ep'], storagePath: 'services/endpoints' }),
  r('', 'v1', 'Node', 'nodes', false, { shortNames: ['no'], storagePath: 'minions', subresources: structuredClone(status) }),
  r('', 'v1', 'ConfigMap', 'configmaps', true, { shortNames: ['cm'] }),
  r('', 'v1', 'Secret', 'secrets', true),
  r('', 'v1', 'ServiceAccount', 'serviceaccounts', true, { shortNames: ['sa'] }),
  r('', 'v1', 'Event', 'events', true, { shortNames: ['ev'] }),
  // apps/v1
  r('apps', 'v1', 'Deployment', 'deployments', true, {
    shortNames: ['deploy'],
    categories: ['all'],
    subresources: { ...structuredClone(status), ...structuredClone(scale) },
  }),
  r('apps', 'v1', 'ReplicaSet', 'replicasets', true, {
    shortNames: ['rs'],
    categories: ['all'],
    subresources: { ...structuredClone(status), ...structuredClone(scale) },
  }),
  r('apps', 'v1', 'StatefulSet', 'statefulsets', true, {
    shortNames: ['sts'],
    categories: ['all'],
    subresources: { ...structuredClone(status), ...structuredClone(scale) },
  }),
  r('apps', 'v1', 'DaemonSet', 'daemonsets', true, { shortNames: ['ds'], categories: ['all'], subresources: structuredClone(status) }),
  r('apps', 'v1', 'ControllerRevision', 'controllerrevisions', true),
  // batch/v1 (the Job controller comes with the control-plane issue)
  r('batch', 'v1', 'Job', 'jobs', true, { categories: ['all'], subresources: structuredClone(status) }),
  // discovery.k8s.io/v1
  r('discovery.k8s.io', 'v1', 'EndpointSlice', 'endpointslices', true),
  // coordination.k8s.io/v1
  r('coordination.k8s.io', 'v1', 'Lease', 'leases', true),
  // events.k8s.io/v1 shares storage with core events
  r('events.k8s.io', 'v1', 'Event', 'events', true, { shortNames: ['ev'], storagePath: 'events' }),
  // networking.k8s.io/v1: stored and validated; enforcement comes later
  r('networking.k8s.io', 'v1', 'NetworkPolicy', 'networkpolicies', true, { shortNames: ['netpol'] }),
  r('networking.k8s.io', 'v1', 'Ingress', 'ingresses', true, { shortNames: ['ing'], subresources: structuredClone(status) }),
];

const byGR = new Map(RESOURCES.map((x) => [grOf(x), x]));

export function lookupResource(group: string, plural: string): ResourceInfo | undefined {
  return byGR.get(`${group}/${plural}`);
}

/** Groups in discovery order, each with its one served version. */
export function servedGroups(): Array<{ group: string; version: string }> {
  const seen = new Map<string, string>();
  for (const x of RESOURCES) if (!seen.has(x.group)) seen.set(x.group, x.version);
  return [...seen].map(([group, version]) => ({ group, version }));
}
