// Namespaces, nodes, config maps, secrets, service accounts, endpoints.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateCreate } from '../../../../src/api/validation/index.js';
import {
  RFC1123_LABEL,
  defaulted,
  edited,
  expectCreate,
  expectDefaultedCreate,
  expectStatusUpdate,
  expectUpdate,
  messages,
  stored,
} from './fixtures.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

test('namespaces: label name, finalizers, status phase', () => {
  expectDefaultedCreate('/namespaces', { metadata: { name: 'Team' } }, [`metadata.name: Invalid value: "Team": ${RFC1123_LABEL}`]);
  expectCreate('/namespaces', edited(defaulted('/namespaces', { metadata: { name: 'x' } }), (n) => (n.spec.finalizers = ['cleanup'])), [
    'spec.finalizers: Invalid value: "cleanup": name is neither a standard finalizer name nor is it fully qualified',
  ]);
  const old = stored('/namespaces', { metadata: { name: 'team-a' } });
  expectUpdate('/namespaces', edited(old, (n) => (n.metadata.name = 'team-b')), old, ['metadata.name: Invalid value: "team-b": field is immutable']);
  expectStatusUpdate('/namespaces', edited(old, (n) => (n.status.phase = 'Terminating')), old, [
    "status.Phase: Invalid value: \"Terminating\": may only be 'Active' if `deletionTimestamp` is empty",
  ]);
  const deleting = edited(old, (n) => (n.metadata.deletionTimestamp = '2024-01-02T00:00:00Z'));
  expectStatusUpdate('/namespaces', edited(deleting, (n) => (n.status.phase = 'Terminating')), deleting, []);
});

