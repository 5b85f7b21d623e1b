// Namespaces: every namespace gets a `default` ServiceAccount; deleting a
// namespace deletes everything in it, then the namespace (kubectl waits for it).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withCluster } from '../helpers/cluster.js';
import { poll } from '../helpers/poll.js';

test('default service accounts, and kubectl delete namespace removes its content and then itself', async () => {
  await withCluster(async (c) => {
    await c.k(['create', 'namespace', 'demo']);
    await poll(async () => (await c.kubectl(['get', 'sa', 'default', '-n', 'demo'], { allowFailure: true })).code === 0, { what: 'default service account' });
    await c.k(['delete', 'sa', 'default', '-n', 'demo']);
    await poll(async () => (await c.kubectl(['get', 'sa', 'default', '-n', 'demo'], { allowFailure: true })).code === 0, { what: 'default service account recreated' });
    assert.match(await c.k(['get', 'sa', '-A']), /^kube-system\s+default\s+0\s+\S+$/m);

    await c.k(['create', 'configmap', 'cfg', '-n', 'demo']);
    await c.k(['create', 'deployment', 'web', '--image=nginx', '-n', 'demo']);
    await c.k(['create', 'service', 'clusterip', 'web', '--tcp=80:80', '-n', 'demo']);
    const svcIP = (await c.k(['get', 'svc', 'web', '-n', 'demo', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    const del = await c.kubectl(['delete', 'namespace', 'demo', '--timeout=40s'], { allowFailure: true });
    assert.match(del.stdout, /namespace "demo" deleted/, `server log:\n${c.output().split('\n').filter((l) => /namespace|finaliz|error|warn/i.test(l)).slice(-30).join('\n')}`);
    assert.match((await c.kubectl(['get', 'ns', 'demo'], { allowFailure: true })).stderr, /namespaces "demo" not found/);

    // Recreated, it is empty; the deleted service's cluster IP was released.
    await c.k(['create', 'namespace', 'demo']);
    assert.equal(await c.k(['get', 'cm,deploy,svc', '-n', 'demo', '-o', 'name']), '');
    await c.k(['create', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'again', namespace: 'demo' }, spec: { clusterIP: svcIP, ports: [{ port: 80 }] } }),
    });
  });
});
