// Cluster DNS end to end: `k8ts server` with its node agent, service proxy and
// the coredns addon (two k8ts/coredns pods behind kube-dns 10.96.0.10) in a
// fresh namespace, with a stub upstream resolver at the node address
// 192.0.2.10:53 (the node's resolv.conf), so that `forward . /etc/resolv.conf`
// never leaves the namespace. Real BIND nslookup (what the busybox image runs,
// as Debian's busybox nslookup ignores the search list) and wget inside pods,
// dig from the node namespace:
//   - seed 001: `nslookup svc-a` and `wget -qO- svc-a` from pod-b;
//   - seed 002: short, FQDN and trailing-dot names; reverse lookups; kube-dns
//     only by its full name from `default`; headless Service -> 3 pod IPs;
//     dashed-IP endpoint names; the seed's ConfigMap edit (hosts block,
//     `forward ... except`) taking effect after the reload plugin sees the
//     refreshed ConfigMap volume; forwarding to the stub;
//   - seed 003: dnsPolicy ClusterFirst, ClusterFirst+hostNetwork,
//     ClusterFirstWithHostNet, Default, None+dnsConfig; StatefulSet pod names
//     under a headless Service; a re-created Service resolving to its new IP;
//   - SRV and TXT (dns-version) answers per the DNS spec.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Cluster, NODE_IP, withCluster } from '../helpers/cluster.js';
import { startDnsStub } from '../helpers/dns-stub.js';
import { poll } from '../helpers/poll.js';

const fixture = (f: string) => fileURLToPath(new URL(`../../../test/fixtures/${f}`, import.meta.url));
const json = async (c: Cluster, args: string[]) => JSON.parse(await c.k([...args, '-o', 'json']));
const condition = (p: any, type: string) => p.status?.conditions?.find((x: any) => x.type === type)?.status;
const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const KUBE_DNS = '10.96.0.10';

async function readyPods(c: Cluster, selector: string, n: number, ns = 'default'): Promise<any[]> {
  return poll(
    async () => {
      const items = (await json(c, ['get', 'pods', '-n', ns, '-l', selector])).items.filter((p: any) => !p.metadata.deletionTimestamp);
      return items.length === n && items.every((p: any) => condition(p, 'Ready') === 'True' && p.status.podIP) ? items : undefined;
    },
    { timeoutMs: 90_000, what: () => `${n} ready pods ${selector} in ${ns}\n${c.output().split('\n').slice(-30).join('\n')}` },
  );
}

/** A command in a pod; stdout+stderr and the exit code (never throws on failure). */
async function inPod(c: Cluster, pod: string, cmd: string[]): Promise<{ out: string; code: number }> {
  const r = await c.kubectl(['exec', pod, '--', ...cmd], { allowFailure: true });
  return { out: r.stdout + r.stderr, code: r.code };
}

/** dig from the node's namespace (through the proxy to the kube-dns ClusterIP, or a given server). */
async function dig(c: Cluster, args: string[], server = KUBE_DNS): Promise<string> {
  const r = await c.scenario.exec('dig', [`@${server}`, '+time=2', '+tries=1', ...args], { allowFailure: true, timeoutMs: 20_000 });
  return r.stdout;
}
const digShort = async (c: Cluster, args: string[], server = KUBE_DNS) => (await dig(c, ['+short', ...args], server)).trim().split('\n').filter(Boolean).sort();
const status = (digOut: string) => /status: (\w+)/.exec(digOut)?.[1];

/** Polls an nslookup in a pod until its output matches (DNS answers can lag the API by a sync). */
async function nslookupMatches(c: Cluster, pod: string, args: string[], pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  let last = '';
  return poll(
    async () => {
      last = (await inPod(c, pod, ['nslookup', ...args])).out;
      return pattern.test(last) ? last : undefined;
    },
    { timeoutMs, what: () => `nslookup ${args.join(' ')} in ${pod} to match ${pattern}; last output:\n${last}` },
  );
}

const busyboxPod = (name: string, spec: Record<string, unknown> = {}, labels: Record<string, string> = { app: name }) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: { containers: [{ name: 'app', image: 'busybox', command: ['sleep', '3600'] }], terminationGracePeriodSeconds: 1, ...spec },
});

