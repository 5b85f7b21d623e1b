// Defaulting: what each kind gains when written, as upstream's v1 defaults.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  applyDefaults,
  defaultPullPolicy,
  prepareForCreate,
  prepareForUpdate,
  setServiceIPFamilies,
} from '../../../src/api/defaults/index.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = any;

function defaulted(gr: string, obj: Obj): Obj {
  const o = structuredClone(obj);
  applyDefaults(gr, o);
  return o;
}

const container = { name: 'web', image: 'nginx:1.25', ports: [{ containerPort: 80 }] };

test('image pull policy follows the tag', () => {
  assert.equal(defaultPullPolicy('nginx'), 'Always');
  assert.equal(defaultPullPolicy('nginx:latest'), 'Always');
  assert.equal(defaultPullPolicy('registry.local:5000/team/nginx'), 'Always');
  assert.equal(defaultPullPolicy('registry.local:5000/team/nginx:1.25'), 'IfNotPresent');
  assert.equal(defaultPullPolicy('nginx@sha256:0123456789abcdef'), 'IfNotPresent');
  assert.equal(defaultPullPolicy('nginx:1.25@sha256:0123456789abcdef'), 'IfNotPresent');
});

test('pods get the pod spec, container, probe and pod-only defaults', () => {
  const pod = defaulted('/pods', {
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      containers: [
        {
          ...container,
          livenessProbe: { httpGet: { port: 80 } },
          readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 5 },
          lifecycle: { preStop: { httpGet: { port: 80 } } },
          env: [{ name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
          resources: { limits: { cpu: 1, memory: '128Mi' }, requests: { cpu: '500m' } },
        },
      ],
      volumes: [{ name: 'scratch' }, { name: 'cfg', configMap: { name: 'cfg' } }, { name: 'token', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } }],
    },
  });
  assert.deepEqual(pod.spec, {
    containers: [
      {
        name: 'web',
        image: 'nginx:1.25',
        ports: [{ containerPort: 80, protocol: 'TCP' }],
        livenessProbe: { httpGet: { port: 80, path: '/', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 },
        readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 5, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
        lifecycle: { preStop: { httpGet: { port: 80, path: '/', scheme: 'HTTP' } } },
        env: [{ name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName', apiVersion: 'v1' } } }],
        resources: { limits: { cpu: '1', memory: '128Mi' }, requests: { cpu: '500m', memory: '128Mi' } },
        imagePullPolicy: 'IfNotPresent',
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
      },
    ],
    volumes: [
      { name: 'scratch', emptyDir: {} },
      { name: 'cfg', configMap: { name: 'cfg', defaultMode: 420 } },
      { name: 'token', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3600 } }], defaultMode: 420 } },
    ],
    dnsPolicy: 'ClusterFirst',
    restartPolicy: 'Always',
    securityContext: {},
    terminationGracePeriodSeconds: 30,
    schedulerName: 'default-scheduler',
    enableServiceLinks: true,
  });
});

test('explicit values are kept', () => {
  const spec = { restartPolicy: 'Never', dnsPolicy: 'Default', terminationGracePeriodSeconds: 0, enableServiceLinks: false, containers: [{ ...container, imagePullPolicy: 'Never' }] };
  const pod = defaulted('/pods', { metadata: { name: 'p', namespace: 'default' }, spec });
  assert.equal(pod.spec.restartPolicy, 'Never');
  assert.equal(pod.spec.dnsPolicy, 'Default');
  assert.equal(pod.spec.terminationGracePeriodSeconds, 0);
  assert.equal(pod.spec.enableServiceLinks, false);
  assert.equal(pod.spec.containers[0].imagePullPolicy, 'Never');
});

test('host-network pods get host ports', () => {
  const pod = defaulted('/pods', { metadata: { name: 'p', namespace: 'default' }, spec: { hostNetwork: true, containers: [container] } });
  assert.equal(pod.spec.containers[0].ports[0].hostPort, 80);
  // templates do not (their pods are defaulted when created)
  const d = defaulted('apps/deployments', { spec: { template: { spec: { hostNetwork: true, containers: [container] } } } });
  assert.equal(d.spec.template.spec.containers[0].ports[0].hostPort, undefined);
});

