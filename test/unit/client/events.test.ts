// EventRecorder against a real k8ts server (inside a fresh network namespace):
// a repeated event is aggregated into one Event with count 2.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { withCluster } from '../../helpers/cluster.js';

const program = fileURLToPath(new URL('../../helpers/client-program.js', import.meta.url));

test('EventRecorder: creates Events and aggregates a repeat (count 2, shown by kubectl describe)', async () => {
  await withCluster(async (c) => {
    const r = await c.scenario.exec(process.execPath, [program, c.kubeconfig, 'events'], { timeoutMs: 30_000, allowFailure: true });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const { events } = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.equal(events.length, 2, JSON.stringify(events));
    const [failed, synced] = events;
    assert.equal(synced.reason, 'Synced');
    assert.equal(synced.type, 'Normal');
    assert.equal(synced.count, 2);
    assert.equal(synced.message, 'synced the config map');
    assert.deepEqual(synced.source, { component: 'client-test', host: 'node-a' });
    assert.equal(synced.kind, 'ConfigMap');
    assert.equal(synced.uid, true);
    assert.ok(synced.first && synced.last && synced.last >= synced.first);
    assert.equal(failed.reason, 'Failed');
    assert.equal(failed.type, 'Warning');
    assert.equal(failed.count, 1);
    assert.equal(failed.message, 'could not do it');

    const describe = await c.k(['describe', 'configmap', 'ev-target']);
    assert.match(describe, /Normal\s+Synced\s+.*\(x2 over .*\)\s+client-test\S*(, node-a)?\s+synced the config map/, describe);
    assert.match(describe, /Warning\s+Failed\s+.*could not do it/, describe);
  });
});
