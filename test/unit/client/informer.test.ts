// Informer against a real k8ts server (inside a fresh network namespace): it
// sees adds, updates and deletes made with kubectl, survives a server restart,
// and re-lists when its resumed watch is answered 410 Expired.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { withCluster } from '../../helpers/cluster.js';
import { poll } from '../../helpers/poll.js';

const program = fileURLToPath(new URL('../../helpers/client-program.js', import.meta.url));

test('Informer: add/update/delete, a server restart, and a re-list after 410 Expired', async () => {
  await withCluster(async (c) => {
    await c.k(['create', 'configmap', 'pre', '--from-literal=a=1']);
    await c.k(['label', 'configmap', 'pre', 'informer=yes']);
    await c.k(['create', 'configmap', 'unlabelled']);
    const p = c.scenario.spawn(process.execPath, [program, c.kubeconfig, 'informer'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout!.on('data', (b) => (out += b));
    p.stderr!.on('data', (b) => (err += b));
    const lines = () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    const has = (pred: (l: any) => boolean, what: string, timeoutMs = 15_000) =>
      poll(() => lines().find(pred), { timeoutMs, what: `${what} (stdout: ${out}\nstderr: ${err})` });

    const synced = await has((l) => l.synced, 'informer synced');
    assert.deepEqual(synced.cached, ['pre'], 'the label selector applies to the list');
    assert.ok(lines().some((l) => l.add === 'pre' && l.lists === 1));

    await c.k(['create', 'configmap', 'live', '--from-literal=x=1']);
    await c.k(['label', 'configmap', 'live', 'informer=yes']);
    await has((l) => l.add === 'live', 'add seen by the watch');
    await c.k(['patch', 'configmap', 'live', '-p', '{"data":{"x":"2"}}']);
    const upd = await has((l) => l.update === 'live' && l.data?.x === '2', 'update seen');
    assert.deepEqual(upd.old, { x: '1' }, 'onUpdate gets the old object too');
    await c.k(['delete', 'configmap', 'pre']);
    await has((l) => l.delete === 'pre', 'delete seen');
    assert.equal(lines().filter((l) => l.lists !== undefined).every((l) => l.lists === 1), true, 'no re-list so far');

    // A write elsewhere moves the store's revision past the informer's last
    // resourceVersion; after the restart the server's watch window starts there,
    // so the resumed watch is answered 410 Expired and the informer re-lists.
    await c.k(['create', 'secret', 'generic', 'bump', '--from-literal=k=v']);
    await c.restart();
    await c.k(['create', 'configmap', 'after', '--from-literal=y=1']);
    await c.k(['label', 'configmap', 'after', 'informer=yes']);
    const added = await has((l) => l.add === 'after', 'add after the restart', 30_000);
    assert.ok(added.lists >= 2, `re-listed after 410 (lists=${added.lists})`);
    assert.match(err, /watch expired \(410\); re-listing/);
    assert.match(err, /list\/watch failed; retrying/, 'a log line per retry while the server was down');
    await c.k(['patch', 'configmap', 'live', '-p', '{"data":{"x":"3"}}']);
    await has((l) => l.update === 'live' && l.data?.x === '3', 'update after the restart');
    await c.k(['delete', 'configmap', 'live']);
    await has((l) => l.delete === 'live', 'delete after the restart');

    // The lister's view.
    p.stdin!.write('after\n');
    const view = await has((l) => l.lister === 'after', 'lister answer');
    assert.deepEqual(view.names, ['after']);
    assert.deepEqual(view.get, { y: '1' });
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await poll(() => p.exitCode !== null || p.signalCode !== null, { what: 'informer program to stop' });
    await exited;
    assert.equal(p.exitCode, 0, 'stop() ended the informer cleanly');
  });
});

test('Informer: periodic resync calls onUpdate for every cached object; stop() ends it', async () => {
  await withCluster(async (c) => {
    const r = await c.scenario.exec(process.execPath, [program, c.kubeconfig, 'resync'], { timeoutMs: 30_000, allowFailure: true });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.ok(res.resynced.r1 >= 2 && res.resynced.r2 >= 2, JSON.stringify(res));
    assert.equal(res.stopped, true);
  });
});
