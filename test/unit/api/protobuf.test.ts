import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ProtobufError,
  decodeK8sProtobuf,
  encodeK8sProtobuf,
  formatDuration,
  hasProtobufSchema,
  isProtobufContentType,
  parseDuration,
} from '../../../src/api/protobuf/index.js';
import { Writer } from '../../../src/api/protobuf/wire.js';
import { RESOURCES, apiVersionOf } from '../../../src/api/registry.js';

type Obj = Record<string, unknown>;

const roundTrip = (obj: Obj) => decodeK8sProtobuf(encodeK8sProtobuf(obj));

// Wraps an object's raw message bytes in the magic + runtime.Unknown envelope.
function envelope(apiVersion: string, kind: string, raw: Uint8Array): Uint8Array {
  const tm = new Writer();
  tm.string(1, apiVersion);
  tm.string(2, kind);
  const u = new Writer();
  u.bytes(1, tm.finish());
  u.bytes(2, raw);
  return Buffer.concat([Buffer.from('k8s\0', 'latin1'), u.finish()]);
}

// ---------------------------------------------------------------------------
// Round trips

test('round trip: Namespace', () => {
  const ns = {
    kind: 'Namespace',
    apiVersion: 'v1',
    metadata: { name: 'demo', labels: { team: 'a', empty: '' }, annotations: { note: 'x' }, creationTimestamp: '2026-01-02T03:04:05Z' },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
  assert.deepEqual(roundTrip(ns), ns);
});

test('round trip: Pod with containers, ports, env, resources, probes, volumes', () => {
  const pod = {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: {
      name: 'web-1',
      namespace: 'default',
      uid: '5f0c3a2e-1111-2222-3333-444455556666',
      resourceVersion: '42',
      generation: 3,
      creationTimestamp: '2026-01-02T03:04:05Z',
      deletionTimestamp: '2026-01-02T04:00:00Z',
      deletionGracePeriodSeconds: 30,
      labels: { app: 'web' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-abc', uid: 'u-1', controller: true, blockOwnerDeletion: true }],
      finalizers: ['example.com/f'],
      managedFields: [
        {
          manager: 'kubectl',
          operation: 'Update',
          apiVersion: 'v1',
          time: '2026-01-02T03:04:05Z',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } } },
        },
      ],
    },
    spec: {
      volumes: [
        { name: 'cfg', configMap: { name: 'web-config', items: [{ key: 'a', path: 'a.txt', mode: 420 }], defaultMode: 420, optional: false } },
        { name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
        { name: 'sec', secret: { secretName: 's', defaultMode: 256 } },
        {
          name: 'proj',
          projected: {
            sources: [
              { serviceAccountToken: { path: 'token', expirationSeconds: 3600 } },
              { downwardAPI: { items: [{ path: 'labels', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.labels' } }] } },
            ],
          },
        },
      ],
      initContainers: [{ name: 'init', image: 'busybox', command: ['sh', '-c', 'true'] }],
      containers: [
        {
          name: 'web',
          image: 'nginx:1.27',
          command: ['nginx'],
          args: ['-g', 'daemon off;'],
          workingDir: '/srv',
          ports: [
            { name: 'http', containerPort: 80, protocol: 'TCP' },
            { name: 'dns', containerPort: 53, hostPort: 5353, protocol: 'UDP', hostIP: '127.0.0.1' },
          ],
          envFrom: [{ prefix: 'CFG_', configMapRef: { name: 'web-config', optional: true } }, { secretRef: { name: 's' } }],
          env: [
            { name: 'MODE', value: 'prod' },
            { name: 'POD_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } } },
            { name: 'PASS', valueFrom: { secretKeyRef: { name: 's', key: 'p', optional: false } } },
            { name: 'LIMIT', valueFrom: { resourceFieldRef: { containerName: 'web', resource: 'limits.memory', divisor: '1Mi' } } },
          ],
          resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '250m', memory: '64Mi' } },
          volumeMounts: [{ name: 'cfg', mountPath: '/etc/web', readOnly: true, subPath: 'x' }],
          livenessProbe: {
            httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP', httpHeaders: [{ name: 'X-Probe', value: '1' }] },
            initialDelaySeconds: 5,
            periodSeconds: 10,
            timeoutSeconds: 1,
            successThreshold: 1,
            failureThreshold: 3,
          },
          readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 2 },
          startupProbe: { exec: { command: ['cat', '/tmp/ready'] }, failureThreshold: 30, terminationGracePeriodSeconds: 0 },
          lifecycle: { preStop: { sleep: { seconds: 5 } }, postStart: { exec: { command: ['true'] } } },
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
          imagePullPolicy: 'IfNotPresent',
          securityContext: {
            capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] },
            privileged: false,
            runAsUser: 0,
            runAsNonRoot: false,
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          stdin: true,
          tty: true,
        },
      ],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 0,
      activeDeadlineSeconds: 600,
      dnsPolicy: 'ClusterFirst',
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      serviceAccountName: 'default',
      automountServiceAccountToken: false,
      nodeName: 'node-1',
      hostNetwork: true,
      securityContext: { fsGroup: 2000, runAsGroup: 3000, supplementalGroups: [4000, 5000], sysctls: [{ name: 'net.ipv4.ip_forward', value: '1' }] },
      imagePullSecrets: [{ name: 'regcred' }],
      hostname: 'web',
      subdomain: 'svc',
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }] }],
          },
        },
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 100, podAffinityTerm: { labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'kubernetes.io/hostname' } },
          ],
        },
      },
      schedulerName: 'default-scheduler',
      tolerations: [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        { operator: 'Exists' },
      ],
      hostAliases: [{ ip: '10.0.0.1', hostnames: ['db'] }],
      priority: 0,
      dnsConfig: { nameservers: ['10.96.0.10'], searches: ['svc.cluster.local'], options: [{ name: 'ndots', value: '2' }] },
      enableServiceLinks: false,
      preemptionPolicy: 'PreemptLowerPriority',
      topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } } }],
      ephemeralContainers: [{ name: 'debug', image: 'busybox', stdin: true, targetContainerName: 'web' }],
    },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: '2026-01-02T03:04:10Z' }],
      hostIP: '192.168.1.10',
      podIP: '10.244.0.5',
      podIPs: [{ ip: '10.244.0.5' }],
      startTime: '2026-01-02T03:04:06Z',
      containerStatuses: [
        {
          name: 'web',
          state: { running: { startedAt: '2026-01-02T03:04:07Z' } },
          lastState: { terminated: { exitCode: 137, signal: 9, reason: 'OOMKilled', startedAt: '2026-01-02T03:00:00Z', finishedAt: '2026-01-02T03:04:00Z' } },
          ready: true,
          restartCount: 1,
          image: 'nginx:1.27',
          imageID: 'docker.io/library/nginx@sha256:abc',
          containerID: 'containerd://abc',
          started: true,
        },
      ],
      qosClass: 'Burstable',
    },
  };
  assert.deepEqual(roundTrip(pod), pod);
});

