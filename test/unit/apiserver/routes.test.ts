import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseResourcePath } from '../../../src/apiserver/handler.js';

const route = (p: string) => {
  const r = parseResourcePath(p);
  return r && r !== 'notfound' ? { r: `${r.info.group}/${r.info.plural}`, ns: r.namespace, name: r.name, sub: r.subresource } : r;
};

test('resource paths: namespaced, cluster-scoped, subresources, and the namespaces/<name>/<sub> ambiguity', () => {
  assert.deepEqual(route('/api/v1/namespaces/demo/pods/p/status'), { r: '/pods', ns: 'demo', name: 'p', sub: 'status' });
  assert.deepEqual(route('/api/v1/namespaces/demo/configmaps'), { r: '/configmaps', ns: 'demo', name: undefined, sub: undefined });
  assert.deepEqual(route('/api/v1/namespaces/demo/finalize'), { r: '/namespaces', ns: undefined, name: 'demo', sub: 'finalize' });
  assert.deepEqual(route('/api/v1/namespaces/demo/status'), { r: '/namespaces', ns: undefined, name: 'demo', sub: 'status' });
  assert.deepEqual(route('/api/v1/namespaces/demo'), { r: '/namespaces', ns: undefined, name: 'demo', sub: undefined });
  assert.deepEqual(route('/apis/apps/v1/namespaces/x/deployments/d/scale'), { r: 'apps/deployments', ns: 'x', name: 'd', sub: 'scale' });
  assert.deepEqual(route('/api/v1/nodes/n1'), { r: '/nodes', ns: undefined, name: 'n1', sub: undefined });
  assert.equal(route('/api/v1/namespaces/demo/nodes'), 'notfound', 'a cluster-scoped resource under a namespace');
  assert.equal(route('/apis/apps/v2/deployments'), 'notfound', 'an unserved version');
  assert.equal(route('/api/v1/namespaces/demo/pods/p/bogus'), 'notfound');
  assert.equal(route('/api'), undefined, 'discovery is not a resource path');
});
