// The node agent running real pods inside the test's network namespace:
// seed 001's pod-a and pod-b (busybox) get IPs from the node's podCIDR and
// reach each other; logs and exec work through the API server; seed 003's
// readiness walkthrough with k8ts/demoapp; CrashLoopBackOff; OOMKilled; an
// agent restart keeps pods running; deleting everything leaves nothing behind.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Cluster, withCluster } from '../helpers/cluster.js';
import { poll } from '../helpers/poll.js';

const fixture = (f: string) => fileURLToPath(new URL(`../../../test/fixtures/${f}`, import.meta.url));
const json = async (c: Cluster, args: string[]) => JSON.parse(await c.k([...args, '-o', 'json']));
const condition = (p: any, type: string) => p.status?.conditions?.find((x: any) => x.type === type)?.status;

async function runningPod(c: Cluster, name: string, timeoutMs = 60_000): Promise<any> {
  return poll(
    async () => {
      const p = await json(c, ['get', 'pod', name]);
      return p.status?.phase === 'Running' && p.status.podIP ? p : undefined;
    },
    { timeoutMs, what: () => `pod ${name} running\n${c.output().split('\n').slice(-40).join('\n')}` },
  );
}

/** Network namespaces, veths and processes the agent made for pods (by the scenario's prefix). */
async function leftovers(c: Cluster): Promise<string[]> {
  const netns = (await c.scenario.exec('ip', ['netns', 'list'])).stdout
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n.startsWith(c.scenario.name('p')));
  const veths = (await c.scenario.exec('ip', ['-o', 'link', 'show', 'type', 'veth'])).stdout
    .split('\n')
    .map((l) => l.split(':')[1]?.trim().split('@')[0])
    .filter((n) => n && !n.startsWith('node0'));
  return [...netns.map((n) => `netns ${n}`), ...veths.map((v) => `veth ${v}`)];
}