test('round trip: Deployment with strategy and IntOrString maxSurge "25%"', () => {
  const d = {
    kind: 'Deployment',
    apiVersion: 'apps/v1',
    metadata: { name: 'web', namespace: 'prod', labels: { app: 'web' }, creationTimestamp: null },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] },
      template: {
        metadata: { labels: { app: 'web' }, creationTimestamp: null },
        spec: { containers: [{ name: 'web', image: 'nginx', resources: {} }] },
      },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 1 } },
      minReadySeconds: 5,
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    },
    status: {
      observedGeneration: 2,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      conditions: [
        {
          type: 'Available',
          status: 'True',
          lastUpdateTime: '2026-01-02T03:04:05Z',
          lastTransitionTime: '2026-01-02T03:04:05Z',
          reason: 'MinimumReplicasAvailable',
          message: 'Deployment has minimum availability.',
        },
      ],
    },
  };
  assert.deepEqual(roundTrip(d), d);
});

test('round trip: Service with targetPort as number and as name', () => {
  const svc = {
    kind: 'Service',
    apiVersion: 'v1',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      ports: [
        { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 },
        { name: 'metrics', protocol: 'TCP', port: 9090, targetPort: 'metrics', nodePort: 30090, appProtocol: 'http' },
      ],
      selector: { app: 'web' },
      clusterIP: '10.96.0.20',
      clusterIPs: ['10.96.0.20'],
      type: 'NodePort',
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
      externalTrafficPolicy: 'Local',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      internalTrafficPolicy: 'Cluster',
      publishNotReadyAddresses: true,
    },
    status: { loadBalancer: { ingress: [{ ip: '192.0.2.1', ipMode: 'VIP', ports: [{ port: 80, protocol: 'TCP', error: 'x' }] }] } },
  };
  assert.deepEqual(roundTrip(svc), svc);
});

test('round trip: Secret (bytes as base64) and ConfigMap (binaryData)', () => {
  const secret = {
    kind: 'Secret',
    apiVersion: 'v1',
    metadata: { name: 's', namespace: 'default' },
    immutable: true,
    data: { password: Buffer.from('hunter2').toString('base64'), bin: Buffer.from([0, 255, 1, 254]).toString('base64'), empty: '' },
    stringData: { user: 'admin' },
    type: 'Opaque',
  };
  assert.deepEqual(roundTrip(secret), secret);
  const cm = {
    kind: 'ConfigMap',
    apiVersion: 'v1',
    metadata: { name: 'c', namespace: 'default' },
    data: { 'app.properties': 'a=1\nb=2\n', ünïcode: '✓' },
    binaryData: { blob: Buffer.from([1, 2, 3]).toString('base64') },
  };
  assert.deepEqual(roundTrip(cm), cm);
});

