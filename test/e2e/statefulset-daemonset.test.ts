// StatefulSets and DaemonSets against the server's own control plane and three
// simulated nodes, driven by the real kubectl: ordered creation with stable
// identities behind a headless Service, ordered scale-down, a partitioned
// rolling update, rollout status/history/undo; one daemon pod per eligible
// node, bound by the scheduler, skipping a node tainted NoSchedule.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { K8TS_BIN, withCluster } from '../helpers/cluster.js';
import { poll } from '../helpers/poll.js';

const service = JSON.stringify({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'myapp', labels: { app: 'myapp' } },
  spec: { clusterIP: 'None', selector: { app: 'myapp' }, ports: [{ name: 'web', port: 80 }] },
});

const statefulSet = (image: string) =>
  JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web' },
    spec: {
      serviceName: 'myapp',
      replicas: 2,
      selector: { matchLabels: { app: 'myapp' } },
      template: {
        metadata: { labels: { app: 'myapp' } },
        spec: { containers: [{ name: 'myapp', image, ports: [{ name: 'web', containerPort: 80 }] }] },
      },
    },
  });

const daemonSet = JSON.stringify({
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  metadata: { name: 'agent' },
  spec: {
    selector: { matchLabels: { app: 'agent' } },
    template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'agent', image: 'k8ts/demoapp' }] } },
  },
});

const isReady = (p: any) => p.status?.phase === 'Running' && p.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');

