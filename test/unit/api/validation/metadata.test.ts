// Name formats and ObjectMeta rules, create and update.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  isConfigMapKey,
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isEnvVarName,
  isLabelValue,
  isQualifiedName,
  isValidPortName,
  nameIsDNSSubdomain,
  parseCIDR,
  parseIP,
  regexError,
} from '../../../../src/api/validation/formats.js';
import { validateCreate } from '../../../../src/api/validation/index.js';
import {
  DNS1035_LABEL,
  RFC1123_LABEL,
  RFC1123_SUBDOMAIN,
  defaulted,
  edited,
  expectCreate,
  expectUpdate,
  messages,
  simplePod,
  stored,
} from './fixtures.js';

test('name formats match upstream messages', () => {
  assert.deepEqual(isDNS1123Subdomain('example.com'), []);
  assert.deepEqual(isDNS1123Subdomain('Foo'), [RFC1123_SUBDOMAIN]);
  assert.deepEqual(isDNS1123Subdomain('a'.repeat(254)), ['must be no more than 253 characters']);
  assert.deepEqual(isDNS1123Label('my-name'), []);
  assert.deepEqual(isDNS1123Label('a.b'), ['must not contain dots']);
  assert.deepEqual(isDNS1123Label('-a'), [RFC1123_LABEL]);
  assert.deepEqual(isDNS1123Label('a'.repeat(64)), ['must be no more than 63 characters']);
  assert.deepEqual(isDNS1035Label('1abc'), [DNS1035_LABEL]);
  assert.deepEqual(isDNS1035Label('abc-1'), []);
  assert.equal(regexError('m', 'f'), "m (regex used for validation is 'f')");
  // generateName prefixes may end with a dash
  assert.deepEqual(nameIsDNSSubdomain('web-', true), []);
  assert.deepEqual(nameIsDNSSubdomain('web-', false), [RFC1123_SUBDOMAIN]);
});

test('qualified names, label values, ports, env vars and config keys', () => {
  assert.deepEqual(isQualifiedName('app.kubernetes.io/name'), []);
  assert.deepEqual(isQualifiedName('a/b/c'), [
    "a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
  ]);
  assert.deepEqual(isQualifiedName('/x'), ['prefix part must be non-empty']);
  assert.deepEqual(isQualifiedName('x/'), [
    'name part must be non-empty',
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
  ]);
  assert.deepEqual(isQualifiedName(`${'a'.repeat(64)}`), ['name part must be no more than 63 characters']);
  assert.deepEqual(isLabelValue(''), []);
  assert.deepEqual(isLabelValue('v1.2_x'), []);
  assert.equal(isLabelValue('-x').length, 1);
  assert.deepEqual(isValidPortName('http'), []);
  assert.deepEqual(isValidPortName('8080'), ['must contain at least one letter (a-z)']);
  assert.deepEqual(isValidPortName('a--b'), ['must not contain consecutive hyphens']);
  assert.deepEqual(isValidPortName('-ab'), ['must not begin or end with a hyphen']);
  assert.deepEqual(isEnvVarName('MY_VAR.1-x'), []);
  assert.deepEqual(isEnvVarName('1VAR'), [
    "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')",
  ]);
  assert.deepEqual(isEnvVarName('..x'), ["must not start with '..'"]);
  assert.deepEqual(isConfigMapKey('.dockerconfigjson'), []);
  assert.equal(isConfigMapKey('a b').length, 1);
});

test('IP and CIDR parsing accepts what Go accepts', () => {
  assert.equal(parseIP('10.0.0.1')?.family, 4);
  assert.equal(parseIP('010.000.000.001')?.family, 4);
  assert.equal(parseIP('2001:db8::1')?.family, 6);
  assert.equal(parseIP('::ffff:10.0.0.1')?.family, 4);
  for (const bad of ['10.0.0', '10.0.0.256', '1::2::3', 'fe80::1%eth0', 'abc', '']) assert.equal(parseIP(bad), null, bad);
  assert.deepEqual(parseCIDR('10.244.0.0/16')?.prefix, 16);
  assert.equal(parseCIDR('10.244.0.0/33'), null);
  assert.equal(parseCIDR('10.244.0.0'), null);
  assert.equal(parseCIDR('2001:db8::/64')?.prefix, 64);
});

