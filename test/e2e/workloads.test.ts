// Deployments and ReplicaSets end to end: the server's ReplicaSet and
// Deployment controllers; the real kubectl applies, scales, updates the image, reads the history and
// undoes. There are no nodes, so pods stay Pending: the test marks them Ready
// through the status subresource where readiness matters.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Cluster, withCluster } from '../helpers/cluster.js';
import { poll } from '../helpers/poll.js';

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'demoapp:v1' }] } },
  },
};

/** The server runs the ReplicaSet and Deployment controllers; waits until they are up. */
async function controllersUp(c: Cluster): Promise<void> {
  await poll(() => /controllers running.*controllers=\S*deployment/.test(c.output()), { timeoutMs: 20_000, what: 'the controller manager' });
}

async function json(c: Cluster, args: string[]): Promise<any> {
  return JSON.parse(await c.k([...args, '-o', 'json']));
}

const activePods = async (c: Cluster) =>
  (await json(c, ['get', 'pods', '-l', 'app=web'])).items.filter((p: any) => !p.metadata.deletionTimestamp);

async function markReady(c: Cluster, pods: any[]): Promise<void> {
  for (const p of pods) {
    const ready = (p.status?.conditions ?? []).some((x: any) => x.type === 'Ready' && x.status === 'True');
    if (ready) continue;
    await c.k([
      'patch', 'pod', p.metadata.name, '--subresource=status', '--type=merge',
      '-p', JSON.stringify({ status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }] } }),
    ]);
  }
}

