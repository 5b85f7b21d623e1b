// Node lifecycle end to end, with simulated nodes from `k8ts sim-nodes`:
//   - a node whose kubelet dies (its sim-nodes process is killed) becomes
//     Ready=Unknown with the unreachable taints; its pod is marked not ready,
//     evicted after the default unreachable toleration (3 s here, through the
//     DefaultTolerationSeconds admission), and the Deployment gets its three
//     ready pods back on the live nodes;
//   - PodGC force-deletes the pod left terminating there once the node is
//     marked out-of-service; a restarted kubelet makes the node healthy again;
//   - kubectl cordon (the scheduler avoids the node) and kubectl drain (the
//     Deployment's pods are evicted and recreated on the other node);
//   - when every node is down at once (full disruption), nothing is evicted.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { test } from 'node:test';
import { type Cluster, K8TS_BIN, withCluster } from '../helpers/cluster.js';
import { poll } from '../helpers/poll.js';

const UNREACHABLE = 'node.kubernetes.io/unreachable';
const UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'k8ts/demoapp' }] } },
  },
};

async function json(c: Cluster, args: string[]): Promise<any> {
  return JSON.parse(await c.k([...args, '-o', 'json']));
}

const isReady = (o: any) => (o.status?.conditions ?? []).some((x: any) => x.type === 'Ready' && x.status === 'True');
const readyCondition = (o: any) => (o.status?.conditions ?? []).find((x: any) => x.type === 'Ready');
const taintKeys = (n: any) => (n.spec?.taints ?? []).map((t: any) => `${t.key}:${t.effect}`).sort();

function simNodes(c: Cluster, args: string[]): { proc: ChildProcess; out: () => string } {
  const proc = c.scenario.spawn(process.execPath, [K8TS_BIN, 'sim-nodes', '--kubeconfig', c.kubeconfig, '--heartbeat', '1s', ...args]);
  let out = '';
  proc.stdout!.on('data', (b) => (out += b));
  proc.stderr!.on('data', (b) => (out += b));
  return { proc, out: () => out };
}