test('round trip: DeleteOptions (any group version), Eviction, Binding, Scale', () => {
  const del = {
    kind: 'DeleteOptions',
    apiVersion: 'v1',
    gracePeriodSeconds: 0,
    preconditions: { uid: 'u-1', resourceVersion: '7' },
    propagationPolicy: 'Foreground',
    dryRun: ['All'],
    orphanDependents: false,
  };
  assert.deepEqual(roundTrip(del), del);
  assert.deepEqual(roundTrip({ ...del, apiVersion: 'apps/v1' }), { ...del, apiVersion: 'apps/v1' });
  const ev = {
    kind: 'Eviction',
    apiVersion: 'policy/v1',
    metadata: { name: 'web-1', namespace: 'default' },
    deleteOptions: { gracePeriodSeconds: 30 },
  };
  assert.deepEqual(roundTrip(ev), ev);
  const b = { kind: 'Binding', apiVersion: 'v1', metadata: { name: 'p', namespace: 'default' }, target: { kind: 'Node', name: 'node-1' } };
  assert.deepEqual(roundTrip(b), b);
  const sc = { kind: 'Scale', apiVersion: 'autoscaling/v1', metadata: { name: 'web' }, spec: { replicas: 0 }, status: { replicas: 2, selector: 'app=web' } };
  // ScaleSpec.replicas is not a pointer upstream: its zero is omitted, as in upstream's JSON.
  assert.deepEqual(roundTrip(sc), { ...sc, spec: {} });
});

test('round trip: Lease and Events (MicroTime has 6 fractional digits)', () => {
  const lease = {
    kind: 'Lease',
    apiVersion: 'coordination.k8s.io/v1',
    metadata: { name: 'node-1', namespace: 'kube-node-lease' },
    spec: {
      holderIdentity: 'node-1',
      leaseDurationSeconds: 40,
      acquireTime: '2026-01-02T03:04:05.123456Z',
      renewTime: '2026-01-02T03:04:45.000001Z',
      leaseTransitions: 0,
    },
  };
  assert.deepEqual(roundTrip(lease), lease);
  const ev = {
    kind: 'Event',
    apiVersion: 'v1',
    metadata: { name: 'web.1', namespace: 'default' },
    involvedObject: { kind: 'Pod', namespace: 'default', name: 'web', uid: 'u', apiVersion: 'v1', fieldPath: 'spec.containers{web}' },
    reason: 'Pulled',
    message: 'pulled',
    source: { component: 'kubelet', host: 'node-1' },
    firstTimestamp: '2026-01-02T03:04:05Z',
    lastTimestamp: '2026-01-02T03:04:06Z',
    count: 2,
    type: 'Normal',
    eventTime: '2026-01-02T03:04:05.500000Z',
    series: { count: 2, lastObservedTime: '2026-01-02T03:04:06.000000Z' },
    reportingComponent: 'kubelet',
    reportingInstance: 'node-1',
  };
  assert.deepEqual(roundTrip(ev), ev);
  const ev2 = {
    kind: 'Event',
    apiVersion: 'events.k8s.io/v1',
    metadata: { name: 'x', namespace: 'default' },
    eventTime: '2026-01-02T03:04:05.000000Z',
    reportingController: 'k8ts/scheduler',
    reportingInstance: 'sched-1',
    action: 'Binding',
    reason: 'Scheduled',
    regarding: { kind: 'Pod', name: 'p' },
    note: 'assigned',
    type: 'Normal',
  };
  assert.deepEqual(roundTrip(ev2), ev2);
});

