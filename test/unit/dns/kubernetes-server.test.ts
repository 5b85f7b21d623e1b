// The kubernetes plugin inside the real DNS server on 127.0.0.1, queried with dig.
// The plugin's API client is an in-memory fake shared as "kubernetes.client".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startDnsServer, type DnsServer } from '../../../src/dns/server.js';
import { setupKubernetes, SHARED_CLIENT, type KubernetesPlugin } from '../../../src/dns/plugins/kubernetes/setup.js';
import { reply, TYPE, type Plugin } from '../../../src/dns/types.js';
import type { KObject } from '../../../src/client/rest.js';

const run = promisify(execFile);

const objects: Record<string, KObject[]> = {
  namespaces: [{ metadata: { name: 'default' } }, { metadata: { name: 'kube-system' } }],
  services: [
    { metadata: { namespace: 'default', name: 'web' }, spec: { clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } },
    { metadata: { namespace: 'kube-system', name: 'kube-dns' }, spec: { clusterIP: '10.96.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] } },
    { metadata: { namespace: 'default', name: 'myapp' }, spec: { clusterIP: 'None', ports: [{ name: 'web', port: 80, protocol: 'TCP' }] } },
    { metadata: { namespace: 'default', name: 'ext' }, spec: { type: 'ExternalName', externalName: 'db.example.com' } },
  ],
  'discovery.k8s.io/endpointslices': [
    {
      metadata: { namespace: 'default', name: 'myapp-1', labels: { 'kubernetes.io/service-name': 'myapp' } },
      addressType: 'IPv4',
      endpoints: [
        { addresses: ['10.244.1.10'], hostname: 'web-0', conditions: { ready: true } },
        { addresses: ['10.244.2.11'], hostname: 'web-1', conditions: { ready: true } },
      ],
      ports: [{ name: 'web', port: 80, protocol: 'TCP' }],
    },
  ],
};

/** listAll + a watch that stays open until closed: all the Informer needs. */
const fakeClient = {
  async listAll(resource: string) {
    return { metadata: { resourceVersion: '1' }, items: objects[resource] ?? [] };
  },
  async watch() {
    let close!: () => void;
    const closed = new Promise<void>((r) => (close = r));
    return {
      done: closed.then(() => undefined),
      close,
      async *[Symbol.asyncIterator]() {
        await closed;
      },
    };
  },
};

const COREFILE = `.:53 {
    kubernetes cluster.local in-addr.arpa {
        pods insecure
        fallthrough in-addr.arpa
        ttl 7
    }
    teststub
}
`;

let server: DnsServer;

before(async () => {
  server = await startDnsServer({
    corefile: COREFILE,
    host: '127.0.0.1',
    portOverride: 0,
    log: () => {},
    plugins: {
      kubernetes: (d, ctx) => {
        ctx.shared.set(SHARED_CLIENT, fakeClient);
        return setupKubernetes(d, ctx);
      },
      // The next plugin: answers what kubernetes passed on with a marker TXT.
      teststub: (): Plugin => ({
        name: 'teststub',
        handler: () => async (req) => {
          const m = reply(req);
          m.answers = [{ name: req.question.name, type: TYPE.TXT, class: 1, ttl: 1, data: { type: TYPE.TXT, texts: ['passed-on'] } }];
          return m;
        },
      }),
    },
  });
  await server.plugin<KubernetesPlugin>('kubernetes')!.waitForSync(5000);
});

after(async () => {
  await server?.close();
});

async function dig(...args: string[]): Promise<string> {
  const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(server.port), '+time=2', '+tries=1', ...args], { timeout: 10_000 });
  return stdout;
}
const short = async (...args: string[]) => (await dig('+short', ...args)).trim().split('\n').filter(Boolean).sort();
const status = (out: string) => /status: (\w+)/.exec(out)?.[1];

test('A of a ClusterIP service', async () => {
  assert.deepEqual(await short('web.default.svc.cluster.local', 'A'), ['10.96.0.20']);
  const out = await dig('web.default.svc.cluster.local', 'A');
  assert.equal(status(out), 'NOERROR');
  assert.match(out, /flags: qr aa rd;/);
  assert.match(out, /web\.default\.svc\.cluster\.local\.\s+7\s+IN\s+A\s+10\.96\.0\.20/);
});

test('headless service, StatefulSet hostname, SRV with additional', async () => {
  assert.deepEqual(await short('myapp.default.svc.cluster.local', 'A'), ['10.244.1.10', '10.244.2.11']);
  assert.deepEqual(await short('web-1.myapp.default.svc.cluster.local', 'A'), ['10.244.2.11']);
  const out = await dig('_web._tcp.myapp.default.svc.cluster.local', 'SRV');
  assert.match(out, /IN\s+SRV\s+0 50 80 web-0\.myapp\.default\.svc\.cluster\.local\./);
  assert.match(out, /ADDITIONAL SECTION:[\s\S]*web-1\.myapp\.default\.svc\.cluster\.local\.\s+7\s+IN\s+A\s+10\.244\.2\.11/);
  assert.deepEqual(await short('_http._tcp.web.default.svc.cluster.local', 'SRV'), ['0 100 80 web.default.svc.cluster.local.']);
});

test('NXDOMAIN and NODATA carry the SOA', async () => {
  const nx = await dig('nope.default.svc.cluster.local', 'A');
  assert.equal(status(nx), 'NXDOMAIN');
  assert.match(nx, /AUTHORITY SECTION:\s*\ncluster\.local\.\s+7\s+IN\s+SOA\s+ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\. \d+ 7200 1800 86400 7/);
  const nodata = await dig('default.svc.cluster.local', 'A');
  assert.equal(status(nodata), 'NOERROR');
  assert.match(nodata, /ANSWER: 0,/);
  assert.match(nodata, /IN\s+SOA\s+ns\.dns\.cluster\.local\./);
});

test('PTR of a cluster IP; an unknown IP falls through to the next plugin', async () => {
  assert.deepEqual(await short('-x', '10.96.0.10'), ['kube-dns.kube-system.svc.cluster.local.']);
  assert.deepEqual(await short('-x', '10.244.1.10'), ['web-0.myapp.default.svc.cluster.local.']);
  const out = await dig('-x', '192.0.2.1');
  assert.match(out, /"passed-on"/);
});

test('pods insecure, ExternalName CNAME, dns-version TXT, case-insensitive names', async () => {
  assert.deepEqual(await short('10-244-3-4.default.pod.cluster.local', 'A'), ['10.244.3.4']);
  assert.deepEqual(await short('ext.default.svc.cluster.local', 'A'), ['db.example.com.']);
  assert.deepEqual(await short('dns-version.cluster.local', 'TXT'), ['"1.1.0"']);
  assert.deepEqual(await short('WEB.Default.SVC.cluster.LOCAL', 'A'), ['10.96.0.20']);
});

test('TCP works too', async () => {
  assert.deepEqual(await short('+tcp', 'web.default.svc.cluster.local', 'A'), ['10.96.0.20']);
});
