// Generates src/api/protobuf/schema.json: the field table the Kubernetes
// protobuf decoder (src/api/protobuf/) walks. It is derived from upstream's
// generated.proto interface descriptions (k8s.io/api/<group>/<version>,
// k8s.io/apimachinery meta/v1, runtime, intstr, resource), which are NOT kept
// in this repository: fetch them into a scratch directory (tmp/proto/ is
// gitignored) and point the generator at it.
//
//   npx tsx scripts/gen-proto-schema.ts [--proto-dir tmp/proto] [--check]
//
// The table holds, for every message reachable from the kinds in RESOURCES
// (plus autoscaling/v1 Scale, policy/v1 Eviction, core/v1 Binding and
// meta/v1 DeleteOptions), field number -> {name, kind, repeated?, type?,
// value?, inline?, ptr?}:
//   kind   'string' | 'int' | 'bool' | 'bytes' | 'double' | 'message' | 'map'
//   type   the message a 'message' field (or a 'map' field's value) holds
//   value  a map's value kind (keys are always strings in Kubernetes)
//   inline the field is a Go embedded struct: JSON inlines its fields
//   ptr    the Go field is a pointer, so a zero value on the wire is a real,
//          explicitly set value (JSON keeps it); non-pointer zero scalars are
//          `omitempty` in upstream's JSON and the decoder drops them
//
// The .proto files say nothing about Go embedding or pointers; those two
// facts come from upstream's types.go and are listed by hand below.

import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESOURCES } from '../src/api/registry.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.join(here, '..');
const OUT = path.join(ROOT, 'src', 'api', 'protobuf', 'schema.json');

type Kind = 'string' | 'int' | 'bool' | 'bytes' | 'double' | 'message' | 'map';
interface Field {
  name: string;
  kind: Kind;
  repeated?: true;
  type?: string;
  value?: Kind;
  inline?: true;
  ptr?: true;
}
type Message = Record<string, Field>;

// ---------------------------------------------------------------------------
// Names: fully qualified proto names are shortened to keep the table small.

const PREFIXES: Array<[string, string]> = [
  ['k8s.io.apimachinery.pkg.apis.meta.', 'meta.'],
  ['k8s.io.apimachinery.pkg.util.intstr.', 'intstr.'],
  ['k8s.io.apimachinery.pkg.api.resource.', 'resource.'],
  ['k8s.io.apimachinery.pkg.runtime.', 'runtime.'],
  ['k8s.io.api.', ''],
];

function shortName(fq: string): string {
  for (const [long, short] of PREFIXES) if (fq.startsWith(long)) return short + fq.slice(long.length);
  return fq;
}

// ---------------------------------------------------------------------------
// Facts from upstream's Go types that .proto cannot express.

/** Go embedded structs (`json:",inline"`): message.field. */
const INLINE = new Set([
  'core.v1.ConfigMapEnvSource.localObjectReference',
  'core.v1.ConfigMapKeySelector.localObjectReference',
  'core.v1.ConfigMapProjection.localObjectReference',
  'core.v1.ConfigMapVolumeSource.localObjectReference',
  'core.v1.SecretEnvSource.localObjectReference',
  'core.v1.SecretKeySelector.localObjectReference',
  'core.v1.SecretProjection.localObjectReference',
  'core.v1.EphemeralContainer.ephemeralContainerCommon',
  'core.v1.Probe.handler',
  'core.v1.Volume.volumeSource',
  'core.v1.PersistentVolumeSpec.persistentVolumeSource',
  'networking.v1.IngressRule.ingressRuleValue',
]);

/** Proto field names that differ from the JSON names. */
const JSON_NAME: Record<string, string> = {
  'networking.v1.IngressClassParametersReference.aPIGroup': 'apiGroup',
};

