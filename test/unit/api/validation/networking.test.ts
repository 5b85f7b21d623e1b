// EndpointSlices, NetworkPolicies, Ingresses, Leases, Events.

import { test } from 'node:test';
import {
  DNS1035_LABEL,
  type Obj,
  defaulted,
  edited,
  expectCreate,
  expectDefaultedCreate,
  expectStatusUpdate,
  expectUpdate,
  stored,
} from './fixtures.js';

test('endpoint slices', () => {
  const gr = 'discovery.k8s.io/endpointslices';
  const slice = (extra: Obj): Obj => ({ metadata: { name: 'web-1', namespace: 'default' }, addressType: 'IPv4', endpoints: [], ports: [], ...extra });
  expectDefaultedCreate(gr, slice({ addressType: 'IP' }), ['addressType: Unsupported value: "IP": supported values: "FQDN", "IPv4", "IPv6"']);
  expectDefaultedCreate(gr, slice({ endpoints: [{ addresses: [] }] }), ['endpoints[0].addresses: Required value: must contain at least 1 address']);
  expectDefaultedCreate(gr, slice({ endpoints: [{ addresses: ['2001:db8::1'] }] }), ['endpoints[0].addresses[0]: Invalid value: "2001:db8::1": must be a valid IPv4 address']);
  expectDefaultedCreate(gr, slice({ addressType: 'FQDN', endpoints: [{ addresses: ['db.example.com'] }] }), []);
  expectDefaultedCreate(gr, slice({ addressType: 'FQDN', endpoints: [{ addresses: ['localhost'] }] }), [
    'endpoints[0].addresses[0]: Invalid value: "localhost": should be a domain with at least two segments separated by dots',
  ]);
  expectDefaultedCreate(gr, slice({ ports: [{ name: 'http', port: 80 }, { name: 'http', port: 81 }] }), ['ports[1].name: Duplicate value: "http"']);
  expectDefaultedCreate(gr, slice({ ports: [{ port: 80, protocol: 'HTTP' }] }), ['ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"']);
  const old = stored(gr, slice({}));
  expectUpdate(gr, edited(old, (s) => (s.addressType = 'IPv6')), old, ['addressType: Invalid value: "IPv6": field is immutable']);
});

