// Pods: containers, ports, env, volumes, resources, probes, DNS, scheduling,
// updates and status.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateCreate, validateEphemeralContainersUpdate, validateUpdate } from '../../../../src/api/validation/index.js';
import {
  RFC1123_LABEL,
  type Obj,
  defaulted,
  dnsNonePod,
  edited,
  expectCreate,
  expectDefaultedCreate,
  expectStatusUpdate,
  expectUpdate,
  messages,
  simplePod,
  stored,
} from './fixtures.js';

/** A defaulted simple pod with `change` applied to its spec. */
function podWith(change: (spec: Obj) => void): Obj {
  const p = defaulted('/pods', simplePod());
  change(p.spec);
  return p;
}

const c0 = 'spec.containers[0]';

test('containers: at least one, named, unique, with an image', () => {
  expectCreate('/pods', podWith((s) => (s.containers = [])), ['spec.containers: Required value']);
  expectCreate('/pods', podWith((s) => delete s.containers[0].name), [`${c0}.name: Required value`]);
  expectCreate('/pods', podWith((s) => (s.containers[0].name = 'Web')), [`${c0}.name: Invalid value: "Web": ${RFC1123_LABEL}`]);
  expectCreate('/pods', podWith((s) => delete s.containers[0].image), [`${c0}.image: Required value`]);
  expectCreate('/pods', podWith((s) => (s.containers[0].image = ' nginx')), [`${c0}.image: Invalid value: " nginx": must not have leading or trailing whitespace`]);
  expectCreate(
    '/pods',
    podWith((s) => s.containers.push({ ...s.containers[0], ports: [] })),
    ['spec.containers[1].name: Duplicate value: "web"'],
  );
  expectCreate(
    '/pods',
    podWith((s) => (s.initContainers = [{ ...s.containers[0], ports: [] }])),
    ['spec.initContainers[0].name: Duplicate value: "web"'],
  );
  expectCreate('/pods', podWith((s) => (s.containers[0].imagePullPolicy = 'Sometimes')), [
    `${c0}.imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"`,
  ]);
  expectCreate('/pods', podWith((s) => (s.containers[0].restartPolicy = 'Always')), [`${c0}.restartPolicy: Forbidden: may not be set for non-init containers`]);
  expectCreate('/pods', podWith((s) => (s.ephemeralContainers = [{ name: 'debug', image: 'busybox', imagePullPolicy: 'Always', terminationMessagePolicy: 'File' }])), [
    'spec.ephemeralContainers: Forbidden: cannot be set on create',
  ]);
});

test('container ports', () => {
  expectCreate('/pods', podWith((s) => (s.containers[0].ports = [{ containerPort: 70000, protocol: 'TCP' }])), [
    `${c0}.ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive`,
  ]);
  expectCreate('/pods', podWith((s) => (s.containers[0].ports = [{ containerPort: 80, hostPort: -1, protocol: 'TCP' }])), [
    `${c0}.ports[0].hostPort: Invalid value: -1: must be between 1 and 65535, inclusive`,
  ]);
  expectCreate('/pods', podWith((s) => (s.containers[0].ports = [{ containerPort: 80, protocol: 'ICMP' }])), [
    `${c0}.ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"`,
  ]);
  expectCreate(
    '/pods',
    podWith((s) => (s.containers[0].ports = [{ name: 'HTTP', containerPort: 80, protocol: 'TCP' }, { name: 'metrics-port-1234', containerPort: 81, protocol: 'TCP' }])),
    [
      `${c0}.ports[0].name: Invalid value: "HTTP": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)`,
      `${c0}.ports[0].name: Invalid value: "HTTP": must contain at least one letter (a-z)`,
      `${c0}.ports[1].name: Invalid value: "metrics-port-1234": must be no more than 15 characters`,
    ],
  );
  expectCreate(
    '/pods',
    podWith((s) => (s.containers[0].ports = [{ name: 'http', containerPort: 80, protocol: 'TCP' }, { name: 'http', containerPort: 81, protocol: 'TCP' }])),
    [`${c0}.ports[1].name: Duplicate value: "http"`],
  );
  expectCreate(
    '/pods',
    podWith((s) => (s.containers[0].ports = [{ containerPort: 80, hostPort: 8080, protocol: 'TCP' }, { containerPort: 81, hostPort: 8080, protocol: 'TCP' }])),
    [`${c0}.ports[1].hostPort: Duplicate value: "TCP//8080"`],
  );
});

