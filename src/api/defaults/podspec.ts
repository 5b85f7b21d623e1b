// Defaults of pods and of the pod templates every workload embeds, as
// upstream's SetDefaults_PodSpec, SetDefaults_Container, SetDefaults_Probe,
// volume-source defaults, and (pods only) SetDefaults_Pod.

import { type Obj, arr, ensureObj, isObj, setDefault } from './util.js';

export const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 30;
export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';
export const TERMINATION_MESSAGE_PATH = '/dev/termination-log';
/** 0644, the default file mode of secret, configMap, downwardAPI and projected volumes. */
export const DEFAULT_VOLUME_MODE = 0o644;

/** The tag of an image reference ("" when there is none); whether it names a digest. */
export function parseImageTag(image: string): { tag: string; digest: boolean } {
  const at = image.indexOf('@');
  const digest = at >= 0;
  const name = digest ? image.slice(0, at) : image;
  const lastSegment = name.slice(name.lastIndexOf('/') + 1);
  const colon = lastSegment.lastIndexOf(':');
  return { tag: colon >= 0 ? lastSegment.slice(colon + 1) : '', digest };
}

/** Always for `:latest` or an untagged, undigested image; IfNotPresent otherwise. */
export function defaultPullPolicy(image: string): 'Always' | 'IfNotPresent' {
  const { tag, digest } = parseImageTag(image);
  return tag === 'latest' || (!tag && !digest) ? 'Always' : 'IfNotPresent';
}

/** Quantities are strings on the wire; a JSON number becomes its decimal string. */
export function normalizeResourceList(list: Obj): void {
  if (!isObj(list)) return;
  for (const [k, v] of Object.entries(list)) if (typeof v === 'number') list[k] = String(v);
}

function defaultHTTPGet(h: Obj): void {
  if (!isObj(h)) return;
  if (!h.path) h.path = '/';
  if (!h.scheme) h.scheme = 'HTTP';
}

function defaultProbe(p: Obj): void {
  if (!isObj(p)) return;
  if (!p.timeoutSeconds) p.timeoutSeconds = 1;
  if (!p.periodSeconds) p.periodSeconds = 10;
  if (!p.successThreshold) p.successThreshold = 1;
  if (!p.failureThreshold) p.failureThreshold = 3;
  defaultHTTPGet(p.httpGet);
}

function defaultFieldRef(ref: Obj): void {
  if (isObj(ref) && !ref.apiVersion) ref.apiVersion = 'v1';
}

export function defaultContainer(c: Obj): void {
  if (!isObj(c)) return;
  if (!c.imagePullPolicy) c.imagePullPolicy = defaultPullPolicy(typeof c.image === 'string' ? c.image : '');
  if (!c.terminationMessagePath) c.terminationMessagePath = TERMINATION_MESSAGE_PATH;
  if (!c.terminationMessagePolicy) c.terminationMessagePolicy = 'File';
  for (const p of arr(c.ports)) if (isObj(p) && !p.protocol) p.protocol = 'TCP';
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) defaultProbe(c[probe]);
  if (isObj(c.lifecycle)) for (const hook of ['postStart', 'preStop']) defaultHTTPGet(c.lifecycle[hook]?.httpGet);
  for (const e of arr(c.env)) defaultFieldRef(e?.valueFrom?.fieldRef);
  if (isObj(c.resources)) {
    normalizeResourceList(c.resources.limits);
    normalizeResourceList(c.resources.requests);
  }
}

/** PersistentVolumeClaim defaults, for claim templates (StatefulSets, generic ephemeral volumes). */
export function defaultPVCSpec(spec: Obj): void {
  if (!isObj(spec)) return;
  if (!spec.volumeMode) spec.volumeMode = 'Filesystem';
  if (isObj(spec.resources)) {
    normalizeResourceList(spec.resources.requests);
    normalizeResourceList(spec.resources.limits);
  }
}

