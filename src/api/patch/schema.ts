// Patch metadata of the built-in types k8ts serves: for strategic merge patch
// the Go struct tags upstream declares (patchStrategy / patchMergeKey), and
// for server-side apply the structural schema (x-kubernetes-list-type,
// x-kubernetes-list-map-keys, x-kubernetes-map-type) that upstream generates
// into k8s.io/client-go/applyconfigurations/internal (structured-merge-diff).
//
// The table is keyed by upstream OpenAPI definition names
// (io.k8s.api.core.v1.PodSpec), so an OpenAPI generator can emit the
// x-kubernetes-patch-* and x-kubernetes-list-* extensions from it, and
// RESOURCE_TYPES maps each GroupResource ("/pods", "apps/deployments") to its
// root definition. Every workload kind points at the one PodTemplateSpec.
//
// A definition lists only the fields that matter for merging: lists, maps,
// nested structs leading to them, and atomic structs. A field a definition
// does not list is "deduced" from its value the way structured-merge-diff
// treats untyped data: an object is a struct merged field by field, a list is
// atomic (replaced as a whole), anything else is a scalar.

import type { GroupResource } from '../registry.js';

export type ListType = 'atomic' | 'set' | 'map';
export type MapType = 'atomic' | 'granular';

/** One field of a definition (an OpenAPI property with its extensions). */
export interface FieldSchema {
  type: 'scalar' | 'struct' | 'list' | 'map' | 'untyped';
  /** struct: the definition name. */
  ref?: string;
  /** list: the element, 'scalar' or a definition name. */
  items?: string;
  /** map: the value, 'scalar' or a definition name. */
  values?: string;
  /** x-kubernetes-list-type (lists). */
  listType?: ListType;
  /** x-kubernetes-list-map-keys (lists of listType map). */
  listMapKeys?: string[];
  /** Defaults of list-map key fields absent from an element (`protocol: TCP`). */
  keyDefaults?: Record<string, string | number>;
  /** x-kubernetes-map-type (maps). */
  mapType?: MapType;
  /** x-kubernetes-patch-strategy, exactly as the Go tag: 'merge', 'retainKeys', 'merge,retainKeys', 'replace'. */
  patchStrategy?: string;
  /** x-kubernetes-patch-merge-key. */
  patchMergeKey?: string;
  /** untyped: 'atomic' for opaque blobs (RawExtension data) replaced as a whole. */
  untyped?: 'atomic' | 'deduced';
}

/** A struct definition (an OpenAPI object definition). */
export interface TypeDef {
  fields: Record<string, FieldSchema>;
  /** x-kubernetes-map-type: atomic on the definition (+structType=atomic). */
  structType?: 'atomic';
}

// ---------------------------------------------------------------------------
// Builders (keep the table compact)

const CORE = 'io.k8s.api.core.v1.';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';
const APPS = 'io.k8s.api.apps.v1.';
const BATCH = 'io.k8s.api.batch.v1.';
const DISCOVERY = 'io.k8s.api.discovery.v1.';
const COORDINATION = 'io.k8s.api.coordination.v1.';
const EVENTS = 'io.k8s.api.events.v1.';
const NETWORKING = 'io.k8s.api.networking.v1.';

const core = (n: string) => CORE + n;
const meta = (n: string) => META + n;

const struct = (ref: string, extra: Partial<FieldSchema> = {}): FieldSchema => ({ type: 'struct', ref, ...extra });
const atomicList = (items = 'scalar', extra: Partial<FieldSchema> = {}): FieldSchema => ({ type: 'list', items, listType: 'atomic', ...extra });
/** A set of scalars (listType set); `merge` adds patchStrategy merge. */
const setList = (merge = false): FieldSchema =>
  merge ? { type: 'list', items: 'scalar', listType: 'set', patchStrategy: 'merge' } : { type: 'list', items: 'scalar', listType: 'set' };
/** listType map keyed by `keys`; `mergeKey` adds patchStrategy merge (or `strategy`). */
function mapList(
  items: string,
  keys: string[],
  opts: { mergeKey?: string; strategy?: string; keyDefaults?: Record<string, string | number> } = {},
): FieldSchema {
  const f: FieldSchema = { type: 'list', items, listType: 'map', listMapKeys: keys };
  if (opts.mergeKey) {
    f.patchStrategy = opts.strategy ?? 'merge';
    f.patchMergeKey = opts.mergeKey;
  }
  if (opts.keyDefaults) f.keyDefaults = opts.keyDefaults;
  return f;
}
const stringMap = (mapType?: MapType): FieldSchema => (mapType ? { type: 'map', values: 'scalar', mapType } : { type: 'map', values: 'scalar' });
/** map[string]resource.Quantity */
const quantities = (): FieldSchema => ({ type: 'map', values: 'scalar' });
const conditions = (conditionDef: string): FieldSchema => mapList(conditionDef, ['type'], { mergeKey: 'type' });

const def = (fields: Record<string, FieldSchema>, structType?: 'atomic'): TypeDef => (structType ? { fields, structType } : { fields });
const atomicDef = (fields: Record<string, FieldSchema> = {}): TypeDef => def(fields, 'atomic');

// ---------------------------------------------------------------------------
// Definitions