test('deployments', () => {
  const d = defaulted('apps/deployments', {
    metadata: { name: 'web', namespace: 'default' },
    spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [container] } } },
  });
  assert.equal(d.spec.replicas, 1);
  assert.deepEqual(d.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
  assert.equal(d.spec.revisionHistoryLimit, 10);
  assert.equal(d.spec.progressDeadlineSeconds, 600);
  assert.equal(d.spec.template.spec.restartPolicy, 'Always');
  assert.equal(d.spec.template.spec.containers[0].terminationMessagePolicy, 'File');
  // pod-only defaults stay out of templates
  assert.equal(d.spec.template.spec.enableServiceLinks, undefined);
  const recreate = defaulted('apps/deployments', { spec: { replicas: 0, strategy: { type: 'Recreate' } } });
  assert.equal(recreate.spec.replicas, 0);
  assert.deepEqual(recreate.spec.strategy, { type: 'Recreate' });
});

test('replica sets, daemon sets and stateful sets', () => {
  assert.equal(defaulted('apps/replicasets', { spec: {} }).spec.replicas, 1);
  const ds = defaulted('apps/daemonsets', { spec: { template: { spec: { containers: [container] } } } });
  assert.deepEqual(ds.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
  assert.equal(ds.spec.revisionHistoryLimit, 10);
  const ss = defaulted('apps/statefulsets', {
    spec: {
      serviceName: 'web',
      template: { spec: { containers: [container] } },
      volumeClaimTemplates: [{ metadata: { name: 'www' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
    },
  });
  assert.equal(ss.spec.podManagementPolicy, 'OrderedReady');
  assert.deepEqual(ss.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
  assert.deepEqual(ss.spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: 'Retain', whenScaled: 'Retain' });
  assert.equal(ss.spec.replicas, 1);
  assert.equal(ss.spec.revisionHistoryLimit, 10);
  assert.equal(ss.spec.volumeClaimTemplates[0].spec.volumeMode, 'Filesystem');
  assert.deepEqual(ss.spec.volumeClaimTemplates[0].status, { phase: 'Pending' });
  const onDelete = defaulted('apps/statefulsets', { spec: { updateStrategy: { type: 'OnDelete' } } });
  assert.deepEqual(onDelete.spec.updateStrategy, { type: 'OnDelete' });
});

test('jobs: counts, policies, and the generated selector', () => {
  const job = defaulted('batch/jobs', {
    metadata: { name: 'pi', namespace: 'default', uid: 'uid-1' },
    spec: { template: { metadata: { labels: { team: 'a' } }, spec: { restartPolicy: 'Never', containers: [container] } } },
  });
  assert.equal(job.spec.completions, 1);
  assert.equal(job.spec.parallelism, 1);
  assert.equal(job.spec.backoffLimit, 6);
  assert.equal(job.spec.completionMode, 'NonIndexed');
  assert.equal(job.spec.suspend, false);
  assert.equal(job.spec.manualSelector, false);
  assert.equal(job.spec.podReplacementPolicy, 'TerminatingOrFailed');
  assert.deepEqual(job.metadata.labels, job.spec.template.metadata.labels);
  assert.deepEqual(job.spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': 'uid-1' } });
  assert.deepEqual(job.spec.template.metadata.labels, {
    team: 'a',
    'job-name': 'pi',
    'batch.kubernetes.io/job-name': 'pi',
    'controller-uid': 'uid-1',
    'batch.kubernetes.io/controller-uid': 'uid-1',
  });
  // parallelism alone leaves completions unset
  const work = defaulted('batch/jobs', { spec: { parallelism: 3, template: { spec: { containers: [container] } } } });
  assert.equal(work.spec.completions, undefined);
  assert.equal(work.spec.parallelism, 3);
  const manual = defaulted('batch/jobs', {
    metadata: { name: 'm', uid: 'uid-2' },
    spec: { manualSelector: true, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [container] } } },
  });
  assert.deepEqual(manual.spec.selector, { matchLabels: { a: 'b' } });
  assert.deepEqual(manual.spec.template.metadata.labels, { a: 'b' });
  const withPolicy = defaulted('batch/jobs', { spec: { podFailurePolicy: { rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] }] } } });
  assert.equal(withPolicy.spec.podReplacementPolicy, 'Failed');
  assert.equal(withPolicy.spec.podFailurePolicy.rules[0].onPodConditions[0].status, 'True');
  // no selector is generated before the uid is known, nor on updates (resourceVersion set)
  assert.equal(defaulted('batch/jobs', { metadata: { name: 'x' }, spec: {} }).spec.selector, undefined);
  assert.equal(defaulted('batch/jobs', { metadata: { name: 'x', uid: 'u', resourceVersion: '5' }, spec: {} }).spec.selector, undefined);
  const later: Obj = { metadata: { name: 'x', uid: 'u3' }, spec: { template: { spec: {} } } };
  prepareForCreate('batch/jobs', later);
  assert.deepEqual(later.spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u3' } });
});

test('services: types, ports, policies, families', () => {
  const svc = defaulted('/services', { metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } });
  assert.deepEqual(svc.spec, {
    selector: { app: 'web' },
    ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }],
    sessionAffinity: 'None',
    type: 'ClusterIP',
    internalTrafficPolicy: 'Cluster',
    ipFamilyPolicy: 'SingleStack',
  });
  // the allocator's hook records the family of the address it assigned
  setServiceIPFamilies(svc, ['IPv4']);
  assert.deepEqual(svc.spec.ipFamilies, ['IPv4']);
  setServiceIPFamilies(svc, ['IPv6']);
  assert.deepEqual(svc.spec.ipFamilies, ['IPv4']);

  const np = defaulted('/services', { spec: { type: 'NodePort', ports: [{ port: 80, targetPort: 'http' }] } });
  assert.equal(np.spec.externalTrafficPolicy, 'Cluster');
  assert.equal(np.spec.ports[0].targetPort, 'http');
  const lb = defaulted('/services', { spec: { type: 'LoadBalancer', ports: [{ port: 80 }] }, status: { loadBalancer: { ingress: [{ ip: '203.0.113.1' }] } } });
  assert.equal(lb.spec.allocateLoadBalancerNodePorts, true);
  assert.equal(lb.status.loadBalancer.ingress[0].ipMode, 'VIP');
  const sticky = defaulted('/services', { spec: { sessionAffinity: 'ClientIP', ports: [{ port: 80 }] } });
  assert.deepEqual(sticky.spec.sessionAffinityConfig, { clientIP: { timeoutSeconds: 10800 } });
  const headless = defaulted('/services', { spec: { clusterIP: 'None', ports: [{ port: 80 }] } });
  assert.deepEqual(headless.spec.clusterIPs, ['None']);
  assert.deepEqual(headless.spec.ipFamilies, ['IPv4']);
  assert.equal(headless.spec.ipFamilyPolicy, 'SingleStack');
  const ext = defaulted('/services', { spec: { type: 'ExternalName', externalName: 'db.example.com' } });
  assert.equal(ext.spec.ipFamilyPolicy, undefined);
  assert.equal(ext.spec.internalTrafficPolicy, undefined);
  assert.equal(ext.spec.ipFamilies, undefined);
  const withIPs = defaulted('/services', { spec: { externalIPs: ['203.0.113.9'], ports: [{ port: 80 }] } });
  assert.equal(withIPs.spec.externalTrafficPolicy, 'Cluster');
  const fixedIP = defaulted('/services', { spec: { clusterIP: '10.96.0.10', ports: [{ port: 53 }] } });
  assert.deepEqual(fixedIP.spec.clusterIPs, ['10.96.0.10']);
});