test('network policies', () => {
  const gr = 'networking.k8s.io/networkpolicies';
  const np = (spec: Obj): Obj => defaulted(gr, { metadata: { name: 'np', namespace: 'default' }, spec: { podSelector: {}, ...spec } });
  expectCreate(gr, np({ ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 80 }, { port: 'http' }] }] }), []);
  expectCreate(gr, np({ ingress: [{ from: [{}] }] }), ['spec.ingress[0].from[0]: Required value: must specify a peer']);
  expectCreate(gr, np({ egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }, podSelector: {} }] }] }), [
    'spec.egress[0].to[0]: Forbidden: may not specify both ipBlock and another peer',
  ]);
  expectCreate(gr, np({ egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['192.168.0.0/16'] } }] }] }), [
    'spec.egress[0].to[0].ipBlock.except[0]: Invalid value: "192.168.0.0/16": must be a strict subset of `cidr`',
  ]);
  expectCreate(gr, np({ egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0' } }] }] }), ['spec.egress[0].to[0].ipBlock.cidr: Invalid value: "10.0.0.0": not a valid CIDR']);
  expectCreate(gr, np({ ingress: [{ ports: [{ port: 80, endPort: 79 }] }] }), ['spec.ingress[0].ports[0].endPort: Invalid value: 80: must be greater than or equal to `port`']);
  expectCreate(gr, np({ ingress: [{ ports: [{ port: 'http', endPort: 90 }] }] }), [
    'spec.ingress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is non-numeric',
  ]);
  expectCreate(gr, np({ policyTypes: ['Ingress', 'Sideways'] }), ['spec.policyTypes[1]: Unsupported value: "Sideways": supported values: "Ingress", "Egress"']);
});

test('ingresses', () => {
  const gr = 'networking.k8s.io/ingresses';
  const backend = { service: { name: 'web', port: { number: 80 } } };
  const ing = (spec: Obj): Obj => defaulted(gr, { metadata: { name: 'web', namespace: 'default' }, spec });
  const rule = (path: Obj): Obj => ({ host: 'web.example.com', http: { paths: [path] } });
  expectCreate(gr, ing({ defaultBackend: backend }), []);
  expectCreate(gr, ing({}), ['spec: Invalid value: null: either `defaultBackend` or `rules` must be specified']);
  expectCreate(gr, ing({ rules: [rule({ path: '/', backend })] }), ['spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified']);
  expectCreate(gr, ing({ rules: [rule({ path: 'api', pathType: 'Prefix', backend })] }), ['spec.rules[0].http.paths[0].path: Invalid value: "api": must be an absolute path']);
  expectCreate(gr, ing({ rules: [rule({ path: '/a//b', pathType: 'Exact', backend })] }), [
    "spec.rules[0].http.paths[0].path: Invalid value: \"/a//b\": must not contain '//'",
  ]);
  expectCreate(gr, ing({ rules: [rule({ path: '/', pathType: 'Regex', backend })] }), [
    'spec.rules[0].http.paths[0].pathType: Unsupported value: "Regex": supported values: "Exact", "ImplementationSpecific", "Prefix"',
  ]);
  expectCreate(gr, ing({ rules: [rule({ path: '/', pathType: 'Prefix', backend: { service: { name: 'Web', port: { name: 'http', number: 80 } } } })] }), [
    `spec.rules[0].http.paths[0].backend.service.name: Invalid value: "Web": ${DNS1035_LABEL}`,
    'spec.rules[0].http.paths[0].backend: Invalid value: "": cannot set both port name & port number',
  ]);
  expectCreate(gr, ing({ rules: [{ host: '10.0.0.1', http: { paths: [{ path: '/', pathType: 'Prefix', backend }] } }] }), [
    'spec.rules[0].host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address',
  ]);
  expectCreate(gr, ing({ rules: [{ host: '*.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend }] } }], tls: [{ hosts: ['*.example.com'], secretName: 'tls' }] }), []);
  const old = stored(gr, { metadata: { name: 'web', namespace: 'default' }, spec: { defaultBackend: backend } });
  expectStatusUpdate(gr, edited(old, (i) => (i.status = { loadBalancer: { ingress: [{ ip: '203.0.113.5' }] } })), old, []);
});

test('leases', () => {
  const gr = 'coordination.k8s.io/leases';
  expectDefaultedCreate(gr, { metadata: { name: 'l', namespace: 'default' }, spec: { leaseDurationSeconds: 0, leaseTransitions: -1 } }, [
    'spec.leaseDurationSeconds: Invalid value: 0: must be greater than zero',
    'spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0',
  ]);
  const old = stored(gr, { metadata: { name: 'l', namespace: 'default' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } });
  expectUpdate(gr, edited(old, (l) => (l.spec.holderIdentity = 'b')), old, []);
});

test('events: lenient core events, strict events.k8s.io events', () => {
  const core = (extra: Obj): Obj => ({ metadata: { name: 'e', namespace: 'default' }, involvedObject: { kind: 'Pod', namespace: 'default', name: 'p' }, ...extra });
  expectCreate('/events', core({}), []);
  expectCreate('/events', core({ involvedObject: { kind: 'Pod', namespace: 'other', name: 'p' } }), [
    'involvedObject.namespace: Invalid value: "other": does not match event.namespace',
  ]);
  expectCreate('/events', core({ eventTime: '2024-01-01T00:00:00.000000Z' }), [
    'reportingComponent: Required value',
    'reportingComponent: Invalid value: "": name part must be non-empty',
    `reportingComponent: Invalid value: "": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
    'reportingInstance: Required value',
    'action: Required value',
    'reason: Required value',
  ]);
  const gr = 'events.k8s.io/events';
  const ev: Obj = {
    metadata: { name: 'e', namespace: 'default' },
    eventTime: '2024-01-01T00:00:00.000000Z',
    regarding: { kind: 'Pod', namespace: 'default', name: 'p' },
    reason: 'Started',
    action: 'Start',
    type: 'Normal',
    reportingController: 'k8ts.io/kubelet',
    reportingInstance: 'kubelet-node-1',
  };
  expectCreate(gr, ev, []);
  expectCreate(gr, edited(ev, (e) => (e.type = 'Info')), ['type: Invalid value: "": has invalid value: Info']);
  expectCreate(gr, edited(ev, (e) => (e.deprecatedCount = 3)), ['deprecatedCount: Invalid value: "": needs to be unset']);
  expectCreate(gr, edited(ev, (e) => (e.series = { count: 1 })), ['series.count: Invalid value: "": should be at least 2', 'series.lastObservedTime: Required value']);
  const old = stored(gr, ev);
  expectUpdate(gr, edited(old, (e) => (e.series = { count: 2, lastObservedTime: '2024-01-01T00:01:00.000000Z' })), old, []);
  expectUpdate(gr, edited(old, (e) => (e.reason = 'Stopped')), old, ['reason: Invalid value: "Stopped": field is immutable']);
});