test('node lifecycle: unreachable node, taint eviction, PodGC, recovery, cordon and drain', { timeout: 300_000 }, async () => {
  await withCluster(
    { args: ['--node-monitor-grace-period', '4s', '--node-monitor-period', '1s', '--default-unreachable-toleration-seconds', '3'] },
    async (c) => {
      const what = (s: string) => `${s}\n--- server (tail):\n${c.output().slice(-3000)}`;
      const wait = <T>(fn: () => Promise<T>, s: string, timeoutMs = 30_000) => poll(fn, { timeoutMs, what: what(s) });

      const live = simNodes(c, ['--count', '2']);
      let dead = simNodes(c, ['--count', '1', '--name-prefix', 'dead-node-']);
      await wait(async () => {
        const nodes = (await json(c, ['get', 'nodes'])).items;
        return nodes.filter((n: any) => n.spec.podCIDR && isReady(n)).length === 3;
      }, `3 ready nodes (sim output: ${live.out()} ${dead.out()})`);

      // A Deployment over the three nodes; its pods carry the default tolerations.
      await c.k(['apply', '-f', '-'], { input: JSON.stringify(deployment) });
      const pods = await wait(async () => {
        const items = (await json(c, ['get', 'pods', '-l', 'app=web'])).items;
        const running = items.filter((p: any) => p.spec.nodeName && isReady(p));
        return running.length === 3 && new Set(running.map((p: any) => p.spec.nodeName)).size === 3 ? running : undefined;
      }, 'three ready pods, one per node');
      const tolerations = pods[0].spec.tolerations.filter((t: any) => t.effect === 'NoExecute').sort((a: any, b: any) => a.key.localeCompare(b.key));
      assert.deepEqual(tolerations, [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        { key: UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 3 },
      ]);
      const victim = pods.find((p: any) => p.spec.nodeName === 'dead-node-0');
      assert.ok(victim, 'a pod runs on dead-node-0');

      // The kubelet of dead-node-0 dies.
      dead.proc.kill('SIGKILL');
      const node = await wait(async () => {
        const n = await json(c, ['get', 'node', 'dead-node-0']);
        const keys = taintKeys(n);
        return readyCondition(n)?.status === 'Unknown' && keys.includes(`${UNREACHABLE}:NoExecute`) && keys.includes(`${UNREACHABLE}:NoSchedule`) ? n : undefined;
      }, 'dead-node-0 to become Unknown and tainted unreachable');
      const rc = readyCondition(node);
      assert.equal(rc.reason, 'NodeStatusUnknown');
      assert.equal(rc.message, 'Kubelet stopped posting node status.');
      for (const type of ['MemoryPressure', 'DiskPressure', 'PIDPressure']) {
        assert.equal(node.status.conditions.find((x: any) => x.type === type).status, 'Unknown', type);
      }
      assert.ok(node.spec.taints.find((t: any) => t.key === UNREACHABLE && t.effect === 'NoExecute').timeAdded, 'NoExecute taint has timeAdded');
      assert.match(await c.k(['get', 'nodes']), /dead-node-0\s+NotReady/);

      // Its pod: not ready (out of the endpoints), then evicted after 3 s, and left terminating (no kubelet to finish it).
      const evicted = await wait(async () => {
        const p = await json(c, ['get', 'pod', victim.metadata.name]);
        return p.metadata.deletionTimestamp ? p : undefined;
      }, 'the pod on dead-node-0 to be evicted');
      assert.equal(readyCondition(evicted).status, 'False', 'marked not ready');
      assert.ok(evicted.status.conditions.some((x: any) => x.type === 'DisruptionTarget' && x.reason === 'DeletionByTaintManager'));
      const events = await wait(async () => {
        const items = (await json(c, ['get', 'events', '-A'])).items;
        const has = (reason: string, msg: string, name: string) => items.some((e: any) => e.reason === reason && e.message === msg && e.involvedObject.name === name);
        return has('NodeNotReady', 'Node dead-node-0 status is now: NodeNotReady', 'dead-node-0') &&
          has('TaintManagerEviction', `Marking for deletion Pod default/${victim.metadata.name}`, victim.metadata.name) &&
          has('NodeNotReady', 'Node is not ready', victim.metadata.name);
      }, 'NodeNotReady and TaintManagerEviction events');
      assert.ok(events);

      // The Deployment is whole again on the live nodes.
      await wait(async () => {
        const items = (await json(c, ['get', 'pods', '-l', 'app=web'])).items.filter((p: any) => !p.metadata.deletionTimestamp);
        return items.length === 3 && items.every((p: any) => isReady(p) && p.spec.nodeName.startsWith('sim-node-'));
      }, 'three ready pods on the live nodes');
      await wait(async () => (await json(c, ['get', 'deploy', 'web'])).status.readyReplicas === 3, 'deployment web 3/3 ready');

      // Non-graceful node shutdown: out-of-service lets PodGC force-delete the terminating pod.
      await c.k(['taint', 'node', 'dead-node-0', 'node.kubernetes.io/out-of-service=nodeshutdown:NoExecute']);
      await wait(
        async () => (await c.kubectl(['get', 'pod', victim.metadata.name], { allowFailure: true })).stderr.includes('NotFound'),
        'PodGC to force-delete the terminating pod',
        40_000,
      );

      // The kubelet comes back: Ready again, the unreachable taints removed (the operator's taint stays).
      dead = simNodes(c, ['--count', '1', '--name-prefix', 'dead-node-']);
      await wait(async () => {
        const n = await json(c, ['get', 'node', 'dead-node-0']);
        return isReady(n) && JSON.stringify(taintKeys(n)) === JSON.stringify(['node.kubernetes.io/out-of-service:NoExecute']);
      }, 'dead-node-0 to recover');
      await c.k(['taint', 'node', 'dead-node-0', 'node.kubernetes.io/out-of-service-']);

      // cordon: unschedulable (and its taint); a new pod goes elsewhere.
      await c.k(['cordon', 'sim-node-1']);
      await wait(async () => {
        const n = await json(c, ['get', 'node', 'sim-node-1']);
        return n.spec.unschedulable === true && taintKeys(n).includes(`${UNSCHEDULABLE}:NoSchedule`);
      }, 'sim-node-1 cordoned and tainted unschedulable');
      assert.match(await c.k(['get', 'node', 'sim-node-1']), /Ready,SchedulingDisabled/);
      await c.k(['cordon', 'dead-node-0']);
      await c.k(['run', 'probe', '--image=k8ts/demoapp', '--restart=Never']);
      const probe = await wait(async () => {
        const p = await json(c, ['get', 'pod', 'probe']);
        return p.spec.nodeName && isReady(p) ? p : undefined;
      }, 'the new pod to run');
      assert.equal(probe.spec.nodeName, 'sim-node-0', 'the scheduler avoids cordoned nodes');

      // drain: the Deployment's pods on sim-node-1 are evicted and recreated on sim-node-0.
      const before = (await json(c, ['get', 'pods', '-l', 'app=web'])).items.filter((p: any) => p.spec.nodeName === 'sim-node-1');
      const r = await c.kubectl(['drain', 'sim-node-1', '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=60s'], { allowFailure: true });
      assert.equal(r.code, 0, `kubectl drain failed:\n${r.stdout}\n${r.stderr}`);
      for (const p of before) assert.match(r.stdout + r.stderr, new RegExp(`pod/${p.metadata.name} evicted`));
      assert.match(r.stdout, /node\/sim-node-1 drained/);
      await wait(async () => {
        const items = (await json(c, ['get', 'pods', '-l', 'app=web'])).items.filter((p: any) => !p.metadata.deletionTimestamp);
        return items.length === 3 && items.every((p: any) => isReady(p) && p.spec.nodeName === 'sim-node-0');
      }, 'the Deployment back to three ready pods, all on sim-node-0');

      // uncordon: the taint goes away again.
      await c.k(['uncordon', 'sim-node-1']);
      await wait(async () => {
        const n = await json(c, ['get', 'node', 'sim-node-1']);
        return !n.spec.unschedulable && !taintKeys(n).includes(`${UNSCHEDULABLE}:NoSchedule`);
      }, 'sim-node-1 uncordoned');

      live.proc.kill('SIGTERM');
      dead.proc.kill('SIGTERM');
    },
  );
});