test('node agent: seed 001 pods talk by IP; logs, exec and service env; readiness (seed 003); crash loop; OOM; restart; cleanup', { timeout: 300_000 }, async () => {
  await withCluster({ agent: true }, async (c) => {
    const node = await poll(
      async () => {
        const n = await json(c, ['get', 'node', 'node-0']);
        return n.spec?.podCIDR && condition(n, 'Ready') === 'True' ? n : undefined;
      },
      { timeoutMs: 30_000, what: () => `node-0 ready with a podCIDR\n${c.output()}` },
    );
    const prefix = node.spec.podCIDR.split('.').slice(0, 3).join('.') + '.';

    // Seed 001: pod-a and pod-b.
    await c.k(['apply', '-f', fixture('seed-001/pod-a.yaml')]);
    await c.k(['apply', '-f', fixture('seed-001/pod-b.yaml')]);
    const a = await runningPod(c, 'pod-a');
    const b = await runningPod(c, 'pod-b');
    for (const p of [a, b]) assert.ok(p.status.podIP.startsWith(prefix), `${p.status.podIP} in ${node.spec.podCIDR}`);
    assert.match(await c.k(['get', 'pods', '-o', 'wide']), new RegExp(`pod-a\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+${a.status.podIP.replace(/\./g, '\\.')}\\s+node-0`));
    const ping = await c.k(['exec', 'pod-a', '--', 'ping', '-c', '1', '-W', '2', b.status.podIP]);
    assert.match(ping, /1 packets transmitted, 1 packets received/);
    assert.equal((await c.k(['exec', 'pod-a', '--', 'hostname'])).trim(), 'pod-a');
    await poll(async () => (await c.k(['logs', 'pod-a'])).includes('A alive'), { timeoutMs: 20_000, what: 'pod-a logs' });
    // kubectl exec -it with a real terminal (script(1) gives kubectl one).
    const kubectlCmd = `kubectl --kubeconfig ${c.kubeconfig} exec -it pod-a -- sh -c 'tty; echo term=$TERM'`;
    const tty = await c.scenario.exec('script', ['-qfec', kubectlCmd, '/dev/null'], { timeoutMs: 30_000 });
    assert.match(tty.stdout, /\/dev\/pts\/\d+/);
    const env = await c.k(['exec', 'pod-b', '--', 'env']);
    assert.match(env, /^KUBERNETES_SERVICE_HOST=10\.96\.0\.1$/m);
    const resolv = await c.k(['exec', 'pod-b', '--', 'cat', '/etc/resolv.conf']);
    assert.match(resolv, /^search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local example\.test$/m);
    assert.match(resolv, /^nameserver 10\.96\.0\.10$/m);
    assert.match(resolv, /^options ndots:5$/m);

    // Seed 003: demoapp behind a Service; one pod flipped not ready leaves the endpoints.
    const manifest = fs
      .readFileSync(fixture('seed-003/readiness.yaml'), 'utf8')
      .replace('  publishNotReadyAddresses: true\n', '')
      .replace('initialDelaySeconds: 15', 'initialDelaySeconds: 1')
      .replace('periodSeconds: 10', 'periodSeconds: 1');
    await c.k(['apply', '-f', '-'], { input: manifest });
    const demo = await poll(
      async () => {
        const items = (await json(c, ['get', 'pods', '-l', 'role=web-readiness'])).items;
        return items.length === 2 && items.every((p: any) => condition(p, 'Ready') === 'True') ? items : undefined;
      },
      { timeoutMs: 60_000, what: () => `two ready demoapp pods\n${c.output().split('\n').slice(-30).join('\n')}` },
    );
    const page = await c.k(['exec', 'pod-a', '--', 'wget', '-qO-', `http://${demo[0].status.podIP}/`]);
    assert.match(page, new RegExp(`ServerName: ${demo[0].metadata.name}, ServerIP: ${demo[0].status.podIP.replace(/\./g, '\\.')}!`));
    await c.k(['exec', 'pod-a', '--', 'wget', '-qO-', '--post-data', 'readyz=err', `http://${demo[0].status.podIP}/readyz`]);
    await poll(
      async () => {
        const ep = await json(c, ['get', 'endpoints', 'demoapp-readiness-service']);
        const notReady = (ep.subsets ?? []).flatMap((s: any) => (s.notReadyAddresses ?? []).map((x: any) => x.ip));
        return notReady.includes(demo[0].status.podIP);
      },
      { timeoutMs: 30_000, what: 'the not-ready pod in notReadyAddresses' },
    );

    // A crashing container: CrashLoopBackOff with growing restart counts.
    await c.k(['run', 'crasher', '--image=busybox', '--restart=Always', '--', 'sh', '-c', 'echo dying; exit 3']);
    await poll(
      async () => {
        const p = await json(c, ['get', 'pod', 'crasher']);
        const s = p.status?.containerStatuses?.[0];
        return s?.restartCount >= 2 && s.lastState?.terminated?.exitCode === 3 && s.state?.waiting?.reason === 'CrashLoopBackOff';
      },
      { timeoutMs: 60_000, what: 'crasher in CrashLoopBackOff after 2 restarts' },
    );
    assert.match(await c.k(['get', 'pod', 'crasher']), /crasher\s+0\/1\s+CrashLoopBackOff\s+[2-9]/);
    assert.match(await c.k(['logs', 'crasher', '--previous']), /dying/);

    // Exceeding the memory limit: OOMKilled.
    const hog = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'hog' },
      spec: { restartPolicy: 'Never', containers: [{ name: 'hog', image: 'busybox', command: ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=96M', 'count=1'], resources: { limits: { memory: '32Mi' } } }] },
    };
    await c.k(['apply', '-f', '-'], { input: JSON.stringify(hog) });
    const oom = await poll(
      async () => {
        const s = (await json(c, ['get', 'pod', 'hog'])).status?.containerStatuses?.[0]?.state?.terminated;
        return s ? s : undefined;
      },
      { timeoutMs: 60_000, what: 'hog terminated' },
    );
    assert.equal(oom.reason, 'OOMKilled', JSON.stringify(oom));
    assert.equal(oom.exitCode, 137);

    // Restarting the agent (the whole server) keeps pods running, with the same IPs and no restarts.
    const before = await json(c, ['get', 'pod', 'pod-b']);
    await c.restart();
    await poll(async () => condition(await json(c, ['get', 'node', 'node-0']), 'Ready') === 'True', { timeoutMs: 30_000, what: 'node ready again' });
    const after = await runningPod(c, 'pod-b');
    assert.equal(after.status.podIP, before.status.podIP);
    assert.equal(after.status.containerStatuses[0].restartCount, 0);
    assert.equal(after.status.containerStatuses[0].state.running.startedAt, before.status.containerStatuses[0].state.running.startedAt);
    assert.match(await c.k(['exec', 'pod-a', '--', 'ping', '-c', '1', '-W', '2', after.status.podIP]), /1 packets received/);

    // Deleting everything leaves no network namespace or veth behind.
    await c.k(['delete', 'deployment', 'demoapp2', '--wait=false']);
    await c.k(['delete', 'pods', '--all', '--grace-period=1', '--wait=true', '--timeout=60s']);
    await poll(async () => (await json(c, ['get', 'pods'])).items.length === 0, { timeoutMs: 60_000, what: 'all pods gone' });
    await poll(async () => (await leftovers(c)).length === 0 || undefined, { timeoutMs: 30_000, what: 'no leftover netns or veth' });
  });
});