test('Deployment: create, scale, rolling update, history and undo with kubectl', { timeout: 240_000 }, async () => {
  await withCluster(async (c) => {
    await controllersUp(c);
    const out = { slice: (n: number) => c.output().slice(n) };
    const what = (s: string) => () => `${s}\n--- controllers:\n${out.slice(-4000)}`;
    const wait = <T>(fn: () => Promise<T>, s: string, timeoutMs = 30_000) => poll(fn, { timeoutMs, what: what(s)() });
    try {

      await c.k(['apply', '-f', '-'], { input: JSON.stringify(deployment) });
      const rs1 = await wait(async () => {
        const l = (await json(c, ['get', 'rs', '-l', 'app=web'])).items;
        return l.length === 1 && l[0];
      }, 'a ReplicaSet');
      assert.match(rs1.metadata.name, /^web-[bcdfghjklmnpqrstvwxz2456789]+$/);
      const hash = rs1.metadata.labels['pod-template-hash'];
      assert.equal(rs1.metadata.name, `web-${hash}`);
      assert.equal(rs1.metadata.annotations['deployment.kubernetes.io/revision'], '1');
      assert.equal(rs1.metadata.ownerReferences[0].kind, 'Deployment');
      assert.equal(rs1.metadata.ownerReferences[0].controller, true);

      let pods = await wait(async () => {
        const l = await activePods(c);
        return l.length === 3 && l;
      }, '3 pods');
      for (const pod of pods) {
        assert.ok(pod.metadata.name.startsWith(`${rs1.metadata.name}-`));
        assert.equal(pod.metadata.ownerReferences[0].name, rs1.metadata.name);
        assert.equal(pod.metadata.labels['pod-template-hash'], hash);
      }
      await markReady(c, pods);
      await wait(async () => {
        const d = await json(c, ['get', 'deploy', 'web']);
        const s = d.status ?? {};
        const avail = (s.conditions ?? []).find((x: any) => x.type === 'Available');
        return s.availableReplicas === 3 && s.updatedReplicas === 3 && avail?.status === 'True' && d.metadata.annotations?.['deployment.kubernetes.io/revision'] === '1';
      }, 'deployment available with 3 replicas');
      const events = await c.k(['get', 'events', '--field-selector', 'involvedObject.kind=ReplicaSet', '-o', 'jsonpath={.items[*].reason}']);
      assert.match(events, /SuccessfulCreate/);

      // Scale.
      await c.k(['scale', 'deployment', 'web', '--replicas=5']);
      pods = await wait(async () => {
        const l = await activePods(c);
        return l.length === 5 && l;
      }, '5 pods');
      await markReady(c, pods);
      await wait(async () => (await json(c, ['get', 'deploy', 'web'])).status?.availableReplicas === 5, '5 available');

      // A new image: a second ReplicaSet; its pods are marked ready as they come, until the old one is at 0.
      await c.k(['set', 'image', 'deployment/web', 'web=demoapp:v2']);
      await wait(async () => {
        const rss = (await json(c, ['get', 'rs', '-l', 'app=web'])).items;
        const newRS = rss.find((r: any) => r.metadata.name !== rs1.metadata.name);
        const oldRS = rss.find((r: any) => r.metadata.name === rs1.metadata.name);
        await markReady(c, await activePods(c));
        return newRS && newRS.status?.availableReplicas === 5 && oldRS?.spec.replicas === 0 && newRS.metadata.annotations['deployment.kubernetes.io/revision'] === '2';
      }, 'the rollout to finish', 60_000);
      const d2 = await wait(async () => {
        const d = await json(c, ['get', 'deploy', 'web']);
        return d.status?.updatedReplicas === 5 && d.status?.availableReplicas === 5 && d.status?.replicas === 5 && d;
      }, 'deployment status after the rollout', 30_000);
      assert.equal(d2.metadata.annotations['deployment.kubernetes.io/revision'], '2');
      const prog = d2.status.conditions.find((x: any) => x.type === 'Progressing');
      assert.equal(prog.reason, 'NewReplicaSetAvailable');
      const devents = await c.k(['get', 'events', '--field-selector', 'involvedObject.name=web', '-o', 'jsonpath={.items[*].message}']);
      assert.match(devents, /Scaled up replica set web-\w+ from 0 to/);
      assert.match(devents, /Scaled down replica set/);

      const history = await c.k(['rollout', 'history', 'deployment/web']);
      const revs = history.split('\n').filter((l) => /^\d+\s/.test(l)).map((l) => l.split(/\s+/)[0]);
      assert.deepEqual(revs, ['1', '2'], history);

      // Undo: revision 1's template (and ReplicaSet) comes back as revision 3.
      await c.k(['rollout', 'undo', 'deployment/web']);
      let last = '';
      await wait(async () => {
        const d = await json(c, ['get', 'deploy', 'web']);
        await markReady(c, await activePods(c));
        const rs = await json(c, ['get', 'rs', rs1.metadata.name]);
        last = JSON.stringify({ d: { a: d.metadata.annotations, t: d.spec.template, s: d.status }, rs: { a: rs.metadata.annotations, t: rs.spec.template, r: rs.spec.replicas } });
        return (
          d.spec.template.spec.containers[0].image === 'demoapp:v1' &&
          d.metadata.annotations['deployment.kubernetes.io/revision'] === '3' &&
          rs.metadata.annotations['deployment.kubernetes.io/revision'] === '3' &&
          rs.spec.replicas === 5 && d.status?.updatedReplicas === 5 && d.status?.availableReplicas === 5
        );
      }, 'the undo to roll back to revision 1', 60_000).catch((e) => {
        throw new Error(`${e.message}\nlast state: ${last}`);
      });
      const rss = (await json(c, ['get', 'rs', '-l', 'app=web'])).items;
      assert.equal(rss.length, 2, 'undo reuses the first ReplicaSet');
    } finally {
      // withCluster tears the cluster (and its controllers) down.
    }
  });
});

