// The kubernetes plugin's directive parsing and its wrapper (informers -> index -> handler).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { fallsThrough, KubernetesPlugin, nsAddresses, parseKubernetesDirective, setupKubernetes, SHARED_CLIENT } from '../../../src/dns/plugins/kubernetes/setup.js';
import { buildIndex } from '../../../src/dns/plugins/kubernetes/dnsindex.js';
import { lookupPlugin } from '../../../src/dns/registry.js';
import '../../../src/dns/plugins/kubernetes/index.js';
import { CLASS, RCODE, TYPE, type Directive, type DnsMessage, type DnsRequest, type PluginContext } from '../../../src/dns/types.js';
import { FakeClient } from '../../helpers/fake-client.js';
import { tempDir } from '../../helpers/tmp.js';
import { poll } from '../../helpers/poll.js';

const dir = (args: string[], block: string[][] = []): Directive => ({ name: 'kubernetes', args, block, location: 'Corefile:7' });
const parse = (args: string[], block: string[][] = [], zones = ['.']) => parseKubernetesDirective(dir(args, block), zones);

describe('directive parsing', () => {
  test('defaults', () => {
    assert.deepEqual(parse(['cluster.local']), {
      zones: ['cluster.local.'],
      namespaces: [],
      pods: 'disabled',
      ttl: 5,
      endpointPodNames: false,
      noEndpoints: false,
      ignoreEmptyService: false,
    });
  });

  test('zones: arguments (normalized, CIDR reverse zones), else the server block zones', () => {
    assert.deepEqual(parse(['Cluster.Local', 'in-addr.arpa', 'ip6.arpa', '10.0.0.0/8']).zones, ['cluster.local.', 'in-addr.arpa.', 'ip6.arpa.', '10.in-addr.arpa.']);
    assert.deepEqual(parse([], [], ['cluster.local.', 'in-addr.arpa.']).zones, ['cluster.local.', 'in-addr.arpa.']);
    assert.throws(() => parse(['10.0.0.0/12']), /Corefile:7 - Error during parsing: invalid zone '10.0.0.0\/12'/);
  });

  test('every option', () => {
    const c = parse(['cluster.local', 'in-addr.arpa'], [
      ['endpoint', 'https://127.0.0.1:6443'],
      ['kubeconfig', '/etc/kubeconfig', 'ctx'],
      ['namespaces', 'default', 'kube-system'],
      ['pods', 'verified'],
      ['ttl', '30'],
      ['fallthrough', 'in-addr.arpa', 'ip6.arpa'],
      ['endpoint_pod_names'],
      ['noendpoints'],
      ['ignore', 'empty_service'],
    ]);
    assert.deepEqual(c, {
      zones: ['cluster.local.', 'in-addr.arpa.'],
      endpoint: 'https://127.0.0.1:6443',
      kubeconfig: '/etc/kubeconfig',
      kubeconfigContext: 'ctx',
      namespaces: ['default', 'kube-system'],
      pods: 'verified',
      ttl: 30,
      fallthrough: ['in-addr.arpa.', 'ip6.arpa.'],
      endpointPodNames: true,
      noEndpoints: true,
      ignoreEmptyService: true,
    });
    assert.deepEqual(parse([], [['fallthrough']]).fallthrough, []);
    assert.equal(parse([], [['ttl', '0']]).ttl, 0);
    assert.equal(parse([], [['ttl', '3600']]).ttl, 3600);
    assert.equal(parse([], [['pods', 'insecure']]).pods, 'insecure');
  });

  test('errors, with CoreDNS wording and the location', () => {
    const cases: Array<[string[][], RegExp]> = [
      [[['bogus']], /CorefileError: Corefile:7 - Error during parsing: unknown property 'bogus'$/],
      [[['resyncperiod', '10s']], /unknown property 'resyncperiod'/],
      [[['ttl', '3601']], /ttl must be in range \[0, 3600\]: 3601/],
      [[['ttl', '-1']], /ttl must be an integer: -1/],
      [[['ttl', 'x']], /ttl must be an integer: x/],
      [[['ttl']], /Wrong argument count or unexpected line ending after 'ttl'/],
      [[['ttl', '1', '2']], /Wrong argument count or unexpected line ending after 'ttl'/],
      [[['pods', 'maybe']], /wrong value for pods: maybe,  must be one of: disabled, verified, insecure/],
      [[['pods']], /Wrong argument count/],
      [[['namespaces']], /Wrong argument count/],
      [[['endpoint']], /Wrong argument count/],
      [[['endpoint', 'ftp://x']], /invalid endpoint 'ftp:\/\/x'/],
      [[['kubeconfig']], /Wrong argument count/],
      [[['ignore', 'everything']], /unable to parse ignore value: 'everything'/],
      [[['ignore']], /Wrong argument count/],
      [[['noendpoints', 'yes']], /Wrong argument count/],
      [[['endpoint_pod_names', 'yes']], /Wrong argument count/],
      [[['fallthrough', '10.0.0.0/3']], /invalid zone/],
    ];
    for (const [block, re] of cases) assert.throws(() => parse(['cluster.local'], block), re, JSON.stringify(block));
    assert.throws(() => parse(['cluster.local'], [['bogus']]), (e: Error) => e.name === 'CorefileError');
  });

  test('fallthrough zones', () => {
    assert.equal(fallsThrough({}, 'x.in-addr.arpa.'), false);
    assert.equal(fallsThrough({ fallthrough: [] }, 'anything.cluster.local.'), true);
    assert.equal(fallsThrough({ fallthrough: ['in-addr.arpa.'] }, '8.8.8.8.IN-ADDR.arpa.'), true);
    assert.equal(fallsThrough({ fallthrough: ['in-addr.arpa.'] }, 'nope.default.svc.cluster.local.'), false);
  });

  test('registered as the kubernetes directive', () => {
    assert.equal(lookupPlugin('kubernetes'), setupKubernetes);
  });
});

