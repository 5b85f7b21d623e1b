// The Job controller and the LoadBalancer IP controller through the real
// kubectl. Job pods stay unscheduled (no nodes), so nothing runs them: the
// test finishes them by writing their status, as a kubelet would.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Cluster, K8TS_BIN, withCluster } from '../helpers/cluster.js';
import { poll } from '../helpers/poll.js';

const FINALIZER = 'batch.kubernetes.io/job-tracking';

async function json(c: Cluster, args: string[]): Promise<any> {
  return JSON.parse(await c.k([...args, '-o', 'json']));
}

async function jobPods(c: Cluster, job: string, n: number): Promise<any[]> {
  return poll(
    async () => {
      const items = (await json(c, ['get', 'pods', '-l', `batch.kubernetes.io/job-name=${job}`])).items.filter((p: any) => !p.metadata.deletionTimestamp);
      return items.length === n ? items : undefined;
    },
    { timeoutMs: 20_000, what: `${n} pod(s) of job ${job}` },
  );
}

async function finish(c: Cluster, pod: string, phase: 'Succeeded' | 'Failed'): Promise<void> {
  await c.k(['patch', 'pod', pod, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { phase } })]);
}

const jobManifest = (name: string, spec: Record<string, unknown>) =>
  JSON.stringify({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: { ...spec, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] } } },
  });

