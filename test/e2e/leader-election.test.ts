// Two `k8ts server`s on one etcd: exactly one controller-manager and one
// scheduler act (each holds its kube-system Lease), and when that server dies
// the other takes over and the cluster keeps reconciling. Also the standalone
// `k8ts controller-manager` and `k8ts scheduler` commands, driven only by a
// kubeconfig.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { K8TS_BIN, type ServerProcess, kubectlPath, serverProcess, withCluster } from '../helpers/cluster.js';
import { haveEtcd, startEtcd } from '../helpers/etcd.js';
import { type Scenario, withNetns } from '../helpers/netns.js';
import { poll } from '../helpers/poll.js';

const FAST_ELECTION = ['--leader-elect-lease-duration', '3s', '--leader-elect-renew-deadline', '2s', '--leader-elect-retry-period', '500ms'];

async function holder(s: Scenario, kubeconfig: string, lease: string): Promise<string> {
  const r = await s.exec(kubectlPath(), ['--kubeconfig', kubeconfig, '-n', 'kube-system', 'get', 'lease', lease, '-o', 'jsonpath={.spec.holderIdentity}'], {
    allowFailure: true,
  });
  return r.code === 0 ? r.stdout.trim() : '';
}

/** Which of the servers runs the controllers, by their log lines. */
const leading = (servers: ServerProcess[], line: string) => servers.filter((p) => p.output().includes(line));

test('two servers on one etcd elect one controller-manager and one scheduler; failover when the leader dies', { skip: !haveEtcd() && 'etcd not installed' }, async () => {
  await withNetns(async (s) => {
    const etcd = await startEtcd({ scenario: s });
    s.onCleanup(() => etcd.destroy());
    const servers = ['a', 'b'].map((n, i) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `k8ts-e2e-le-${n}-`));
      s.onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
      const p = serverProcess(s, dir, [
        '--disable-agent', '--bind-address', '127.0.0.1', '--advertise-address', '127.0.0.1', '--secure-port', String(6443 + i),
        '--datastore-endpoint', etcd.endpoint, ...FAST_ELECTION,
      ]);
      s.onCleanup(() => p.stop());
      return p;
    });
    await servers[0].start();
    await servers[1].start();
    const kc = servers[0].kubeconfig;

    // One holder per lease, and only that server's components run.
    const cmHolder = await poll(() => holder(s, kc, 'kube-controller-manager'), { timeoutMs: 20_000, what: 'a controller-manager leader' });
    const schedHolder = await poll(() => holder(s, kc, 'kube-scheduler'), { timeoutMs: 20_000, what: 'a scheduler leader' });
    await poll(() => leading(servers, 'controllers running').length === 1, { timeoutMs: 20_000, what: 'one server running controllers' });
    const leader = leading(servers, 'controllers running')[0];
    const standby = servers.find((p) => p !== leader)!;
    assert.match(standby.output(), /another instance leads; standing by/);
    assert.equal(leading(servers, 'component=scheduler msg="leading; starting"').length, 1, 'exactly one scheduler runs');

    // The cluster works through the leader: a Deployment gets its ReplicaSet.
    await s.exec(kubectlPath(), ['--kubeconfig', standby.kubeconfig, 'create', 'deployment', 'before', '--image=k8ts/demoapp']);
    await poll(
      async () => (await s.exec(kubectlPath(), ['--kubeconfig', standby.kubeconfig, 'get', 'rs', '-l', 'app=before', '-o', 'name'])).stdout.trim() !== '',
      { timeoutMs: 20_000, what: 'the leader to create the ReplicaSet' },
    );

    // The leader dies without releasing its leases: the standby takes both over.
    await leader.kill();
    const kc2 = standby.kubeconfig;
    await poll(async () => (await holder(s, kc2, 'kube-controller-manager')) !== cmHolder || undefined, { timeoutMs: 20_000, what: 'a new controller-manager leader' });
    await poll(async () => (await holder(s, kc2, 'kube-scheduler')) !== schedHolder || undefined, { timeoutMs: 20_000, what: 'a new scheduler leader' });
    await poll(() => standby.output().includes('controllers running'), { timeoutMs: 20_000, what: `the standby to run controllers:\n${standby.output()}` });
    await s.exec(kubectlPath(), ['--kubeconfig', kc2, 'create', 'deployment', 'after', '--image=k8ts/demoapp', '--replicas=2']);
    await poll(
      async () => (await s.exec(kubectlPath(), ['--kubeconfig', kc2, 'get', 'pods', '-l', 'app=after', '-o', 'name'])).stdout.trim().split('\n').filter(Boolean).length === 2,
      { timeoutMs: 20_000, what: 'the new leader to create the pods' },
    );
  });
});

test('k8ts controller-manager and k8ts scheduler run alone from a kubeconfig', async () => {
  await withCluster({ args: ['--disable-controller-manager', '--disable-scheduler'] }, async (c) => {
    const spawnComponent = (name: string) => {
      const p = c.scenario.spawn(process.execPath, [K8TS_BIN, name, '--kubeconfig', c.kubeconfig, ...FAST_ELECTION], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout!.on('data', (b) => (out += b));
      p.stderr!.on('data', (b) => (out += b));
      return () => out;
    };
    const cmOut = spawnComponent('controller-manager');
    const schedOut = spawnComponent('scheduler');
    const sim = c.scenario.spawn(process.execPath, [K8TS_BIN, 'sim-nodes', '--count', '2', '--kubeconfig', c.kubeconfig, '--heartbeat', '1s']);
    void sim;
    await c.k(['create', 'deployment', 'alone', '--image=k8ts/demoapp', '--replicas=2']);
    const pods = await poll(
      async () => {
        const items = JSON.parse(await c.k(['get', 'pods', '-l', 'app=alone', '-o', 'json'])).items;
        return items.length === 2 && items.every((p: any) => p.spec.nodeName && p.status.phase === 'Running') ? items : undefined;
      },
      { timeoutMs: 30_000, what: () => `pods scheduled and running\ncontroller-manager:\n${cmOut()}\nscheduler:\n${schedOut()}` },
    );
    assert.equal(pods.length, 2);
    assert.match(await c.k(['-n', 'kube-system', 'get', 'lease', 'kube-controller-manager', '-o', 'jsonpath={.spec.holderIdentity}']), /\S+_[0-9a-f-]{36}/);
    assert.match(cmOut(), /controllers running/);
  });
});