test('round trip: EndpointSlice, Endpoints, Job, StatefulSet, DaemonSet, ControllerRevision, NetworkPolicy, Ingress', () => {
  const cases: Obj[] = [
    {
      kind: 'EndpointSlice',
      apiVersion: 'discovery.k8s.io/v1',
      metadata: { name: 'web-abc', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      endpoints: [
        { addresses: ['10.244.0.5'], conditions: { ready: false, serving: true, terminating: false }, nodeName: 'node-1', targetRef: { kind: 'Pod', name: 'web-1' } },
      ],
      ports: [{ name: '', protocol: 'TCP', port: 80 }],
    },
    {
      kind: 'Endpoints',
      apiVersion: 'v1',
      metadata: { name: 'web', namespace: 'default' },
      subsets: [{ addresses: [{ ip: '10.244.0.5', nodeName: 'node-1' }], notReadyAddresses: [{ ip: '10.244.0.6' }], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }],
    },
    {
      kind: 'Job',
      apiVersion: 'batch/v1',
      metadata: { name: 'pi' },
      spec: {
        parallelism: 1,
        completions: 1,
        backoffLimit: 0,
        suspend: false,
        template: { metadata: { creationTimestamp: null }, spec: { containers: [{ name: 'pi', image: 'perl' }], restartPolicy: 'Never' } },
        podFailurePolicy: { rules: [{ action: 'FailJob', onExitCodes: { operator: 'In', values: [42] } }] },
      },
      status: { active: 1, startTime: '2026-01-02T03:04:05Z', uncountedTerminatedPods: {} },
    },
    {
      kind: 'StatefulSet',
      apiVersion: 'apps/v1',
      metadata: { name: 'db' },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'db' } },
        serviceName: 'db',
        template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'postgres' }] } },
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: '' } }],
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0, maxUnavailable: '50%' } },
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Delete' },
      },
    },
    {
      kind: 'DaemonSet',
      apiVersion: 'apps/v1',
      metadata: { name: 'proxy' },
      spec: {
        selector: { matchLabels: { app: 'proxy' } },
        template: { metadata: { labels: { app: 'proxy' } }, spec: { containers: [{ name: 'p', image: 'k8ts' }], hostNetwork: true } },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      },
    },
    {
      kind: 'ControllerRevision',
      apiVersion: 'apps/v1',
      metadata: { name: 'db-1' },
      data: { spec: { template: { metadata: { labels: { a: 'b' } } } } },
      revision: 1,
    },
    {
      kind: 'NetworkPolicy',
      apiVersion: 'networking.k8s.io/v1',
      metadata: { name: 'deny' },
      spec: {
        podSelector: {},
        ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }], ports: [{ protocol: 'TCP', port: 'http', endPort: 90 }] }],
        policyTypes: ['Ingress'],
      },
    },
    {
      kind: 'Ingress',
      apiVersion: 'networking.k8s.io/v1',
      metadata: { name: 'web' },
      spec: {
        ingressClassName: 'nginx',
        rules: [{ host: 'example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }],
        tls: [{ hosts: ['example.com'], secretName: 'tls' }],
      },
    },
  ];
  for (const c of cases) assert.deepEqual(roundTrip(c), c, `${c.kind}`);
});

test('every kind in the registry (plus Scale, Eviction, DeleteOptions) has a schema', () => {
  for (const r of RESOURCES) assert.ok(hasProtobufSchema(apiVersionOf(r), r.kind), `${apiVersionOf(r)} ${r.kind}`);
  assert.ok(hasProtobufSchema('autoscaling/v1', 'Scale'));
  assert.ok(hasProtobufSchema('policy/v1', 'Eviction'));
  assert.ok(hasProtobufSchema('meta.k8s.io/v1', 'DeleteOptions'));
  assert.ok(!hasProtobufSchema('v1', 'NoSuchKind'));
});

// ---------------------------------------------------------------------------
// Mapping rules

test('zero scalars: non-pointer ones are omitted (omitempty), pointer ones kept; omitEmpty:false keeps all', () => {
  // Encode with explicit zeros, as Go's marshaller writes every non-pointer field.
  const body = encodeK8sProtobuf({
    kind: 'Deployment',
    apiVersion: 'apps/v1',
    metadata: { name: 'd', namespace: '', generateName: '', generation: 0 },
    spec: {
      replicas: 0,
      paused: false,
      template: { spec: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80, hostPort: 0, protocol: '' }] }], automountServiceAccountToken: false } },
    },
  });
  assert.deepEqual(decodeK8sProtobuf(body), {
    kind: 'Deployment',
    apiVersion: 'apps/v1',
    metadata: { name: 'd' },
    spec: { replicas: 0, template: { spec: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80 }] }], automountServiceAccountToken: false } } },
  });
  const all = decodeK8sProtobuf(body, { omitEmpty: false }) as { metadata: Obj; spec: Obj };
  assert.deepEqual(all.metadata, { name: 'd', generateName: '', namespace: '', generation: 0 });
  assert.equal(all.spec.paused, false);
});

test('times: empty and Go-zero Timestamps are null; nanos are normalised and truncated', () => {
  const meta = (time: Uint8Array) => {
    const om = new Writer();
    om.string(1, 'n');
    om.bytes(8, time);
    const ns = new Writer();
    ns.bytes(1, om.finish());
    return decodeK8sProtobuf(envelope('v1', 'Namespace', ns.finish())).metadata as Obj;
  };
  const ts = (sec: number | bigint, nanos?: number) => {
    const w = new Writer();
    w.varint(1, sec);
    if (nanos !== undefined) w.varint(2, nanos);
    return w.finish();
  };
  assert.equal(meta(new Uint8Array(0)).creationTimestamp, null);
  assert.equal(meta(ts(-62135596800n)).creationTimestamp, null);
  assert.equal(meta(ts(0)).creationTimestamp, '1970-01-01T00:00:00Z');
  assert.equal(meta(ts(1767323045, 999_999_999)).creationTimestamp, '2026-01-02T03:04:05Z');
  assert.equal(meta(ts(1767323045, 1_500_000_000)).creationTimestamp, '2026-01-02T03:04:06Z');
  assert.throws(() => meta(ts(1e15)), ProtobufError);
});