function containerFields(): Record<string, FieldSchema> {
  return {
    command: atomicList(),
    args: atomicList(),
    ports: mapList(core('ContainerPort'), ['containerPort', 'protocol'], { mergeKey: 'containerPort', keyDefaults: { protocol: 'TCP' } }),
    envFrom: atomicList(core('EnvFromSource')),
    env: mapList(core('EnvVar'), ['name'], { mergeKey: 'name' }),
    resources: struct(core('ResourceRequirements')),
    resizePolicy: atomicList(core('ContainerResizePolicy')),
    restartPolicyRules: atomicList(core('ContainerRestartRule')),
    volumeMounts: mapList(core('VolumeMount'), ['mountPath'], { mergeKey: 'mountPath' }),
    volumeDevices: mapList(core('VolumeDevice'), ['devicePath'], { mergeKey: 'devicePath' }),
    livenessProbe: struct(core('Probe')),
    readinessProbe: struct(core('Probe')),
    startupProbe: struct(core('Probe')),
    lifecycle: struct(core('Lifecycle')),
    securityContext: struct(core('SecurityContext')),
  };
}

export const DEFINITIONS: Record<string, TypeDef> = {
  // meta/v1
  [meta('ObjectMeta')]: def({
    labels: stringMap(),
    annotations: stringMap(),
    finalizers: setList(true),
    ownerReferences: mapList(meta('OwnerReference'), ['uid'], { mergeKey: 'uid' }),
    managedFields: atomicList(meta('ManagedFieldsEntry')),
  }),
  [meta('OwnerReference')]: atomicDef(),
  [meta('ManagedFieldsEntry')]: def({ fieldsV1: { type: 'untyped', untyped: 'deduced' } }),
  [meta('LabelSelector')]: atomicDef({ matchLabels: stringMap(), matchExpressions: atomicList(meta('LabelSelectorRequirement')) }),
  [meta('LabelSelectorRequirement')]: def({ values: atomicList() }),
  [meta('Condition')]: def({}),

  // core/v1: pods and pod templates
  [core('Pod')]: def({ metadata: struct(meta('ObjectMeta')), spec: struct(core('PodSpec')), status: struct(core('PodStatus')) }),
  [core('PodTemplateSpec')]: def({ metadata: struct(meta('ObjectMeta')), spec: struct(core('PodSpec')) }),
  [core('PodSpec')]: def({
    volumes: mapList(core('Volume'), ['name'], { mergeKey: 'name', strategy: 'merge,retainKeys' }),
    initContainers: mapList(core('Container'), ['name'], { mergeKey: 'name' }),
    containers: mapList(core('Container'), ['name'], { mergeKey: 'name' }),
    ephemeralContainers: mapList(core('EphemeralContainer'), ['name'], { mergeKey: 'name' }),
    nodeSelector: stringMap('atomic'),
    securityContext: struct(core('PodSecurityContext')),
    imagePullSecrets: mapList(core('LocalObjectReference'), ['name'], { mergeKey: 'name' }),
    affinity: struct(core('Affinity')),
    tolerations: atomicList(core('Toleration')),
    hostAliases: mapList(core('HostAlias'), ['ip'], { mergeKey: 'ip' }),
    dnsConfig: struct(core('PodDNSConfig')),
    readinessGates: atomicList(core('PodReadinessGate')),
    overhead: quantities(),
    topologySpreadConstraints: mapList(core('TopologySpreadConstraint'), ['topologyKey', 'whenUnsatisfiable'], { mergeKey: 'topologyKey' }),
    os: struct(core('PodOS')),
    schedulingGates: mapList(core('PodSchedulingGate'), ['name'], { mergeKey: 'name' }),
    resourceClaims: mapList(core('PodResourceClaim'), ['name'], { mergeKey: 'name', strategy: 'merge,retainKeys' }),
    resources: struct(core('ResourceRequirements')),
  }),
  [core('Container')]: def(containerFields()),
  [core('EphemeralContainer')]: def(containerFields()),
  [core('ContainerPort')]: def({}),
  [core('EnvVar')]: def({ valueFrom: struct(core('EnvVarSource')) }),
  [core('EnvVarSource')]: def({
    configMapKeyRef: struct(core('ConfigMapKeySelector')),
    secretKeyRef: struct(core('SecretKeySelector')),
    fieldRef: struct(core('ObjectFieldSelector')),
    resourceFieldRef: struct(core('ResourceFieldSelector')),
    fileKeyRef: struct(core('FileKeySelector')),
  }),
  [core('ConfigMapKeySelector')]: atomicDef(),
  [core('SecretKeySelector')]: atomicDef(),
  [core('ObjectFieldSelector')]: atomicDef(),
  [core('ResourceFieldSelector')]: atomicDef(),
  [core('FileKeySelector')]: atomicDef(),
  [core('EnvFromSource')]: def({ configMapRef: struct(core('ConfigMapEnvSource')), secretRef: struct(core('SecretEnvSource')) }),
  [core('ResourceRequirements')]: def({ limits: quantities(), requests: quantities(), claims: mapList(core('ResourceClaim'), ['name']) }),
  [core('VolumeMount')]: def({}),
  [core('VolumeDevice')]: def({}),
  [core('Probe')]: def({ exec: struct(core('ExecAction')), httpGet: struct(core('HTTPGetAction')) }),
  [core('Lifecycle')]: def({ postStart: struct(core('LifecycleHandler')), preStop: struct(core('LifecycleHandler')) }),
  [core('LifecycleHandler')]: def({ exec: struct(core('ExecAction')), httpGet: struct(core('HTTPGetAction')) }),
  [core('ExecAction')]: def({ command: atomicList() }),
  [core('HTTPGetAction')]: def({ httpHeaders: atomicList(core('HTTPHeader')) }),
  [core('SecurityContext')]: def({ capabilities: struct(core('Capabilities')) }),
  [core('Capabilities')]: def({ add: atomicList(), drop: atomicList() }),
  [core('PodSecurityContext')]: def({ supplementalGroups: atomicList(), sysctls: atomicList(core('Sysctl')) }),
  [core('Affinity')]: def({
    nodeAffinity: struct(core('NodeAffinity')),
    podAffinity: struct(core('PodAffinity')),
    podAntiAffinity: struct(core('PodAntiAffinity')),
  }),
  [core('NodeAffinity')]: def({
    requiredDuringSchedulingIgnoredDuringExecution: struct(core('NodeSelector')),
    preferredDuringSchedulingIgnoredDuringExecution: atomicList(core('PreferredSchedulingTerm')),
  }),
  [core('NodeSelector')]: atomicDef({ nodeSelectorTerms: atomicList(core('NodeSelectorTerm')) }),
  [core('NodeSelectorTerm')]: atomicDef({ matchExpressions: atomicList(core('NodeSelectorRequirement')), matchFields: atomicList(core('NodeSelectorRequirement')) }),
  [core('PodAffinity')]: def({
    requiredDuringSchedulingIgnoredDuringExecution: atomicList(core('PodAffinityTerm')),
    preferredDuringSchedulingIgnoredDuringExecution: atomicList(core('WeightedPodAffinityTerm')),
  }),
  [core('PodAntiAffinity')]: def({
    requiredDuringSchedulingIgnoredDuringExecution: atomicList(core('PodAffinityTerm')),
    preferredDuringSchedulingIgnoredDuringExecution: atomicList(core('WeightedPodAffinityTerm')),
  }),
  [core('PodAffinityTerm')]: def({
    labelSelector: struct(meta('LabelSelector')),
    namespaceSelector: struct(meta('LabelSelector')),
    namespaces: atomicList(),
    matchLabelKeys: atomicList(),
    mismatchLabelKeys: atomicList(),
  }),
  [core('HostAlias')]: def({ hostnames: atomicList() }),
  [core('PodDNSConfig')]: def({ nameservers: atomicList(), searches: atomicList(), options: atomicList(core('PodDNSConfigOption')) }),
  [core('TopologySpreadConstraint')]: def({ labelSelector: struct(meta('LabelSelector')), matchLabelKeys: atomicList() }),
  [core('LocalObjectReference')]: atomicDef(),
  [core('ObjectReference')]: atomicDef(),
  [core('TypedLocalObjectReference')]: atomicDef(),
  [core('SecretReference')]: atomicDef(),
  [core('Volume')]: def({
    configMap: struct(core('ConfigMapVolumeSource')),
    secret: struct(core('SecretVolumeSource')),
    downwardAPI: struct(core('DownwardAPIVolumeSource')),
    projected: struct(core('ProjectedVolumeSource')),
    csi: struct(core('CSIVolumeSource')),
    flexVolume: struct(core('FlexVolumeSource')),
    ephemeral: struct(core('EphemeralVolumeSource')),
    iscsi: struct(core('ISCSIVolumeSource')),
    cephfs: struct(core('CephFSVolumeSource')),
    rbd: struct(core('RBDVolumeSource')),
    fc: struct(core('FCVolumeSource')),
  }),
  [core('ConfigMapVolumeSource')]: def({ items: atomicList(core('KeyToPath')) }),
  [core('SecretVolumeSource')]: def({ items: atomicList(core('KeyToPath')) }),
  [core('DownwardAPIVolumeSource')]: def({ items: atomicList(core('DownwardAPIVolumeFile')) }),
  [core('ProjectedVolumeSource')]: def({ sources: atomicList(core('VolumeProjection')) }),
  [core('CSIVolumeSource')]: def({ volumeAttributes: stringMap(), nodePublishSecretRef: struct(core('LocalObjectReference')) }),
  [core('FlexVolumeSource')]: def({ options: stringMap(), secretRef: struct(core('LocalObjectReference')) }),
  [core('EphemeralVolumeSource')]: def({ volumeClaimTemplate: struct(core('PersistentVolumeClaimTemplate')) }),
  [core('ISCSIVolumeSource')]: def({ portals: atomicList(), secretRef: struct(core('LocalObjectReference')) }),
  [core('CephFSVolumeSource')]: def({ monitors: atomicList(), secretRef: struct(core('LocalObjectReference')) }),
  [core('RBDVolumeSource')]: def({ monitors: atomicList(), secretRef: struct(core('LocalObjectReference')) }),
  [core('FCVolumeSource')]: def({ targetWWNs: atomicList(), wwids: atomicList() }),
  [core('PersistentVolumeClaimTemplate')]: def({ metadata: struct(meta('ObjectMeta')), spec: struct(core('PersistentVolumeClaimSpec')) }),
  [core('PersistentVolumeClaim')]: def({
    metadata: struct(meta('ObjectMeta')),
    spec: struct(core('PersistentVolumeClaimSpec')),
    status: struct(core('PersistentVolumeClaimStatus')),
  }),
  [core('PersistentVolumeClaimSpec')]: def({
    accessModes: atomicList(),
    selector: struct(meta('LabelSelector')),
    resources: struct(core('VolumeResourceRequirements')),
    dataSource: struct(core('TypedLocalObjectReference')),
  }),
  [core('VolumeResourceRequirements')]: def({ limits: quantities(), requests: quantities() }),
  [core('PersistentVolumeClaimStatus')]: def({
    accessModes: atomicList(),
    capacity: quantities(),
    allocatedResources: quantities(),
    allocatedResourceStatuses: stringMap(),
    conditions: conditions(core('PersistentVolumeClaimCondition')),
  }),
  [core('PodStatus')]: def({
    conditions: conditions(core('PodCondition')),
    hostIPs: atomicList(core('HostIP'), { patchStrategy: 'merge', patchMergeKey: 'ip' }),
    podIPs: mapList(core('PodIP'), ['ip'], { mergeKey: 'ip' }),
    initContainerStatuses: atomicList(core('ContainerStatus')),
    containerStatuses: atomicList(core('ContainerStatus')),
    ephemeralContainerStatuses: atomicList(core('ContainerStatus')),
    resourceClaimStatuses: mapList(core('PodResourceClaimStatus'), ['name'], { mergeKey: 'name', strategy: 'merge,retainKeys' }),
    allocatedResources: quantities(),
    resources: struct(core('ResourceRequirements')),
  }),

  // core/v1: the other kinds
  [core('Service')]: def({ metadata: struct(meta('ObjectMeta')), spec: struct(core('ServiceSpec')), status: struct(core('ServiceStatus')) }),
  [core('ServiceSpec')]: def({
    ports: mapList(core('ServicePort'), ['port', 'protocol'], { mergeKey: 'port', keyDefaults: { protocol: 'TCP' } }),
    selector: stringMap('atomic'),
    clusterIPs: atomicList(),
    externalIPs: atomicList(),
    loadBalancerSourceRanges: atomicList(),
    ipFamilies: atomicList(),
  }),
  [core('ServiceStatus')]: def({ loadBalancer: struct(core('LoadBalancerStatus')), conditions: conditions(meta('Condition')) }),
  [core('LoadBalancerStatus')]: def({ ingress: atomicList(core('LoadBalancerIngress')) }),
  [core('Endpoints')]: def({ metadata: struct(meta('ObjectMeta')), subsets: atomicList(core('EndpointSubset')) }),
  [core('EndpointSubset')]: def({
    addresses: atomicList(core('EndpointAddress')),
    notReadyAddresses: atomicList(core('EndpointAddress')),
    ports: atomicList(core('EndpointPort')),
  }),
  [core('EndpointAddress')]: atomicDef({ targetRef: struct(core('ObjectReference')) }),
  [core('EndpointPort')]: atomicDef(),
  [core('Node')]: def({ metadata: struct(meta('ObjectMeta')), spec: struct(core('NodeSpec')), status: struct(core('NodeStatus')) }),
  [core('NodeSpec')]: def({ podCIDRs: setList(true), taints: atomicList(core('Taint')) }),
  [core('NodeStatus')]: def({
    capacity: quantities(),
    allocatable: quantities(),
    conditions: conditions(core('NodeCondition')),
    addresses: mapList(core('NodeAddress'), ['type'], { mergeKey: 'type' }),
    images: atomicList(core('ContainerImage')),
    volumesInUse: atomicList(),
    volumesAttached: atomicList(core('AttachedVolume')),
    runtimeHandlers: atomicList(core('NodeRuntimeHandler')),
    declaredFeatures: atomicList(),
  }),
  [core('ContainerImage')]: def({ names: atomicList() }),
  [core('ConfigMap')]: def({ metadata: struct(meta('ObjectMeta')), data: stringMap(), binaryData: stringMap() }),
  [core('Secret')]: def({ metadata: struct(meta('ObjectMeta')), data: stringMap(), stringData: stringMap() }),
  [core('ServiceAccount')]: def({
    metadata: struct(meta('ObjectMeta')),
    secrets: mapList(core('ObjectReference'), ['name'], { mergeKey: 'name' }),
    imagePullSecrets: atomicList(core('LocalObjectReference')),
  }),
  [core('Event')]: def({
    metadata: struct(meta('ObjectMeta')),
    involvedObject: struct(core('ObjectReference')),
    related: struct(core('ObjectReference')),
  }),
  [core('Namespace')]: def({ metadata: struct(meta('ObjectMeta')), spec: struct(core('NamespaceSpec')), status: struct(core('NamespaceStatus')) }),
  [core('NamespaceSpec')]: def({ finalizers: atomicList() }),
  [core('NamespaceStatus')]: def({ conditions: conditions(core('NamespaceCondition')) }),

  // apps/v1
  [APPS + 'Deployment']: def({ metadata: struct(meta('ObjectMeta')), spec: struct(APPS + 'DeploymentSpec'), status: struct(APPS + 'DeploymentStatus') }),
  [APPS + 'DeploymentSpec']: def({
    selector: struct(meta('LabelSelector')),
    template: struct(core('PodTemplateSpec')),
    strategy: struct(APPS + 'DeploymentStrategy', { patchStrategy: 'retainKeys' }),
  }),
  [APPS + 'DeploymentStrategy']: def({}),
  [APPS + 'DeploymentStatus']: def({ conditions: conditions(APPS + 'DeploymentCondition') }),
  [APPS + 'ReplicaSet']: def({ metadata: struct(meta('ObjectMeta')), spec: struct(APPS + 'ReplicaSetSpec'), status: struct(APPS + 'ReplicaSetStatus') }),
  [APPS + 'ReplicaSetSpec']: def({ selector: struct(meta('LabelSelector')), template: struct(core('PodTemplateSpec')) }),
  [APPS + 'ReplicaSetStatus']: def({ conditions: conditions(APPS + 'ReplicaSetCondition') }),
  [APPS + 'StatefulSet']: def({ metadata: struct(meta('ObjectMeta')), spec: struct(APPS + 'StatefulSetSpec'), status: struct(APPS + 'StatefulSetStatus') }),
  [APPS + 'StatefulSetSpec']: def({
    selector: struct(meta('LabelSelector')),
    template: struct(core('PodTemplateSpec')),
    volumeClaimTemplates: atomicList(core('PersistentVolumeClaim')),
  }),
  [APPS + 'StatefulSetStatus']: def({ conditions: conditions(APPS + 'StatefulSetCondition') }),
  [APPS + 'DaemonSet']: def({ metadata: struct(meta('ObjectMeta')), spec: struct(APPS + 'DaemonSetSpec'), status: struct(APPS + 'DaemonSetStatus') }),
  [APPS + 'DaemonSetSpec']: def({ selector: struct(meta('LabelSelector')), template: struct(core('PodTemplateSpec')) }),
  [APPS + 'DaemonSetStatus']: def({ conditions: conditions(APPS + 'DaemonSetCondition') }),
  [APPS + 'ControllerRevision']: def({ metadata: struct(meta('ObjectMeta')), data: { type: 'untyped', untyped: 'atomic' } }),

  // batch/v1
  [BATCH + 'Job']: def({ metadata: struct(meta('ObjectMeta')), spec: struct(BATCH + 'JobSpec'), status: struct(BATCH + 'JobStatus') }),
  [BATCH + 'JobSpec']: def({
    selector: struct(meta('LabelSelector')),
    template: struct(core('PodTemplateSpec')),
    podFailurePolicy: struct(BATCH + 'PodFailurePolicy'),
    successPolicy: struct(BATCH + 'SuccessPolicy'),
  }),
  [BATCH + 'PodFailurePolicy']: def({ rules: atomicList(BATCH + 'PodFailurePolicyRule') }),
  [BATCH + 'SuccessPolicy']: def({ rules: atomicList(BATCH + 'SuccessPolicyRule') }),
  [BATCH + 'JobStatus']: def({
    // Merged by type for strategic merge patch, but atomic for apply.
    conditions: atomicList(BATCH + 'JobCondition', { patchStrategy: 'merge', patchMergeKey: 'type' }),
    uncountedTerminatedPods: struct(BATCH + 'UncountedTerminatedPods'),
  }),
  [BATCH + 'UncountedTerminatedPods']: def({ succeeded: setList(), failed: setList() }),

  // discovery.k8s.io/v1
  [DISCOVERY + 'EndpointSlice']: def({
    metadata: struct(meta('ObjectMeta')),
    endpoints: atomicList(DISCOVERY + 'Endpoint'),
    ports: atomicList(DISCOVERY + 'EndpointPort'),
  }),
  [DISCOVERY + 'Endpoint']: def({
    addresses: setList(),
    deprecatedTopology: stringMap(),
    targetRef: struct(core('ObjectReference')),
    hints: struct(DISCOVERY + 'EndpointHints'),
  }),
  [DISCOVERY + 'EndpointHints']: def({ forZones: atomicList(DISCOVERY + 'ForZone'), forNodes: atomicList(DISCOVERY + 'ForNode') }),
  [DISCOVERY + 'EndpointPort']: atomicDef(),

  // coordination.k8s.io/v1
  [COORDINATION + 'Lease']: def({ metadata: struct(meta('ObjectMeta')) }),

  // events.k8s.io/v1
  [EVENTS + 'Event']: def({
    metadata: struct(meta('ObjectMeta')),
    regarding: struct(core('ObjectReference')),
    related: struct(core('ObjectReference')),
  }),

  // networking.k8s.io/v1
  [NETWORKING + 'NetworkPolicy']: def({ metadata: struct(meta('ObjectMeta')), spec: struct(NETWORKING + 'NetworkPolicySpec') }),
  [NETWORKING + 'NetworkPolicySpec']: def({
    podSelector: struct(meta('LabelSelector')),
    ingress: atomicList(NETWORKING + 'NetworkPolicyIngressRule'),
    egress: atomicList(NETWORKING + 'NetworkPolicyEgressRule'),
    policyTypes: atomicList(),
  }),
  [NETWORKING + 'NetworkPolicyIngressRule']: def({ ports: atomicList(NETWORKING + 'NetworkPolicyPort'), from: atomicList(NETWORKING + 'NetworkPolicyPeer') }),
  [NETWORKING + 'NetworkPolicyEgressRule']: def({ ports: atomicList(NETWORKING + 'NetworkPolicyPort'), to: atomicList(NETWORKING + 'NetworkPolicyPeer') }),
  [NETWORKING + 'NetworkPolicyPeer']: def({
    podSelector: struct(meta('LabelSelector')),
    namespaceSelector: struct(meta('LabelSelector')),
    ipBlock: struct(NETWORKING + 'IPBlock'),
  }),
  [NETWORKING + 'IPBlock']: def({ except: atomicList() }),
  [NETWORKING + 'Ingress']: def({ metadata: struct(meta('ObjectMeta')), spec: struct(NETWORKING + 'IngressSpec'), status: struct(NETWORKING + 'IngressStatus') }),
  [NETWORKING + 'IngressSpec']: def({
    defaultBackend: struct(NETWORKING + 'IngressBackend'),
    tls: atomicList(NETWORKING + 'IngressTLS'),
    rules: atomicList(NETWORKING + 'IngressRule'),
  }),
  [NETWORKING + 'IngressBackend']: def({ resource: struct(core('TypedLocalObjectReference')) }),
  [NETWORKING + 'IngressTLS']: def({ hosts: atomicList() }),
  [NETWORKING + 'IngressRule']: def({ http: struct(NETWORKING + 'HTTPIngressRuleValue') }),
  [NETWORKING + 'HTTPIngressRuleValue']: def({ paths: atomicList(NETWORKING + 'HTTPIngressPath') }),
  [NETWORKING + 'IngressStatus']: def({ loadBalancer: struct(NETWORKING + 'IngressLoadBalancerStatus') }),
  [NETWORKING + 'IngressLoadBalancerStatus']: def({ ingress: atomicList(NETWORKING + 'IngressLoadBalancerIngress') }),
  [NETWORKING + 'IngressLoadBalancerIngress']: def({ ports: atomicList(NETWORKING + 'IngressPortStatus') }),
};

