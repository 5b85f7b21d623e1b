// kubectl delete --cascade=orphan|foreground|background, carried out by the
// garbage collector that k8ts server runs as a client of the API.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Cluster, KUBECTL_RANGE, withCluster } from '../helpers/cluster.js';
import { poll } from '../helpers/poll.js';

async function family(c: Cluster, owner: string, version?: string): Promise<string[]> {
  await c.k(['create', 'configmap', owner], { version });
  const uid = (await c.k(['get', 'cm', owner, '-o', 'jsonpath={.metadata.uid}'], { version })).trim();
  const deps = [`${owner}-dep-1`, `${owner}-dep-2`];
  for (const name of deps) {
    const dep = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: owner, uid, blockOwnerDeletion: true }] },
    };
    await c.k(['create', '-f', '-'], { input: JSON.stringify(dep), version });
  }
  return deps;
}

const exists = async (c: Cluster, name: string) => (await c.kubectl(['get', 'cm', name, '-o', 'name'], { allowFailure: true })).code === 0;

for (const version of KUBECTL_RANGE) {
test(`kubectl ${version} delete --cascade: orphan keeps dependents, foreground deletes them first, background afterwards`, async () => {
  await withCluster(async (c) => {
    const k = (args: string[]) => c.k(args, { version });
    // Orphan: the owner goes, the dependents stay without their ownerReference.
    const orphans = await family(c, 'o', version);
    assert.match(await k(['delete', 'cm', 'o', '--cascade=orphan', '--timeout=30s']), /configmap "o" deleted/);
    assert.equal(await exists(c, 'o'), false);
    for (const d of orphans) {
      const obj = JSON.parse(await c.k(['get', 'cm', d, '-o', 'json']));
      assert.equal(obj.metadata.ownerReferences, undefined, `${d} was orphaned`);
    }

    // Foreground: kubectl returns once the owner is gone, and the dependents went before it.
    const fg = await family(c, 'f', version);
    assert.match(await k(['delete', 'cm', 'f', '--cascade=foreground', '--timeout=30s']), /configmap "f" deleted/);
    for (const d of fg) assert.equal(await exists(c, d), false, `${d} deleted before its owner`);

    // Background (the default): the owner goes at once, the collector removes the dependents.
    const bg = await family(c, 'b', version);
    await k(['delete', 'cm', 'b']);
    await poll(async () => !(await exists(c, bg[0])) && !(await exists(c, bg[1])), { timeoutMs: 20_000, what: 'dependents collected' });
    // The orphans are untouched throughout.
    for (const d of orphans) assert.equal(await exists(c, d), true);
  });
});
}