/** Every volume source field of v1.VolumeSource, in upstream's checking order. */
export const VOLUME_SOURCE_KEYS = [
  'emptyDir',
  'hostPath',
  'gitRepo',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'secret',
  'nfs',
  'iscsi',
  'glusterfs',
  'flocker',
  'persistentVolumeClaim',
  'rbd',
  'cinder',
  'cephfs',
  'quobyte',
  'downwardAPI',
  'fc',
  'flexVolume',
  'configMap',
  'azureFile',
  'vsphereVolume',
  'photonPersistentDisk',
  'portworxVolume',
  'azureDisk',
  'storageos',
  'projected',
  'scaleIO',
  'csi',
  'ephemeral',
  'image',
];

export function defaultVolume(v: Obj): void {
  if (!isObj(v)) return;
  if (!VOLUME_SOURCE_KEYS.some((k) => v[k] !== undefined && v[k] !== null)) v.emptyDir = {};
  if (isObj(v.emptyDir)) normalizeResourceList(v.emptyDir);
  for (const k of ['secret', 'configMap', 'downwardAPI', 'projected']) {
    if (isObj(v[k])) setDefault(v[k], 'defaultMode', DEFAULT_VOLUME_MODE);
  }
  if (isObj(v.hostPath)) setDefault(v.hostPath, 'type', '');
  for (const item of arr(v.downwardAPI?.items)) defaultFieldRef(item?.fieldRef);
  for (const src of arr(v.projected?.sources)) {
    if (isObj(src?.serviceAccountToken)) setDefault(src.serviceAccountToken, 'expirationSeconds', 3600);
    for (const item of arr(src?.downwardAPI?.items)) defaultFieldRef(item?.fieldRef);
  }
  if (isObj(v.iscsi)) setDefault(v.iscsi, 'iscsiInterface', 'default');
  if (isObj(v.rbd)) {
    setDefault(v.rbd, 'pool', 'rbd');
    setDefault(v.rbd, 'user', 'admin');
    setDefault(v.rbd, 'keyring', '/etc/ceph/keyring');
  }
  if (isObj(v.ephemeral?.volumeClaimTemplate)) defaultPVCSpec(v.ephemeral.volumeClaimTemplate.spec);
}

/** Defaults every PodSpec gets, in pods and in templates alike. */
export function defaultPodSpec(spec: Obj): void {
  if (!isObj(spec)) return;
  if (!spec.dnsPolicy) spec.dnsPolicy = 'ClusterFirst';
  if (!spec.restartPolicy) spec.restartPolicy = 'Always';
  if (!isObj(spec.securityContext)) spec.securityContext = {};
  setDefault(spec, 'terminationGracePeriodSeconds', DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS);
  if (!spec.schedulerName) spec.schedulerName = DEFAULT_SCHEDULER_NAME;
  for (const list of ['containers', 'initContainers', 'ephemeralContainers']) for (const c of arr(spec[list])) defaultContainer(c);
  for (const v of arr(spec.volumes)) defaultVolume(v);
  normalizeResourceList(spec.overhead);
}

export function defaultPodTemplateSpec(template: Obj): void {
  if (!isObj(template)) return;
  defaultPodSpec(ensureObj(template, 'spec'));
}

/** Pod-only defaults: requests from limits, service links, host ports on the host network. */
export function defaultPod(pod: Obj): void {
  const spec = ensureObj(pod, 'spec');
  defaultPodSpec(spec);
  for (const list of ['containers', 'initContainers']) {
    for (const c of arr(spec[list])) {
      const limits = c?.resources?.limits;
      if (!isObj(limits)) continue;
      const requests = ensureObj(c.resources, 'requests');
      for (const [k, v] of Object.entries(limits)) if (!(k in requests)) requests[k] = v;
    }
  }
  setDefault(spec, 'enableServiceLinks', true);
  if (spec.hostNetwork === true) {
    for (const list of ['containers', 'initContainers']) {
      for (const c of arr(spec[list])) for (const p of arr(c?.ports)) if (isObj(p) && !p.hostPort) p.hostPort = p.containerPort;
    }
  }
}