/** Scalar fields that are pointers in Go (message.field or message.*). */
const POINTERS: Record<string, string[]> = {
  'core.v1.PodSpec': [
    'terminationGracePeriodSeconds', 'activeDeadlineSeconds', 'automountServiceAccountToken', 'shareProcessNamespace',
    'priority', 'runtimeClassName', 'enableServiceLinks', 'preemptionPolicy', 'setHostnameAsFQDN', 'hostUsers',
    'hostnameOverride',
  ],
  'core.v1.PodSecurityContext': [
    'runAsUser', 'runAsGroup', 'runAsNonRoot', 'fsGroup', 'fsGroupChangePolicy', 'supplementalGroupsPolicy',
    'seLinuxChangePolicy',
  ],
  'core.v1.SecurityContext': [
    'privileged', 'runAsUser', 'runAsGroup', 'runAsNonRoot', 'readOnlyRootFilesystem', 'allowPrivilegeEscalation',
    'procMount',
  ],
  'core.v1.WindowsSecurityContextOptions': ['*'],
  'core.v1.Container': ['restartPolicy'],
  'core.v1.EphemeralContainerCommon': ['restartPolicy'],
  'core.v1.ContainerStatus': ['started', 'stopSignal'],
  'core.v1.Probe': ['terminationGracePeriodSeconds'],
  'core.v1.Lifecycle': ['stopSignal'],
  'core.v1.GRPCAction': ['service'],
  'core.v1.VolumeMount': ['recursiveReadOnly', 'mountPropagation'],
  'core.v1.VolumeMountStatus': ['recursiveReadOnly'],
  'core.v1.ConfigMapVolumeSource': ['defaultMode', 'optional'],
  'core.v1.SecretVolumeSource': ['defaultMode', 'optional'],
  'core.v1.DownwardAPIVolumeSource': ['defaultMode'],
  'core.v1.ProjectedVolumeSource': ['defaultMode'],
  'core.v1.KeyToPath': ['mode'],
  'core.v1.DownwardAPIVolumeFile': ['mode'],
  'core.v1.ConfigMapProjection': ['optional'],
  'core.v1.SecretProjection': ['optional'],
  'core.v1.ConfigMapEnvSource': ['optional'],
  'core.v1.SecretEnvSource': ['optional'],
  'core.v1.ConfigMapKeySelector': ['optional'],
  'core.v1.SecretKeySelector': ['optional'],
  'core.v1.FileKeySelector': ['optional'],
  'core.v1.ServiceAccountTokenProjection': ['expirationSeconds'],
  'core.v1.ClusterTrustBundleProjection': ['name', 'signerName', 'optional'],
  'core.v1.PodCertificateProjection': ['maxExpirationSeconds'],
  'core.v1.CSIVolumeSource': ['readOnly', 'fsType'],
  'core.v1.HostPathVolumeSource': ['type'],
  'core.v1.AzureDiskVolumeSource': ['cachingMode', 'fsType', 'readOnly', 'kind'],
  'core.v1.ISCSIVolumeSource': ['initiatorName'],
  'core.v1.ISCSIPersistentVolumeSource': ['initiatorName'],
  'core.v1.Toleration': ['tolerationSeconds'],
  'core.v1.TopologySpreadConstraint': ['minDomains', 'nodeAffinityPolicy', 'nodeTaintsPolicy'],
  'core.v1.PodDNSConfigOption': ['value'],
  'core.v1.AppArmorProfile': ['localhostProfile'],
  'core.v1.SeccompProfile': ['localhostProfile'],
  'core.v1.PodResourceClaim': ['resourceClaimName', 'resourceClaimTemplateName'],
  'core.v1.PodResourceClaimStatus': ['resourceClaimName'],
  'core.v1.ResourceHealth': ['message'],
  'core.v1.ServiceSpec': [
    'ipFamilyPolicy', 'allocateLoadBalancerNodePorts', 'loadBalancerClass', 'internalTrafficPolicy', 'trafficDistribution',
  ],
  'core.v1.ServicePort': ['appProtocol'],
  'core.v1.ClientIPConfig': ['timeoutSeconds'],
  'core.v1.LoadBalancerIngress': ['ipMode'],
  'core.v1.PortStatus': ['error'],
  'core.v1.EndpointPort': ['appProtocol'],
  'core.v1.EndpointAddress': ['nodeName'],
  'core.v1.Secret': ['immutable'],
  'core.v1.ConfigMap': ['immutable'],
  'core.v1.ServiceAccount': ['automountServiceAccountToken'],
  'core.v1.ReplicationControllerSpec': ['replicas'],
  'core.v1.PersistentVolumeClaimSpec': ['storageClassName', 'volumeMode', 'volumeAttributesClassName'],
  'core.v1.PersistentVolumeClaimStatus': ['currentVolumeAttributesClassName'],
  'core.v1.NodeFeatures': ['supplementalGroupsPolicy', 'containerUlimits'],
  'core.v1.NodeRuntimeHandlerFeatures': ['recursiveReadOnlyMounts', 'userNamespaces'],
  'core.v1.NodeSwapStatus': ['capacity'],
  'meta.v1.ObjectMeta': ['deletionGracePeriodSeconds'],
  'meta.v1.OwnerReference': ['controller', 'blockOwnerDeletion'],
  'meta.v1.DeleteOptions': ['gracePeriodSeconds', 'orphanDependents', 'propagationPolicy', 'ignoreStoreReadErrorWithClusterBreakingPotential'],
  'meta.v1.Preconditions': ['uid', 'resourceVersion'],
  'meta.v1.ListMeta': ['remainingItemCount'],
  'apps.v1.DeploymentSpec': ['replicas', 'revisionHistoryLimit', 'progressDeadlineSeconds', 'podReplacementPolicy'],
  'apps.v1.DeploymentStatus': ['collisionCount', 'terminatingReplicas'],
  'apps.v1.ReplicaSetSpec': ['replicas'],
  'apps.v1.ReplicaSetStatus': ['terminatingReplicas'],
  'apps.v1.StatefulSetSpec': ['replicas', 'revisionHistoryLimit'],
  'apps.v1.StatefulSetStatus': ['collisionCount'],
  'apps.v1.RollingUpdateStatefulSetStrategy': ['partition'],
  'apps.v1.DaemonSetSpec': ['revisionHistoryLimit'],
  'apps.v1.DaemonSetStatus': ['collisionCount'],
  'batch.v1.JobSpec': [
    'parallelism', 'completions', 'activeDeadlineSeconds', 'backoffLimit', 'backoffLimitPerIndex', 'maxFailedIndexes',
    'manualSelector', 'ttlSecondsAfterFinished', 'completionMode', 'suspend', 'podReplacementPolicy', 'managedBy',
  ],
  'batch.v1.JobStatus': ['ready', 'terminating', 'failedIndexes'],
  'batch.v1.PodFailurePolicyOnExitCodesRequirement': ['containerName'],
  'batch.v1.SuccessPolicyRule': ['succeededIndexes', 'succeededCount'],
  'batch.v1.CronJobSpec': [
    'timeZone', 'startingDeadlineSeconds', 'suspend', 'successfulJobsHistoryLimit', 'failedJobsHistoryLimit',
  ],
  'discovery.v1.Endpoint': ['hostname', 'nodeName', 'zone'],
  'discovery.v1.EndpointConditions': ['*'],
  'discovery.v1.EndpointPort': ['*'],
  'coordination.v1.LeaseSpec': ['*'],
  'networking.v1.NetworkPolicyPort': ['protocol', 'endPort'],
  'networking.v1.IngressSpec': ['ingressClassName'],
  'networking.v1.HTTPIngressPath': ['pathType'],
  'networking.v1.IngressPortStatus': ['error'],
  'policy.v1.PodDisruptionBudgetSpec': ['unhealthyPodEvictionPolicy'],
  'autoscaling.v1.HorizontalPodAutoscalerSpec': ['minReplicas', 'targetCPUUtilizationPercentage'],
  'autoscaling.v1.HorizontalPodAutoscalerStatus': ['observedGeneration', 'currentCPUUtilizationPercentage'],
};