test('ReplicaSet adoption and release; Deployment Recreate, pause/resume and rollout restart', { timeout: 240_000 }, async () => {
  await withCluster(async (c) => {
    await controllersUp(c);
    const out = { slice: (n: number) => c.output().slice(n) };
    const wait = <T>(fn: () => Promise<T>, s: string, timeoutMs = 30_000) => poll(fn, { timeoutMs, what: `${s}\n--- controllers:\n${out.slice(-4000)}` });
    const pods = async (sel: string) => (await json(c, ['get', 'pods', '-l', sel])).items.filter((x: any) => !x.metadata.deletionTimestamp);
    try {

      // A standalone ReplicaSet adopts a matching orphan and creates only the rest.
      await c.k(['run', 'orphan', '--image=demoapp', '--labels=app=solo']);
      const solo = {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: 'solo' },
        spec: { replicas: 2, selector: { matchLabels: { app: 'solo' } }, template: { metadata: { labels: { app: 'solo' } }, spec: { containers: [{ name: 'c', image: 'demoapp' }] } } },
      };
      await c.k(['apply', '-f', '-'], { input: JSON.stringify(solo) });
      const owned = await wait(async () => {
        const l = await pods('app=solo');
        return l.length === 2 && l.every((x: any) => x.metadata.ownerReferences?.[0]?.name === 'solo') && l;
      }, 'the orphan adopted and one pod created');
      assert.ok(owned.some((x: any) => x.metadata.name === 'orphan'));
      await wait(async () => {
        const rs = await json(c, ['get', 'rs', 'solo']);
        return rs.status?.replicas === 2 && rs.status?.fullyLabeledReplicas === 2 && rs.status?.observedGeneration === rs.metadata.generation;
      }, 'ReplicaSet status');
      // Relabelled: released, and replaced.
      await c.k(['label', 'pod', 'orphan', 'app=gone', '--overwrite']);
      await wait(async () => {
        const gone = await json(c, ['get', 'pod', 'orphan']);
        const l = await pods('app=solo');
        return !gone.metadata.ownerReferences?.length && l.length === 2 && !l.some((x: any) => x.metadata.name === 'orphan');
      }, 'the relabelled pod released and replaced');
      await c.k(['scale', 'rs', 'solo', '--replicas=1']);
      await wait(async () => (await pods('app=solo')).length === 1, 'scaled down to 1');
      const ev = await c.k(['get', 'events', '--field-selector', 'involvedObject.name=solo', '-o', 'jsonpath={.items[*].reason}']);
      assert.match(ev, /SuccessfulDelete/);

      // Recreate.
      const rc = structuredClone(deployment) as any;
      rc.metadata.name = 'rc';
      rc.spec.replicas = 2;
      rc.spec.selector.matchLabels.app = 'rc';
      rc.spec.template.metadata.labels.app = 'rc';
      rc.spec.strategy = { type: 'Recreate' };
      await c.k(['apply', '-f', '-'], { input: JSON.stringify(rc) });
      const rsNames = async () => (await json(c, ['get', 'rs', '-l', 'app=rc'])).items.map((r: any) => r.metadata.name).sort();
      const first = await wait(async () => ((await pods('app=rc')).length === 2 ? await rsNames() : false), '2 pods of rc');
      assert.equal(first.length, 1);

      // Paused: a template change makes no ReplicaSet.
      await c.k(['rollout', 'pause', 'deployment/rc']);
      await c.k(['set', 'image', 'deployment/rc', 'web=demoapp:v2']);
      await wait(async () => {
        const d = await json(c, ['get', 'deploy', 'rc']);
        const prog = (d.status?.conditions ?? []).find((x: any) => x.type === 'Progressing');
        return d.status?.observedGeneration === d.metadata.generation && prog?.reason === 'DeploymentPaused';
      }, 'the paused deployment observed');
      assert.deepEqual(await rsNames(), first);

      // Resumed: the old ReplicaSet goes to 0 first, then the new one comes up.
      await c.k(['rollout', 'resume', 'deployment/rc']);
      await wait(async () => {
        const rss = (await json(c, ['get', 'rs', '-l', 'app=rc'])).items;
        const l = await pods('app=rc');
        return rss.length === 2 && l.length === 2 && l.every((x: any) => x.spec.containers[0].image === 'demoapp:v2');
      }, 'Recreate rollout to v2');

      // kubectl rollout restart: a template annotation, so a third ReplicaSet.
      await c.k(['rollout', 'restart', 'deployment/rc']);
      await wait(async () => {
        const rss = (await json(c, ['get', 'rs', '-l', 'app=rc'])).items;
        const d = await json(c, ['get', 'deploy', 'rc']);
        const newest = rss.find((r: any) => r.metadata.annotations['deployment.kubernetes.io/revision'] === '3');
        return rss.length === 3 && newest?.spec.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt'] && newest.spec.replicas === 2 &&
          d.metadata.annotations['deployment.kubernetes.io/revision'] === '3';
      }, 'a restart to make revision 3');
    } finally {
      // withCluster tears the cluster (and its controllers) down.
    }
  });
});