// Element types with nothing to merge inside (plain structs of scalars, or
// only ever inside atomic lists); listed so every reference resolves.
for (const n of [
  APPS + 'DaemonSetCondition',
  APPS + 'DeploymentCondition',
  APPS + 'ReplicaSetCondition',
  APPS + 'StatefulSetCondition',
  BATCH + 'JobCondition',
  BATCH + 'PodFailurePolicyRule',
  BATCH + 'SuccessPolicyRule',
  ...[
    'AttachedVolume',
    'ConfigMapEnvSource',
    'ContainerResizePolicy',
    'ContainerRestartRule',
    'ContainerStatus',
    'DownwardAPIVolumeFile',
    'HTTPHeader',
    'HostIP',
    'KeyToPath',
    'LoadBalancerIngress',
    'NamespaceCondition',
    'NodeAddress',
    'NodeCondition',
    'NodeRuntimeHandler',
    'NodeSelectorRequirement',
    'PersistentVolumeClaimCondition',
    'PodCondition',
    'PodDNSConfigOption',
    'PodIP',
    'PodOS',
    'PodReadinessGate',
    'PodResourceClaim',
    'PodResourceClaimStatus',
    'PodSchedulingGate',
    'PreferredSchedulingTerm',
    'ResourceClaim',
    'SecretEnvSource',
    'ServicePort',
    'Sysctl',
    'Taint',
    'Toleration',
    'VolumeProjection',
    'WeightedPodAffinityTerm',
  ].map(core),
  DISCOVERY + 'ForNode',
  DISCOVERY + 'ForZone',
  NETWORKING + 'HTTPIngressPath',
  NETWORKING + 'IngressPortStatus',
  NETWORKING + 'NetworkPolicyPort',
]) {
  DEFINITIONS[n] ??= def({});
}

