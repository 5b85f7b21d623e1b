// The scheduler against a real k8ts server: spreading one owner's pods,
// FailedScheduling with upstream's message, taints, and retry on node change.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Cluster, withCluster } from '../helpers/cluster.js';
import { poll } from '../helpers/poll.js';

// This test runs its own copy of the component: the server's is switched off.
const OWN_COMPONENTS = { args: ['--disable-scheduler'] };

const program = fileURLToPath(new URL('../helpers/scheduler-program.js', import.meta.url));

async function createNode(c: Cluster, name: string): Promise<void> {
  const status = {
    capacity: { cpu: '2', memory: '4Gi', pods: '110' },
    allocatable: { cpu: '2', memory: '4Gi', pods: '110' },
    conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'test node' }],
  };
  const node = { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } }, status };
  await c.k(['create', '-f', '-'], { input: JSON.stringify(node) });
  await c.k(['patch', 'node', name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
}

async function createPod(c: Cluster, name: string, extra: { spec?: Record<string, unknown>; owner?: { name: string; uid: string } } = {}): Promise<void> {
  const metadata: Record<string, unknown> = { name, labels: { app: 'sched-test' } };
  if (extra.owner) {
    metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'ConfigMap', name: extra.owner.name, uid: extra.owner.uid, controller: true }];
  }
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata,
    spec: { containers: [{ name: 'c', image: 'k8ts/demoapp', resources: { requests: { cpu: '100m', memory: '64Mi' } } }], ...(extra.spec ?? {}) },
  };
  await c.k(['create', '-f', '-'], { input: JSON.stringify(pod) });
}

const nodeOf = async (c: Cluster, pod: string) => (await c.k(['get', 'pod', pod, '-o', 'jsonpath={.spec.nodeName}'])).trim();

test('scheduler: spreads an owner\'s pods, reports FailedScheduling as upstream, avoids taints, retries on node changes', async () => {
  await withCluster(OWN_COMPONENTS, async (c) => {
    for (const n of ['n1', 'n2', 'n3']) await createNode(c, n);
    const existing = (await c.k(['get', 'nodes', '-o', 'jsonpath={.items[*].metadata.name}'])).trim().split(/\s+/);
    assert.deepEqual(existing.sort(), ['n1', 'n2', 'n3'], 'only the test nodes exist');

    const sched = c.scenario.spawn(process.execPath, [program, c.kubeconfig], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    sched.stdout!.on('data', (b) => (out += b));
    sched.stderr!.on('data', (b) => (out += b));
    c.scenario.onCleanup(() => {
      if (sched.exitCode === null) sched.kill('SIGTERM');
    });
    await poll(() => {
      if (sched.exitCode !== null) throw new Error(`scheduler exited ${sched.exitCode}:\n${out}`);
      return out.includes('scheduler ready');
    }, { timeoutMs: 20_000, what: 'scheduler to start' });

    // Three pods of one (fake) controller: one per node.
    await c.k(['create', 'configmap', 'fake-rs']);
    const uid = (await c.k(['get', 'cm', 'fake-rs', '-o', 'jsonpath={.metadata.uid}'])).trim();
    for (const p of ['web-1', 'web-2', 'web-3']) await createPod(c, p, { owner: { name: 'fake-rs', uid } });
    const placed = await poll(async () => {
      const ns = await Promise.all(['web-1', 'web-2', 'web-3'].map((p) => nodeOf(c, p)));
      return ns.every(Boolean) ? ns : undefined;
    }, { timeoutMs: 20_000, what: 'web pods to be bound' });
    assert.deepEqual([...placed].sort(), ['n1', 'n2', 'n3'], `spread: ${placed.join(',')}\n${out}`);
    const events = await c.k(['get', 'events', '--field-selector', 'involvedObject.name=web-1,reason=Scheduled', '-o', 'jsonpath={.items[*].message}']);
    assert.equal(events.trim(), `Successfully assigned default/web-1 to ${placed[0]}`);

    // A pod whose nodeSelector matches nothing: FailedScheduling, exactly as upstream words it.
    await createPod(c, 'picky', { spec: { nodeSelector: { disk: 'ssd' } } });
    const want =
      "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.";
    const described = await poll(async () => {
      const d = await c.k(['describe', 'pod', 'picky']);
      return d.includes('FailedScheduling') && d.includes(want) ? d : undefined;
    }, { timeoutMs: 20_000, what: 'FailedScheduling event in kubectl describe' });
    assert.match(described, /Warning\s+FailedScheduling/);
    const cond = JSON.parse(await c.k(['get', 'pod', 'picky', '-o', "jsonpath={.status.conditions[?(@.type=='PodScheduled')]}"]));
    assert.equal(cond.status, 'False');
    assert.equal(cond.reason, 'Unschedulable');
    assert.equal(cond.message, want);
    assert.equal(await nodeOf(c, 'picky'), '');

    // Tainted nodes are avoided; the pending pod's message follows the change.
    await c.k(['taint', 'node', 'n1', 'dedicated=infra:NoSchedule']);
    await c.k(['taint', 'node', 'n2', 'dedicated=infra:NoExecute']);
    for (const p of ['free-1', 'free-2']) await createPod(c, p);
    for (const p of ['free-1', 'free-2']) {
      assert.equal(await poll(() => nodeOf(c, p), { timeoutMs: 20_000, what: `${p} bound` }), 'n3');
    }
    const tainted =
      "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 node(s) had untolerated taint {dedicated: infra}. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.";
    await poll(async () => (await c.k(['describe', 'pod', 'picky'])).includes(tainted), { timeoutMs: 20_000, what: 'updated FailedScheduling message' });
    // A toleration lets a pod onto a tainted node.
    await createPod(c, 'tolerant', {
      spec: { nodeSelector: { 'kubernetes.io/hostname': 'n1' }, tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'infra', effect: 'NoSchedule' }] },
    });
    assert.equal(await poll(() => nodeOf(c, 'tolerant'), { timeoutMs: 20_000, what: 'tolerant bound' }), 'n1');

    // Labelling a node to match: the pending pod is scheduled there.
    await c.k(['label', 'node', 'n3', 'disk=ssd']);
    assert.equal(await poll(() => nodeOf(c, 'picky'), { timeoutMs: 20_000, what: 'picky bound after the label' }), 'n3');
    const ok = await c.k(['get', 'events', '--field-selector', 'involvedObject.name=picky,reason=Scheduled', '-o', 'jsonpath={.items[*].message}']);
    assert.equal(ok.trim(), 'Successfully assigned default/picky to n3');
  });
});