test('Job controller: completion, finalizer tracking, Indexed, backoffLimit, deadline, suspend, TTL', async () => {
  await withCluster(async (c) => {
    // ---- kubectl create job: one pod, labelled, owned, holding the tracking finalizer.
    await c.k(['create', 'job', 'x', '--image=busybox']);
    const [pod] = await jobPods(c, 'x', 1);
    const job = await json(c, ['get', 'job', 'x']);
    const uid = job.metadata.uid;
    assert.deepEqual(job.spec.selector.matchLabels, { 'batch.kubernetes.io/controller-uid': uid });
    for (const [k, v] of Object.entries({ 'batch.kubernetes.io/job-name': 'x', 'job-name': 'x', 'batch.kubernetes.io/controller-uid': uid, 'controller-uid': uid })) {
      assert.equal(pod.metadata.labels[k], v, `pod label ${k}`);
    }
    assert.deepEqual(pod.metadata.finalizers, [FINALIZER]);
    assert.equal(pod.metadata.ownerReferences[0].kind, 'Job');
    assert.equal(pod.metadata.ownerReferences[0].uid, uid);
    await poll(async () => (await json(c, ['get', 'job', 'x'])).status?.active === 1, { what: 'job x active 1' });
    const table = await c.k(['get', 'jobs']);
    assert.match(table, /^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE/);
    assert.match(table, /\nx\s+Running\s+0\/1\s+/);

    // ---- the pod succeeds: SuccessCriteriaMet, then Complete; the finalizer goes.
    await finish(c, pod.metadata.name, 'Succeeded');
    await c.k(['wait', '--for=condition=complete', 'job/x', '--timeout=30s']);
    const done = await json(c, ['get', 'job', 'x']);
    assert.equal(done.status.succeeded, 1);
    assert.equal(done.status.active, 0);
    assert.ok(done.status.completionTime, 'completionTime');
    assert.ok(done.status.startTime, 'startTime');
    assert.deepEqual(
      done.status.conditions.map((x: any) => `${x.type}/${x.status}/${x.reason}`),
      ['SuccessCriteriaMet/True/CompletionsReached', 'Complete/True/CompletionsReached'],
    );
    assert.deepEqual(done.status.uncountedTerminatedPods ?? {}, {});
    const after = await json(c, ['get', 'pod', pod.metadata.name]);
    assert.deepEqual(after.metadata.finalizers ?? [], []);
    assert.match(await c.k(['get', 'jobs']), /\nx\s+Complete\s+1\/1\s+/);
    // A counted pod removed stays counted.
    await c.k(['delete', 'pod', pod.metadata.name, '--wait=true']);
    assert.equal((await json(c, ['get', 'job', 'x'])).status.succeeded, 1);
    assert.match(await c.k(['get', 'events', '--field-selector', 'involvedObject.name=x']), /SuccessfulCreate|Completed/);

    // ---- Indexed: one pod per index, index annotation/label, hostname, env.
    await c.k(['create', '-f', '-'], { input: jobManifest('idx', { completionMode: 'Indexed', completions: 3, parallelism: 2 }) });
    const first = await jobPods(c, 'idx', 2);
    const indexOf = (p: any) => p.metadata.annotations['batch.kubernetes.io/job-completion-index'];
    assert.deepEqual(first.map(indexOf).sort(), ['0', '1']);
    for (const p of first) {
      assert.equal(p.metadata.labels['batch.kubernetes.io/job-completion-index'], indexOf(p));
      assert.equal(p.spec.hostname, `idx-${indexOf(p)}`);
      assert.ok(p.metadata.name.startsWith(`idx-${indexOf(p)}-`));
      assert.ok(p.spec.containers[0].env.some((e: any) => e.name === 'JOB_COMPLETION_INDEX'));
    }
    for (const p of first) await finish(c, p.metadata.name, 'Succeeded');
    const last = await poll(
      async () => {
        const items = (await json(c, ['get', 'pods', '-l', 'batch.kubernetes.io/job-name=idx'])).items;
        return items.find((p: any) => indexOf(p) === '2');
      },
      { timeoutMs: 20_000, what: 'the pod of index 2' },
    );
    await finish(c, last.metadata.name, 'Succeeded');
    await c.k(['wait', '--for=condition=complete', 'job/idx', '--timeout=30s']);
    const idx = await json(c, ['get', 'job', 'idx']);
    assert.equal(idx.status.completedIndexes, '0-2');
    assert.equal(idx.status.succeeded, 3);

    // ---- backoffLimit 0: the first failure fails the job.
    await c.k(['create', '-f', '-'], { input: jobManifest('bo', { backoffLimit: 0 }) });
    const [boPod] = await jobPods(c, 'bo', 1);
    await finish(c, boPod.metadata.name, 'Failed');
    await c.k(['wait', '--for=condition=failed', 'job/bo', '--timeout=30s']);
    const bo = await json(c, ['get', 'job', 'bo']);
    assert.equal(bo.status.failed, 1);
    assert.deepEqual(bo.status.conditions.map((x: any) => `${x.type}/${x.reason}`), ['FailureTarget/BackoffLimitExceeded', 'Failed/BackoffLimitExceeded']);
    assert.match(await c.k(['get', 'job', 'bo']), /\nbo\s+Failed\s+0\/1\s+/);

    // ---- activeDeadlineSeconds: DeadlineExceeded, the active pod deleted.
    await c.k(['create', '-f', '-'], { input: jobManifest('dl', { activeDeadlineSeconds: 2 }) });
    await jobPods(c, 'dl', 1);
    await c.k(['wait', '--for=condition=failed', 'job/dl', '--timeout=30s']);
    const dl = await json(c, ['get', 'job', 'dl']);
    assert.equal(dl.status.conditions.find((x: any) => x.type === 'Failed').reason, 'DeadlineExceeded');
    await jobPods(c, 'dl', 0);

    // ---- suspend: no pods until resumed.
    await c.k(['create', '-f', '-'], { input: jobManifest('sus', { suspend: true }) });
    await poll(async () => (await json(c, ['get', 'job', 'sus'])).status?.conditions?.some((x: any) => x.type === 'Suspended' && x.status === 'True'), {
      what: 'job sus Suspended',
    });
    assert.equal((await json(c, ['get', 'pods', '-l', 'batch.kubernetes.io/job-name=sus'])).items.length, 0);
    assert.match(await c.k(['get', 'job', 'sus']), /\nsus\s+Suspended\s+/);
    await c.k(['patch', 'job', 'sus', '--type=merge', '-p', '{"spec":{"suspend":false}}']);
    await jobPods(c, 'sus', 1);

    // ---- ttlSecondsAfterFinished: the finished job goes, and its pods with it.
    await c.k(['create', '-f', '-'], { input: jobManifest('ttl', { ttlSecondsAfterFinished: 1 }) });
    const [ttlPod] = await jobPods(c, 'ttl', 1);
    await finish(c, ttlPod.metadata.name, 'Succeeded');
    await poll(async () => (await c.kubectl(['get', 'job', 'ttl'], { allowFailure: true })).stderr.includes('NotFound'), {
      timeoutMs: 30_000,
      what: 'job ttl deleted after its TTL',
    });
    await jobPods(c, 'ttl', 0);
  });
});

const lbService = (name: string, extra: Record<string, unknown> = {}, annotations?: Record<string, string>) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, ...(annotations ? { annotations } : {}) },
    spec: { type: 'LoadBalancer', selector: { app: name }, ports: [{ port: 80 }], ...extra },
  });

async function lbIp(c: Cluster, svc: string): Promise<string> {
  return poll(async () => (await json(c, ['get', 'svc', svc])).status?.loadBalancer?.ingress?.[0]?.ip, { timeoutMs: 20_000, what: `an address for ${svc}` });
}