test('durations format like Go', () => {
  assert.equal(formatDuration(0n), '0s');
  assert.equal(formatDuration(1_500_000_000n), '1.5s');
  assert.equal(formatDuration(3_600_000_000_000n), '1h0m0s');
  assert.equal(formatDuration(90_000_000_000n), '1m30s');
  assert.equal(formatDuration(2_500_000n), '2.5ms');
  assert.equal(formatDuration(-1500n), '-1.5µs');
  assert.equal(parseDuration('1h2m3.5s'), 3_723_500_000_000n);
  assert.equal(formatDuration(parseDuration('1h0m0s')), '1h0m0s');
});

test('unknown fields are skipped and reported; packed repeated integers are accepted', () => {
  const ctr = new Writer();
  ctr.string(1, 'c');
  ctr.string(2, 'img');
  ctr.varint(99, 7); // unknown in Container
  const psc = new Writer();
  psc.bytes(4, Uint8Array.from([0xa0, 0x1f, 0x88, 0x27])); // supplementalGroups packed: 4000, 5000
  const spec = new Writer();
  spec.bytes(2, ctr.finish());
  spec.bytes(14, psc.finish());
  spec.string(1000, 'future'); // unknown in PodSpec
  const pod = new Writer();
  pod.bytes(2, spec.finish());
  pod.double(50, 1.5); // unknown in Pod
  const unknown: string[] = [];
  const out = decodeK8sProtobuf(envelope('v1', 'Pod', pod.finish()), { unknownFields: unknown });
  assert.deepEqual(out, { kind: 'Pod', apiVersion: 'v1', spec: { containers: [{ name: 'c', image: 'img' }], securityContext: { supplementalGroups: [4000, 5000] } } });
  assert.deepEqual(unknown, ['Pod.spec.containers[0]#99', 'Pod.spec#1000', 'Pod#50']);
});

test('a repeated singular message merges, and "__proto__" map keys stay plain keys', () => {
  const om1 = new Writer();
  om1.string(1, 'a');
  const om2 = new Writer();
  const e = new Writer();
  e.string(1, '__proto__');
  e.string(2, 'x');
  om2.bytes(11, e.finish());
  const cm = new Writer();
  cm.bytes(1, om1.finish());
  cm.bytes(1, om2.finish());
  const out = decodeK8sProtobuf(envelope('v1', 'ConfigMap', cm.finish()));
  const md = out.metadata as Obj;
  assert.equal(md.name, 'a');
  const labels = md.labels as Obj;
  assert.deepEqual(Object.keys(labels), ['__proto__']);
  assert.equal(Object.getPrototypeOf(labels), Object.prototype);
  assert.equal(JSON.stringify(labels), '{"__proto__":"x"}');
});

test('RawExtension holding a protobuf-encoded object is decoded too', () => {
  const inner = encodeK8sProtobuf({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'in' }, data: { k: 'v' } });
  const raw = new Writer();
  raw.bytes(1, inner);
  const cr = new Writer();
  cr.bytes(2, raw.finish());
  cr.varint(3, 2);
  assert.deepEqual(decodeK8sProtobuf(envelope('apps/v1', 'ControllerRevision', cr.finish())), {
    kind: 'ControllerRevision',
    apiVersion: 'apps/v1',
    data: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'in' }, data: { k: 'v' } },
    revision: 2,
  });
});

test('isProtobufContentType', () => {
  assert.ok(isProtobufContentType('application/vnd.kubernetes.protobuf'));
  assert.ok(isProtobufContentType('Application/VND.Kubernetes.Protobuf; charset=utf-8'));
  assert.ok(isProtobufContentType('application/vnd.kubernetes.protobuf;stream=watch'));
  assert.ok(!isProtobufContentType('application/json'));
  assert.ok(!isProtobufContentType('application/vnd.kubernetes.protobufx'));
  assert.ok(!isProtobufContentType(''));
  assert.ok(!isProtobufContentType(undefined));
});

// ---------------------------------------------------------------------------
// Malformed input