test('host network: hostPort must equal containerPort', () => {
  // Defaulting copies containerPort into hostPort for host-network pods.
  expectDefaultedCreate('/pods', edited(simplePod(), (p) => (p.spec.hostNetwork = true)), []);
  expectCreate('/pods', podWith((s) => {
    s.hostNetwork = true;
    s.containers[0].ports[0].hostPort = 8080;
  }), [`${c0}.ports[0].hostPort: Invalid value: 8080: must match \`containerPort\` when \`hostNetwork\` is true`]);
});

test('environment variables', () => {
  expectCreate('/pods', podWith((s) => (s.containers[0].env = [{ name: 'A', value: '1' }, { name: 'B', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } } }])), []);
  expectCreate('/pods', podWith((s) => (s.containers[0].env = [{ value: 'x' }])), [`${c0}.env[0].name: Required value`]);
  expectCreate('/pods', podWith((s) => (s.containers[0].env = [{ name: '1A' }])), [
    `${c0}.env[0].name: Invalid value: "1A": a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')`,
  ]);
  expectCreate('/pods', podWith((s) => (s.containers[0].env = [{ name: 'A', valueFrom: {} }])), [
    `${c0}.env[0].valueFrom: Invalid value: "": must specify one of: \`fieldRef\`, \`resourceFieldRef\`, \`configMapKeyRef\` or \`secretKeyRef\``,
  ]);
  expectCreate(
    '/pods',
    podWith((s) => (s.containers[0].env = [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' }, secretKeyRef: { name: 's', key: 'k' } } }])),
    [`${c0}.env[0].valueFrom: Invalid value: "": may not have more than one field specified at a time`],
  );
  expectCreate('/pods', podWith((s) => (s.containers[0].env = [{ name: 'A', value: 'v', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }])), [
    `${c0}.env[0].valueFrom: Invalid value: "": may not be specified when \`value\` is not empty`,
  ]);
  expectCreate('/pods', podWith((s) => (s.containers[0].env = [{ name: 'A', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.hostname' } } }])), [
    `${c0}.env[0].valueFrom.fieldRef.fieldPath: Invalid value: "spec.hostname": error converting fieldPath: field label not supported: spec.hostname`,
  ]);
  expectCreate('/pods', podWith((s) => (s.containers[0].env = [{ name: 'A', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.labels' } } }])), [
    `${c0}.env[0].valueFrom.fieldRef.fieldPath: Unsupported value: "metadata.labels": supported values: "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"`,
  ]);
  expectCreate('/pods', podWith((s) => (s.containers[0].env = [{ name: 'A', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: "metadata.labels['app']" } } }])), []);
  expectCreate('/pods', podWith((s) => (s.containers[0].env = [{ name: 'A', valueFrom: { secretKeyRef: { name: 's', key: '' } } }])), [
    `${c0}.env[0].valueFrom.secretKeyRef.key: Required value`,
  ]);
  expectCreate('/pods', podWith((s) => (s.containers[0].envFrom = [{ prefix: 'P_' }])), [
    `${c0}.envFrom: Invalid value: "": must specify one of: \`configMapRef\` or \`secretRef\``,
  ]);
});

test('volumes and mounts', () => {
  const ok = podWith((s) => {
    s.volumes = [
      { name: 'data', emptyDir: {} },
      { name: 'cfg', configMap: { name: 'cfg', defaultMode: 420 } },
    ];
    s.containers[0].volumeMounts = [
      { name: 'data', mountPath: '/data' },
      { name: 'cfg', mountPath: '/etc/cfg', readOnly: true },
    ];
  });
  expectCreate('/pods', ok, []);
  expectCreate('/pods', edited(ok, (p) => p.spec.volumes.push({ name: 'data', emptyDir: {} })), ['spec.volumes[2].name: Duplicate value: "data"']);
  expectCreate('/pods', edited(ok, (p) => p.spec.volumes.push({ name: 'two', emptyDir: {}, hostPath: { path: '/x' } })), [
    'spec.volumes[2].hostPath: Forbidden: may not specify more than 1 volume type',
  ]);
  expectCreate('/pods', edited(ok, (p) => p.spec.volumes.push({ name: 'none' })), ['spec.volumes[2]: Required value: must specify a volume type']);
  expectCreate('/pods', edited(ok, (p) => p.spec.volumes.push({ name: 'Bad', emptyDir: {} })), [`spec.volumes[2].name: Invalid value: "Bad": ${RFC1123_LABEL}`]);
  expectCreate('/pods', edited(ok, (p) => p.spec.volumes.push({ name: 's', secret: {} })), ['spec.volumes[2].secret.secretName: Required value']);
  expectCreate('/pods', edited(ok, (p) => p.spec.volumes.push({ name: 'h', hostPath: { path: '/a/../b' } })), [
    'spec.volumes[2].hostPath.path: Invalid value: "/a/../b": must not contain \'..\'',
  ]);
  expectCreate('/pods', edited(ok, (p) => p.spec.volumes.push({ name: 'm', configMap: { name: 'c', defaultMode: 0o1000 } })), [
    'spec.volumes[2].configMap.defaultMode: Invalid value: 512: must be a number between 0 and 0777 (octal), both inclusive',
  ]);
  const errs = validateCreate('/pods', edited(ok, (p) => p.spec.containers[0].volumeMounts.push({ name: 'missing', mountPath: '/data' })));
  assert.deepEqual(
    errs.map((e) => [e.type, e.field, e.badValue, e.detail]),
    [
      ['FieldValueNotFound', `${c0}.volumeMounts[2].name`, 'missing', undefined],
      ['FieldValueInvalid', `${c0}.volumeMounts[2].mountPath`, '/data', 'must be unique'],
    ],
  );
  expectCreate('/pods', edited(ok, (p) => (p.spec.containers[0].volumeMounts[0].subPath = '../up')), [
    `${c0}.volumeMounts.subPath: Invalid value: "../up": must not contain '..'`,
  ]);
  expectCreate('/pods', edited(ok, (p) => (p.spec.containers[0].volumeMounts[0].mountPropagation = 'Bidirectional')), [
    `${c0}.volumeMounts.mountPropagation: Forbidden: Bidirectional mount propagation is available only to privileged containers`,
  ]);
});

test('resources: names, quantities, requests within limits', () => {
  expectCreate('/pods', podWith((s) => (s.containers[0].resources = { requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: '500m', memory: '128Mi' } })), []);
  expectCreate('/pods', podWith((s) => (s.containers[0].resources = { requests: { cpu: '1' }, limits: { cpu: '500m' } })), [
    `${c0}.resources.requests: Invalid value: "1": must be less than or equal to cpu limit of 500m`,
  ]);
  expectCreate('/pods', podWith((s) => (s.containers[0].resources = { requests: { memory: '-1Mi' } })), [
    `${c0}.resources.requests[memory]: Invalid value: "-1Mi": must be greater than or equal to 0`,
  ]);
  expectCreate('/pods', podWith((s) => (s.containers[0].resources = { limits: { memory: '12 MB' } })), [
    `${c0}.resources.limits[memory]: Invalid value: "12 MB": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
  ]);
  expectCreate('/pods', podWith((s) => (s.containers[0].resources = { limits: { gpu: '1' } })), [
    `${c0}.resources.limits[gpu]: Invalid value: "gpu": must be a standard resource type or fully qualified`,
    `${c0}.resources.limits[gpu]: Invalid value: "gpu": must be a standard resource for containers`,
  ]);
  expectCreate('/pods', podWith((s) => (s.containers[0].resources = { limits: { 'example.com/gpu': '1' }, requests: { 'example.com/gpu': '1' } })), []);
  expectCreate('/pods', podWith((s) => (s.containers[0].resources = { requests: { 'example.com/gpu': '1' } })), [
    `${c0}.resources.limits: Required value: Limit must be set for non overcommitable resources`,
  ]);
  expectCreate('/pods', podWith((s) => (s.containers[0].resources = { limits: { 'example.com/gpu': '500m' }, requests: { 'example.com/gpu': '500m' } })), [
    `${c0}.resources.limits[example.com/gpu]: Invalid value: "500m": must be an integer`,
    `${c0}.resources.requests[example.com/gpu]: Invalid value: "500m": must be an integer`,
  ]);
});

test('probes and lifecycle handlers', () => {
  const probe = { httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' }, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 };
  expectCreate('/pods', podWith((s) => (s.containers[0].livenessProbe = probe)), []);
  expectCreate('/pods', podWith((s) => (s.containers[0].readinessProbe = { ...probe, httpGet: { ...probe.httpGet, port: 'http' } })), []);
  expectCreate('/pods', podWith((s) => (s.containers[0].livenessProbe = { ...probe, httpGet: undefined })), [
    `${c0}.livenessProbe: Required value: must specify a handler type`,
  ]);
  expectCreate('/pods', podWith((s) => (s.containers[0].livenessProbe = { ...probe, tcpSocket: { port: 80 } })), [
    `${c0}.livenessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type`,
  ]);
  expectCreate('/pods', podWith((s) => (s.containers[0].livenessProbe = { ...probe, successThreshold: 2 })), [
    `${c0}.livenessProbe.successThreshold: Invalid value: 2: must be 1`,
  ]);
  expectCreate('/pods', podWith((s) => (s.containers[0].readinessProbe = { ...probe, failureThreshold: -1, httpGet: { ...probe.httpGet, port: 0 } })), [
    `${c0}.readinessProbe.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive`,
    `${c0}.readinessProbe.failureThreshold: Invalid value: -1: must be greater than or equal to 0`,
  ]);
  expectCreate('/pods', podWith((s) => (s.containers[0].readinessProbe = { ...probe, exec: {}, httpGet: undefined })), [
    `${c0}.readinessProbe.exec.command: Required value`,
  ]);
  expectCreate('/pods', podWith((s) => (s.containers[0].lifecycle = { preStop: { sleep: { seconds: 60 } } })), [
    `${c0}.lifecycle.preStop.sleep: Invalid value: 60: must be non-negative and less than terminationGracePeriodSeconds (30)`,
  ]);
  expectCreate('/pods', podWith((s) => (s.initContainers = [{ name: 'init', image: 'busybox', imagePullPolicy: 'Always', terminationMessagePolicy: 'File', livenessProbe: probe }])), [
    'spec.initContainers[0].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always',
  ]);
  expectCreate(
    '/pods',
    podWith((s) => (s.initContainers = [{ name: 'sidecar', image: 'busybox', imagePullPolicy: 'Always', terminationMessagePolicy: 'File', restartPolicy: 'Always', livenessProbe: probe }])),
    [],
  );
});

test('pod-level enums, names and numbers', () => {
  expectCreate('/pods', podWith((s) => (s.dnsPolicy = 'Cluster')), [
    'spec.dnsPolicy: Unsupported value: "Cluster": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"',
  ]);
  expectCreate('/pods', podWith((s) => delete s.terminationGracePeriodSeconds), ['spec.terminationGracePeriodSeconds: Required value']);
  expectCreate('/pods', podWith((s) => (s.hostname = 'Web_1')), [`spec.hostname: Invalid value: "Web_1": ${RFC1123_LABEL}`]);
  expectCreate('/pods', podWith((s) => (s.subdomain = 'a.b')), ['spec.subdomain: Invalid value: "a.b": must not contain dots']);
  expectCreate('/pods', podWith((s) => (s.activeDeadlineSeconds = 0)), ['spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive']);
  expectCreate('/pods', podWith((s) => (s.nodeSelector = { 'kubernetes.io/os': 'linux!' })), [
    `spec.nodeSelector: Invalid value: "linux!": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
  ]);
  expectCreate('/pods', podWith((s) => (s.securityContext = { runAsUser: -1 })), ['spec.securityContext.runAsUser: Invalid value: -1: must be between 0 and 4294967295, inclusive']);
  expectCreate('/pods', podWith((s) => (s.imagePullSecrets = [{ name: 'regcred' }])), []);
  expectCreate('/pods', podWith((s) => (s.serviceAccountName = 'Builder')), [
    `spec.serviceAccountName: Invalid value: "Builder": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
  ]);
});

test('DNS config and dnsPolicy None', () => {
  expectDefaultedCreate('/pods', dnsNonePod(), []);
  expectDefaultedCreate('/pods', edited(dnsNonePod(), (p) => delete p.spec.dnsConfig), [
    'spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None',
  ]);
  expectDefaultedCreate('/pods', edited(dnsNonePod(), (p) => (p.spec.dnsConfig.nameservers = [])), [
    'spec.dnsConfig.nameservers: Required value: must provide at least one DNS nameserver when `dnsPolicy` is None',
  ]);
  expectDefaultedCreate('/pods', edited(dnsNonePod(), (p) => (p.spec.dnsConfig.nameservers = ['1.1.1.1', '8.8.8.8', '9.9.9.9', '10.0.0.10'])), [
    'spec.dnsConfig.nameservers: Invalid value: ["1.1.1.1","8.8.8.8","9.9.9.9","10.0.0.10"]: must not have more than 3 nameservers',
  ]);
  expectDefaultedCreate('/pods', edited(dnsNonePod(), (p) => (p.spec.dnsConfig.nameservers = ['dns.example'])), [
    'spec.dnsConfig.nameservers[0]: Invalid value: "dns.example": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
  ]);
  const searches = Array.from({ length: 33 }, (_, i) => `s${i}.example`);
  const errs = validateCreate('/pods', defaulted('/pods', edited(dnsNonePod(), (p) => (p.spec.dnsConfig.searches = searches))));
  assert.deepEqual(messages(errs), [`spec.dnsConfig.searches: Invalid value: ${JSON.stringify(searches)}: must not have more than 32 search paths`]);
  const long = Array.from({ length: 10 }, () => `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(30)}`);
  assert.deepEqual(
    messages(validateCreate('/pods', defaulted('/pods', edited(dnsNonePod(), (p) => (p.spec.dnsConfig.searches = long))))),
    [`spec.dnsConfig.searches: Invalid value: ${JSON.stringify(long)}: must not have more than 2048 characters (including spaces) in the search list`],
  );
  expectDefaultedCreate('/pods', edited(dnsNonePod(), (p) => (p.spec.dnsConfig.searches = ['example.com.'])), []);
  expectDefaultedCreate('/pods', edited(dnsNonePod(), (p) => (p.spec.dnsConfig.options = [{ value: '1' }])), [
    'spec.dnsConfig.options[0]: Required value: must not be empty',
  ]);
});

test('tolerations and affinity', () => {
  expectCreate('/pods', podWith((s) => (s.tolerations = [{ operator: 'Exists' }, { key: 'k', operator: 'Equal', value: 'v', effect: 'NoExecute', tolerationSeconds: 30 }])), []);
  expectCreate('/pods', podWith((s) => (s.tolerations = [{ operator: 'Equal', value: 'v' }])), [
    'spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when `key` is empty, which means "match all values and all keys"',
  ]);
  expectCreate('/pods', podWith((s) => (s.tolerations = [{ key: 'k', operator: 'Exists', value: 'v' }])), [
    "spec.tolerations[0].operator: Invalid value: \"v\": value must be empty when `operator` is 'Exists'",
  ]);
  expectCreate('/pods', podWith((s) => (s.tolerations = [{ key: 'k', operator: 'In' }])), [
    'spec.tolerations[0].operator: Unsupported value: "In": supported values: "Equal", "Exists"',
  ]);
  expectCreate('/pods', podWith((s) => (s.tolerations = [{ key: 'k', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 1 }])), [
    "spec.tolerations[0].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set",
  ]);
  expectCreate('/pods', podWith((s) => (s.tolerations = [{ key: 'k', operator: 'Exists', effect: 'Sometimes' }])), [
    'spec.tolerations[0].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"',
  ]);
  const na = (terms: Obj[]) => ({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } });
  expectCreate('/pods', podWith((s) => (s.affinity = na([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }]))), []);
  expectCreate('/pods', podWith((s) => (s.affinity = na([]))), [
    'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: Required value: must have at least one node selector term',
  ]);
  expectCreate('/pods', podWith((s) => (s.affinity = na([{ matchExpressions: [{ key: 'zone', operator: 'In' }, { key: 'x', operator: 'Near' }] }]))), [
    "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
    'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[1].operator: Invalid value: "Near": not a valid selector operator',
  ]);
  expectCreate(
    '/pods',
    podWith(
      (s) =>
        (s.affinity = {
          podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 0, podAffinityTerm: { labelSelector: { matchLabels: { app: 'web' } } } }] },
        }),
    ),
    [
      'spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: Invalid value: 0: must be in the range 1-100',
      'spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey: Required value: can not be empty',
      'spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey: Invalid value: "": name part must be non-empty',
      `spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey: Invalid value: "": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
    ],
  );
  expectCreate(
    '/pods',
    podWith((s) => (s.topologySpreadConstraints = [{ maxSkew: 0, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } } }])),
    ['spec.topologySpreadConstraints[0].maxSkew: Invalid value: 0: must be greater than zero'],
  );
});

test('pod updates may only change images, activeDeadlineSeconds and add tolerations', () => {
  const old = stored('/pods', simplePod());
  expectUpdate('/pods', edited(old, (p) => (p.spec.containers[0].image = 'nginx:1.26')), old, []);
  expectUpdate('/pods', edited(old, (p) => (p.spec.activeDeadlineSeconds = 60)), old, []);
  expectUpdate('/pods', edited(old, (p) => (p.spec.tolerations = [{ key: 'k', operator: 'Exists' }])), old, []);
  expectUpdate('/pods', edited(old, (p) => (p.metadata.labels = { app: 'web', version: '2' })), old, []);
  const errs = validateUpdate('/pods', edited(old, (p) => (p.spec.containers[0].ports[0].containerPort = 8080)), old);
  assert.equal(errs.length, 1);
  assert.equal(errs[0]!.type, 'FieldValueForbidden');
  assert.equal(errs[0]!.field, 'spec');
  assert.ok(
    errs[0]!.detail!.startsWith(
      'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n',
    ),
  );
  assert.match(errs[0]!.detail!, /spec\.containers\[0\]\.ports\[0\]\.containerPort: 80 -> 8080/);
  expectUpdate('/pods', edited(old, (p) => p.spec.containers.push({ ...p.spec.containers[0], name: 'two' })), old, [
    'spec.containers: Forbidden: pod updates may not add or remove containers',
  ]);
  const withDeadline = edited(old, (p) => (p.spec.activeDeadlineSeconds = 60));
  expectUpdate('/pods', edited(withDeadline, (p) => (p.spec.activeDeadlineSeconds = 120)), withDeadline, [
    'spec.activeDeadlineSeconds: Invalid value: 120: must be less than or equal to previous value',
  ]);
  const tolerating = edited(old, (p) => (p.spec.tolerations = [{ key: 'k', operator: 'Exists' }]));
  expectUpdate('/pods', edited(tolerating, (p) => (p.spec.tolerations = [])), tolerating, [
    'spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds',
  ]);
  const gated = edited(old, (p) => (p.spec.schedulingGates = [{ name: 'example.com/wait' }]));
  expectUpdate('/pods', edited(gated, (p) => (p.spec.schedulingGates = [])), gated, []);
  expectUpdate('/pods', edited(gated, (p) => p.spec.schedulingGates.push({ name: 'example.com/more' })), gated, [
    "spec.schedulingGates[1].name: Forbidden: only deletion is allowed, but found new scheduling gate 'example.com/more'",
  ]);
});

test('pod status updates', () => {
  const old = stored('/pods', simplePod());
  old.status = { phase: 'Pending', qosClass: 'BestEffort' };
  const running = edited(old, (p) => {
    p.status.phase = 'Running';
    p.status.hostIP = '192.168.1.10';
    p.status.hostIPs = [{ ip: '192.168.1.10' }];
    p.status.podIP = '10.244.1.5';
    p.status.podIPs = [{ ip: '10.244.1.5' }];
    p.status.conditions = [{ type: 'Ready', status: 'True' }];
    p.status.containerStatuses = [{ name: 'web', ready: true, restartCount: 0, image: 'nginx:1.25', imageID: '', state: { running: {} } }];
  });
  expectStatusUpdate('/pods', running, old, []);
  expectStatusUpdate('/pods', edited(running, (p) => (p.status.podIPs = [{ ip: '10.244.1.5' }, { ip: '10.244.1.6' }])), old, [
    'status.podIPs: Invalid value: [{"ip":"10.244.1.5"},{"ip":"10.244.1.6"}]: may specify no more than one IP for each IP family',
  ]);
  expectStatusUpdate('/pods', edited(running, (p) => (p.status.qosClass = 'Guaranteed')), old, ['status.qosClass: Invalid value: "Guaranteed": field is immutable']);
  expectStatusUpdate('/pods', edited(running, (p) => (p.spec.nodeName = 'node-1')), old, ['status.nodeName: Forbidden: may not be changed directly']);
  const never = edited(old, (p) => {
    p.spec.restartPolicy = 'Never';
    p.status.containerStatuses = [{ name: 'web', state: { terminated: { exitCode: 0 } } }];
  });
  expectStatusUpdate('/pods', edited(never, (p) => (p.status.containerStatuses[0].state = { running: {} })), never, [
    'status.containerStatuses[0].state: Forbidden: may not be transitioned to non-terminated state',
  ]);
});

test('bindings name a node', () => {
  expectCreate('/bindings', { metadata: { name: 'web', namespace: 'default' }, target: { kind: 'Pod', name: '' } }, [
    'target.kind: Unsupported value: "Pod": supported values: "Node", "<empty>"',
    'target.name: Required value',
  ]);
});

test('ephemeral containers are added through their subresource and never changed', () => {
  const old = stored('/pods', simplePod());
  const debug = { name: 'debug', image: 'busybox', imagePullPolicy: 'Always', terminationMessagePolicy: 'File', targetContainerName: 'web' };
  const withDebug = edited(old, (p) => (p.spec.ephemeralContainers = [debug]));
  assert.deepEqual(messages(validateEphemeralContainersUpdate(withDebug, old)), []);
  assert.deepEqual(
    validateEphemeralContainersUpdate(edited(withDebug, (p) => (p.spec.ephemeralContainers[0].targetContainerName = 'nope')), old).map((e) => [e.type, e.field, e.badValue]),
    [['FieldValueNotFound', 'spec.ephemeralContainers[0].targetContainerName', 'nope']],
  );
  assert.deepEqual(messages(validateEphemeralContainersUpdate(edited(withDebug, (p) => (p.spec.ephemeralContainers[0].ports = [{ containerPort: 80, protocol: 'TCP' }])), old)), [
    'spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container',
  ]);
  const errs = validateEphemeralContainersUpdate(edited(withDebug, (p) => (p.spec.ephemeralContainers = [])), withDebug);
  assert.deepEqual(messages(errs), ['spec.ephemeralContainers: Forbidden: existing ephemeral containers "debug" may not be removed\n']);
});