test('node lifecycle: when every node stops at once (full disruption), no pod is evicted', { timeout: 120_000 }, async () => {
  await withCluster(
    { args: ['--node-monitor-grace-period', '3s', '--node-monitor-period', '1s', '--default-unreachable-toleration-seconds', '2'] },
    async (c) => {
      const what = (s: string) => `${s}\n--- server (tail):\n${c.output().slice(-3000)}`;
      const wait = <T>(fn: () => Promise<T>, s: string, timeoutMs = 30_000) => poll(fn, { timeoutMs, what: what(s) });
      const sim = simNodes(c, ['--count', '2']);
      await c.k(['apply', '-f', '-'], { input: JSON.stringify({ ...deployment, spec: { ...deployment.spec, replicas: 2 } }) });
      const pods = await wait(async () => {
        const items = (await json(c, ['get', 'pods', '-l', 'app=web'])).items.filter((p: any) => p.spec.nodeName && isReady(p));
        return items.length === 2 ? items : undefined;
      }, `two ready pods (sim output: ${sim.out()})`);

      sim.proc.kill('SIGKILL');
      await wait(async () => {
        const nodes = (await json(c, ['get', 'nodes'])).items;
        return nodes.length === 2 && nodes.every((n: any) => readyCondition(n)?.status === 'Unknown' && taintKeys(n).includes(`${UNREACHABLE}:NoSchedule`));
      }, 'both nodes Unknown');
      await wait(async () => /Entering master disruption mode/.test(c.output()), 'master disruption mode');
      // Well past the pods' 2 s toleration: no NoExecute taint is left, and no pod is deleted.
      const until = Date.now() + 5_000;
      while (Date.now() < until) {
        const items = (await json(c, ['get', 'pods', '-l', 'app=web'])).items;
        assert.equal(items.filter((p: any) => p.metadata.deletionTimestamp).length, 0, 'no pod is evicted');
        assert.deepEqual(items.map((p: any) => p.metadata.uid).sort(), pods.map((p: any) => p.metadata.uid).sort());
      }
      const nodes = (await json(c, ['get', 'nodes'])).items;
      for (const n of nodes) assert.ok(!taintKeys(n).includes(`${UNREACHABLE}:NoExecute`), `${n.metadata.name} has no NoExecute taint`);
    },
  );
});