test('malformed input throws ProtobufError with a clear message', () => {
  const expectErr = (b: Uint8Array, re: RegExp) =>
    assert.throws(
      () => decodeK8sProtobuf(b),
      (e: unknown) => e instanceof ProtobufError && re.test(e.message),
    );
  expectErr(Buffer.from('{"kind":"Pod"}'), /missing the "k8s\\x00" prefix/);
  expectErr(Buffer.from('k8s'), /missing the "k8s\\x00" prefix/);
  expectErr(envelope('v1', 'Nope', new Uint8Array(0)), /no protobuf schema for v1, Kind=Nope/);
  expectErr(envelope('', '', new Uint8Array(0)), /no kind/);
  // A length running past the end of the buffer.
  expectErr(envelope('v1', 'Pod', Uint8Array.from([0x12, 0x7f, 0x0a])), /Pod\.spec.*length 127 .*exceeds/);
  // Wrong wire type: metadata (a message) as a varint.
  expectErr(envelope('v1', 'Pod', Uint8Array.from([0x08, 0x01])), /Pod\.metadata: has wire type 0, want 2/);
  // Truncated varint inside a container.
  const spec = Uint8Array.from([0x12, 0x04, 0x12, 0x02, 0x18, 0x80]);
  expectErr(envelope('v1', 'Pod', spec), /Pod\.spec\.containers\[0\]/);
  // Group wire types and field number 0.
  expectErr(envelope('v1', 'Pod', Uint8Array.from([0x0b])), /groups/);
  expectErr(envelope('v1', 'Pod', Uint8Array.from([0x00, 0x00])), /illegal field number 0/);
  // An impossible IntOrString type.
  expectErr(envelope('v1', 'Service', Uint8Array.from([0x12, 0x06, 0x0a, 0x04, 0x22, 0x02, 0x08, 0x05])), /impossible type 5/);
  // Raw that is neither JSON nor protobuf.
  expectErr(envelope('apps/v1', 'ControllerRevision', Uint8Array.from([0x12, 0x03, 0x0a, 0x01, 0x7b])), /neither JSON nor Kubernetes protobuf/);
  // A contentEncoding we do not speak.
  const u = new Writer();
  const tm = new Writer();
  tm.string(1, 'v1');
  tm.string(2, 'Pod');
  u.bytes(1, tm.finish());
  u.string(3, 'gzip');
  expectErr(Buffer.concat([Buffer.from('k8s\0', 'latin1'), u.finish()]), /contentEncoding "gzip"/);
});

test('nesting is bounded (RawExtension inside RawExtension ...)', () => {
  let body = encodeK8sProtobuf({ kind: 'ControllerRevision', apiVersion: 'apps/v1', metadata: { name: 'leaf' } });
  for (let i = 0; i < 200; i++) {
    const raw = new Writer();
    raw.bytes(1, body);
    const cr = new Writer();
    cr.bytes(2, raw.finish());
    body = envelope('apps/v1', 'ControllerRevision', cr.finish());
  }
  assert.throws(() => decodeK8sProtobuf(body), (e: unknown) => e instanceof ProtobufError && /nested deeper than 100/.test(e.message));
  // A few levels are fine.
  assert.equal(typeof decodeK8sProtobuf(body, { maxDepth: 10_000 }), 'object');
});

test('random and mutated bytes never crash or hang: only ProtobufError', () => {
  let seed = 12345;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const valid = encodeK8sProtobuf({
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: { name: 'p', labels: { a: 'b' }, creationTimestamp: '2026-01-02T03:04:05Z' },
    spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80 }], livenessProbe: { httpGet: { port: 'http' } } }] },
  });
  const started = Date.now();
  let errors = 0;
  for (let i = 0; i < 3000; i++) {
    let b: Uint8Array;
    if (i % 3 === 0) {
      b = Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from(Array.from({ length: Math.floor(rand() * 200) }, () => Math.floor(rand() * 256)))]);
    } else {
      b = Uint8Array.from(valid);
      const flips = 1 + Math.floor(rand() * 4);
      for (let j = 0; j < flips; j++) b[4 + Math.floor(rand() * (b.length - 4))] = Math.floor(rand() * 256);
      if (i % 3 === 2) b = b.subarray(0, 4 + Math.floor(rand() * (b.length - 4)));
    }
    try {
      decodeK8sProtobuf(b);
    } catch (e) {
      if (!(e instanceof ProtobufError)) throw new Error(`non-ProtobufError for ${Buffer.from(b).toString('hex')}: ${String(e)}`);
      errors++;
    }
  }
  assert.ok(errors > 0);
  assert.ok(Date.now() - started < 10_000, 'decoding 3000 small buffers took too long');
});

// ---------------------------------------------------------------------------
// Real kubectl 1.33: what its typed clients send

