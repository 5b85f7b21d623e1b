// The service proxy with real pods, in each mode (nftables, iptables,
// userspace): the seeds' Services answer on their ClusterIP, NodePort and
// LoadBalancer IP; traffic spreads over the endpoints, sticks with
// sessionAffinity, leaves a pod that turns not ready; a pod reaches itself
// through its Service; deleting a Service removes its rules; an agent restart
// keeps the rules consistent. In iptables mode the chains are upstream's.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { type Cluster, K8TS_BIN, NODE_IP, withCluster } from '../helpers/cluster.js';
import { poll } from '../helpers/poll.js';

const json = async (c: Cluster, args: string[]) => JSON.parse(await c.k([...args, '-o', 'json']));
const condition = (p: any, type: string) => p.status?.conditions?.find((x: any) => x.type === type)?.status;

/** `count` HTTP GETs from the node namespace; the bodies, one per request ('' for a failure). */
async function requests(c: Cluster, url: string, count: number): Promise<string[]> {
  const script = `for i in $(seq ${count}); do curl -s --max-time 2 '${url}' | tr '\\n' ' '; echo; done`;
  const r = await c.scenario.exec('sh', ['-c', script], { timeoutMs: 120_000 });
  return r.stdout.split('\n').slice(0, count);
}

async function readyPods(c: Cluster, selector: string, n: number): Promise<any[]> {
  return poll(
    async () => {
      const items = (await json(c, ['get', 'pods', '-l', selector])).items.filter((p: any) => !p.metadata.deletionTimestamp);
      return items.length === n && items.every((p: any) => condition(p, 'Ready') === 'True') ? items : undefined;
    },
    { timeoutMs: 90_000, what: () => `${n} ready pods ${selector}\n${c.output().split('\n').slice(-20).join('\n')}` },
  );
}

async function rules(c: Cluster, mode: string): Promise<string> {
  return (await c.scenario.exec(process.execPath, [K8TS_BIN, 'proxy', 'rules', '--proxy-mode', mode], { allowFailure: true })).stdout;
}

/** upstream kube-proxy's chain name, computed here independently: KUBE-SVC- + base32(sha256(portName + protocol))[:16]. */
function kubeSvcChain(servicePortName: string, protocol: string): string {
  const digest = createHash('sha256').update(servicePortName + protocol.toLowerCase()).digest();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const b of digest) bits += b.toString(2).padStart(8, '0');
  let out = '';
  for (let i = 0; i + 5 <= bits.length && out.length < 16; i += 5) out += alphabet[parseInt(bits.slice(i, i + 5), 2)];
  return `KUBE-SVC-${out}`;
}

const DEMOAPP = (replicas: number) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'demoapp' },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'demoapp' } },
    template: {
      metadata: { labels: { app: 'demoapp' } },
      spec: {
        containers: [{ name: 'demoapp', image: 'k8ts/demoapp', readinessProbe: { httpGet: { path: '/readyz', port: 80 }, periodSeconds: 1, failureThreshold: 1 } }],
      },
    },
  },
});