/** GroupResource -> root definition. Subresources speak their parent's type. */
export const RESOURCE_TYPES: Record<GroupResource, string> = {
  '/pods': core('Pod'),
  '/services': core('Service'),
  '/endpoints': core('Endpoints'),
  '/nodes': core('Node'),
  '/configmaps': core('ConfigMap'),
  '/secrets': core('Secret'),
  '/serviceaccounts': core('ServiceAccount'),
  '/events': core('Event'),
  '/namespaces': core('Namespace'),
  'apps/deployments': APPS + 'Deployment',
  'apps/replicasets': APPS + 'ReplicaSet',
  'apps/statefulsets': APPS + 'StatefulSet',
  'apps/daemonsets': APPS + 'DaemonSet',
  'apps/controllerrevisions': APPS + 'ControllerRevision',
  'batch/jobs': BATCH + 'Job',
  'discovery.k8s.io/endpointslices': DISCOVERY + 'EndpointSlice',
  'coordination.k8s.io/leases': COORDINATION + 'Lease',
  'events.k8s.io/events': EVENTS + 'Event',
  'networking.k8s.io/networkpolicies': NETWORKING + 'NetworkPolicy',
  'networking.k8s.io/ingresses': NETWORKING + 'Ingress',
};

// ---------------------------------------------------------------------------
// Resolved schema nodes, used by the strategic merge patch and apply walkers.