function kubectl133(): string | undefined {
  try {
    const onPath = execFileSync('bash', ['-c', 'command -v kubectl'], { encoding: 'utf8', timeout: 5000 }).trim();
    if (!onPath) return undefined;
    const bin = path.join(path.dirname(realpathSync(onPath)), 'kubectl.1.33');
    return existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

const KUBECTL = kubectl133();

interface Post {
  url: string;
  contentType: string;
  body: Buffer;
  decoded?: Obj;
  error?: string;
}

/**
 * Runs fn against a minimal API server on 127.0.0.1 that serves discovery for
 * the resources in k8ts's registry and records every POST body (answering
 * 201 with a small echo of the decoded object, so kubectl exits cleanly).
 */
async function withFakeApiserver(fn: (kubectl: (args: string[]) => Promise<{ code: number | null; stdout: string; stderr: string }>, posts: Post[]) => Promise<void>) {
  const posts: Post[] = [];
  const byGroup = new Map<string, { version: string; resources: Obj[] }>();
  for (const r of RESOURCES) {
    const g = byGroup.get(r.group) ?? { version: r.version, resources: [] };
    g.resources.push({ name: r.plural, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: r.verbs, shortNames: r.shortNames ?? [] });
    byGroup.set(r.group, g);
  }
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const json = (code: number, o: unknown) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(o));
      };
      const p = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
      if (req.method === 'GET') {
        if (p === '/api') return json(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] });
        if (p === '/apis')
          return json(200, {
            kind: 'APIGroupList',
            apiVersion: 'v1',
            groups: [...byGroup].filter(([g]) => g).map(([name, g]) => {
              const gv = { groupVersion: `${name}/${g.version}`, version: g.version };
              return { name, versions: [gv], preferredVersion: gv };
            }),
          });
        const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(p);
        const group = m?.[1] ? '' : m?.[2];
        const g = group !== undefined ? byGroup.get(group) : undefined;
        if (g) return json(200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${g.version}` : 'v1', resources: g.resources });
      }
      if (req.method === 'POST') {
        const body = Buffer.concat(chunks);
        const contentType = String(req.headers['content-type'] ?? '');
        const rec: Post = { url: req.url ?? '', contentType, body };
        posts.push(rec);
        try {
          rec.decoded = isProtobufContentType(contentType) ? decodeK8sProtobuf(body) : (JSON.parse(body.toString('utf8')) as Obj);
        } catch (e) {
          rec.error = String(e);
          return json(400, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 400, reason: 'BadRequest', message: rec.error });
        }
        const md = (rec.decoded.metadata ?? {}) as Obj;
        return json(201, { kind: rec.decoded.kind, apiVersion: rec.decoded.apiVersion, metadata: { name: md.name, namespace: md.namespace } });
      }
      json(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404, reason: 'NotFound', message: 'not found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const kubectl = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        KUBECTL!,
        ['--server', `http://127.0.0.1:${port}`, '--request-timeout=10s', ...args],
        { env: { ...process.env, KUBECONFIG: '/dev/null' }, timeout: 30_000, killSignal: 'SIGKILL' },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
      );
    });
  try {
    await fn(kubectl, posts);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const SKIP_KUBECTL = KUBECTL ? false : 'kubectl.1.33 not found';

test('decodes the bodies kubectl 1.33 sends', { skip: SKIP_KUBECTL, timeout: 180_000 }, async () => {
  await withFakeApiserver(async (kubectl, posts) => {
    const commands: Array<[string[], string]> = [
      [['create', 'namespace', 'demo'], 'namespace/demo created'],
      [['create', 'configmap', 'c', '--from-literal=a=1'], 'configmap/c created'],
      [['create', 'secret', 'generic', 's', '--from-literal=p=x'], 'secret/s created'],
      [['create', 'deployment', 'd', '--image=nginx', '--replicas=2', '--port=80'], 'deployment.apps/d created'],
      [['create', 'service', 'clusterip', 's', '--tcp=80:8080'], 'service/s created'],
      [['run', 'p', '--image=busybox', '--restart=Never', '--', 'sleep', '1'], 'pod/p created'],
    ];
    for (const [args, want] of commands) {
      const r = await kubectl(args);
      assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout.trim(), want);
    }
    assert.equal(posts.length, 6);
    for (const p of posts) assert.equal(p.error, undefined, p.url);
    const [ns, cm, secret, deploy, svc, pod] = posts;

    // The typed clients speak protobuf.
    for (const p of [ns, cm, secret, deploy, svc]) assert.ok(isProtobufContentType(p!.contentType), `${p!.url}: ${p!.contentType}`);
    assert.ok(ns!.url.startsWith('/api/v1/namespaces?'));
    assert.deepEqual(ns!.decoded, { kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'demo', creationTimestamp: null }, spec: {}, status: {} });

    assert.ok(cm!.url.startsWith('/api/v1/namespaces/default/configmaps?'));
    assert.deepEqual(cm!.decoded, { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'c', creationTimestamp: null }, data: { a: '1' } });

    assert.deepEqual(secret!.decoded, { kind: 'Secret', apiVersion: 'v1', metadata: { name: 's', creationTimestamp: null }, data: { p: Buffer.from('x').toString('base64') } });

    // Exactly what kubectl sends when it speaks JSON.
    assert.ok(deploy!.url.startsWith('/apis/apps/v1/namespaces/default/deployments?'));
    assert.deepEqual(deploy!.decoded, {
      kind: 'Deployment',
      apiVersion: 'apps/v1',
      metadata: { name: 'd', creationTimestamp: null, labels: { app: 'd' } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'd' } },
        template: {
          metadata: { creationTimestamp: null, labels: { app: 'd' } },
          spec: { containers: [{ name: 'nginx', image: 'nginx', ports: [{ containerPort: 80 }], resources: {} }] },
        },
        strategy: {},
      },
      status: {},
    });

    assert.deepEqual(svc!.decoded, {
      kind: 'Service',
      apiVersion: 'v1',
      metadata: { name: 's', creationTimestamp: null, labels: { app: 's' } },
      spec: { ports: [{ name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080 }], selector: { app: 's' }, type: 'ClusterIP' },
      status: { loadBalancer: {} },
    });

    // `kubectl run` builds its Pod through the unstructured client, which sends JSON.
    const podObj = pod!.decoded as { metadata: Obj; spec: { containers: Obj[]; restartPolicy: string } };
    assert.equal(podObj.metadata.name, 'p');
    assert.equal(podObj.spec.containers[0]!.image, 'busybox');
    assert.deepEqual(podObj.spec.containers[0]!.args, ['sleep', '1']);
    assert.equal(podObj.spec.restartPolicy, 'Never');

    // The decoded protobuf bodies re-encode to the very bytes kubectl sent, when zeros are kept.
    for (const p of [ns, cm, secret, deploy, svc]) {
      const again = encodeK8sProtobuf(decodeK8sProtobuf(p!.body, { omitEmpty: false }));
      assert.equal(Buffer.from(again).toString('hex'), p!.body.toString('hex'), p!.url);
    }
  });
});

