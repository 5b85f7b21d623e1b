// Valid objects of every kind (defaulted, as the API server validates them),
// and helpers to assert on validation results by their rendered messages.

import assert from 'node:assert/strict';
import { type FieldError, fieldErrorMessage } from '../../../../src/api/field-errors.js';
import { applyDefaults } from '../../../../src/api/defaults/index.js';
import { validateCreate, validateStatusUpdate, validateUpdate } from '../../../../src/api/validation/index.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obj = any;

/** Defaults a (cloned) object as the API server does before validation. */
export function defaulted(gr: string, obj: Obj): Obj {
  const o = structuredClone(obj);
  applyDefaults(gr, o);
  return o;
}

export const messages = (errs: FieldError[]): string[] => errs.map(fieldErrorMessage);

/** Asserts the exact list of rendered errors of a create. */
export function expectCreate(gr: string, obj: Obj, expected: string[]): FieldError[] {
  const errs = validateCreate(gr, obj);
  assert.deepEqual(messages(errs), expected);
  return errs;
}

export function expectUpdate(gr: string, obj: Obj, old: Obj, expected: string[]): FieldError[] {
  const errs = validateUpdate(gr, obj, old);
  assert.deepEqual(messages(errs), expected);
  return errs;
}

export function expectStatusUpdate(gr: string, obj: Obj, old: Obj, expected: string[]): FieldError[] {
  const errs = validateStatusUpdate(gr, obj, old);
  assert.deepEqual(messages(errs), expected);
  return errs;
}

/** Defaults `obj`, then asserts the errors of creating it. */
export function expectDefaultedCreate(gr: string, obj: Obj, expected: string[]): FieldError[] {
  return expectCreate(gr, defaulted(gr, obj), expected);
}

/** `obj` as stored: defaulted, with the metadata the server assigns. */
export function stored(gr: string, obj: Obj, rv = '1'): Obj {
  const o = defaulted(gr, obj);
  o.metadata = { uid: 'c0ffee00-0000-4000-8000-000000000001', creationTimestamp: '2024-01-01T00:00:00Z', ...o.metadata, resourceVersion: rv };
  return o;
}

/** A changed copy of a stored object, as a client would send it back. */
export function edited(obj: Obj, change: (o: Obj) => void): Obj {
  const o = structuredClone(obj);
  change(o);
  return o;
}

export const RFC1123_SUBDOMAIN =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
export const RFC1123_LABEL =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
export const DNS1035_LABEL =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

// ---- the seeds' manifests and other representative objects ----

export const nginxDeployment = (): Obj => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'nginx', namespace: 'default', labels: { app: 'nginx' } },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: 'nginx' } },
    template: {
      metadata: { labels: { app: 'nginx' } },
      spec: { containers: [{ name: 'nginx', image: 'nginx:1.25', ports: [{ containerPort: 80 }] }] },
    },
  },
});

export const nginxService = (): Obj => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'nginx', namespace: 'default' },
  spec: { selector: { app: 'nginx' }, ports: [{ port: 80, targetPort: 80 }] },
});

export const headlessService = (): Obj => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'myapp', namespace: 'default', labels: { app: 'myapp' } },
  spec: { clusterIP: 'None', selector: { app: 'myapp' }, ports: [{ name: 'web', port: 80 }] },
});

export const webStatefulSet = (): Obj => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    serviceName: 'myapp',
    replicas: 2,
    selector: { matchLabels: { app: 'myapp' } },
    template: {
      metadata: { labels: { app: 'myapp' } },
      spec: {
        containers: [
          {
            name: 'nginx',
            image: 'registry.k8s.io/nginx-slim:0.24',
            ports: [{ containerPort: 80, name: 'web' }],
            volumeMounts: [{ name: 'www', mountPath: '/usr/share/nginx/html' }],
          },
        ],
      },
    },
    volumeClaimTemplates: [{ metadata: { name: 'www' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
  },
});

export const dnsNonePod = (): Obj => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'dns-example', namespace: 'default' },
  spec: {
    containers: [{ name: 'test', image: 'nginx' }],
    dnsPolicy: 'None',
    dnsConfig: {
      nameservers: ['192.0.2.1'],
      searches: ['ns1.svc.cluster-domain.example', 'my.dns.search.suffix'],
      options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }],
    },
  },
});

export const simplePod = (): Obj => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
  spec: { containers: [{ name: 'web', image: 'nginx:1.25', ports: [{ name: 'http', containerPort: 80 }] }] },
});

export const piJob = (): Obj => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'pi', namespace: 'default', uid: 'a1b2c3d4-0000-4000-8000-000000000002' },
  spec: {
    backoffLimit: 4,
    template: { spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'perl:5.34', command: ['perl', '-Mbignum=bpi', '-wle', 'print bpi(2000)'] }] } },
  },
});

export const fluentdDaemonSet = (): Obj => ({
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  metadata: { name: 'fluentd', namespace: 'kube-system' },
  spec: {
    selector: { matchLabels: { name: 'fluentd' } },
    template: {
      metadata: { labels: { name: 'fluentd' } },
      spec: {
        tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }],
        containers: [{ name: 'fluentd', image: 'fluentd:v1', resources: { limits: { memory: '200Mi' }, requests: { cpu: '100m', memory: '200Mi' } } }],
        volumes: [{ name: 'varlog', hostPath: { path: '/var/log' } }],
      },
    },
  },
});