/**
 * What the walkers see at one place in an object.
 *  - struct: named fields; fields the definition does not list are `open`.
 *  - open: a field the schema does not describe inside a typed struct; an
 *    object is an open struct, a list is atomic, anything else a scalar.
 *  - untyped: data without a schema (unknown resources, RawExtension);
 *    objects are granular maps (or atomic), lists atomic.
 */
export type SchemaNode =
  | { kind: 'scalar' }
  | { kind: 'struct'; name: string; def: TypeDef; atomic: boolean; undeclared: 'open' | 'untyped'; patchStrategy?: string }
  | { kind: 'map'; values: SchemaNode; atomic: boolean; patchStrategy?: string }
  | {
      kind: 'list';
      items: SchemaNode;
      listType: ListType;
      keys?: string[];
      keyDefaults?: Record<string, string | number>;
      patchStrategy?: string;
      mergeKey?: string;
    }
  | { kind: 'open'; patchStrategy?: string }
  | { kind: 'untyped'; atomic: boolean };

const SCALAR: SchemaNode = { kind: 'scalar' };
const OPEN: SchemaNode = { kind: 'open' };
const UNTYPED: SchemaNode = { kind: 'untyped', atomic: false };
const UNTYPED_ATOMIC: SchemaNode = { kind: 'untyped', atomic: true };
const EMPTY_DEF: TypeDef = { fields: {} };

