// The node agent's pod features with real pods (withCluster({ agent: true })):
// volumes (emptyDir shared by two containers, configMap, secret, downwardAPI,
// hostPath DirectoryOrCreate, projected), env from configMap/secret/fieldRef/
// resourceFieldRef/envFrom, init containers feeding the main container, a
// liveness probe restart, kubectl port-forward, kubectl logs -f, a pod run to
// completion, dnsPolicy Default and None, hostNetwork, runAsUser, and an
// unknown image that waits in ErrImagePull/ImagePullBackOff while the agent
// keeps working. (`kubectl exec -it` needs a terminal: not tested here.)
// One cluster for all of it; each feature is a subtest, so one failure does
// not hide the others.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { type Cluster, NODE_IP, kubectlPath, withCluster } from '../helpers/cluster.js';
import { poll } from '../helpers/poll.js';

type Obj = Record<string, any>;
const json = async (c: Cluster, args: string[]) => JSON.parse(await c.k([...args, '-o', 'json']));
const condition = (p: Obj, type: string) => p.status?.conditions?.find((x: Obj) => x.type === type)?.status;
const last = (c: Cluster, n = 30) => c.output().split('\n').slice(-n).join('\n');

async function pod(c: Cluster, name: string, ok: (p: Obj) => unknown, what: string, timeoutMs = 60_000): Promise<Obj> {
  let seen: Obj | undefined;
  return poll(
    async () => {
      seen = await json(c, ['get', 'pod', name]);
      return ok(seen!) ? seen : undefined;
    },
    { timeoutMs, what: () => `${what}\npod status: ${JSON.stringify(seen?.status)}\n${last(c)}` },
  );
}
const running = (c: Cluster, name: string) => pod(c, name, (p) => p.status?.phase === 'Running' && condition(p, 'Ready') === 'True', `pod ${name} running and ready`);
const apply = (c: Cluster, obj: Obj) => c.k(['apply', '-f', '-'], { input: JSON.stringify(obj) });
const podObj = (name: string, spec: Obj, labels: Obj = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: name, ...labels } }, spec: { terminationGracePeriodSeconds: 1, ...spec } });
const sh = (script: string) => ['sh', '-c', script];

