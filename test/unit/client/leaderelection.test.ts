// LeaderElector against a real k8ts server (inside a fresh network namespace):
// two candidates with short timings; exactly one leads, the other takes over
// when the first dies (after the lease expires), and a stopped leader releases
// the lease.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { withCluster } from '../../helpers/cluster.js';
import { poll } from '../../helpers/poll.js';

const program = fileURLToPath(new URL('../../helpers/client-program.js', import.meta.url));

test('LeaderElector: exactly one of two leads; the other takes over after the first stops', async () => {
  await withCluster(async (c) => {
    const out: Record<string, string> = { a: '', b: '' };
    const procs = Object.fromEntries(
      ['a', 'b'].map((id) => {
        const p = c.scenario.spawn(process.execPath, [program, c.kubeconfig, 'elector', id, '2000', '1500', '250']);
        p.stdout!.on('data', (b) => (out[id] += b));
        p.stderr!.on('data', (b) => (out[id] += b));
        return [id, p];
      }),
    );
    const lines = (id: string) => out[id]!.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    const leaders = () => ['a', 'b'].filter((id) => lines(id).some((l) => l.leading === id));
    const lease = async () => JSON.parse(await c.k(['get', 'lease', 'client-test-lock', '-o', 'json'])).spec;

    const first = (await poll(() => (leaders().length ? leaders() : undefined), { timeoutMs: 15_000, what: `a leader (a: ${out.a} b: ${out.b})` }))[0]!;
    const second = first === 'a' ? 'b' : 'a';
    // Several renew periods: the other one must not lead meanwhile.
    await poll(() => lines(second).some((l) => l.observed === first) && lines(first).length >= 2, { what: 'the follower observed the leader' });
    const spec = await lease();
    assert.equal(spec.holderIdentity, first);
    assert.equal(spec.leaseDurationSeconds, 2);
    assert.equal(spec.leaseTransitions, 0);
    assert.ok(spec.acquireTime && spec.renewTime);
    const renewed = await poll(async () => {
      const s = await lease();
      return s.renewTime !== spec.renewTime ? s : undefined;
    }, { what: 'the leader renewing its lease' });
    assert.equal(renewed.holderIdentity, first);
    assert.deepEqual(leaders(), [first], 'exactly one leads');

    // The leader dies without releasing: the other takes over once the lease expires.
    const killedAt = Date.now();
    procs[first]!.kill('SIGKILL');
    await poll(() => lines(second).some((l) => l.leading === second), { timeoutMs: 15_000, what: `${second} to take over (${out[second]})` });
    assert.ok(Date.now() - killedAt >= 1500, 'not before the lease expired');
    const taken = await lease();
    assert.equal(taken.holderIdentity, second);
    assert.equal(taken.leaseTransitions, 1);

    // A leader that is stopped releases the lease and reports it stopped leading.
    procs[second]!.kill('SIGTERM');
    await poll(() => lines(second).some((l) => l.stopped === second), { what: `${second} to stop leading (${out[second]})` });
    await poll(async () => !(await lease()).holderIdentity, { what: 'the lease released' });
  });
});