function elementNode(name: string | undefined): SchemaNode {
  if (!name || name === 'scalar') return SCALAR;
  const d = DEFINITIONS[name];
  if (!d) return OPEN;
  return { kind: 'struct', name, def: d, atomic: d.structType === 'atomic', undeclared: 'open' };
}

function fieldNode(f: FieldSchema): SchemaNode {
  switch (f.type) {
    case 'scalar':
      return SCALAR;
    case 'untyped':
      return f.untyped === 'atomic' ? UNTYPED_ATOMIC : UNTYPED;
    case 'struct': {
      const n = elementNode(f.ref);
      if (f.patchStrategy && n.kind === 'struct') return { ...n, patchStrategy: f.patchStrategy };
      if (f.patchStrategy && n.kind === 'open') return { kind: 'open', patchStrategy: f.patchStrategy };
      return n;
    }
    case 'map':
      return { kind: 'map', values: elementNode(f.values), atomic: f.mapType === 'atomic', patchStrategy: f.patchStrategy };
    case 'list':
      return {
        kind: 'list',
        items: elementNode(f.items),
        listType: f.listType ?? 'atomic',
        keys: f.listMapKeys,
        keyDefaults: f.keyDefaults,
        patchStrategy: f.patchStrategy,
        mergeKey: f.patchMergeKey,
      };
  }
}

