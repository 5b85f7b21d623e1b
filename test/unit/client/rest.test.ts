// ApiClient against a real k8ts server (inside a fresh network namespace):
// CRUD, selectors, paging, patch types, status subresource, watches, Status errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { withCluster } from '../../helpers/cluster.js';

const program = fileURLToPath(new URL('../../helpers/client-program.js', import.meta.url));

test('ApiClient: CRUD, selectors, paging, patch types, updateStatus, watch, and Status errors', async () => {
  await withCluster(async (c) => {
    const r = await c.scenario.exec(process.execPath, [program, c.kubeconfig, 'crud'], { timeoutMs: 60_000, allowFailure: true });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.deepEqual(out.created, { name: 'c1', uid: true });
    assert.deepEqual(out.got, { a: '1' });
    assert.deepEqual(out.byLabel, ['c1', 'c3']);
    assert.deepEqual(out.byField, ['c2']);
    assert.deepEqual(out.page1, { names: ['c1', 'c2'], cont: true });
    assert.deepEqual(out.page2, ['c3']);
    assert.deepEqual(out.all, ['c1', 'c2', 'c3']);
    assert.deepEqual(out.updated, { a: 'updated' });
    assert.deepEqual([out.staleUpdate.code, out.staleUpdate.reason, out.staleUpdate.kind], [409, 'Conflict', 'Status']);
    assert.deepEqual([out.notFound.code, out.notFound.reason], [404, 'NotFound']);
    assert.match(out.notFound.message, /configmaps "missing" not found/);
    assert.deepEqual([out.exists.code, out.exists.reason], [409, 'AlreadyExists']);
    assert.deepEqual([out.invalid.code, out.invalid.reason], [422, 'Invalid']);
    assert.deepEqual(out.merge, { a: 'updated', m: 'merge' });
    assert.deepEqual(out.strategic, { a: 'updated', m: 'merge', s: 'strategic' });
    assert.deepEqual(out.json, { a: 'updated', m: 'merge', s: 'strategic', j: 'json' });
    assert.deepEqual(out.apply.data, { k: 'v' });
    assert.ok(out.apply.managers.includes('client-test'));
    assert.equal(out.depStatus.replicas, 1, 'updateStatus does not change the spec');
    assert.deepEqual(out.depStatus.status, { observedGeneration: 1, replicas: 0 });
    assert.ok(out.namespaces.includes('default') && out.namespaces.includes('kube-system'));
    assert.deepEqual(out.watched, { type: 'MODIFIED', name: 'c2', a: 'watched' });
    assert.ok(out.replayed.some((e: { type: string; name: string }) => e.type === 'ADDED' && e.name === 'c1'));
    assert.ok(out.timedMs >= 900 && out.timedMs < 10_000, `watch with timeoutSeconds=1 ended after ${out.timedMs} ms`);
    assert.deepEqual([out.precondition.code, out.precondition.reason], [409, 'Conflict']);
    assert.deepEqual([out.afterDelete.code, out.afterDelete.reason], [404, 'NotFound']);
    // What the client wrote is what kubectl sees.
    assert.equal(JSON.parse(await c.k(['get', 'configmap', 'c1', '-o', 'json'])).data.j, 'json');
  });
});