test('decodes more kubectl 1.33 bodies (Job, ServiceAccount, Ingress, binaryData, NodePort, docker-registry Secret)', { skip: SKIP_KUBECTL, timeout: 180_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'k8ts-pb-'));
  const blob = path.join(dir, 'blob');
  writeFileSync(blob, Buffer.from([0xff, 0x00, 0xfe, 0x01]));
  try {
    await withFakeApiserver(async (kubectl, posts) => {
      const commands: string[][] = [
        ['create', 'job', 'j', '--image=busybox', '--', 'echo', 'hi'],
        ['create', 'serviceaccount', 'sa'],
        ['create', 'ingress', 'ing', '--rule=example.com/=web:80'],
        ['create', 'configmap', 'bin', `--from-file=blob=${blob}`],
        ['create', 'service', 'nodeport', 'np', '--tcp=80:8080', '--node-port=30080'],
        ['create', 'secret', 'docker-registry', 'reg', '--docker-server=r.example', '--docker-username=u', '--docker-password=p'],
      ];
      for (const args of commands) {
        const r = await kubectl(args);
        assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
      }
      assert.equal(posts.length, commands.length);
      for (const p of posts) {
        assert.equal(p.error, undefined, p.url);
        assert.ok(isProtobufContentType(p.contentType), `${p.url}: ${p.contentType}`);
      }
      const [job, sa, ing, bin, np, reg] = posts.map((p) => p.decoded);
      assert.ok(posts[0]!.url.startsWith('/apis/batch/v1/namespaces/default/jobs?'));
      assert.deepEqual(job, {
        kind: 'Job',
        apiVersion: 'batch/v1',
        metadata: { name: 'j', creationTimestamp: null },
        spec: {
          template: {
            metadata: { creationTimestamp: null },
            spec: { containers: [{ name: 'j', image: 'busybox', command: ['echo', 'hi'], resources: {} }], restartPolicy: 'Never' },
          },
        },
        status: {},
      });
      assert.deepEqual(sa, { kind: 'ServiceAccount', apiVersion: 'v1', metadata: { name: 'sa', creationTimestamp: null } });
      // IngressRule embeds IngressRuleValue: `http` sits beside `host`, as in JSON.
      assert.deepEqual(ing, {
        kind: 'Ingress',
        apiVersion: 'networking.k8s.io/v1',
        metadata: { name: 'ing', creationTimestamp: null },
        spec: { rules: [{ host: 'example.com', http: { paths: [{ path: '/', pathType: 'Exact', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] },
        status: { loadBalancer: {} },
      });
      assert.deepEqual(bin, { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'bin', creationTimestamp: null }, binaryData: { blob: Buffer.from([0xff, 0x00, 0xfe, 0x01]).toString('base64') } });
      assert.deepEqual((np!.spec as Obj).ports, [{ name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 }]);
      assert.equal((np!.spec as Obj).type, 'NodePort');
      assert.equal(reg!.type, 'kubernetes.io/dockerconfigjson');
      const dockercfg = JSON.parse(Buffer.from((reg!.data as Record<string, string>)['.dockerconfigjson']!, 'base64').toString('utf8'));
      assert.deepEqual(dockercfg, { auths: { 'r.example': { username: 'u', password: 'p', auth: Buffer.from('u:p').toString('base64') } } });
      for (const p of posts) {
        const again = encodeK8sProtobuf(decodeK8sProtobuf(p.body, { omitEmpty: false }));
        assert.equal(Buffer.from(again).toString('hex'), p.body.toString('hex'), p.url);
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
