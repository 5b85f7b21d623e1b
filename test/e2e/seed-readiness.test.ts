// Seed 003's readiness walkthrough on three simulated nodes: a pod that stops
// being ready leaves the Service's addresses for notReadyAddresses, and with
// publishNotReadyAddresses it stays published. Then deleting the Deployment
// removes its ReplicaSet and pods (the garbage collector, background cascade).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Cluster, K8TS_BIN, withCluster } from '../helpers/cluster.js';
import { poll } from '../helpers/poll.js';

const fixture = (f: string) => fileURLToPath(new URL(`../../../test/fixtures/${f}`, import.meta.url));
const SVC = 'demoapp-readiness-service';

const json = async (c: Cluster, args: string[]) => JSON.parse(await c.k([...args, '-o', 'json']));
const ips = (list?: any[]) => (list ?? []).map((a) => a.ip).sort();

/** What a kubelet reports when the readiness probe starts failing. */
async function setReady(c: Cluster, pod: any, ready: boolean) {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const conditions = pod.status.conditions.map((x: any) =>
    x.type === 'Ready' || x.type === 'ContainersReady' ? { ...x, status: ready ? 'True' : 'False', lastTransitionTime: now } : x,
  );
  const containerStatuses = pod.status.containerStatuses.map((s: any) => ({ ...s, ready }));
  await c.k(['patch', 'pod', pod.metadata.name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { conditions, containerStatuses } })]);
}

test('seed 003: not-ready pods move to notReadyAddresses, publishNotReadyAddresses keeps them; deleting a Deployment removes its ReplicaSets and pods', async () => {
  await withCluster(async (c) => {
    c.scenario.spawn(process.execPath, [K8TS_BIN, 'sim-nodes', '--count', '3', '--kubeconfig', c.kubeconfig, '--heartbeat', '2s']);
    // First without publishNotReadyAddresses, as the seed's 4.1 does.
    const manifest = fs.readFileSync(fixture('seed-003/readiness.yaml'), 'utf8');
    await c.k(['apply', '-f', '-'], { input: manifest.replace('  publishNotReadyAddresses: true\n', '') });
    const pods = await poll(
      async () => {
        const items = (await json(c, ['get', 'pods', '-l', 'role=web-readiness'])).items;
        return items.length === 2 && items.every((p: any) => p.status.podIP && p.status.phase === 'Running') ? items : undefined;
      },
      { timeoutMs: 30_000, what: 'two running demoapp2 pods' },
    );
    const all = ips(pods.map((p: any) => ({ ip: p.status.podIP })));
    await poll(async () => ips((await json(c, ['get', 'endpoints', SVC])).subsets?.[0]?.addresses).join() === all.join(), {
      timeoutMs: 20_000,
      what: 'both pods in the endpoints',
    });

    // One pod's readiness probe fails.
    const [sick, healthy] = pods;
    await setReady(c, sick, false);
    const ep = await poll(
      async () => {
        const e = await json(c, ['get', 'endpoints', SVC]);
        return ips(e.subsets?.[0]?.notReadyAddresses).join() === sick.status.podIP ? e : undefined;
      },
      { timeoutMs: 20_000, what: 'the not-ready pod in notReadyAddresses' },
    );
    assert.deepEqual(ips(ep.subsets[0].addresses), [healthy.status.podIP]);
    assert.match(await c.k(['describe', 'endpoints', SVC]), new RegExp(`NotReadyAddresses:\\s+${sick.status.podIP.replace(/\./g, '\\.')}`));
    const slice = (await json(c, ['get', 'endpointslices', '-l', `kubernetes.io/service-name=${SVC}`])).items[0];
    assert.equal(slice.endpoints.find((e: any) => e.addresses[0] === sick.status.podIP).conditions.ready, false);
    // The pod stays Running (only not ready), and the Deployment counts 1/2 ready.
    await poll(async () => /demoapp2\s+1\/2\s/.test(await c.k(['get', 'deploy', 'demoapp2'])), { timeoutMs: 20_000, what: 'deployment 1/2 ready' });

    // The seed's 4.2: publishNotReadyAddresses publishes it again.
    await c.k(['apply', '-f', '-'], { input: manifest });
    await poll(
      async () => {
        const e = await json(c, ['get', 'endpoints', SVC]);
        return ips(e.subsets?.[0]?.addresses).join() === all.join() && !e.subsets[0].notReadyAddresses;
      },
      { timeoutMs: 20_000, what: 'both pods published with publishNotReadyAddresses' },
    );

    // Deleting the Deployment takes its ReplicaSet and pods with it.
    await c.k(['delete', 'deployment', 'demoapp2', '--wait=true', '--timeout=30s']);
    await poll(
      async () => (await c.k(['get', 'rs,pods', '-l', 'role=web-readiness', '-o', 'name'])).trim() === '',
      { timeoutMs: 30_000, what: 'the ReplicaSet and pods to be gone' },
    );
    await poll(async () => !(await json(c, ['get', 'endpoints', SVC])).subsets, { timeoutMs: 20_000, what: 'the endpoints to be empty' });
  });
});