const UNKNOWN_ROOT: SchemaNode = {
  kind: 'struct',
  name: '',
  def: { fields: { metadata: struct(meta('ObjectMeta')) } },
  atomic: false,
  undeclared: 'untyped',
};

/** The schema of a resource; undefined when k8ts has none for it (custom resources). */
export function hasSchema(gr: GroupResource): boolean {
  return RESOURCE_TYPES[gr] !== undefined;
}

/** The root node of a resource. Unknown resources get a typed metadata and untyped everything else. */
export function rootNode(gr: GroupResource): SchemaNode {
  const name = RESOURCE_TYPES[gr];
  return name ? elementNode(name) : UNKNOWN_ROOT;
}

/** The node of field/map key `key` under `node` (for lists: of their elements). */
export function childNode(node: SchemaNode, key: string): SchemaNode {
  switch (node.kind) {
    case 'struct': {
      const f = node.def.fields[key];
      if (f) return fieldNode(f);
      return node.undeclared === 'untyped' ? UNTYPED : OPEN;
    }
    case 'map':
      return node.values;
    case 'list':
      return childNode(node.items, key);
    case 'open':
      return OPEN;
    case 'untyped':
      return node.atomic ? UNTYPED_ATOMIC : UNTYPED;
    case 'scalar':
      return OPEN;
  }
}