test('LoadBalancer IP controller: pool allocation, requests, exhaustion, release, restart', async () => {
  await withCluster({ args: ['--lb-pool', '192.0.2.200/30'] }, async (c) => {
    await c.k(['create', '-f', '-'], { input: lbService('a') });
    assert.equal(await lbIp(c, 'a'), '192.0.2.200');
    const a = await json(c, ['get', 'svc', 'a']);
    assert.deepEqual(a.status.loadBalancer.ingress, [{ ip: '192.0.2.200', ipMode: 'VIP' }]);
    assert.match(await c.k(['get', 'svc', 'a']), /\na\s+LoadBalancer\s+\S+\s+192\.0\.2\.200\s+80:\d+\/TCP/);
    await poll(async () => (await c.k(['get', 'events', '--field-selector', 'involvedObject.name=a,reason=IPAllocated'])).includes('Assigned IP ["192.0.2.200"]'), {
      what: 'the IPAllocated event',
    });

    // Requests: spec.loadBalancerIP and the MetalLB annotation.
    await c.k(['create', '-f', '-'], { input: lbService('b', { loadBalancerIP: '192.0.2.203' }) });
    assert.equal(await lbIp(c, 'b'), '192.0.2.203');
    await c.k(['create', '-f', '-'], { input: lbService('c', {}, { 'metallb.universe.tf/loadBalancerIPs': '192.0.2.202' }) });
    assert.equal(await lbIp(c, 'c'), '192.0.2.202');
    // Outside the pool: pending with a warning.
    await c.k(['create', '-f', '-'], { input: lbService('out', { loadBalancerIP: '198.51.100.7' }) });
    await poll(async () => (await c.k(['get', 'events', '--field-selector', 'involvedObject.name=out,reason=AllocationFailed'])).includes('not allowed'), {
      what: 'AllocationFailed for an address outside the pool',
    });
    // Another loadBalancerClass is not ours.
    await c.k(['create', '-f', '-'], { input: lbService('other', { loadBalancerClass: 'example.com/lb' }) });
    await c.k(['create', '-f', '-'], { input: lbService('d') });
    assert.equal(await lbIp(c, 'd'), '192.0.2.201');

    // Exhausted: pending, and a Warning.
    await c.k(['create', '-f', '-'], { input: lbService('e') });
    await poll(async () => (await c.k(['get', 'events', '--field-selector', 'involvedObject.name=e,reason=AllocationFailed'])).includes('no available IPs'), {
      what: 'AllocationFailed for an exhausted pool',
    });
    assert.match(await c.k(['get', 'svc', 'e']), /\ne\s+LoadBalancer\s+\S+\s+<pending>\s+/);
    assert.equal((await json(c, ['get', 'svc', 'other'])).status?.loadBalancer?.ingress, undefined);

    // The server restarts: nothing moves, nothing is given twice.
    await c.restart();
    await c.k(['create', '-f', '-'], { input: lbService('f') });
    await poll(async () => (await c.k(['get', 'events', '--field-selector', 'involvedObject.name=f,reason=AllocationFailed'])).includes('no available IPs'), {
      what: 'AllocationFailed for f after the restart',
    });
    const held = Object.fromEntries(
      (await json(c, ['get', 'svc'])).items.map((s: any) => [s.metadata.name, s.status?.loadBalancer?.ingress?.[0]?.ip ?? '']),
    );
    assert.deepEqual(
      { a: held.a, b: held.b, c: held.c, d: held.d, e: held.e, f: held.f },
      { a: '192.0.2.200', b: '192.0.2.203', c: '192.0.2.202', d: '192.0.2.201', e: '', f: '' },
    );

    // Deleting a service frees its address for the oldest waiting one; so does changing the type.
    await c.k(['delete', 'svc', 'a']);
    assert.equal(await lbIp(c, 'e'), '192.0.2.200');
    await c.k(['patch', 'svc', 'd', '--type=merge', '-p', '{"spec":{"type":"ClusterIP"}}']);
    assert.equal(await lbIp(c, 'f'), '192.0.2.201');
    await poll(async () => !(await json(c, ['get', 'svc', 'd'])).status?.loadBalancer?.ingress, { what: 'd to give its address back' });
  });
});

test('Job on simulated nodes: ready pods are counted, a finished pod stays finished', async () => {
  await withCluster(async (c) => {
    const sim = c.scenario.spawn(process.execPath, [K8TS_BIN, 'sim-nodes', '--count', '1', '--kubeconfig', c.kubeconfig, '--heartbeat', '1s']);
    let simOut = '';
    sim.stdout!.on('data', (b) => (simOut += b));
    sim.stderr!.on('data', (b) => (simOut += b));
    await c.k(['create', '-f', '-'], { input: jobManifest('run', { completions: 2, parallelism: 2 }) });
    await poll(async () => (await json(c, ['get', 'job', 'run'])).status?.ready === 2, { timeoutMs: 30_000, what: `job run ready 2 (sim-nodes: ${simOut})` });
    const pods = await jobPods(c, 'run', 2);
    for (const p of pods) await finish(c, p.metadata.name, 'Succeeded');
    await c.k(['wait', '--for=condition=complete', 'job/run', '--timeout=30s']);
    const phases = (await json(c, ['get', 'pods', '-l', 'batch.kubernetes.io/job-name=run'])).items.map((p: any) => p.status.phase);
    assert.deepEqual(phases, ['Succeeded', 'Succeeded'], 'the simulated kubelet leaves finished pods alone');
    assert.equal((await json(c, ['get', 'job', 'run'])).status.succeeded, 2);
  });
});