for (const mode of ['nftables', 'iptables', 'userspace'] as const) {
  test(`service proxy (${mode}): ClusterIP, NodePort, LoadBalancer; spread, affinity, readiness; hairpin; delete; restart`, { timeout: 400_000 }, async () => {
    await withCluster({ agent: true, args: ['--proxy-mode', mode, '--min-sync-period', '100ms', '--lb-pool', '192.0.2.200/30'] }, async (c) => {
      await poll(async () => condition(await json(c, ['get', 'node', 'node-0']), 'Ready') === 'True', { timeoutMs: 30_000, what: 'node ready' });

      // Seed 002: nginx exposed as ClusterIP, NodePort and LoadBalancer.
      await c.k(['create', 'deployment', 'nginx', '--image=nginx', '--replicas=2']);
      await readyPods(c, 'app=nginx', 2);
      await c.k(['expose', 'deployment', 'nginx', '--port=80']);
      await c.k(['expose', 'deployment', 'nginx', '--port=80', '--type=NodePort', '--name=nginx-np']);
      await c.k(['expose', 'deployment', 'nginx', '--port=80', '--type=LoadBalancer', '--name=nginx-lb']);
      const clusterIP = (await json(c, ['get', 'svc', 'nginx'])).spec.clusterIP;
      const nodePort = (await json(c, ['get', 'svc', 'nginx-np'])).spec.ports[0].nodePort;
      const lbIP = await poll(async () => (await json(c, ['get', 'svc', 'nginx-lb'])).status?.loadBalancer?.ingress?.[0]?.ip, { timeoutMs: 20_000, what: 'LB IP' });
      for (const url of [`http://${clusterIP}/`, `http://${NODE_IP}:${nodePort}/`, `http://${lbIP}/`]) {
        await poll(async () => /nginx/i.test((await requests(c, url, 1))[0]), { timeoutMs: 20_000, what: `${url} answering` });
      }

      // A client pod reaches the ClusterIP too.
      await c.k(['run', 'client', '--image=busybox', '--', 'sleep', '3600']);
      await readyPods(c, 'run=client', 1);
      await poll(async () => /nginx/i.test((await c.kubectl(['exec', 'client', '--', 'wget', '-qO-', `http://${clusterIP}/`], { allowFailure: true })).stdout), {
        timeoutMs: 20_000,
        what: 'the ClusterIP from a pod',
      });

      // Seed 003: three demoapp pods behind demoapp-svc; 300 requests spread over all three.
      await c.k(['apply', '-f', '-'], { input: JSON.stringify(DEMOAPP(3)) });
      const demo = await readyPods(c, 'app=demoapp', 3);
      await c.k(['expose', 'deployment', 'demoapp', '--name=demoapp-svc', '--port=80']);
      const demoIP = (await json(c, ['get', 'svc', 'demoapp-svc'])).spec.clusterIP;
      await poll(async () => /ServerName/.test((await requests(c, `http://${demoIP}/hostname`, 1))[0]), { timeoutMs: 20_000, what: 'demoapp-svc answering' });
      const counts = new Map<string, number>();
      for (const body of await requests(c, `http://${demoIP}/hostname`, 300)) {
        const name = /ServerName: (\S+)/.exec(body)?.[1] ?? 'failed';
        counts.set(name, (counts.get(name) ?? 0) + 1);
      }
      for (const p of demo) assert.ok((counts.get(p.metadata.name) ?? 0) >= 50, `each pod gets a fair share: ${JSON.stringify([...counts])}`);
      assert.equal(counts.get('failed') ?? 0, 0, 'no failed request');

      // sessionAffinity ClientIP: every request sticks to one pod.
      await c.k(['patch', 'svc', 'demoapp-svc', '-p', '{"spec":{"sessionAffinity":"ClientIP"}}']);
      await poll(
        async () => new Set((await requests(c, `http://${demoIP}/hostname`, 20)).map((b) => /ServerName: (\S+)/.exec(b)?.[1])).size === 1,
        { timeoutMs: 20_000, what: 'affinity to one pod' },
      );
      await c.k(['patch', 'svc', 'demoapp-svc', '-p', '{"spec":{"sessionAffinity":"None"}}']);

      // A readiness flip takes the pod out of the rotation.
      const sick = demo[0];
      await c.scenario.exec('curl', ['-s', '--max-time', '2', '-d', 'readyz=err', `http://${sick.status.podIP}/readyz`]);
      const sliceChanged = await poll(
        async () => {
          const slices = (await json(c, ['get', 'endpointslices', '-l', 'kubernetes.io/service-name=demoapp-svc'])).items;
          const ep = slices.flatMap((s: any) => s.endpoints ?? []).find((e: any) => e.addresses.includes(sick.status.podIP));
          return ep && ep.conditions.ready === false ? Date.now() : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 50, what: 'the slice to mark the pod not ready' },
      );
      await poll(async () => !(await requests(c, `http://${demoIP}/hostname`, 12)).some((b) => b.includes(sick.metadata.name)), {
        timeoutMs: 10_000,
        intervalMs: 50,
        what: 'the not-ready pod out of the rotation',
      });
      const outAfter = Date.now() - sliceChanged;
      assert.ok(outAfter < 3000, `out of the rotation ${outAfter} ms after the EndpointSlice changed`);

      // Hairpin: a pod reaches itself through its own Service.
      const self = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'self', labels: { app: 'self' } },
        spec: {
          volumes: [{ name: 'www', emptyDir: {} }],
          containers: [{ name: 'web', image: 'busybox', command: ['sh', '-c', 'echo hello-self > /www/index.html; exec httpd -f -p 80 -h /www'], volumeMounts: [{ name: 'www', mountPath: '/www' }] }],
        },
      };
      await c.k(['apply', '-f', '-'], { input: JSON.stringify(self) });
      await readyPods(c, 'app=self', 1);
      await c.k(['expose', 'pod', 'self', '--port=80']);
      const selfIP = (await json(c, ['get', 'svc', 'self'])).spec.clusterIP;
      await poll(async () => /hello-self/.test((await c.kubectl(['exec', 'self', '--', 'wget', '-qO-', `http://${selfIP}/`], { allowFailure: true })).stdout), {
        timeoutMs: 20_000,
        what: 'the pod reaching itself through its Service',
      });

      // The rules: upstream's chain names in iptables mode; the services are there.
      const before = await rules(c, mode);
      assert.ok(before.includes(demoIP), `rules mention ${demoIP}`);
      if (mode === 'iptables') {
        const chain = kubeSvcChain('default/demoapp-svc', 'TCP');
        assert.ok(before.includes(`:${chain}`) || before.includes(`-N ${chain}`), `iptables has ${chain}:\n${before}`);
        assert.match(before, /-m comment --comment "default\/demoapp-svc cluster IP"/);
      }

      // The proxy's metrics, as kube-proxy names them.
      const metrics = (await c.scenario.exec('curl', ['-s', '--max-time', '3', 'http://127.0.0.1:10249/metrics'])).stdout;
      for (const m of ['kubeproxy_sync_proxy_rules_duration_seconds_bucket', 'kubeproxy_network_programming_duration_seconds_count', 'kubeproxy_sync_proxy_rules_last_timestamp_seconds']) {
        assert.ok(metrics.includes(m), `${m} in /metrics`);
      }

      // Deleting a Service removes its rules.
      await c.k(['delete', 'svc', 'nginx-np']);
      await poll(async () => !(await rules(c, mode)).includes(`${nodePort}`) || undefined, { timeoutMs: 20_000, what: 'the NodePort rules gone' });

      // An agent restart keeps the rules consistent (no duplicates, services still answer).
      await c.restart();
      await poll(async () => /ServerName/.test((await requests(c, `http://${demoIP}/hostname`, 1))[0]), { timeoutMs: 30_000, what: 'demoapp-svc after restart' });
      if (mode === 'iptables') {
        const save = (await c.scenario.exec('iptables-save', ['-t', 'nat'])).stdout;
        assert.equal(save.split('\n').filter((l) => l === '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES').length, 1);
      }
      await poll(async () => (await rules(c, mode)).includes(clusterIP), { timeoutMs: 20_000, what: 'the rules after the restart' });
    });
  });
}