/** A long-running kubectl inside the scenario's namespace, its output collected. */
function kubectlBg(c: Cluster, args: string[]): { proc: ChildProcess; out: () => string } {
  const proc = c.scenario.spawn(kubectlPath(), ['--kubeconfig', c.kubeconfig, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (b) => (out += b));
  proc.stderr!.on('data', (b) => (out += b));
  return { proc, out: () => out };
}

test('node agent features: volumes, env, init containers, probes, port-forward, logs -f, completion, DNS policies, hostNetwork, runAsUser, bad image', { timeout: 420_000 }, async (t) => {
  await withCluster({ agent: true }, async (c) => {
    // The busybox applets live under the data dir (<data-dir>/agent/images): a
    // non-root container user must be able to traverse it, and mkdtemp made it 0700.
    fs.chmodSync(c.dataDir, 0o755);
    await poll(async () => condition(await json(c, ['get', 'node', 'node-0']), 'Ready') === 'True', { timeoutMs: 30_000, what: () => `node-0 ready\n${last(c)}` });
    await poll(async () => (await c.kubectl(['get', 'serviceaccount', 'default'], { allowFailure: true })).code === 0, { timeoutMs: 30_000, what: 'default service account' });

    // Everything is created up front; the subtests then check one feature each.
    await c.k(['create', 'configmap', 'cfg', '--from-literal=greeting=hello', '--from-literal=mode=fast']);
    await c.k(['create', 'secret', 'generic', 'sec', '--from-literal=password=s3cret']);
    const hostDir = path.join(c.dataDir, 'hostpath', 'made-by-agent');
    const busy = (name: string, command: string[], extra: Obj = {}) => ({ name, image: 'busybox', command, ...extra });
    const sleeper = sh('sleep 3600');
    const pods: Obj[] = [
      podObj('vols', {
        volumes: [
          { name: 'shared', emptyDir: {} },
          { name: 'cfg', configMap: { name: 'cfg' } },
          { name: 'sec', secret: { secretName: 'sec', defaultMode: 0o400 } },
          { name: 'info', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }, { path: 'name', fieldRef: { fieldPath: 'metadata.name' } }] } },
          { name: 'host', hostPath: { path: hostDir, type: 'DirectoryOrCreate' } },
          { name: 'proj', projected: { sources: [{ configMap: { name: 'cfg', items: [{ key: 'greeting', path: 'cm/greeting' }] } }, { secret: { name: 'sec' } }] } },
        ],
        containers: [
          busy('writer', sh('echo shared-data > /shared/f; echo from-pod > /host/out; sleep 3600'), { volumeMounts: [{ name: 'shared', mountPath: '/shared' }, { name: 'host', mountPath: '/host' }] }),
          busy('reader', sleeper, {
            volumeMounts: [
              { name: 'shared', mountPath: '/shared' },
              { name: 'cfg', mountPath: '/etc/cfg', readOnly: true },
              { name: 'sec', mountPath: '/etc/sec', readOnly: true },
              { name: 'info', mountPath: '/etc/podinfo' },
              { name: 'proj', mountPath: '/etc/proj' },
            ],
          }),
        ],
      }, { tier: 'backend' }),
      podObj('envs', {
        containers: [
          busy('main', sleeper, {
            resources: { limits: { memory: '64Mi', cpu: '500m' } },
            envFrom: [{ prefix: 'CFG_', configMapRef: { name: 'cfg' } }],
            env: [
              { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'greeting' } } },
              { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'sec', key: 'password' } } },
              { name: 'MY_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'MY_POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
              { name: 'MY_NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
              { name: 'MEM_MI', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
              { name: 'CPU_M', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '1m' } } },
              { name: 'COMPOSED', value: '$(GREETING)-$(MY_POD_NAME)' },
            ],
          }),
        ],
      }),
      podObj('initp', {
        volumes: [{ name: 'work', emptyDir: {} }],
        initContainers: [busy('first', sh('echo first > /work/log'), { volumeMounts: [{ name: 'work', mountPath: '/work' }] }), busy('second', sh('echo second >> /work/log'), { volumeMounts: [{ name: 'work', mountPath: '/work' }] })],
        containers: [busy('main', sh('cat /work/log; sleep 3600'), { volumeMounts: [{ name: 'work', mountPath: '/work' }] })],
      }),
      podObj('done', { restartPolicy: 'Never', containers: [busy('main', sh('echo finished'))] }),
      podObj('dnsdef', { dnsPolicy: 'Default', containers: [busy('main', sleeper)] }),
      podObj('dnsnone', { dnsPolicy: 'None', dnsConfig: { nameservers: ['192.0.2.53'], searches: ['a.example'], options: [{ name: 'ndots', value: '2' }] }, containers: [busy('main', sleeper)] }),
      podObj('hostnet', { hostNetwork: true, containers: [busy('main', sleeper)] }),
      podObj('nobody', { securityContext: { runAsUser: 65534, runAsGroup: 65534 }, containers: [busy('main', sleeper)] }),
      podObj('badimg', { containers: [{ name: 'main', image: 'registry.invalid/nope/missing:1.0' }] }),
      podObj('live', { containers: [{ name: 'app', image: 'k8ts/demoapp', startupProbe: { httpGet: { path: '/livez', port: 80 }, periodSeconds: 1, failureThreshold: 60 }, livenessProbe: { httpGet: { path: '/livez', port: 80 }, periodSeconds: 1, failureThreshold: 1 } }] }),
      podObj('web', { containers: [{ name: 'app', image: 'k8ts/demoapp', ports: [{ containerPort: 80 }] }] }),
      podObj('ticker', { containers: [busy('main', sh('i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done'))] }),
      podObj('client', { containers: [busy('main', sleeper)] }),
    ];
    await c.k(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: pods }) });

    await t.test('volumes: emptyDir shared, configMap, secret, downwardAPI, hostPath DirectoryOrCreate, projected', async () => {
      await running(c, 'vols');
      await poll(async () => (await c.kubectl(['exec', 'vols', '-c', 'reader', '--', 'cat', '/shared/f'], { allowFailure: true })).stdout.trim() === 'shared-data', { timeoutMs: 20_000, what: 'the reader sees the writer file' });
      assert.equal((await c.k(['exec', 'vols', '-c', 'reader', '--', 'cat', '/etc/cfg/greeting'])).trim(), 'hello');
      assert.equal((await c.k(['exec', 'vols', '-c', 'reader', '--', 'cat', '/etc/cfg/mode'])).trim(), 'fast');
      assert.equal((await c.k(['exec', 'vols', '-c', 'reader', '--', 'cat', '/etc/sec/password'])).trim(), 's3cret');
      assert.match(await c.k(['exec', 'vols', '-c', 'reader', '--', 'stat', '-L', '-c', '%a', '/etc/sec/password']), /^400$/m);
      const labels = await c.k(['exec', 'vols', '-c', 'reader', '--', 'cat', '/etc/podinfo/labels']);
      assert.match(labels, /^app="vols"$/m);
      assert.match(labels, /^tier="backend"$/m);
      assert.equal((await c.k(['exec', 'vols', '-c', 'reader', '--', 'cat', '/etc/podinfo/name'])).trim(), 'vols');
      assert.equal((await c.k(['exec', 'vols', '-c', 'reader', '--', 'cat', '/etc/proj/cm/greeting'])).trim(), 'hello');
      assert.equal((await c.k(['exec', 'vols', '-c', 'reader', '--', 'cat', '/etc/proj/password'])).trim(), 's3cret');
      assert.ok(fs.statSync(hostDir).isDirectory(), 'hostPath directory created');
      await poll(() => fs.existsSync(path.join(hostDir, 'out')) && fs.readFileSync(path.join(hostDir, 'out'), 'utf8').trim() === 'from-pod', { timeoutMs: 10_000, what: 'the pod wrote into the hostPath' });
      // The emptyDir is writable by the second container too.
      await c.k(['exec', 'vols', '-c', 'reader', '--', 'sh', '-c', 'echo back > /shared/g']);
      assert.equal((await c.k(['exec', 'vols', '-c', 'writer', '--', 'cat', '/shared/g'])).trim(), 'back');
    });

    await t.test('env: configMap, secret, fieldRef, resourceFieldRef, envFrom, $(VAR) expansion', async () => {
      const p = await running(c, 'envs');
      const env = await c.k(['exec', 'envs', '--', 'env']);
      assert.match(env, /^GREETING=hello$/m);
      assert.match(env, /^PASSWORD=s3cret$/m);
      assert.match(env, /^MY_POD_NAME=envs$/m);
      assert.match(env, new RegExp(`^MY_POD_IP=${p.status.podIP.replace(/\./g, '\\.')}$`, 'm'));
      assert.match(env, /^MY_NODE=node-0$/m);
      assert.match(env, /^MEM_MI=64$/m);
      assert.match(env, /^CPU_M=500$/m);
      assert.match(env, /^CFG_greeting=hello$/m);
      assert.match(env, /^CFG_mode=fast$/m);
      assert.match(env, /^COMPOSED=hello-envs$/m);
    });

    await t.test('init containers run in order into an emptyDir the main container reads', async () => {
      const p = await running(c, 'initp');
      assert.deepEqual(
        p.status.initContainerStatuses.map((s: Obj) => [s.name, s.state.terminated?.reason, s.state.terminated?.exitCode]),
        [
          ['first', 'Completed', 0],
          ['second', 'Completed', 0],
        ],
      );
      assert.equal(condition(p, 'Initialized'), 'True');
      await poll(async () => (await c.k(['logs', 'initp'])).trim() === 'first\nsecond', { timeoutMs: 20_000, what: 'main container log: first, second' });
      assert.match(await c.k(['get', 'pod', 'initp']), /initp\s+1\/1\s+Running\s+0/);
    });

    await t.test('restartPolicy Never: exit 0 gives Succeeded / Completed', async () => {
      const p = await pod(c, 'done', (x) => x.status?.phase === 'Succeeded', 'done Succeeded');
      const s = p.status.containerStatuses[0];
      assert.equal(s.state.terminated.exitCode, 0);
      assert.equal(s.state.terminated.reason, 'Completed');
      assert.equal(s.restartCount, 0);
      assert.match(await c.k(['get', 'pod', 'done']), /done\s+0\/1\s+Completed\s+0/);
    });

    await t.test('dnsPolicy Default and None', async () => {
      await running(c, 'dnsdef');
      const def = await c.k(['exec', 'dnsdef', '--', 'cat', '/etc/resolv.conf']);
      assert.match(def, /^nameserver 192\.0\.2\.10$/m); // the node's resolv.conf (test/helpers/cluster.ts)
      assert.match(def, /^search example\.test$/m);
      assert.doesNotMatch(def, /cluster\.local|10\.96\.0\.10/);
      await running(c, 'dnsnone');
      const none = await c.k(['exec', 'dnsnone', '--', 'cat', '/etc/resolv.conf']);
      assert.match(none, /^nameserver 192\.0\.2\.53$/m);
      assert.match(none, /^search a\.example$/m);
      assert.match(none, /^options ndots:2$/m);
      assert.doesNotMatch(none, /10\.96\.0\.10|192\.0\.2\.10/);
    });

    await t.test("hostNetwork: the pod has the node's IP and sees its interfaces", async () => {
      const p = await running(c, 'hostnet');
      assert.equal(p.status.podIP, NODE_IP);
      assert.equal(p.status.hostIP, NODE_IP);
      assert.match(await c.k(['exec', 'hostnet', '--', 'ip', '-o', 'addr', 'show']), new RegExp(`inet ${NODE_IP.replace(/\./g, '\\.')}/24`));
    });

    await t.test('securityContext runAsUser/runAsGroup 65534', async () => {
      await running(c, 'nobody');
      assert.equal((await c.k(['exec', 'nobody', '--', 'id', '-u'])).trim(), '65534');
      assert.equal((await c.k(['exec', 'nobody', '--', 'id', '-g'])).trim(), '65534');
    });

    await t.test('an unknown image waits in ErrImagePull/ImagePullBackOff; the agent keeps working', async () => {
      const p = await pod(c, 'badimg', (x) => ['ErrImagePull', 'ImagePullBackOff'].includes(x.status?.containerStatuses?.[0]?.state?.waiting?.reason), 'badimg waiting on its image', 30_000);
      assert.equal(p.status.phase, 'Pending');
      assert.match(await c.k(['get', 'pod', 'badimg']), /badimg\s+0\/1\s+(ErrImagePull|ImagePullBackOff)\s+0/);
      const events = await c.k(['get', 'events', '--field-selector', 'involvedObject.name=badimg']);
      assert.match(events, /Failed/);
      await apply(c, podObj('after-bad', { containers: [busy('main', sleeper)] }));
      await running(c, 'after-bad');
      const again = await json(c, ['get', 'pod', 'badimg']);
      assert.match(again.status.containerStatuses[0].state.waiting.reason, /^(ErrImagePull|ImagePullBackOff)$/);
    });

    await t.test('a liveness probe failure restarts the container (after its startup probe passed)', async () => {
      const p = await running(c, 'live');
      await running(c, 'client');
      assert.equal(p.status.containerStatuses[0].restartCount, 0);
      assert.equal(p.status.containerStatuses[0].started, true);
      await c.k(['exec', 'client', '--', 'wget', '-qO-', '--post-data', 'livez=err', `http://${p.status.podIP}/livez`]);
      const after = await pod(c, 'live', (x) => x.status?.containerStatuses?.[0]?.restartCount >= 1 && x.status.containerStatuses[0].state?.running, 'live restarted by its liveness probe', 60_000);
      assert.equal(after.status.podIP, p.status.podIP, 'same sandbox, same IP');
      const events = await c.k(['get', 'events', '--field-selector', 'involvedObject.name=live']);
      assert.match(events, /Unhealthy/);
      assert.match(events, /failed liveness probe, will be restarted/);
      // The new process answers its liveness probe again.
      assert.equal((await c.k(['exec', 'client', '--', 'wget', '-qO-', `http://${p.status.podIP}/livez`])).trim(), 'OK');
    });

    await t.test('kubectl port-forward to a demoapp pod', async () => {
      await running(c, 'web');
      const local = 18090;
      const pf = kubectlBg(c, ['port-forward', 'pod/web', `${local}:80`]);
      try {
        await poll(
          () => {
            if (pf.proc.exitCode !== null) throw new Error(`port-forward exited ${pf.proc.exitCode}: ${pf.out()}`);
            return pf.out().includes('Forwarding from');
          },
          { timeoutMs: 20_000, what: () => `port-forward to start (${pf.out()})` },
        );
        const r = await c.scenario.exec('wget', ['-qO-', '-T', '10', `http://127.0.0.1:${local}/`], { allowFailure: true, timeoutMs: 20_000 });
        assert.equal(r.code, 0, `${r.stderr}\nport-forward: ${pf.out()}`);
        assert.match(r.stdout, /ServerName: web, ServerIP: /);
      } finally {
        pf.proc.kill('SIGTERM');
      }
    });

    await t.test('kubectl logs -f follows new output', async () => {
      await running(c, 'ticker');
      const f = kubectlBg(c, ['logs', '-f', 'ticker']);
      try {
        const nums = () => [...f.out().matchAll(/^tick (\d+)$/gm)].map((m) => Number(m[1]));
        const first = await poll(() => (nums().length ? nums()[nums().length - 1] : undefined), { timeoutMs: 20_000, what: () => `first lines from logs -f (${f.out()})` });
        await poll(() => nums().some((n) => n >= first + 5), { timeoutMs: 20_000, what: () => `logs -f to show lines written after it started (${f.out().slice(-300)})` });
        assert.equal(f.proc.exitCode, null, 'logs -f is still following');
      } finally {
        f.proc.kill('SIGTERM');
      }
    });

    await t.test('deleting the pods leaves none behind', async () => {
      await c.k(['delete', 'pods', '--all', '--grace-period=1', '--wait=false']);
      await poll(async () => (await json(c, ['get', 'pods'])).items.length === 0, { timeoutMs: 90_000, what: () => `all pods gone\n${last(c)}` });
      const netns = (await c.scenario.exec('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith(c.scenario.name('p')));
      await poll(async () => (await c.scenario.exec('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith(c.scenario.name('p'))).length === 0, { timeoutMs: 30_000, what: () => `pod network namespaces removed: ${netns.join(', ')}` });
    });
  });
});