test('metadata on create: name, generateName, namespace scope', () => {
  const pod = defaulted('/pods', simplePod());
  expectCreate('/pods', { ...pod, metadata: { name: 'Foo', namespace: 'default' } }, [`metadata.name: Invalid value: "Foo": ${RFC1123_SUBDOMAIN}`]);
  expectCreate('/pods', { ...pod, metadata: { namespace: 'default' } }, ['metadata.name: Required value: name or generateName is required']);
  expectCreate('/pods', { ...pod, metadata: { generateName: 'web-', namespace: 'default' } }, []);
  expectCreate('/pods', { ...pod, metadata: { generateName: 'Web-', namespace: 'default' } }, [`metadata.generateName: Invalid value: "Web-": ${RFC1123_SUBDOMAIN}`]);
  expectCreate('/pods', { ...pod, metadata: { name: 'web' } }, ['metadata.namespace: Required value']);
  expectCreate('/pods', { ...pod, metadata: { name: 'web', namespace: 'Default' } }, [`metadata.namespace: Invalid value: "Default": ${RFC1123_LABEL}`]);
  expectCreate('/namespaces', defaulted('/namespaces', { metadata: { name: 'x', namespace: 'default' } }), ['metadata.namespace: Forbidden: not allowed on this type']);
  expectCreate('/namespaces', defaulted('/namespaces', { metadata: { name: 'a.b' } }), ['metadata.name: Invalid value: "a.b": must not contain dots']);
  expectCreate('/services', defaulted('/services', { metadata: { name: '1web', namespace: 'default' }, spec: { ports: [{ port: 80 }] } }), [
    `metadata.name: Invalid value: "1web": ${DNS1035_LABEL}`,
  ]);
  expectCreate('/pods', { ...pod, metadata: { name: 'web', namespace: 'default', generation: -1 } }, [
    'metadata.generation: Invalid value: -1: must be greater than or equal to 0',
  ]);
});

test('labels, annotations, finalizers and owner references', () => {
  const pod = defaulted('/pods', simplePod());
  const withMeta = (m: object) => ({ ...pod, metadata: { name: 'web', namespace: 'default', ...m } });
  expectCreate('/pods', withMeta({ labels: { 'app.kubernetes.io/name': 'web', tier: '' } }), []);
  expectCreate('/pods', withMeta({ labels: { 'bad key': 'v' } }), [
    `metadata.labels: Invalid value: "bad key": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
  ]);
  expectCreate('/pods', withMeta({ labels: { app: 'x'.repeat(64) } }), [`metadata.labels: Invalid value: "${'x'.repeat(64)}": must be no more than 63 characters`]);
  expectCreate('/pods', withMeta({ annotations: { 'Example.COM/Note': 'anything at all' } }), []);
  expectCreate('/pods', withMeta({ annotations: { big: 'x'.repeat(256 * 1024) } }), ['metadata.annotations: Too long: may not be more than 262144 bytes']);
  expectCreate('/pods', withMeta({ finalizers: ['example.com/cleanup', 'kubernetes'] }), []);
  expectCreate('/pods', withMeta({ finalizers: ['cleanup'] }), [
    'metadata.finalizers[0]: Invalid value: "cleanup": name is neither a standard finalizer name nor is it fully qualified',
  ]);
  expectCreate('/pods', withMeta({ finalizers: ['orphan', 'foregroundDeletion'] }), [
    'metadata.finalizers: Invalid value: ["orphan","foregroundDeletion"]: finalizer orphan and foregroundDeletion cannot be both set',
  ]);
  const ref = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1', uid: 'u1', controller: true };
  expectCreate('/pods', withMeta({ ownerReferences: [ref] }), []);
  expectCreate('/pods', withMeta({ ownerReferences: [{ apiVersion: 'apps/', kind: '', name: '', uid: '' }] }), [
    'metadata.ownerReferences.apiVersion: Invalid value: "apps/": version must not be empty',
    'metadata.ownerReferences.kind: Invalid value: "": must not be empty',
    'metadata.ownerReferences.name: Invalid value: "": must not be empty',
    'metadata.ownerReferences.uid: Invalid value: "": must not be empty',
  ]);
  const errs = validateCreate('/pods', withMeta({ ownerReferences: [ref, { ...ref, name: 'web-2' }] }));
  assert.match(messages(errs)[0]!, /Only one reference can have Controller set to true\. Found "true" in references for ReplicaSet\/web-1 and ReplicaSet\/web-2$/);
});

test('metadata on update: identity is immutable and a resourceVersion is required', () => {
  const old = stored('/configmaps', { metadata: { name: 'cfg', namespace: 'default' }, data: { a: 'b' } });
  expectUpdate('/configmaps', edited(old, (o) => (o.metadata.name = 'cfg2')), old, ['metadata.name: Invalid value: "cfg2": field is immutable']);
  expectUpdate('/configmaps', edited(old, (o) => (o.metadata.uid = 'other')), old, ['metadata.uid: Invalid value: "other": field is immutable']);
  expectUpdate('/configmaps', edited(old, (o) => delete o.metadata.resourceVersion), old, [
    'metadata.resourceVersion: Invalid value: "": must be specified for an update',
  ]);
  const deleting = edited(old, (o) => {
    o.metadata.deletionTimestamp = '2024-01-02T00:00:00Z';
    o.metadata.finalizers = ['example.com/a'];
  });
  expectUpdate('/configmaps', edited(deleting, (o) => o.metadata.finalizers.push('example.com/b')), deleting, [
    'metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"example.com/b"}',
  ]);
  expectUpdate('/configmaps', edited(deleting, (o) => (o.metadata.finalizers = [])), deleting, []);
  const gen = edited(old, (o) => (o.metadata.generation = 3));
  expectUpdate('/configmaps', edited(gen, (o) => (o.metadata.generation = 2)), gen, ['metadata.generation: Invalid value: 2: must not be decremented']);
});