test('nodes: pod CIDRs, taints, capacity; podCIDR set once', () => {
  const node = (spec: object, status?: object) => ({ metadata: { name: 'node-1' }, spec, ...(status ? { status } : {}) });
  expectDefaultedCreate('/nodes', node({ podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'] }), []);
  expectDefaultedCreate('/nodes', node({ podCIDRs: ['10.244.1.0/24', '10.244.2.0/24'] }), [
    'spec.podCIDRs: Invalid value: ["10.244.1.0/24","10.244.2.0/24"]: may specify no more than one CIDR for each IP family',
  ]);
  expectDefaultedCreate('/nodes', node({ podCIDR: '10.244.1.0' }), [
    'spec.podCIDRs[0]: Invalid value: "10.244.1.0": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
  ]);
  expectDefaultedCreate('/nodes', node({ taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }, { key: 'dedicated', value: 'x', effect: 'NoSchedule' }] }), [
    'spec.taints[1]: Duplicate value: {"key":"dedicated","value":"x","effect":"NoSchedule"}: taints must be unique by key and effect pair',
  ]);
  expectDefaultedCreate('/nodes', node({ taints: [{ key: 'k', effect: '' }] }), ['spec.taints[0].effect: Required value']);
  // allocatable defaults to capacity, so both carry the bad value
  expectDefaultedCreate('/nodes', node({}, { capacity: { cpu: '-2', pods: '110' } }), [
    'status.capacity.cpu: Invalid value: "-2": must be greater than or equal to 0',
    'status.allocatable.cpu: Invalid value: "-2": must be greater than or equal to 0',
  ]);
  const old = stored('/nodes', node({ podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'], providerID: 'k8ts://node-1' }));
  expectUpdate('/nodes', edited(old, (n) => (n.spec.unschedulable = true)), old, []);
  expectUpdate('/nodes', edited(old, (n) => (n.spec.podCIDR = n.spec.podCIDRs[0] = '10.244.9.0/24')), old, [
    'spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid',
  ]);
  expectUpdate('/nodes', edited(old, (n) => (n.spec.providerID = 'other://x')), old, [
    'spec.providerID: Forbidden: node updates may not change providerID except from "" to valid',
  ]);
  const fresh = stored('/nodes', node({}));
  expectUpdate('/nodes', edited(fresh, (n) => (n.spec.podCIDRs = ['10.244.3.0/24'])), fresh, []);
  expectStatusUpdate(
    '/nodes',
    edited(fresh, (n) => (n.status = { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }, { type: 'InternalIP', address: '10.0.0.1' }] })),
    fresh,
    ['status.addresses[1]: Duplicate value: {"type":"InternalIP","address":"10.0.0.1"}'],
  );
});

test('config maps: keys, size, immutability', () => {
  const cm = (data: object, extra: object = {}) => ({ metadata: { name: 'cfg', namespace: 'default' }, data, ...extra });
  expectDefaultedCreate('/configmaps', cm({ 'a b': 'x' }), [
    "data[a b]: Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
  ]);
  expectDefaultedCreate('/configmaps', cm({ '..data': 'x' }), ["data[..data]: Invalid value: \"..data\": must not start with '..'"]);
  expectDefaultedCreate('/configmaps', cm({ k: 'x' }, { binaryData: { k: b64('y') } }), ['data[k]: Invalid value: "k": duplicate of key present in binaryData']);
  expectDefaultedCreate('/configmaps', cm({ big: 'x'.repeat(1024 * 1024 + 1) }), [': Too long: may not be more than 1048576 bytes']);
  const old = stored('/configmaps', cm({ a: '1' }, { immutable: true }));
  expectUpdate('/configmaps', edited(old, (c) => (c.metadata.labels = { x: 'y' })), old, []);
  expectUpdate('/configmaps', edited(old, (c) => (c.data.a = '2')), old, ['data: Forbidden: field is immutable when `immutable` is set']);
  expectUpdate('/configmaps', edited(old, (c) => (c.immutable = false)), old, ['immutable: Forbidden: field is immutable when `immutable` is set']);
  const mutable = stored('/configmaps', cm({ a: '1' }));
  expectUpdate('/configmaps', edited(mutable, (c) => (c.data.a = '2')), mutable, []);
});

test('secrets: keys, size, type rules, immutability', () => {
  const secret = (extra: object) => ({ metadata: { name: 's', namespace: 'default' }, ...extra });
  expectDefaultedCreate('/secrets', secret({ data: { 'tls.crt': b64('c'), 'tls.key': b64('k') }, type: 'kubernetes.io/tls' }), []);
  expectDefaultedCreate('/secrets', secret({ data: { 'tls.crt': b64('c') }, type: 'kubernetes.io/tls' }), ['data[tls.key]: Required value']);
  expectDefaultedCreate('/secrets', secret({ type: 'kubernetes.io/service-account-token' }), [
    'metadata.annotations[kubernetes.io/service-account.name]: Required value',
  ]);
  expectDefaultedCreate('/secrets', secret({ type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64('{"auths":{}}') } }), []);
  const bad = validateCreate('/secrets', defaulted('/secrets', secret({ type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64('not json') } })));
  assert.equal(bad.length, 1);
  assert.equal(bad[0]!.field, 'data[.dockerconfigjson]');
  assert.equal(bad[0]!.badValue, '<secret contents redacted>');
  expectDefaultedCreate('/secrets', secret({ type: 'kubernetes.io/basic-auth' }), ['data[username]: Required value', 'data[password]: Required value']);
  expectDefaultedCreate('/secrets', secret({ data: { k: 'not base64!' } }), ['data[k]: Invalid value: "<secret contents redacted>": must be base64-encoded']);
  expectDefaultedCreate('/secrets', secret({ data: { big: Buffer.alloc(1024 * 1024 + 1).toString('base64') } }), ['data: Too long: may not be more than 1048576 bytes']);
  const old = stored('/secrets', secret({ stringData: { password: 'a' }, immutable: true }));
  expectUpdate('/secrets', edited(old, (s) => (s.type = 'kubernetes.io/tls')), old, [
    'type: Invalid value: "kubernetes.io/tls": field is immutable',
    'data[tls.crt]: Required value',
    'data[tls.key]: Required value',
  ]);
  expectUpdate('/secrets', edited(old, (s) => (s.data.password = b64('b'))), old, ['data: Forbidden: field is immutable when `immutable` is set']);
});

test('service accounts and endpoints', () => {
  expectDefaultedCreate('/serviceaccounts', { metadata: { name: 'Builder', namespace: 'default' } }, [
    `metadata.name: Invalid value: "Builder": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
  ]);
  const ep = (subsets: object[]) => defaulted('/endpoints', { metadata: { name: 'web', namespace: 'default' }, subsets });
  expectCreate('/endpoints', ep([{ ports: [{ port: 80 }] }]), ['subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`']);
  expectCreate('/endpoints', ep([{ addresses: [{ ip: '127.0.0.1' }], ports: [{ port: 80 }] }]), [
    'subsets[0].addresses[0].ip: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)',
  ]);
  expectCreate('/endpoints', ep([{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80 }, { port: 443, name: 'https' }] }]), [
    'subsets[0].ports[0].name: Required value',
  ]);
  assert.deepEqual(messages(validateCreate('/endpoints', ep([{ notReadyAddresses: [{ ip: '10.0.0.1', hostname: 'Web' }] }]))), [
    `subsets[0].notReadyAddresses[0].hostname: Invalid value: "Web": ${RFC1123_LABEL}`,
  ]);
});
