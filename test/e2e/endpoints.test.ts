// The Endpoints and EndpointSlice controllers against a real k8ts server:
// pods (given IPs and readiness through the status subresource, as a node
// agent would) selected by a Service show up in its Endpoints and EndpointSlices.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Cluster, withCluster } from '../helpers/cluster.js';
import { poll } from '../helpers/poll.js';

// This test runs its own copy of the component: the server's is switched off.
const OWN_COMPONENTS = { args: ['--disable-controller-manager'] };

const program = fileURLToPath(new URL('../helpers/endpoints-program.js', import.meta.url));

async function makePod(c: Cluster, name: string, ip: string, ready: boolean, extra: Record<string, any> = {}) {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'web' } },
    spec: { containers: [{ name: 'c', image: 'demoapp', ports: [{ name: 'http', containerPort: 8080 }] }], ...extra },
  };
  await c.k(['create', '-f', '-'], { input: JSON.stringify(pod) });
  await setStatus(c, name, ip, ready);
}

async function setStatus(c: Cluster, name: string, ip: string, ready: boolean) {
  const status = { status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] } };
  await c.k(['patch', 'pod', name, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
}

const json = async (c: Cluster, args: string[]) => JSON.parse(await c.k([...args, '-o', 'json']));
const ips = (list?: any[]) => (list ?? []).map((a) => a.ip).sort();

async function slicesOf(c: Cluster, svc: string): Promise<any[]> {
  return (await json(c, ['get', 'endpointslices', '-l', `kubernetes.io/service-name=${svc}`])).items;
}

test('Endpoints and EndpointSlices follow the pods a Service selects', async () => {
  await withCluster(OWN_COMPONENTS, async (c) => {
    const p = c.scenario.spawn(process.execPath, [program, c.kubeconfig], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout!.on('data', (b) => (out += b));
    p.stderr!.on('data', (b) => (out += b));
    try {
      await poll(() => out.includes('"started":true') || (p.exitCode !== null && Promise.reject(new Error(out))), { timeoutMs: 30_000, what: 'controllers started' });

      await makePod(c, 'a', '10.244.1.5', true);
      await makePod(c, 'b', '10.244.1.6', true);
      await makePod(c, 'c', '10.244.1.7', false);
      const svc = {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', labels: { team: 'x' } },
        spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
      };
      await c.k(['create', '-f', '-'], { input: JSON.stringify(svc) });

      // kubectl's ENDPOINTS column: the ready addresses with the resolved target port.
      await poll(async () => /10\.244\.1\.5:8080,10\.244\.1\.6:8080/.test(await c.k(['get', 'endpoints', 'web'])), { timeoutMs: 20_000, what: `endpoints listed (${out})` });
      let ep = await json(c, ['get', 'endpoints', 'web']);
      assert.deepEqual(ips(ep.subsets[0].addresses), ['10.244.1.5', '10.244.1.6']);
      assert.deepEqual(ips(ep.subsets[0].notReadyAddresses), ['10.244.1.7']);
      assert.deepEqual(ep.subsets[0].ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
      assert.equal(ep.metadata.labels.team, 'x');
      assert.ok(ep.metadata.annotations['endpoints.kubernetes.io/last-change-trigger-time']);
      assert.equal(ep.subsets[0].addresses[0].targetRef.kind, 'Pod');
      const svcUid = (await c.k(['get', 'svc', 'web', '-o', 'jsonpath={.metadata.uid}'])).trim();

      const slices = await poll(async () => {
        const s = await slicesOf(c, 'web');
        return s.length === 1 && (s[0].endpoints ?? []).length === 3 && s;
      }, { timeoutMs: 20_000, what: 'endpoint slice' });
      assert.equal(slices[0].addressType, 'IPv4');
      assert.match(slices[0].metadata.name, /^web-/);
      assert.equal(slices[0].metadata.labels['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
      assert.equal(slices[0].metadata.ownerReferences[0].uid, svcUid);
      const cond = (s: any[], ip: string) => s[0].endpoints.find((e: any) => e.addresses[0] === ip)?.conditions;
      assert.deepEqual(cond(slices, '10.244.1.5'), { ready: true, serving: true, terminating: false });
      assert.deepEqual(cond(slices, '10.244.1.7'), { ready: false, serving: false, terminating: false });

      // One pod stops being ready: it moves to notReadyAddresses, and its slice condition follows.
      await setStatus(c, 'b', '10.244.1.6', false);
      ep = await poll(async () => {
        const e = await json(c, ['get', 'endpoints', 'web']);
        return ips(e.subsets?.[0]?.addresses).join() === '10.244.1.5' && e;
      }, { timeoutMs: 20_000, what: 'b moved to notReadyAddresses' });
      assert.deepEqual(ips(ep.subsets[0].notReadyAddresses), ['10.244.1.6', '10.244.1.7']);
      await poll(async () => {
        const s = await slicesOf(c, 'web');
        return s.length === 1 && cond(s, '10.244.1.6')?.ready === false;
      }, { timeoutMs: 20_000, what: 'slice condition of b' });

      // publishNotReadyAddresses: every pod published.
      await c.k(['patch', 'svc', 'web', '--type=merge', '-p', '{"spec":{"publishNotReadyAddresses":true}}']);
      await poll(async () => {
        const e = await json(c, ['get', 'endpoints', 'web']);
        return ips(e.subsets?.[0]?.addresses).join() === '10.244.1.5,10.244.1.6,10.244.1.7' && !e.subsets[0].notReadyAddresses;
      }, { timeoutMs: 20_000, what: 'all published' });
      await poll(async () => {
        const s = await slicesOf(c, 'web');
        return s.length === 1 && cond(s, '10.244.1.6')?.ready === true && cond(s, '10.244.1.6')?.serving === false;
      }, { timeoutMs: 20_000, what: 'slice: ready with publishNotReadyAddresses, serving false' });

      // Drift is repaired: a hand-edited Endpoints is put back.
      await c.k(['patch', 'endpoints', 'web', '--type=merge', '-p', '{"subsets":[{"addresses":[{"ip":"10.9.9.9"}],"ports":[{"port":1}]}]}']);
      await poll(async () => ips((await json(c, ['get', 'endpoints', 'web'])).subsets?.[0]?.addresses).join() === '10.244.1.5,10.244.1.6,10.244.1.7', { timeoutMs: 20_000, what: 'drift repaired' });

      // A selector-less service with hand-made Endpoints is left alone.
      await c.k(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'manual' }, spec: { ports: [{ port: 80 }] } }) });
      await c.k(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'manual' }, subsets: [{ addresses: [{ ip: '192.0.2.50' }], ports: [{ port: 80 }] }] }) });

      // The service goes: so do its Endpoints and slices.
      await c.k(['delete', 'svc', 'web']);
      await poll(async () => (await c.kubectl(['get', 'endpoints', 'web'], { allowFailure: true })).code !== 0, { timeoutMs: 20_000, what: 'endpoints deleted' });
      await poll(async () => (await slicesOf(c, 'web')).length === 0, { timeoutMs: 20_000, what: 'slices deleted' });
      const manual = await json(c, ['get', 'endpoints', 'manual']);
      assert.deepEqual(ips(manual.subsets[0].addresses), ['192.0.2.50']);
      assert.equal((await slicesOf(c, 'manual')).length, 0);
    } finally {
      p.kill('SIGTERM');
    }
  });
});
