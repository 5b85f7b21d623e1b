import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SPDY3_DICTIONARY } from '../../../src/agent/server/spdy.js';
import { agentEndpoint, agentPath } from '../../../src/apiserver/nodeproxy.js';

const pod = { metadata: { namespace: 'ns', name: 'p' }, spec: { containers: [{ name: 'a' }, { name: 'b' }] } };

test('agentEndpoint: InternalIP first, daemonEndpoints port, default 10250, no address -> 503', () => {
  assert.deepEqual(
    agentEndpoint({ status: { addresses: [{ type: 'Hostname', address: 'n1' }, { type: 'InternalIP', address: '10.0.0.2' }], daemonEndpoints: { kubeletEndpoint: { Port: 12345 } } } }),
    { host: '10.0.0.2', port: 12345 },
  );
  assert.deepEqual(agentEndpoint({ status: { addresses: [{ type: 'Hostname', address: 'n1' }] } }), { host: 'n1', port: 10250 });
  assert.throws(() => agentEndpoint({ metadata: { name: 'n1' }, status: {} }), (e: any) => e.code === 503 && /no preferred addresses found for node "n1"/.test(e.message));
});

test('agentPath: kubelet paths and parameters', () => {
  assert.equal(agentPath(pod, 'log', new URLSearchParams('container=b&follow=true&tailLines=3&pretty=1')), '/containerLogs/ns/p/b?follow=true&tailLines=3');
  assert.equal(
    agentPath(pod, 'exec', new URLSearchParams('container=a&command=sh&command=-c&command=echo+hi&stdin=true&stdout=true&tty=true')),
    '/exec/ns/p/a?command=sh&command=-c&command=echo+hi&stdin=true&stdout=true&tty=true',
  );
  assert.equal(agentPath(pod, 'portforward', new URLSearchParams('ports=80,443')), '/portForward/ns/p?port=80&port=443');
  assert.throws(() => agentPath(pod, 'log', new URLSearchParams()), /a container name must be specified for pod p, choose one of: \[a b\]/);
  const withDefault = { ...pod, metadata: { ...pod.metadata, annotations: { 'kubectl.kubernetes.io/default-container': 'b' } } };
  assert.equal(agentPath(withDefault, 'attach', new URLSearchParams('stdout=1')), '/attach/ns/p/b?stdout=1');
});

test('SPDY/3 dictionary has the spec size', () => {
  assert.equal(SPDY3_DICTIONARY.length, 1423);
});