test('service updates carry over allocated values', () => {
  const old: Obj = defaulted('/services', { spec: { type: 'NodePort', ports: [{ port: 80 }] } });
  Object.assign(old.spec, { clusterIP: '10.96.0.7', clusterIPs: ['10.96.0.7'], ipFamilies: ['IPv4'] });
  old.spec.ports[0].nodePort = 30007;
  const next: Obj = defaulted('/services', { spec: { type: 'NodePort', ports: [{ port: 80 }] } });
  prepareForUpdate('/services', next, old);
  assert.equal(next.spec.clusterIP, '10.96.0.7');
  assert.deepEqual(next.spec.clusterIPs, ['10.96.0.7']);
  assert.equal(next.spec.ports[0].nodePort, 30007);
  const toClusterIP: Obj = structuredClone(old);
  toClusterIP.spec.type = 'ClusterIP';
  prepareForUpdate('/services', toClusterIP, old);
  assert.equal(toClusterIP.spec.ports[0].nodePort, undefined);
  assert.equal(toClusterIP.spec.externalTrafficPolicy, undefined);
});

test('namespaces: name label, phase, and the kubernetes finalizer on creation only', () => {
  const ns = defaulted('/namespaces', { metadata: { name: 'team-a' } });
  assert.deepEqual(ns.metadata.labels, { 'kubernetes.io/metadata.name': 'team-a' });
  assert.deepEqual(ns.spec, { finalizers: ['kubernetes'] });
  assert.deepEqual(ns.status, { phase: 'Active' });
  // An update (resourceVersion set) after the namespace controller removed the finalizer does not restore it.
  const finalized = defaulted('/namespaces', { metadata: { name: 'team-a', resourceVersion: '9' }, spec: {}, status: { phase: 'Terminating' } });
  assert.deepEqual(finalized.spec, {});
  assert.equal(finalized.status.phase, 'Terminating');
  const custom = defaulted('/namespaces', { metadata: { name: 'b' }, spec: { finalizers: ['example.com/x'] } });
  assert.deepEqual(custom.spec.finalizers, ['example.com/x', 'kubernetes']);
});

