import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { withNetns } from '../helpers/netns.js';
import { poll } from '../helpers/poll.js';

const netnsList = () => execFileSync('ip', ['netns', 'list']).toString();

test('poll returns the first truthy value and times out with the last error', async () => {
  let n = 0;
  assert.equal(await poll(() => (++n >= 3 ? n : undefined), { intervalMs: 1 }), 3);
  await assert.rejects(
    poll(() => {
      throw new Error('not yet');
    }, { timeoutMs: 50, what: 'nothing' }),
    /timed out after 50 ms waiting for nothing \(last: not yet\)/,
  );
});

test('withNetns runs inside a fresh namespace and removes it and its processes, even on failure', async () => {
  let name = '';
  let pid = 0;
  await assert.rejects(
    withNetns(async (s) => {
      name = s.netns;
      assert.match(netnsList(), new RegExp(`^${s.netns}\\b`, 'm'));
      const links = (await s.exec('ip', ['-o', 'link'])).stdout;
      assert.deepEqual(
        links.split('\n').filter(Boolean).map((l) => l.split(': ')[1]),
        ['lo'],
        'a fresh namespace has only loopback',
      );
      await s.exec('ip', ['netns', 'add', s.name('pod')]);
      const p = s.spawn('sleep', ['600']);
      pid = p.pid!;
      throw new Error('scenario failed');
    }),
    /scenario failed/,
  );
  assert.ok(name);
  assert.doesNotMatch(netnsList(), new RegExp(name), 'namespaces removed');
  await poll(() => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }, { what: 'spawned process to end' });
});
