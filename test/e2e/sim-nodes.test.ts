// Simulated nodes and the node IPAM controller against a real k8ts server
// (inside a fresh network namespace), checked with the real kubectl.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cidrContains, parseCidr } from '../../src/util/cidr.js';
import { type Cluster, withCluster } from '../helpers/cluster.js';
import { poll } from '../helpers/poll.js';

// This test runs its own copy of the component: the server's is switched off.
const OWN_COMPONENTS = { args: ['--disable-controller-manager'] };

const program = fileURLToPath(new URL('../helpers/sim-program.js', import.meta.url));

function startProgram(c: Cluster, args: string[]) {
  const p = c.scenario.spawn(process.execPath, [program, c.kubeconfig, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout!.on('data', (b) => (out += b));
  p.stderr!.on('data', (b) => (err += b));
  const lines = () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  const waitFor = (pred: (l: any) => boolean, what: string, timeoutMs = 20_000) =>
    poll(
      () => {
        if (p.exitCode !== null) throw new Error(`sim program exited ${p.exitCode}\n${out}\n${err}`);
        return lines().find(pred);
      },
      { timeoutMs, what: `${what} (stdout: ${out}\nstderr: ${err})` },
    );
  const stop = async () => {
    if (p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
  };
  return { p, waitFor, stop, logs: () => out + err };
}

test('sim nodes: 3 Ready nodes with distinct podCIDRs, leases renewed, pods run and are deleted', async () => {
  await withCluster(OWN_COMPONENTS, async (c) => {
    const prog = startProgram(c, ['3', '1000']);
    try {
      await prog.waitFor((l) => l.ready, 'sim nodes ready');
      const nodes = await poll(
        async () => {
          const list = JSON.parse(await c.k(['get', 'nodes', '-o', 'json'])).items as any[];
          if (list.length !== 3 || !list.every((n) => n.spec?.podCIDR)) return false;
          return list;
        },
        { timeoutMs: 20_000, what: 'three nodes with podCIDRs' },
      );
      const cidrs = nodes.map((n) => n.spec.podCIDR).sort();
      assert.deepEqual(cidrs, ['10.244.0.0/24', '10.244.1.0/24', '10.244.2.0/24']);
      for (const n of nodes) assert.deepEqual(n.spec.podCIDRs, [n.spec.podCIDR]);
      const table = await c.k(['get', 'nodes']);
      const rows = table.trim().split('\n').slice(1);
      assert.equal(rows.length, 3, table);
      for (const r of rows) assert.match(r, /^sim-node-\d\s+Ready\s+/, table);
      const wide = await c.k(['get', 'nodes', '-o', 'wide']);
      assert.match(wide, /192\.0\.2\.100/);
      assert.match(wide, /v1\.33\.0/);

      // Leases in kube-node-lease, renewed.
      const leaseTimes = async () => {
        const items = JSON.parse(await c.k(['get', 'leases', '-n', 'kube-node-lease', '-o', 'json'])).items as any[];
        return Object.fromEntries(items.map((l) => [l.metadata.name, l.spec.renewTime]));
      };
      const first = await leaseTimes();
      assert.deepEqual(Object.keys(first).sort(), ['sim-node-0', 'sim-node-1', 'sim-node-2']);
      const lease = JSON.parse(await c.k(['get', 'lease', '-n', 'kube-node-lease', 'sim-node-0', '-o', 'json']));
      assert.equal(lease.spec.holderIdentity, 'sim-node-0');
      assert.equal(lease.spec.leaseDurationSeconds, 40);
      await poll(
        async () => {
          const now = await leaseTimes();
          return Object.keys(first).every((k) => now[k] && now[k] > first[k]);
        },
        { timeoutMs: 15_000, what: 'lease renewTime to advance' },
      );
      // Node status heartbeats (every 2 beats here).
      const hb = (n: any) => n.status.conditions.find((x: any) => x.type === 'Ready').lastHeartbeatTime;
      const hb0 = hb(JSON.parse(await c.k(['get', 'node', 'sim-node-0', '-o', 'json'])));
      await poll(async () => hb(JSON.parse(await c.k(['get', 'node', 'sim-node-0', '-o', 'json']))) > hb0, {
        timeoutMs: 15_000,
        what: 'node lastHeartbeatTime to advance',
      });

      // A pod bound to sim-node-1 becomes Running and Ready with an IP in its podCIDR.
      const node1 = nodes.find((n) => n.metadata.name === 'sim-node-1');
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'web', namespace: 'default' },
        spec: { nodeName: 'sim-node-1', containers: [{ name: 'web', image: 'nginx:1.27' }] },
      };
      await c.k(['apply', '-f', '-'], { input: JSON.stringify(pod) });
      const running = await poll(
        async () => {
          const p = JSON.parse(await c.k(['get', 'pod', 'web', '-o', 'json']));
          return p.status?.phase === 'Running' && p.status?.podIP ? p : false;
        },
        { timeoutMs: 20_000, what: 'pod web Running' },
      );
      assert.ok(cidrContains(parseCidr(node1.spec.podCIDR), running.status.podIP), `${running.status.podIP} in ${node1.spec.podCIDR}`);
      assert.equal(running.status.podIP, node1.spec.podCIDR.replace(/0\/24$/, '2'), 'first pod IP is .2');
      assert.equal(running.status.hostIP, node1.status.addresses.find((a: any) => a.type === 'InternalIP').address);
      assert.equal(running.status.conditions.find((x: any) => x.type === 'Ready').status, 'True');
      assert.equal(running.status.containerStatuses[0].ready, true);
      assert.match(running.status.containerStatuses[0].containerID, /^sim:\/\//);
      const wideTable = await c.k(['get', 'pod', 'web', '-o', 'wide']);
      assert.match(wideTable, new RegExp(`web\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+${running.status.podIP.replace(/\./g, '\\.')}\\s+sim-node-1`), wideTable);

      // A second pod gets the next IP.
      await c.k(['apply', '-f', '-'], { input: JSON.stringify({ ...pod, metadata: { name: 'web2', namespace: 'default' } }) });
      const ip2 = await poll(async () => JSON.parse(await c.k(['get', 'pod', 'web2', '-o', 'json'])).status?.podIP, { timeoutMs: 20_000, what: 'web2 IP' });
      assert.equal(ip2, node1.spec.podCIDR.replace(/0\/24$/, '3'));

      // kubectl delete (graceful) returns once the sim kubelet finished the deletion.
      const del = await c.kubectl(['delete', 'pod', 'web', '--timeout=30s']);
      assert.equal(del.code, 0, del.stderr);
      const gone = await c.kubectl(['get', 'pod', 'web'], { allowFailure: true });
      assert.notEqual(gone.code, 0);
      assert.match(gone.stderr, /NotFound|not found/);
    } finally {
      await prog.stop();
    }
  });
});

test('node ipam: assignments survive a restart of the controller; exhaustion gives CIDRNotAvailable', async () => {
  await withCluster(OWN_COMPONENTS, async (c) => {
    // A /23 cut in /24s holds two nodes; the third gets nothing.
    const prog = startProgram(c, ['3', '1000', '10.250.0.0/23', '24']);
    try {
      await prog.waitFor((l) => l.ready, 'sim nodes ready');
      const ev = await poll(
        async () => {
          const items = JSON.parse(await c.k(['get', 'events', '-n', 'default', '-o', 'json'])).items as any[];
          return items.find((e) => e.reason === 'CIDRNotAvailable');
        },
        { timeoutMs: 20_000, what: 'CIDRNotAvailable event' },
      );
      assert.equal(ev.type, 'Warning');
      assert.equal(ev.involvedObject.kind, 'Node');
      assert.equal(ev.message, `Node ${ev.involvedObject.name} status is now: CIDRNotAvailable`);
      const before = Object.fromEntries(
        (JSON.parse(await c.k(['get', 'nodes', '-o', 'json'])).items as any[]).map((n) => [n.metadata.name, n.spec.podCIDR ?? '']),
      );
      const assigned = Object.values(before).filter(Boolean).sort();
      assert.deepEqual(assigned, ['10.250.0.0/24', '10.250.1.0/24']);
      // Restart: the controller occupies the existing assignments; then deleting an assigned node frees its subnet for the waiting one.
      await prog.stop();
      const prog2 = startProgram(c, ['3', '1000', '10.250.0.0/23', '24']);
      try {
        await prog2.waitFor((l) => l.ready, 'sim nodes ready again');
        const waiting = Object.keys(before).find((k) => !before[k])!;
        const victim = Object.keys(before).find((k) => before[k])!;
        await c.k(['delete', 'node', victim]);
        const after = await poll(
          async () => {
            const items = JSON.parse(await c.k(['get', 'nodes', '-o', 'json'])).items as any[];
            const m = Object.fromEntries(items.map((n) => [n.metadata.name, n.spec.podCIDR ?? '']));
            return m[waiting] ? m : false;
          },
          { timeoutMs: 30_000, what: 'the waiting node to get the freed subnet' },
        );
        assert.equal(after[waiting], before[victim]);
        for (const k of Object.keys(before)) if (k !== victim && k !== waiting) assert.equal(after[k], before[k], 'kept across the restart');
      } finally {
        await prog2.stop();
      }
    } finally {
      await prog.stop();
    }
  });
});
