// The server's own control plane with simulated nodes from the CLI: the
// scheduler spreads pods over the nodes, node IPAM gives each node a subnet,
// the simulated kubelets run the pods with IPs from it, and the endpoints
// controllers publish them behind a Service.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { K8TS_BIN, withCluster } from '../helpers/cluster.js';
import { poll } from '../helpers/poll.js';

const fixture = (f: string) => fileURLToPath(new URL(`../../../test/fixtures/${f}`, import.meta.url));

const pod = (name: string) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'web' } },
    spec: { containers: [{ name: 'web', image: 'k8ts/demoapp', ports: [{ name: 'http', containerPort: 80 }] }] },
  });

test('k8ts server + k8ts sim-nodes: scheduling, pod CIDRs, running pods and their endpoints', async () => {
  await withCluster(async (c) => {
    const sim = c.scenario.spawn(process.execPath, [K8TS_BIN, 'sim-nodes', '--count', '3', '--kubeconfig', c.kubeconfig, '--heartbeat', '1s']);
    let simOut = '';
    sim.stdout!.on('data', (b) => (simOut += b));
    sim.stderr!.on('data', (b) => (simOut += b));
    const nodes = await poll(
      async () => {
        const list = JSON.parse(await c.k(['get', 'nodes', '-o', 'json'])).items;
        const ready = list.filter((n: any) => n.spec.podCIDR && n.status.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True'));
        return ready.length === 3 ? ready : undefined;
      },
      { timeoutMs: 30_000, what: `3 ready nodes with pod CIDRs (sim-nodes output: ${simOut})` },
    );
    assert.equal(new Set(nodes.map((n: any) => n.spec.podCIDR)).size, 3, 'distinct pod CIDRs');

    for (const name of ['web-a', 'web-b', 'web-c']) await c.k(['create', '-f', '-'], { input: pod(name) });
    const pods = await poll(
      async () => {
        const items = JSON.parse(await c.k(['get', 'pods', '-l', 'app=web', '-o', 'json'])).items;
        const ready = items.filter((p: any) => p.status.podIP && p.status.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True'));
        return ready.length === 3 ? ready : undefined;
      },
      { timeoutMs: 30_000, what: 'three running, ready pods' },
    );
    for (const p of pods) {
      const node = nodes.find((n: any) => n.metadata.name === p.spec.nodeName);
      assert.ok(node, `${p.metadata.name} is bound to a node`);
      const prefix = node.spec.podCIDR.split('.').slice(0, 3).join('.') + '.';
      assert.ok(p.status.podIP.startsWith(prefix), `${p.status.podIP} is inside ${node.spec.podCIDR}`);
    }
    assert.equal(new Set(pods.map((p: any) => p.spec.nodeName)).size >= 2, true, 'the scheduler spreads pods');
    assert.match(await c.k(['get', 'pods', '-o', 'wide']), /web-a\s+1\/1\s+Running\s+0\s+\S+\s+10\.244\.\d+\.\d+\s+sim-node-\d/);

    await c.k(['create', 'service', 'clusterip', 'web', '--tcp=80:http']);
    await c.k(['set', 'selector', 'service', 'web', 'app=web']);
    const ips = pods.map((p: any) => p.status.podIP).sort();
    await poll(
      async () => {
        const ep = JSON.parse(await c.k(['get', 'endpoints', 'web', '-o', 'json']));
        const got = (ep.subsets ?? []).flatMap((s: any) => (s.addresses ?? []).map((a: any) => a.ip)).sort();
        return JSON.stringify(got) === JSON.stringify(ips) && ep.subsets[0].ports[0].port === 80;
      },
      { timeoutMs: 20_000, what: 'the endpoints to list the three pods on port 80 (named targetPort http)' },
    );
    const slices = JSON.parse(await c.k(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=web', '-o', 'json'])).items;
    assert.equal(slices.flatMap((s: any) => s.endpoints).length, 3);

    await c.k(['delete', 'pod', 'web-a', '--timeout=30s']);
    await poll(
      async () => (await c.k(['get', 'endpoints', 'web', '-o', 'jsonpath={.subsets[*].addresses[*].ip}'])).trim().split(/\s+/).length === 2,
      { timeoutMs: 20_000, what: 'the deleted pod to leave the endpoints' },
    );

    // The seeds' Deployment with 3 replicas: one pod per node.
    const deploy = fs.readFileSync(fixture('seed-002/nginx-web.yaml'), 'utf8').split('---')[0].replace('replicas: 1', 'replicas: 3');
    await c.k(['apply', '-f', '-'], { input: deploy });
    const spread = await poll(
      async () => {
        const items = JSON.parse(await c.k(['get', 'pods', '-l', 'app=nginx-web', '-o', 'json'])).items;
        const running = items.filter((p: any) => p.status.phase === 'Running' && p.spec.nodeName);
        return running.length === 3 ? running : undefined;
      },
      { timeoutMs: 30_000, what: 'three running deployment pods' },
    );
    assert.equal(new Set(spread.map((p: any) => p.spec.nodeName)).size, 3, 'one pod per node');
    await poll(async () => /superopsmsb-nginx-web\s+3\/3\s+3\s+3/.test(await c.k(['get', 'deploy'])), { timeoutMs: 20_000, what: 'deployment 3/3 ready' });
    sim.kill('SIGTERM');
  });
});