test('StatefulSet and DaemonSet controllers with kubectl and simulated nodes', async () => {
  await withCluster(async (c) => {
    const sim = c.scenario.spawn(process.execPath, [K8TS_BIN, 'sim-nodes', '--count', '3', '--kubeconfig', c.kubeconfig, '--heartbeat', '1s']);
    let simOut = '';
    sim.stdout!.on('data', (b) => (simOut += b));
    sim.stderr!.on('data', (b) => (simOut += b));
    try {
      const pods = async (selector: string): Promise<any[]> => JSON.parse(await c.k(['get', 'pods', '-l', selector, '-o', 'json'])).items;
      const nodes: string[] = await poll(
        async () => {
          const list = JSON.parse(await c.k(['get', 'nodes', '-o', 'json'])).items;
          const ready = list.filter((n: any) => n.spec.podCIDR && n.status.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True'));
          return ready.length === 3 ? ready.map((n: any) => n.metadata.name).sort() : undefined;
        },
        { timeoutMs: 30_000, what: () => `3 ready nodes (sim-nodes output: ${simOut})` },
      );

      // ---- StatefulSet: web-0 then web-1, with stable network identities.
      await c.k(['create', '-f', '-'], { input: service });
      await c.k(['create', '-f', '-'], { input: statefulSet('k8ts/demoapp') });
      const web = await poll(
        async () => {
          const items = await pods('app=myapp');
          return items.length === 2 && items.every(isReady) ? items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)) : undefined;
        },
        { timeoutMs: 30_000, what: 'web-0 and web-1 running and ready' },
      );
      assert.deepEqual(
        web.map((p) => p.metadata.name),
        ['web-0', 'web-1'],
      );
      for (const [i, p] of web.entries()) {
        assert.equal(p.spec.hostname, `web-${i}`);
        assert.equal(p.spec.subdomain, 'myapp');
        assert.equal(p.metadata.labels['statefulset.kubernetes.io/pod-name'], `web-${i}`);
        assert.equal(p.metadata.labels['apps.kubernetes.io/pod-index'], String(i));
        assert.match(p.metadata.labels['controller-revision-hash'], /^web-\w+$/);
      }
      const web0Ready = Date.parse(web[0].status.conditions.find((x: any) => x.type === 'Ready').lastTransitionTime);
      assert.ok(Date.parse(web[1].metadata.creationTimestamp) >= web0Ready, 'web-1 is created once web-0 is ready (OrderedReady)');
      const events = await c.k(['get', 'events', '--field-selector', 'involvedObject.kind=StatefulSet', '-o', 'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}']);
      assert.match(events, /SuccessfulCreate: create Pod web-0 in StatefulSet web successful/);
      await poll(
        async () => {
          const ep = JSON.parse(await c.k(['get', 'endpoints', 'myapp', '-o', 'json']));
          const hosts = (ep.subsets ?? []).flatMap((s: any) => (s.addresses ?? []).map((a: any) => a.hostname)).sort();
          return JSON.stringify(hosts) === '["web-0","web-1"]';
        },
        { timeoutMs: 20_000, what: 'the headless service endpoints to carry hostnames web-0 and web-1' },
      );
      const status = await c.k(['rollout', 'status', 'statefulset/web', '--timeout=60s']);
      // The API server defaults rollingUpdate.partition to 0, so kubectl reports a "partitioned" rollout, as against upstream.
      assert.match(status, /partitioned roll out complete: 2 new pods have been updated|rolling update complete 2 pods/);
      const sts = JSON.parse(await c.k(['get', 'statefulset', 'web', '-o', 'json']));
      assert.equal(sts.status.readyReplicas, 2);
      assert.equal(sts.status.currentReplicas, 2);
      assert.equal(sts.status.updatedReplicas, 2);
      assert.equal(sts.status.availableReplicas, 2);
      assert.equal(sts.status.currentRevision, sts.status.updateRevision);
      assert.equal(sts.status.observedGeneration, sts.metadata.generation);

      // ---- Scale up to 3, then down to 1: web-2 goes before web-1.
      await c.k(['scale', 'statefulset', 'web', '--replicas=3']);
      await poll(async () => (await pods('app=myapp')).filter(isReady).length === 3, { timeoutMs: 30_000, what: 'web-2 to be ready' });
      await c.k(['scale', 'statefulset', 'web', '--replicas=1']);
      const seen: string[] = [];
      await poll(
        async () => {
          const names = (await pods('app=myapp')).map((p) => p.metadata.name).sort().join(',');
          if (seen[seen.length - 1] !== names) seen.push(names);
          return names === 'web-0';
        },
        { timeoutMs: 30_000, intervalMs: 10, what: 'scale down to web-0' },
      );
      assert.ok(!seen.includes('web-0,web-2'), `web-1 is never removed before web-2 (seen: ${seen.join(' | ')})`);

      // ---- A rolling update with a partition: only ordinals >= 1 move.
      await c.k(['scale', 'statefulset', 'web', '--replicas=2']);
      await poll(async () => (await pods('app=myapp')).filter(isReady).length === 2, { timeoutMs: 30_000, what: 'web-1 back' });
      const rev1 = JSON.parse(await c.k(['get', 'statefulset', 'web', '-o', 'json'])).status.currentRevision;
      await c.k(['patch', 'statefulset', 'web', '-p', JSON.stringify({ spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } } })]);
      await c.k(['set', 'image', 'statefulset/web', 'myapp=k8ts/demoapp:v2']);
      const partitioned = await c.k(['rollout', 'status', 'statefulset/web', '--timeout=60s']);
      assert.match(partitioned, /partitioned roll out complete: 1 new pods have been updated/);
      let now = await pods('app=myapp');
      const image = (name: string) => now.find((p) => p.metadata.name === name)?.spec.containers[0].image;
      assert.equal(image('web-1'), 'k8ts/demoapp:v2');
      assert.equal(image('web-0'), 'k8ts/demoapp');
      const mid = JSON.parse(await c.k(['get', 'statefulset', 'web', '-o', 'json'])).status;
      assert.equal(mid.currentRevision, rev1);
      assert.notEqual(mid.updateRevision, rev1);
      assert.equal(mid.updatedReplicas, 1);
      // Partition 0: web-0 follows; the rollout completes.
      await c.k(['patch', 'statefulset', 'web', '-p', JSON.stringify({ spec: { updateStrategy: { rollingUpdate: { partition: 0 } } } })]);
      assert.match(await c.k(['rollout', 'status', 'statefulset/web', '--timeout=60s']), /partitioned roll out complete: 2 new pods have been updated|rolling update complete 2 pods/);
      now = await pods('app=myapp');
      assert.equal(image('web-0'), 'k8ts/demoapp:v2');
      // History and undo.
      const history = await c.k(['rollout', 'history', 'statefulset/web']);
      assert.match(history, /^1\s/m);
      assert.match(history, /^2\s/m);
      await c.k(['rollout', 'undo', 'statefulset/web']);
      await poll(
        async () => {
          now = await pods('app=myapp');
          return now.length === 2 && now.every(isReady) && image('web-0') === 'k8ts/demoapp' && image('web-1') === 'k8ts/demoapp';
        },
        { timeoutMs: 60_000, what: 'the undo to roll both pods back' },
      );
      const revs = JSON.parse(await c.k(['get', 'controllerrevisions', '-l', 'app=myapp', '-o', 'json'])).items;
      assert.equal(revs.length, 2, 'the rollback reuses revision 1 (renumbered 3)');
      assert.deepEqual(revs.map((r: any) => r.revision).sort(), [2, 3]);

      // ---- DaemonSet: one pod per node, but not on a node tainted NoSchedule.
      const tainted = nodes[2]!;
      await c.k(['taint', 'nodes', tainted, 'dedicated=db:NoSchedule']);
      await c.k(['create', '-f', '-'], { input: daemonSet });
      const agents = await poll(
        async () => {
          const items = await pods('app=agent');
          return items.length === 2 && items.every(isReady) ? items : undefined;
        },
        { timeoutMs: 30_000, what: 'two daemon pods running' },
      );
      assert.deepEqual(agents.map((p) => p.spec.nodeName).sort(), nodes.slice(0, 2));
      for (const p of agents) {
        assert.deepEqual(p.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].values, [p.spec.nodeName]);
        assert.ok(p.spec.tolerations.some((t: any) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute'));
        assert.ok(p.metadata.labels['controller-revision-hash']);
      }
      assert.match(await c.k(['rollout', 'status', 'ds/agent', '--timeout=60s']), /daemon set "agent" successfully rolled out/);
      const dsStatus = JSON.parse(await c.k(['get', 'ds', 'agent', '-o', 'json'])).status;
      assert.equal(dsStatus.desiredNumberScheduled, 2);
      assert.equal(dsStatus.currentNumberScheduled, 2);
      assert.equal(dsStatus.numberReady, 2);
      assert.equal(dsStatus.numberMisscheduled, 0);
      // The taint goes: the third node gets its pod.
      await c.k(['taint', 'nodes', tainted, 'dedicated=db:NoSchedule-']);
      await poll(
        async () => {
          const items = await pods('app=agent');
          return items.filter(isReady).length === 3 && new Set(items.map((p) => p.spec.nodeName)).size === 3;
        },
        { timeoutMs: 30_000, what: 'a daemon pod on every node' },
      );
      // A rolling update of the DaemonSet completes.
      await c.k(['set', 'image', 'ds/agent', 'agent=k8ts/demoapp:v2']);
      assert.match(await c.k(['rollout', 'status', 'ds/agent', '--timeout=90s']), /successfully rolled out/);
      const updated = await pods('app=agent');
      assert.equal(updated.filter((p) => p.spec.containers[0].image === 'k8ts/demoapp:v2' && !p.metadata.deletionTimestamp).length, 3);
    } finally {
      sim.kill('SIGTERM');
    }
  });
});