// ------------------------------------------------------------- wrapper

function ctxWith(shared: Map<string, unknown>): PluginContext & { shutdowns: Array<() => unknown> } {
  const shutdowns: Array<() => unknown> = [];
  return { zones: ['.'], port: 53, shared, onShutdown: (fn) => shutdowns.push(fn), shutdowns };
}

function request(name: string, type: number): DnsRequest {
  const q = { name, type, class: CLASS.IN };
  const msg: DnsMessage = { id: 7, qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, ad: false, cd: false, rcode: 0, questions: [q], answers: [], authority: [], additional: [] };
  return { msg, question: q, client: { address: '127.0.0.1', port: 5353, protocol: 'udp' }, zone: '.' };
}

const objects = {
  services: [
    { metadata: { namespace: 'default', name: 'web', resourceVersion: '1' }, spec: { clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } },
    { metadata: { namespace: 'default', name: 'db', resourceVersion: '1' }, spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] } },
  ],
  namespaces: [{ metadata: { name: 'default', resourceVersion: '1' } }],
  'discovery.k8s.io/endpointslices': [
    {
      metadata: { namespace: 'default', name: 'db-1', resourceVersion: '1', labels: { 'kubernetes.io/service-name': 'db' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.244.1.7'], hostname: 'db-0', conditions: { ready: true } }],
      ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
    },
  ],
  pods: [{ metadata: { namespace: 'default', name: 'p', resourceVersion: '1' }, status: { podIP: '10.244.1.7' } }],
};

describe('plugin wrapper', () => {
  test('informers feed the index; ready once synced; answers, passes on, falls through', async () => {
    const client = new FakeClient(objects);
    const shared = new Map<string, unknown>([[SHARED_CLIENT, client]]);
    const ctx = ctxWith(shared);
    const d = dir(['cluster.local', 'in-addr.arpa'], [['pods', 'verified'], ['fallthrough', 'in-addr.arpa'], ['ttl', '30']]);
    const plugin = (await setupKubernetes(d, ctx)) as KubernetesPlugin;
    assert.equal(plugin.name, 'kubernetes');
    assert.equal(plugin.ready(), false);

    let passed = 0;
    const next = async (req: DnsRequest): Promise<DnsMessage> => {
      passed++;
      return { ...req.msg, qr: true, rcode: RCODE.REFUSED };
    };
    const h = plugin.handler(next);
    // Before sync: SERVFAIL instead of NXDOMAIN.
    assert.equal((await h(request('web.default.svc.cluster.local.', TYPE.A))).rcode, RCODE.SERVFAIL);

    await plugin.start();
    await plugin.waitForSync(5000);
    assert.equal(plugin.ready(), true);
    assert.deepEqual(client.listed.sort(), ['discovery.k8s.io/endpointslices', 'namespaces', 'pods', 'services']);

    const a = await h(request('web.default.svc.cluster.local.', TYPE.A));
    assert.equal(a.rcode, RCODE.NOERROR);
    assert.equal(a.aa, true);
    assert.equal(a.qr, true);
    assert.equal(a.id, 7);
    assert.deepEqual(a.answers, [{ name: 'web.default.svc.cluster.local.', type: TYPE.A, class: CLASS.IN, ttl: 30, data: { type: TYPE.A, address: '10.96.0.20' } }]);

    assert.equal((await h(request('db-0.db.default.svc.cluster.local.', TYPE.A))).answers.length, 1);
    assert.equal((await h(request('10-244-1-7.default.pod.cluster.local.', TYPE.A))).answers.length, 1);
    const nx = await h(request('nope.default.svc.cluster.local.', TYPE.A));
    assert.equal(nx.rcode, RCODE.NXDOMAIN);
    assert.equal(nx.authority[0]!.type, TYPE.SOA);

    // Outside the zones: passed on.
    assert.equal(passed, 0);
    assert.equal((await h(request('example.com.', TYPE.A))).rcode, RCODE.REFUSED);
    assert.equal(passed, 1);
    // NXDOMAIN in a fallthrough zone: passed on; a PTR we know: answered.
    assert.equal((await h(request('8.8.8.8.in-addr.arpa.', TYPE.PTR))).rcode, RCODE.REFUSED);
    assert.equal(passed, 2);
    const ptr = await h(request('20.0.96.10.in-addr.arpa.', TYPE.PTR));
    assert.deepEqual(ptr.answers.map((r) => (r.data as { target: string }).target), ['web.default.svc.cluster.local.']);

    // Watch events update answers.
    client.emit('services', { type: 'ADDED', object: { metadata: { namespace: 'default', name: 'new', resourceVersion: '2' }, spec: { clusterIP: '10.96.0.99', ports: [{ name: 'x', port: 1, protocol: 'TCP' }] } } });
    client.emit('services', { type: 'DELETED', object: objects.services[0]! });
    await poll(async () => (await h(request('new.default.svc.cluster.local.', TYPE.A))).answers.length > 0, { timeoutMs: 5000, what: 'the watch events in the index' });
    assert.deepEqual((await h(request('new.default.svc.cluster.local.', TYPE.A))).answers.map((r) => (r.data as { address: string }).address), ['10.96.0.99']);
    assert.equal((await h(request('web.default.svc.cluster.local.', TYPE.A))).rcode, RCODE.NXDOMAIN);

    // Shutdown stops the informers.
    assert.equal(ctx.shutdowns.length, 1);
    await ctx.shutdowns[0]!();
    assert.equal(plugin.ready(), false);
  });

  test('noendpoints and pods insecure: no endpointslice or pod informers', async () => {
    const client = new FakeClient(objects);
    const ctx = ctxWith(new Map([[SHARED_CLIENT, client]]));
    const plugin = (await setupKubernetes(dir(['cluster.local'], [['noendpoints'], ['pods', 'insecure']]), ctx)) as KubernetesPlugin;
    await plugin.start();
    await plugin.waitForSync(5000);
    assert.deepEqual(client.listed.sort(), ['namespaces', 'services']);
    await plugin.stop();
  });

  test('no client at all: start fails with a clear error', async () => {
    const saved = process.env.KUBECONFIG;
    delete process.env.KUBECONFIG;
    try {
      const plugin = (await setupKubernetes(dir(['cluster.local']), ctxWith(new Map()))) as KubernetesPlugin;
      await assert.rejects(plugin.start(), /no API client/);
    } finally {
      if (saved !== undefined) process.env.KUBECONFIG = saved;
    }
  });

  test('kubeconfig FILE: the plugin builds its own client from it (context honoured)', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const dirp = tempDir('k8ts-dns-kubeconfig-');
    const file = path.join(dirp, 'kubeconfig');
    fs.writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: a',
        'contexts: [{name: a, context: {cluster: a, user: u}}, {name: b, context: {cluster: b, user: u}}]',
        'clusters: [{name: a, cluster: {server: "http://127.0.0.1:1"}}, {name: b, cluster: {server: "http://127.0.0.1:2"}}]',
        'users: [{name: u, user: {token: t}}]',
        '',
      ].join('\n'),
    );
    try {
      const plugin = (await setupKubernetes(dir(['cluster.local'], [['kubeconfig', file, 'b']]), ctxWith(new Map()))) as KubernetesPlugin;
      await plugin.start();
      assert.equal((plugin as unknown as { ownClient: { options: { server: string } } }).ownClient.options.server, 'http://127.0.0.1:2');
      assert.equal(plugin.ready(), false);
      await plugin.stop();
    } finally {
      fs.rmSync(dirp, { recursive: true, force: true });
    }
  });

  test('nsAddresses: the service whose endpoints hold a local address, else kube-dns, else local', () => {
    const ix = buildIndex({
      services: [
        { metadata: { namespace: 'kube-system', name: 'kube-dns' }, spec: { clusterIP: '10.96.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] } },
        { metadata: { namespace: 'kube-system', name: 'dns2' }, spec: { clusterIP: '10.96.0.11', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] } },
      ],
      endpointSlices: [
        { metadata: { namespace: 'kube-system', name: 'd2', labels: { 'kubernetes.io/service-name': 'dns2' } }, addressType: 'IPv4', endpoints: [{ addresses: ['10.244.0.9'] }], ports: [] },
      ],
    });
    assert.deepEqual(nsAddresses(ix, ['10.244.0.9']), ['10.96.0.11']);
    assert.deepEqual(nsAddresses(ix, ['192.0.2.1']), ['10.96.0.10']);
    assert.deepEqual(nsAddresses(buildIndex({}), ['192.0.2.1']), ['192.0.2.1']);
  });
});