/** The node of the elements of a list node (OPEN/UNTYPED lists hold atomic data). */
export function itemsNode(node: SchemaNode): SchemaNode {
  if (node.kind === 'list') return node.items;
  if (node.kind === 'untyped') return UNTYPED_ATOMIC;
  return OPEN;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Resolves open/untyped nodes against a value: an object becomes a struct
 * (open) or a map (untyped), a list becomes an atomic list, anything else a
 * scalar. Typed nodes are returned as they are.
 */
export function resolveNode(node: SchemaNode, value: unknown): SchemaNode {
  if (node.kind === 'open') {
    if (isPlainObject(value)) return { kind: 'struct', name: '', def: EMPTY_DEF, atomic: false, undeclared: 'open', patchStrategy: node.patchStrategy };
    if (Array.isArray(value)) return { kind: 'list', items: OPEN, listType: 'atomic' };
    return SCALAR;
  }
  if (node.kind === 'untyped') {
    if (isPlainObject(value)) return { kind: 'map', values: node.atomic ? UNTYPED_ATOMIC : UNTYPED, atomic: node.atomic };
    if (Array.isArray(value)) return { kind: 'list', items: UNTYPED_ATOMIC, listType: 'atomic' };
    return SCALAR;
  }
  return node;
}

/** Walks a path of field names (lists are passed through to their elements, map keys select values). */
export function nodeAt(gr: GroupResource, path: string[]): SchemaNode | undefined {
  if (!hasSchema(gr)) return undefined;
  let cur: SchemaNode = rootNode(gr);
  for (const seg of path) {
    while (cur.kind === 'list') cur = cur.items;
    if (cur.kind === 'map') {
      cur = cur.values;
      continue;
    }
    if (cur.kind !== 'struct') return undefined;
    const f: FieldSchema | undefined = cur.def.fields[seg];
    if (!f) return undefined;
    cur = fieldNode(f);
  }
  return cur;
}

// ---------------------------------------------------------------------------
// Lookups

export interface ListMeta {
  /** The strategic-merge-patch strategy ('merge' when the tag is "merge,retainKeys"). */
  strategy?: 'merge' | 'replace' | 'retainKeys';
  /** True when the tag carries retainKeys ("merge,retainKeys"). */
  retainKeys?: boolean;
  /** The raw x-kubernetes-patch-strategy value. */
  patchStrategy?: string;
  mergeKey?: string;
  listType: ListType;
  mapKeys?: string[];
}

export function parsePatchStrategy(s: string | undefined): { strategy?: 'merge' | 'replace' | 'retainKeys'; retainKeys: boolean } {
  if (!s) return { retainKeys: false };
  const parts = s.split(',').map((p) => p.trim());
  const retainKeys = parts.includes('retainKeys');
  const main = parts.find((p) => p !== 'retainKeys') as 'merge' | 'replace' | undefined;
  return { strategy: main ?? (retainKeys ? 'retainKeys' : undefined), retainKeys };
}

/**
 * Patch and apply metadata of the list at `path` (field names from the
 * object root, e.g. ['spec','template','spec','containers','ports']), or
 * undefined when `path` is not a list k8ts knows (such lists are atomic and
 * replaced by patches).
 */
export function listMeta(gr: GroupResource, path: string[]): ListMeta | undefined {
  const n = nodeAt(gr, path);
  if (!n || n.kind !== 'list') return undefined;
  const { strategy, retainKeys } = parsePatchStrategy(n.patchStrategy);
  const m: ListMeta = { listType: n.listType };
  if (strategy) m.strategy = strategy;
  if (retainKeys) m.retainKeys = true;
  if (n.patchStrategy) m.patchStrategy = n.patchStrategy;
  if (n.mergeKey) m.mergeKey = n.mergeKey;
  if (n.keys) m.mapKeys = [...n.keys];
  return m;
}

/** True when the map or struct at `path` is atomic for apply (x-kubernetes-map-type: atomic). */
export function isAtomicMap(gr: GroupResource, path: string[]): boolean {
  const n = nodeAt(gr, path);
  if (!n) return false;
  if (n.kind === 'struct' || n.kind === 'map') return n.atomic;
  if (n.kind === 'untyped') return n.atomic;
  return false;
}

/** The raw field schema at `path` (undefined when k8ts does not describe it). */
export function fieldSchema(gr: GroupResource, path: string[]): FieldSchema | undefined {
  if (path.length === 0) return undefined;
  const parent = nodeAt(gr, path.slice(0, -1));
  if (!parent) return undefined;
  let p: SchemaNode = parent;
  while (p.kind === 'list') p = p.items;
  if (p.kind !== 'struct') return undefined;
  return p.def.fields[path[path.length - 1]];
}

/**
 * The OpenAPI vendor extensions of a field, as upstream publishes them
 * (x-kubernetes-patch-strategy, x-kubernetes-patch-merge-key,
 * x-kubernetes-list-type, x-kubernetes-list-map-keys, x-kubernetes-map-type).
 */
export function openAPIExtensions(f: FieldSchema): Record<string, unknown> {
  const ext: Record<string, unknown> = {};
  if (f.patchStrategy) ext['x-kubernetes-patch-strategy'] = f.patchStrategy;
  if (f.patchMergeKey) ext['x-kubernetes-patch-merge-key'] = f.patchMergeKey;
  if (f.type === 'list') ext['x-kubernetes-list-type'] = f.listType ?? 'atomic';
  if (f.type === 'list' && f.listMapKeys) ext['x-kubernetes-list-map-keys'] = [...f.listMapKeys];
  if (f.type === 'map' && f.mapType === 'atomic') ext['x-kubernetes-map-type'] = 'atomic';
  return ext;
}

/** The extensions of a definition itself (atomic structs carry x-kubernetes-map-type: atomic). */
export function definitionExtensions(name: string): Record<string, unknown> {
  const d = DEFINITIONS[name];
  return d?.structType === 'atomic' ? { 'x-kubernetes-map-type': 'atomic' } : {};
}