// ---------------------------------------------------------------------------
// A small .proto reader: package, messages (not nested), fields, maps.

const SCALARS: Record<string, Kind> = {
  string: 'string',
  bytes: 'bytes',
  bool: 'bool',
  int32: 'int',
  int64: 'int',
  uint32: 'int',
  uint64: 'int',
  sint32: 'int',
  sint64: 'int',
  double: 'double',
  float: 'double',
};

interface RawField {
  label: 'optional' | 'repeated' | 'map';
  type: string;
  valueType?: string;
  name: string;
  number: number;
}

function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');
}

function parseProto(text: string, file: string, into: Map<string, { pkg: string; fields: RawField[] }>) {
  const src = stripComments(text);
  const pkg = /\bpackage\s+([\w.]+)\s*;/.exec(src)?.[1];
  if (!pkg) throw new Error(`${file}: no package statement`);
  const re = /\bmessage\s+(\w+)\s*\{([^{}]*)\}/g;
  for (let m = re.exec(src); m; m = re.exec(src)) {
    const [, name, body] = m;
    const fields: RawField[] = [];
    for (const stmt of body!.split(';')) {
      const s = stmt.trim();
      if (!s || s.startsWith('option ') || s.startsWith('reserved ')) continue;
      let f = /^map\s*<\s*([\w.]+)\s*,\s*([\w.]+)\s*>\s+(\w+)\s*=\s*(\d+)(\s*\[.*\])?$/.exec(s);
      if (f) {
        if (f[1] !== 'string') throw new Error(`${file}: ${name}.${f[3]}: map keys other than string are not supported`);
        fields.push({ label: 'map', type: f[1]!, valueType: f[2]!, name: f[3]!, number: Number(f[4]) });
        continue;
      }
      f = /^(optional|repeated|required)\s+([\w.]+)\s+(\w+)\s*=\s*(\d+)(\s*\[.*\])?$/.exec(s);
      if (!f) throw new Error(`${file}: ${name}: cannot read field statement: ${s}`);
      fields.push({
        label: f[1] === 'repeated' ? 'repeated' : 'optional',
        type: f[2]!,
        name: f[3]!,
        number: Number(f[4]),
      });
    }
    const fq = `${pkg}.${name}`;
    if (into.has(fq)) throw new Error(`${file}: message ${fq} defined twice`);
    into.set(fq, { pkg, fields });
  }
}

