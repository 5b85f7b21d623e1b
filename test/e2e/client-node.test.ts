// @kubernetes/client-node against k8ts: list, create, patch, watch, and an
// informer that survives a restart of the server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { withCluster } from '../helpers/cluster.js';
import { poll } from '../helpers/poll.js';

const program = fileURLToPath(new URL('../helpers/client-node-program.js', import.meta.url));

test('@kubernetes/client-node: list, create, patch, watch, and an informer across a server restart', async () => {
  await withCluster(async (c) => {
    const p = c.scenario.spawn(process.execPath, [program, c.kubeconfig]);
    let out = '';
    p.stdout!.on('data', (b) => (out += b));
    p.stderr!.on('data', (b) => (out += b));
    const lines = () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    await poll(() => lines().some((l) => l.ready), { timeoutMs: 20_000, what: `client program ready (output: ${out})` });
    const first = lines().find((l) => l.patched);
    assert.equal(first.patched, '2');
    assert.ok(first.list.includes('from-client'));
    assert.ok(lines().some((l) => l.add === 'from-client'), 'the informer listed the existing object');

    await c.k(['create', 'configmap', 'while-up', '--from-literal=x=1']);
    await poll(() => lines().some((l) => l.watch === 'ADDED' && l.name === 'while-up'), { what: 'watch event' });
    await poll(() => lines().some((l) => l.add === 'while-up'), { what: 'informer add' });

    await c.restart();
    await c.k(['create', 'configmap', 'after-restart', '--from-literal=y=2']);
    await poll(() => lines().some((l) => l.add === 'after-restart'), { timeoutMs: 30_000, what: `informer add after restart (output: ${out})` });
    await c.k(['patch', 'configmap', 'while-up', '-p', '{"data":{"x":"3"}}']);
    await poll(() => lines().some((l) => l.update === 'while-up' && l.data?.x === '3'), { timeoutMs: 20_000, what: 'informer update after restart' });
    p.kill('SIGTERM');
  });
});