test('secrets, nodes, endpoints, endpoint slices, network policies', () => {
  const s = defaulted('/secrets', { metadata: { name: 's' }, data: { a: 'YQ==' }, stringData: { b: 'hello' } });
  assert.equal(s.type, 'Opaque');
  assert.deepEqual(s.data, { a: 'YQ==', b: 'aGVsbG8=' });
  assert.equal('stringData' in s, false);
  const node = defaulted('/nodes', { metadata: { name: 'n' }, status: { capacity: { cpu: 4, memory: '8Gi', pods: '110' } } });
  assert.deepEqual(node.status.allocatable, { cpu: '4', memory: '8Gi', pods: '110' });
  const ep = defaulted('/endpoints', { subsets: [{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80 }] }] });
  assert.equal(ep.subsets[0].ports[0].protocol, 'TCP');
  const slice = defaulted('discovery.k8s.io/endpointslices', { addressType: 'IPv4', ports: [{ port: 80 }] });
  assert.deepEqual(slice.ports, [{ port: 80, name: '', protocol: 'TCP' }]);
  const np = defaulted('networking.k8s.io/networkpolicies', { spec: { podSelector: {}, egress: [{ ports: [{ port: 53 }] }] } });
  assert.deepEqual(np.spec.policyTypes, ['Ingress', 'Egress']);
  assert.equal(np.spec.egress[0].ports[0].protocol, 'TCP');
  assert.deepEqual(defaulted('networking.k8s.io/networkpolicies', { spec: { podSelector: {} } }).spec.policyTypes, ['Ingress']);
});

test('defaulting is idempotent and leaves unknown resources alone', () => {
  const objs: Array<[string, Obj]> = [
    ['/pods', { metadata: { name: 'p', namespace: 'default' }, spec: { containers: [container] } }],
    ['/services', { spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } }],
    ['apps/statefulsets', { spec: { template: { spec: { containers: [container] } } } }],
    ['batch/jobs', { metadata: { name: 'j', uid: 'u' }, spec: { template: { spec: { containers: [container] } } } }],
    ['/namespaces', { metadata: { name: 'n' } }],
    ['/secrets', { stringData: { a: 'b' } }],
  ];
  for (const [gr, obj] of objs) {
    const once = defaulted(gr, obj);
    assert.deepEqual(defaulted(gr, once), once, gr);
  }
  const widget = { spec: { x: 1 } };
  assert.deepEqual(defaulted('example.com/widgets', widget), widget);
  applyDefaults('/pods', null);
});
