// Random and mutated requests at every endpoint: the server answers each with
// a 2xx or 4xx Status (never a 5xx or a crash) and stays up.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { withCluster } from '../helpers/cluster.js';

const program = fileURLToPath(new URL('../helpers/fuzz-program.js', import.meta.url));

test('fuzzed bodies get 4xx answers and the server stays up', async () => {
  await withCluster(async (c) => {
    const r = await c.scenario.exec(process.execPath, [program, c.kubeconfig, '1500'], { timeoutMs: 240_000 });
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.equal(summary.badCount, 0, `5xx or failed requests: ${JSON.stringify(summary.bad, null, 1)}`);
    const total = Object.values(summary.codes as Record<string, number>).reduce((a, b) => a + b, 0);
    assert.equal(total, 1500);
    for (const code of Object.keys(summary.codes)) assert.ok(Number(code) >= 200 && Number(code) < 500, `code ${code}`);
    assert.ok((summary.codes['400'] ?? 0) > 0 && (summary.codes['422'] ?? 0) > 0 && (summary.codes['415'] ?? 0) > 0 && (summary.codes['413'] ?? 0) > 0);
    assert.equal((await c.kubectl(['get', '--raw', '/readyz'])).stdout, 'ok');
    assert.match(await c.k(['get', 'ns', 'default', '-o', 'name']), /namespace\/default/);
  });
});