function resolveType(t: string, pkg: string): string {
  if (t.startsWith('.')) return t.slice(1);
  if (t.includes('.')) return t; // already fully qualified (package-relative names are not used upstream)
  return `${pkg}.${t}`;
}

// ---------------------------------------------------------------------------

function main() {
  const args = process.argv.slice(2);
  const check = args.includes('--check');
  const dirArg = args.indexOf('--proto-dir');
  const protoDir = path.resolve(ROOT, dirArg >= 0 ? args[dirArg + 1]! : 'tmp/proto');
  if (!existsSync(protoDir)) {
    console.error(`no .proto directory at ${protoDir}; fetch upstream's generated.proto files there first`);
    process.exit(2);
  }

  const raw = new Map<string, { pkg: string; fields: RawField[] }>();
  for (const f of readdirSync(protoDir).filter((x) => x.endsWith('.proto')).sort()) {
    parseProto(readFileSync(path.join(protoDir, f), 'utf8'), f, raw);
  }

  // Roots: every kind k8ts serves, plus the subresource and option kinds.
  const kinds: Record<string, string> = {};
  const pkgOf = (group: string, version: string) => `k8s.io.api.${group ? group.split('.')[0] : 'core'}.${version}`;
  const addKind = (apiVersion: string, kind: string, fq: string) => {
    if (!raw.has(fq)) {
      console.error(`warning: no message ${fq} for ${apiVersion} ${kind}`);
      return;
    }
    kinds[`${apiVersion}/${kind}`] = shortName(fq);
  };
  for (const r of RESOURCES) addKind(r.group ? `${r.group}/${r.version}` : r.version, r.kind, `${pkgOf(r.group, r.version)}.${r.kind}`);
  addKind('autoscaling/v1', 'Scale', 'k8s.io.api.autoscaling.v1.Scale');
  addKind('policy/v1', 'Eviction', 'k8s.io.api.policy.v1.Eviction');
  addKind('v1', 'Binding', 'k8s.io.api.core.v1.Binding');
  // DeleteOptions is registered in every group version; '*/' means any.
  kinds['*/DeleteOptions'] = shortName('k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions');

  // Walk everything reachable.
  const messages: Record<string, Message> = {};
  const missing = new Set<string>();
  const queue = Object.values(kinds).map((s) => [...raw.keys()].find((fq) => shortName(fq) === s)!);
  const seen = new Set<string>();
  while (queue.length) {
    const fq = queue.shift()!;
    if (seen.has(fq)) continue;
    seen.add(fq);
    const def = raw.get(fq);
    if (!def) {
      missing.add(fq);
      continue;
    }
    const short = shortName(fq);
    const msg: Message = {};
    const pointers = POINTERS[short] ?? [];
    for (const rf of def.fields) {
      const key = `${short}.${rf.name}`;
      const name = JSON_NAME[key] ?? rf.name;
      let field: Field;
      if (rf.label === 'map') {
        const v = rf.valueType!;
        if (SCALARS[v]) field = { name, kind: 'map', value: SCALARS[v] };
        else {
          const t = resolveType(v, def.pkg);
          queue.push(t);
          field = { name, kind: 'map', value: 'message', type: shortName(t) };
        }
      } else if (SCALARS[rf.type]) {
        field = { name, kind: SCALARS[rf.type]! };
      } else {
        const t = resolveType(rf.type, def.pkg);
        queue.push(t);
        field = { name, kind: 'message', type: shortName(t) };
      }
      if (rf.label === 'repeated') field.repeated = true;
      if (INLINE.has(key)) field.inline = true;
      if (field.kind !== 'message' && field.kind !== 'map' && !field.repeated && (pointers.includes('*') || pointers.includes(rf.name)))
        field.ptr = true;
      msg[String(rf.number)] = field;
    }
    messages[short] = msg;
  }
  for (const key of INLINE) {
    const [msg, field] = [key.slice(0, key.lastIndexOf('.')), key.slice(key.lastIndexOf('.') + 1)];
    if (messages[msg] && !Object.values(messages[msg]!).some((f) => f.name === field)) console.error(`warning: inline ${key} not found`);
  }
  for (const [msg, names] of Object.entries(POINTERS)) {
    if (!messages[msg]) continue;
    for (const n of names) if (n !== '*' && !Object.values(messages[msg]!).some((f) => f.name === n)) console.error(`warning: pointer ${msg}.${n} not found`);
  }
  if (missing.size) console.error(`warning: referenced but not defined (decoded as unknown): ${[...missing].sort().join(', ')}`);

  // Compact but diffable: one message per line.
  const sortedMsgs = Object.keys(messages).sort();
  const lines = [
    '{',
    `"comment": "Generated by scripts/gen-proto-schema.ts from upstream generated.proto files; do not edit.",`,
    `"kinds": ${JSON.stringify(Object.fromEntries(Object.entries(kinds).sort(([a], [b]) => a.localeCompare(b))))},`,
    '"messages": {',
    sortedMsgs.map((m) => `${JSON.stringify(m)}: ${JSON.stringify(messages[m])}`).join(',\n'),
    '}',
    '}',
  ];
  const out = lines.join('\n') + '\n';
  if (check) {
    const cur = existsSync(OUT) ? readFileSync(OUT, 'utf8') : '';
    if (cur !== out) {
      console.error(`${path.relative(ROOT, OUT)} is stale; run npx tsx scripts/gen-proto-schema.ts`);
      process.exit(1);
    }
    console.log(`${path.relative(ROOT, OUT)} is up to date`);
    return;
  }
  writeFileSync(OUT, out);
  console.log(`wrote ${path.relative(ROOT, OUT)}: ${Object.keys(kinds).length} kinds, ${sortedMsgs.length} messages, ${out.length} bytes`);
}

main();