test('cluster DNS: seeds 001-003 through real pods, nslookup, wget and dig', { timeout: 600_000 }, async (t) => {
  await withCluster({ agent: true, dns: true }, async (c) => {
    const stub = await startDnsStub(c.scenario, NODE_IP, 53);
    await poll(async () => condition(await json(c, ['get', 'node', 'node-0']), 'Ready') === 'True', { timeoutMs: 30_000, what: 'node ready' });
    const coredns = await readyPods(c, 'k8s-app=kube-dns', 2, 'kube-system');
    assert.equal((await json(c, ['get', 'svc', 'kube-dns', '-n', 'kube-system'])).spec.clusterIP, KUBE_DNS);

    // ---- seed 001: pod-a serves HTTP behind svc-a; pod-b looks it up and fetches it.
    const podA = fs
      .readFileSync(fixture('seed-001/pod-a.yaml'), 'utf8')
      .replace(
        `command: ["sh", "-c", "while true; do echo 'A alive'; sleep 5; done"]`,
        `command: ["sh", "-c", "echo hello-from-pod-a > /www/index.html; exec httpd -f -p 80 -h /www"]\n    volumeMounts: [{ name: www, mountPath: /www }]\n  volumes: [{ name: www, emptyDir: {} }]`,
      );
    assert.ok(podA.includes('httpd'), 'pod-a manifest rewritten');
    await c.k(['apply', '-f', '-'], { input: podA });
    await c.k(['apply', '-f', fixture('seed-001/pod-b.yaml')]);
    const svcA = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc-a' }, spec: { selector: { app: 'pod-a' }, ports: [{ port: 80, targetPort: 80 }] } };
    await c.k(['apply', '-f', '-'], { input: JSON.stringify(svcA) });
    const [a] = await readyPods(c, 'app=pod-a', 1);
    await readyPods(c, 'app=pod-b', 1);
    const svcAIP = (await json(c, ['get', 'svc', 'svc-a'])).spec.clusterIP;

    await t.test('seed 001: nslookup svc-a and wget -qO- svc-a from pod-b', async () => {
      const out = await nslookupMatches(c, 'pod-b', ['svc-a'], new RegExp(`Name:\\s+svc-a\\.default\\.svc\\.cluster\\.local\\s+Address:\\s+${re(svcAIP)}`));
      assert.match(out, new RegExp(`Server:\\s+${re(KUBE_DNS)}`));
      // (`timeout`, not wget's `-T`: Debian's busybox 1.35 wget crashes with it)
      const body = await poll(async () => ((r) => (/hello-from-pod-a/.test(r.out) ? r.out : undefined))(await inPod(c, 'pod-b', ['timeout', '5', 'wget', '-qO-', 'svc-a'])), { timeoutMs: 30_000, what: 'wget svc-a' });
      assert.match(body, /hello-from-pod-a/);
    });

    await t.test('seed 002: FQDN, trailing dot, reverse, kube-dns by full name only, kubernetes', async () => {
      for (const name of ['svc-a.default.svc.cluster.local', 'svc-a.default.svc.cluster.local.', 'svc-a.default', 'svc-a.default.svc']) {
        await nslookupMatches(c, 'pod-b', [name], new RegExp(`Name:\\s+svc-a\\.default\\.svc\\.cluster\\.local\\s+Address:\\s+${re(svcAIP)}`));
      }
      const rev = await nslookupMatches(c, 'pod-b', [svcAIP], /name = /);
      assert.match(rev, new RegExp(`${re(svcAIP.split('.').reverse().join('.'))}\\.in-addr\\.arpa\\s+name = svc-a\\.default\\.svc\\.cluster\\.local\\.`));
      assert.deepEqual(await digShort(c, ['-x', svcAIP]), ['svc-a.default.svc.cluster.local.']);

      const short = await inPod(c, 'pod-b', ['nslookup', 'kube-dns']);
      assert.notEqual(short.code, 0, short.out);
      assert.match(short.out, /server can't find kube-dns: NXDOMAIN/);
      await nslookupMatches(c, 'pod-b', ['kube-dns.kube-system.svc.cluster.local'], new RegExp(`Name:\\s+kube-dns\\.kube-system\\.svc\\.cluster\\.local\\s+Address:\\s+${re(KUBE_DNS)}`));
      await nslookupMatches(c, 'pod-b', [KUBE_DNS], /10\.0\.96\.10\.in-addr\.arpa\s+name = kube-dns\.kube-system\.svc\.cluster\.local\./);
      await nslookupMatches(c, 'pod-b', ['kubernetes'], /Name:\s+kubernetes\.default\.svc\.cluster\.local\s+Address:\s+10\.96\.0\.1\b/);
      // The kubernetes plugin is authoritative and, as CoreDNS, does not set RA.
      const full = await dig(c, ['svc-a.default.svc.cluster.local']);
      assert.match(full, /flags: qr aa rd;/);
      assert.match(full, new RegExp(`svc-a\\.default\\.svc\\.cluster\\.local\\.\\s+\\d+\\s+IN\\s+A\\s+${re(svcAIP)}`));
    });

    await t.test('seed 002: dashed-IP endpoint names; headless Service over 3 replicas', async () => {
      const dashed = `${a.status.podIP.replace(/\./g, '-')}.svc-a.default.svc.cluster.local.`;
      await nslookupMatches(c, 'pod-b', [dashed], new RegExp(`Name:\\s+${re(dashed.slice(0, -1))}\\s+Address:\\s+${re(a.status.podIP)}`));

      await c.k(['create', 'deployment', 'hl', '--image=busybox', '--replicas=3', '--', 'sleep', '3600']);
      const hlSvc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'hl' }, spec: { clusterIP: 'None', selector: { app: 'hl' }, ports: [{ name: 'http', port: 80, targetPort: 80 }] } };
      await c.k(['apply', '-f', '-'], { input: JSON.stringify(hlSvc) });
      const hl = await readyPods(c, 'app=hl', 3);
      const ips = hl.map((p: any) => p.status.podIP).sort();
      await poll(async () => JSON.stringify(await digShort(c, ['hl.default.svc.cluster.local'])) === JSON.stringify(ips), {
        timeoutMs: 30_000,
        what: `hl.default.svc.cluster.local -> ${ips}`,
      });
      const fromPod = await nslookupMatches(c, 'pod-b', ['hl'], new RegExp(ips.map((ip: string) => `Address:\\s+${re(ip)}`).join('|')));
      for (const ip of ips) assert.match(fromPod, new RegExp(`Name:\\s+hl\\.default\\.svc\\.cluster\\.local\\s+Address:\\s+${re(ip)}`));
      const dashedHl = `${ips[0].replace(/\./g, '-')}.hl.default.svc.cluster.local`;
      assert.deepEqual(await digShort(c, [dashedHl]), [ips[0]]);
      // SRV for the headless Service: one record per endpoint, named by its dashed IP.
      const srv = await digShort(c, ['SRV', '_http._tcp.hl.default.svc.cluster.local']);
      assert.deepEqual(srv, ips.map((ip: string) => `0 33 80 ${ip.replace(/\./g, '-')}.hl.default.svc.cluster.local.`).sort());
    });

    await t.test('SRV and TXT per the DNS spec', async () => {
      const named = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'named' }, spec: { selector: { app: 'pod-a' }, ports: [{ name: 'http', port: 8080, targetPort: 80 }] } };
      await c.k(['apply', '-f', '-'], { input: JSON.stringify(named) });
      const srv = await poll(async () => (await digShort(c, ['SRV', '_http._tcp.named.default.svc.cluster.local']))[0], { timeoutMs: 20_000, what: 'SRV of named' });
      assert.equal(srv, '0 100 8080 named.default.svc.cluster.local.');
      const full = await dig(c, ['SRV', '_http._tcp.named.default.svc.cluster.local']);
      assert.match(full, /ADDITIONAL SECTION:\s+named\.default\.svc\.cluster\.local\.\s+\d+\s+IN\s+A\s+\d+\.\d+\.\d+\.\d+/);
      assert.equal(status(await dig(c, ['SRV', '_nope._tcp.named.default.svc.cluster.local'])), 'NXDOMAIN');
      assert.deepEqual(await digShort(c, ['TXT', 'dns-version.cluster.local']), ['"1.1.0"']);
    });

    // The seed's ConfigMap edit, made now so that the reload plugin's wait (30 s +- 15 s) overlaps the next scenarios.
    const before = await poll(async () => (await digShort(c, ['www.baidu.com']))[0], { timeoutMs: 20_000, what: 'www.baidu.com forwarded to the stub' });
    assert.equal(before, '192.0.2.96');
    assert.ok(stub.queries().some((q) => q.startsWith('www.baidu.com. ')), `the stub saw the forwarded query: ${stub.queries().join(', ')}`);
    const cm = await json(c, ['get', 'cm', 'coredns', '-n', 'kube-system']);
    const corefile: string = cm.data.Corefile;
    const edited = corefile.replace(
      /forward \. \/etc\/resolv\.conf \{\n\s*max_concurrent 1000\n\s*\}/,
      'forward . /etc/resolv.conf {\n       max_concurrent 1000\n       except www.baidu.com.\n    }\n    hosts {\n       10.0.0.20 harbor.superopsmsb.com\n       fallthrough\n    }',
    );
    assert.notEqual(edited, corefile, `the Corefile has the default forward block:\n${corefile}`);
    await c.k(['patch', 'cm', 'coredns', '-n', 'kube-system', '--type', 'merge', '-p', JSON.stringify({ data: { Corefile: edited } })]);
    const editedAt = Date.now();
    // The node agent writes the changed ConfigMap into the running pods' volume (the reload plugin reads that file).
    for (const p of coredns) {
      await poll(async () => (await c.kubectl(['exec', '-n', 'kube-system', p.metadata.name, '--', 'cat', '/etc/coredns/Corefile'], { allowFailure: true })).stdout.includes('harbor.superopsmsb.com'), {
        timeoutMs: 30_000,
        what: `the edited Corefile in ${p.metadata.name}'s config volume`,
      });
    }

    // The re-created Service (seed 003): deleted, made again with another ClusterIP.
    await c.k(['delete', 'svc', 'svc-a']);
    await c.k(['apply', '-f', '-'], { input: JSON.stringify({ ...svcA, spec: { ...svcA.spec, clusterIP: '10.96.200.200' } }) });
    assert.notEqual(svcAIP, '10.96.200.200');
    const recreatedAt = Date.now();

    await t.test('seed 003: dnsPolicy ClusterFirst, hostNetwork, ClusterFirstWithHostNet, Default, None + dnsConfig', async () => {
      const clusterResolv = 'search default.svc.cluster.local svc.cluster.local cluster.local example.test\nnameserver 10.96.0.10\noptions ndots:5\n';
      const nodeResolv = `search example.test\nnameserver ${NODE_IP}\n`;
      const pods: Array<[string, Record<string, unknown>, string]> = [
        ['dns-clusterfirst', { dnsPolicy: 'ClusterFirst' }, clusterResolv],
        ['dns-hostnet', { hostNetwork: true, dnsPolicy: 'ClusterFirst' }, nodeResolv],
        ['dns-hostnet-cf', { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }, clusterResolv],
        ['dns-default', { dnsPolicy: 'Default' }, nodeResolv],
        [
          'dns-none',
          { dnsPolicy: 'None', dnsConfig: { nameservers: [NODE_IP], searches: ['mydomain.test', 'example.test'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } },
          `search mydomain.test example.test\nnameserver ${NODE_IP}\noptions ndots:2 edns0\n`,
        ],
      ];
      for (const [name, spec] of pods) await c.k(['apply', '-f', '-'], { input: JSON.stringify(busyboxPod(name, spec, { dnstest: 'yes' })) });
      await readyPods(c, 'dnstest=yes', pods.length);
      for (const [name, , resolv] of pods) {
        const got = (await inPod(c, name, ['cat', '/etc/resolv.conf'])).out;
        assert.equal(got.split('\n').filter((l) => l && !l.startsWith('#')).join('\n') + '\n', resolv, `${name}'s resolv.conf`);
      }
      const svcName = /Name:\s+svc-a\.default\.svc\.cluster\.local\s+Address:/;
      for (const name of ['dns-clusterfirst', 'dns-hostnet-cf']) await nslookupMatches(c, name, ['svc-a'], svcName);
      // Node resolvers only: the cluster's names are unknown, the search list reaches the stub's names.
      for (const name of ['dns-hostnet', 'dns-default', 'dns-none']) {
        const r = await inPod(c, name, ['nslookup', 'svc-a']);
        assert.match(r.out, /server can't find svc-a: NXDOMAIN/, `${name}: ${r.out}`);
        await nslookupMatches(c, name, ['www'], /Name:\s+www\.example\.test\s+Address:\s+192\.0\.2\.99/);
      }
      // Forwarded through the cluster DNS: a pod with ClusterFirst reaches the stub's names too.
      await nslookupMatches(c, 'dns-clusterfirst', ['www.example.test'], /Name:\s+www\.example\.test\s+Address:\s+192\.0\.2\.99/);
    });

    await t.test('seed 003: StatefulSet pods by name under their headless Service', async () => {
      const manifests = [
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 'myapp' }, spec: { clusterIP: 'None', selector: { app: 'myapp' }, ports: [{ name: 'web', port: 80 }] } },
        {
          apiVersion: 'apps/v1',
          kind: 'StatefulSet',
          metadata: { name: 'web' },
          spec: {
            serviceName: 'myapp',
            replicas: 2,
            selector: { matchLabels: { app: 'myapp' } },
            template: { metadata: { labels: { app: 'myapp' } }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'app', image: 'busybox', command: ['sleep', '3600'] }] } },
          },
        },
      ];
      await c.k(['apply', '-f', '-'], { input: manifests.map((m) => JSON.stringify(m)).join('\n') });
      const web = await readyPods(c, 'app=myapp', 2);
      const web0 = web.find((p: any) => p.metadata.name === 'web-0');
      assert.ok(web0, 'web-0 exists');
      await poll(async () => (await digShort(c, ['web-0.myapp.default.svc.cluster.local']))[0] === web0.status.podIP, {
        timeoutMs: 30_000,
        what: `web-0.myapp.default.svc.cluster.local -> ${web0.status.podIP}`,
      });
      await nslookupMatches(c, 'pod-b', ['web-0.myapp'], new RegExp(`Name:\\s+web-0\\.myapp\\.default\\.svc\\.cluster\\.local\\s+Address:\\s+${re(web0.status.podIP)}`));
      assert.deepEqual(await digShort(c, ['-x', web0.status.podIP]), ['web-0.myapp.default.svc.cluster.local.']);
    });

    await t.test('seed 003: a re-created Service resolves to its new IP', async () => {
      await nslookupMatches(c, 'pod-b', ['svc-a'], /Name:\s+svc-a\.default\.svc\.cluster\.local\s+Address:\s+10\.96\.200\.200/, 60_000);
      t.diagnostic(`new ClusterIP resolvable ${Date.now() - recreatedAt} ms after the re-create (cache 30 s)`);
      // Each coredns replica has its own cache (30 s): wait until neither gives the old address any more.
      for (const p of coredns) {
        await poll(async () => JSON.stringify(await digShort(c, ['svc-a.default.svc.cluster.local'], p.status.podIP)) === '["10.96.200.200"]', {
          timeoutMs: 45_000,
          what: `svc-a -> 10.96.200.200 at ${p.metadata.name}`,
        });
      }
      const body = await poll(async () => ((r) => (/hello-from-pod-a/.test(r.out) ? r.out : undefined))(await inPod(c, 'pod-b', ['timeout', '5', 'wget', '-qO-', 'svc-a'])), { timeoutMs: 30_000, what: 'wget svc-a (new IP)' });
      assert.match(body, /hello-from-pod-a/);
    });

    await t.test('seed 002: the edited ConfigMap (hosts, forward except) after reload', async () => {
      // Each coredns pod reloads on its own: ask every one of them directly.
      for (const p of coredns) {
        const ip = p.status.podIP;
        await poll(async () => (await digShort(c, ['harbor.superopsmsb.com'], ip))[0] === '10.0.0.20', {
          timeoutMs: 90_000,
          what: () => `harbor.superopsmsb.com from the hosts block at ${p.metadata.name}\n${c.output().split('\n').slice(-20).join('\n')}`,
        });
        // cache 30 may still hold the forwarded answer for a while.
        await poll(async () => ['SERVFAIL', 'NXDOMAIN'].includes(status(await dig(c, ['www.baidu.com'], ip)) ?? ''), { timeoutMs: 45_000, what: `www.baidu.com excepted at ${p.metadata.name}` });
        assert.deepEqual(await digShort(c, ['www.example.test'], ip), ['192.0.2.99'], 'other names still forwarded');
      }
      t.diagnostic(`reloaded ${Date.now() - editedAt} ms after the edit`);
      await nslookupMatches(c, 'pod-b', ['harbor.superopsmsb.com'], /Name:\s+harbor\.superopsmsb\.com\s+Address:\s+10\.0\.0\.20/);
      const baidu = await inPod(c, 'pod-b', ['nslookup', 'www.baidu.com.']);
      assert.match(baidu.out, /server can't find www\.baidu\.com\.?: (SERVFAIL|NXDOMAIN)/);
    });
  });
});
