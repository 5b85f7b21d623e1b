// The kubernetes DNS plugin's pure core: question + index -> answer.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { answer, type AnswerOptions } from '../../../src/dns/plugins/kubernetes/answer.js';
import {
  buildIndex,
  newIndex,
  removeEndpointSlice,
  removeService,
  serviceEndpoints,
  upsertEndpointSlice,
  upsertService,
} from '../../../src/dns/plugins/kubernetes/dnsindex.js';
import { addressFromReverse, canonicalIP, dashedIP, ipFromDashed, reverseName } from '../../../src/dns/plugins/kubernetes/ip.js';
import { CLASS, RCODE, TYPE, type ResourceRecord } from '../../../src/dns/types.js';

type Obj = Record<string, any>;

const svc = (ns: string, name: string, spec: Obj): Obj => ({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: ns, name }, spec });
const slice = (ns: string, name: string, service: string, endpoints: Obj[], ports: Obj[] = [], addressType = 'IPv4'): Obj => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { namespace: ns, name, labels: { 'kubernetes.io/service-name': service } },
  addressType,
  endpoints,
  ports,
});
const ep = (ip: string, extra: Obj = {}): Obj => ({ addresses: [ip], conditions: { ready: true }, ...extra });
const pod = (ns: string, name: string, ip: string): Obj => ({ metadata: { namespace: ns, name }, status: { podIP: ip, podIPs: [{ ip }] } });

function fixture() {
  return buildIndex({
    namespaces: ['default', 'kube-system', 'other', 'empty-ns'],
    services: [
      svc('default', 'web', { clusterIP: '10.96.0.20', clusterIPs: ['10.96.0.20'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'metrics', port: 9090, protocol: 'TCP' }] }),
      svc('kube-system', 'kube-dns', {
        clusterIP: '10.96.0.10',
        ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }, { name: 'metrics', port: 9153, protocol: 'TCP' }],
      }),
      svc('default', 'v6', { clusterIP: 'fd00:10:96::20', clusterIPs: ['fd00:10:96::20'], ipFamilies: ['IPv6'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }),
      svc('default', 'dual', { clusterIP: '10.96.0.30', clusterIPs: ['10.96.0.30', 'fd00:10:96::30'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }),
      svc('default', 'myapp', { clusterIP: 'None', ports: [{ name: 'web', port: 80, protocol: 'TCP' }] }),
      svc('default', 'nohost', { clusterIP: 'None', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }),
      svc('default', 'notready', { clusterIP: 'None', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }),
      svc('default', 'pubnr', { clusterIP: 'None', publishNotReadyAddresses: true, ports: [{ name: 'peer', port: 2380, protocol: 'TCP' }] }),
      svc('default', 'noports', { clusterIP: 'None' }),
      svc('default', 'ext', { type: 'ExternalName', externalName: 'My.Database.example.com' }),
      svc('default', 'extip', { type: 'ExternalName', externalName: '1.2.3.4' }),
      svc('default', 'empty', { clusterIP: '10.96.0.40', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }),
      svc('default', 'unnamed', { clusterIP: '10.96.0.50', ports: [{ port: 8080, protocol: 'TCP' }] }),
      svc('default', 'udp', { clusterIP: '10.96.0.60', ports: [{ name: 'syslog', port: 514, protocol: 'UDP' }] }),
      svc('other', 'web', { clusterIP: '10.96.1.20', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }),
    ],
    endpointSlices: [
      slice('default', 'web-abc', 'web', [ep('10.244.1.5'), ep('10.244.2.6', { conditions: { ready: false } })], [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'metrics', port: 9090, protocol: 'TCP' }]),
      slice('default', 'myapp-abc', 'myapp', [
        ep('10.244.1.10', { hostname: 'web-0', targetRef: { kind: 'Pod', name: 'web-0' } }),
        ep('10.244.2.11', { hostname: 'web-1', targetRef: { kind: 'Pod', name: 'web-1' } }),
        ep('10.244.3.12', { hostname: 'web-2', targetRef: { kind: 'Pod', name: 'web-2' }, conditions: { ready: false } }),
      ], [{ name: 'web', port: 80, protocol: 'TCP' }]),
      slice('default', 'myapp-v6', 'myapp', [ep('fd00:244::10', { hostname: 'web-0' })], [{ name: 'web', port: 80, protocol: 'TCP' }], 'IPv6'),
      slice('default', 'nohost-abc', 'nohost', [
        ep('10.244.3.64', { targetRef: { kind: 'Pod', name: 'nginx-7d9f-abcde' } }),
        ep('10.244.3.65', { conditions: {} }),
      ], [{ name: 'http', port: 8080, protocol: 'TCP' }]),
      slice('default', 'notready-abc', 'notready', [ep('10.244.4.4', { conditions: { ready: false } })], [{ name: 'http', port: 80, protocol: 'TCP' }]),
      slice('default', 'pubnr-abc', 'pubnr', [ep('10.244.4.5', { hostname: 'etcd-0', conditions: { ready: false } })], [{ name: 'peer', port: 2380, protocol: 'TCP' }]),
      slice('default', 'noports-abc', 'noports', [ep('10.244.6.1')]),
      slice('kube-system', 'kube-dns-abc', 'kube-dns', [ep('10.244.0.2')], [{ name: 'dns', port: 53, protocol: 'UDP' }]),
    ],
    pods: [pod('default', 'pod-a', '10.244.1.10'), pod('other', 'pod-b', '10.244.5.5'), pod('default', 'pod-v6', 'fd00:244::99')],
  });
}

const ZONE = 'cluster.local.';
const base: AnswerOptions = { zones: [ZONE, 'in-addr.arpa.', 'ip6.arpa.'], ttl: 5, pods: 'insecure' };

function ask(name: string, type: number, opts: Partial<AnswerOptions> = {}, ix = fixture()) {
  const a = answer(ix, { name, type, class: CLASS.IN }, { ...base, ...opts });
  assert.ok(a, `no answer for ${name}`);
  return a;
}
const addrs = (rrs: ResourceRecord[]) => rrs.map((r) => (r.data as { address: string }).address).sort();
const targets = (rrs: ResourceRecord[]) => rrs.map((r) => (r.data as { target: string }).target).sort();

function assertNx(a: ReturnType<typeof ask>, zone = ZONE) {
  assert.equal(a.rcode, RCODE.NXDOMAIN);
  assert.deepEqual(a.answers, []);
  assert.equal(a.authority.length, 1);
  assert.equal(a.authority[0]!.type, TYPE.SOA);
  assert.equal(a.authority[0]!.name, zone);
}
function assertNoData(a: ReturnType<typeof ask>, zone = ZONE) {
  assert.equal(a.rcode, RCODE.NOERROR);
  assert.deepEqual(a.answers, []);
  assert.equal(a.authority.length, 1, 'NODATA carries the SOA');
  assert.equal(a.authority[0]!.type, TYPE.SOA);
  assert.equal(a.authority[0]!.name, zone);
}

describe('ClusterIP services', () => {
  test('A for <svc>.<ns>.svc.<zone>', () => {
    const a = ask('web.default.svc.cluster.local.', TYPE.A);
    assert.equal(a.rcode, RCODE.NOERROR);
    assert.deepEqual(a.answers, [{ name: 'web.default.svc.cluster.local.', type: TYPE.A, class: CLASS.IN, ttl: 5, data: { type: TYPE.A, address: '10.96.0.20' } }]);
    assert.deepEqual(a.authority, []);
    assert.equal(a.zone, ZONE);
  });

  test('same name in another namespace by full name', () => {
    assert.deepEqual(addrs(ask('web.other.svc.cluster.local.', TYPE.A).answers), ['10.96.1.20']);
    assert.deepEqual(addrs(ask('kube-dns.kube-system.svc.cluster.local.', TYPE.A).answers), ['10.96.0.10']);
  });

  test('AAAA of an IPv4 service is NODATA with SOA', () => {
    assertNoData(ask('web.default.svc.cluster.local.', TYPE.AAAA));
  });

  test('IPv6 service: AAAA, and A is NODATA', () => {
    const a = ask('v6.default.svc.cluster.local.', TYPE.AAAA);
    assert.equal(a.answers[0]!.type, TYPE.AAAA);
    assert.deepEqual(addrs(a.answers), ['fd00:10:96::20']);
    assertNoData(ask('v6.default.svc.cluster.local.', TYPE.A));
  });

  test('dual-stack service answers both families', () => {
    assert.deepEqual(addrs(ask('dual.default.svc.cluster.local.', TYPE.A).answers), ['10.96.0.30']);
    assert.deepEqual(addrs(ask('dual.default.svc.cluster.local.', TYPE.AAAA).answers), ['fd00:10:96::30']);
  });

  test('a ClusterIP service answers its cluster IP whatever its endpoints (no endpoints, none ready)', () => {
    assert.deepEqual(addrs(ask('empty.default.svc.cluster.local.', TYPE.A).answers), ['10.96.0.40']);
  });

  test('missing service, namespace, or extra labels: NXDOMAIN with SOA', () => {
    assertNx(ask('nope.default.svc.cluster.local.', TYPE.A));
    assertNx(ask('web.nope.svc.cluster.local.', TYPE.A));
    assertNx(ask('a.b.c.web.default.svc.cluster.local.', TYPE.A));
    assertNx(ask('web.default.svc2.cluster.local.', TYPE.A));
    assertNx(ask('foo.cluster.local.', TYPE.A));
  });

  test('TXT/MX/PTR of an existing service name: NODATA', () => {
    assertNoData(ask('web.default.svc.cluster.local.', TYPE.TXT));
    assertNoData(ask('web.default.svc.cluster.local.', TYPE.MX));
    assertNoData(ask('web.default.svc.cluster.local.', TYPE.PTR));
    assertNoData(ask('web.default.svc.cluster.local.', TYPE.CNAME));
    assertNx(ask('nope.default.svc.cluster.local.', TYPE.TXT));
  });

  test('endpoint names resolve under a ClusterIP service too (as CoreDNS)', () => {
    assert.deepEqual(addrs(ask('10-244-1-5.web.default.svc.cluster.local.', TYPE.A).answers), ['10.244.1.5']);
    // ...but only ready endpoints
    assertNx(ask('10-244-2-6.web.default.svc.cluster.local.', TYPE.A));
  });
});

describe('headless services', () => {
  test('A for every ready endpoint', () => {
    const a = ask('myapp.default.svc.cluster.local.', TYPE.A);
    assert.equal(a.rcode, RCODE.NOERROR);
    assert.deepEqual(addrs(a.answers), ['10.244.1.10', '10.244.2.11']);
    assert.ok(a.answers.every((r) => r.name === 'myapp.default.svc.cluster.local.' && r.ttl === 5));
  });

  test('AAAA from IPv6 slices', () => {
    assert.deepEqual(addrs(ask('myapp.default.svc.cluster.local.', TYPE.AAAA).answers), ['fd00:244::10']);
  });

  test('endpoints with unset ready condition count as ready', () => {
    assert.deepEqual(addrs(ask('nohost.default.svc.cluster.local.', TYPE.A).answers), ['10.244.3.64', '10.244.3.65']);
  });

  test('no ready endpoints: NXDOMAIN', () => {
    assertNx(ask('notready.default.svc.cluster.local.', TYPE.A));
    assertNx(ask('notready.default.svc.cluster.local.', TYPE.TXT));
  });

  test('a headless service without any endpoints: NXDOMAIN', () => {
    const ix = fixture();
    upsertService(ix, svc('default', 'lonely', { clusterIP: 'None', ports: [{ name: 'x', port: 1, protocol: 'TCP' }] }));
    assertNx(ask('lonely.default.svc.cluster.local.', TYPE.A, {}, ix));
  });

  test('publishNotReadyAddresses publishes not-ready endpoints', () => {
    assert.deepEqual(addrs(ask('pubnr.default.svc.cluster.local.', TYPE.A).answers), ['10.244.4.5']);
    assert.deepEqual(addrs(ask('etcd-0.pubnr.default.svc.cluster.local.', TYPE.A).answers), ['10.244.4.5']);
  });

  test('StatefulSet hostnames: <hostname>.<svc>.<ns>.svc.<zone>', () => {
    const a = ask('web-0.myapp.default.svc.cluster.local.', TYPE.A);
    assert.deepEqual(a.answers, [{ name: 'web-0.myapp.default.svc.cluster.local.', type: TYPE.A, class: CLASS.IN, ttl: 5, data: { type: TYPE.A, address: '10.244.1.10' } }]);
    assert.deepEqual(addrs(ask('web-0.myapp.default.svc.cluster.local.', TYPE.AAAA).answers), ['fd00:244::10']);
    assert.deepEqual(addrs(ask('web-1.myapp.default.svc.cluster.local.', TYPE.A).answers), ['10.244.2.11']);
    // web-2 is not ready
    assertNx(ask('web-2.myapp.default.svc.cluster.local.', TYPE.A));
    assertNx(ask('web-9.myapp.default.svc.cluster.local.', TYPE.A));
  });

  test('endpoints with a hostname are not also named by their dashed IP', () => {
    assertNx(ask('10-244-1-10.myapp.default.svc.cluster.local.', TYPE.A));
  });

  test('dashed-IP names for endpoints without hostname', () => {
    assert.deepEqual(addrs(ask('10-244-3-64.nohost.default.svc.cluster.local.', TYPE.A).answers), ['10.244.3.64']);
    assert.deepEqual(addrs(ask('10-244-3-65.nohost.default.svc.cluster.local.', TYPE.A).answers), ['10.244.3.65']);
    assertNx(ask('10-244-3-66.nohost.default.svc.cluster.local.', TYPE.A));
    // The pod name is not a name without endpoint_pod_names.
    assertNx(ask('nginx-7d9f-abcde.nohost.default.svc.cluster.local.', TYPE.A));
  });

  test('endpoint_pod_names: the pod name replaces the dashed IP (hostname still wins)', () => {
    const o = { endpointPodNames: true };
    assert.deepEqual(addrs(ask('nginx-7d9f-abcde.nohost.default.svc.cluster.local.', TYPE.A, o).answers), ['10.244.3.64']);
    assertNx(ask('10-244-3-64.nohost.default.svc.cluster.local.', TYPE.A, o));
    // no targetRef: still the dashed IP
    assert.deepEqual(addrs(ask('10-244-3-65.nohost.default.svc.cluster.local.', TYPE.A, o).answers), ['10.244.3.65']);
    assert.deepEqual(addrs(ask('web-0.myapp.default.svc.cluster.local.', TYPE.A, o).answers), ['10.244.1.10']);
    const srv = ask('_http._tcp.nohost.default.svc.cluster.local.', TYPE.SRV, o);
    assert.deepEqual(targets(srv.answers), ['10-244-3-65.nohost.default.svc.cluster.local.', 'nginx-7d9f-abcde.nohost.default.svc.cluster.local.']);
  });

  test('IPv6 dashed names', () => {
    const ix = fixture();
    upsertService(ix, svc('default', 'h6', { clusterIP: 'None', ports: [{ name: 'x', port: 1, protocol: 'TCP' }] }));
    upsertEndpointSlice(ix, slice('default', 'h6-a', 'h6', [ep('fd00::1'), ep('fd00:1::')], [{ name: 'x', port: 1, protocol: 'TCP' }], 'IPv6'));
    assert.deepEqual(addrs(ask('fd00--1.h6.default.svc.cluster.local.', TYPE.AAAA, {}, ix).answers), ['fd00::1']);
    assert.deepEqual(addrs(ask('fd00-1--0.h6.default.svc.cluster.local.', TYPE.AAAA, {}, ix).answers), ['fd00:1::']);
  });

  test('a headless service whose slices have no ports: A works, SRV is NODATA', () => {
    assert.deepEqual(addrs(ask('noports.default.svc.cluster.local.', TYPE.A).answers), ['10.244.6.1']);
    assertNoData(ask('noports.default.svc.cluster.local.', TYPE.SRV));
  });

  test('noendpoints: headless and endpoint names are NXDOMAIN, cluster IPs still answer', () => {
    const o = { noEndpoints: true };
    assertNx(ask('myapp.default.svc.cluster.local.', TYPE.A, o));
    assertNx(ask('web-0.myapp.default.svc.cluster.local.', TYPE.A, o));
    assert.deepEqual(addrs(ask('web.default.svc.cluster.local.', TYPE.A, o).answers), ['10.96.0.20']);
  });
});

describe('SRV', () => {
  test('ClusterIP named port: one SRV to the service name, its A in additional', () => {
    const a = ask('_http._tcp.web.default.svc.cluster.local.', TYPE.SRV);
    assert.equal(a.rcode, RCODE.NOERROR);
    assert.deepEqual(a.answers, [
      { name: '_http._tcp.web.default.svc.cluster.local.', type: TYPE.SRV, class: CLASS.IN, ttl: 5, data: { type: TYPE.SRV, priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local.' } },
    ]);
    assert.deepEqual(a.additional, [{ name: 'web.default.svc.cluster.local.', type: TYPE.A, class: CLASS.IN, ttl: 5, data: { type: TYPE.A, address: '10.96.0.20' } }]);
  });

  test('protocol and port names match case-insensitively; a wrong protocol or port is NXDOMAIN', () => {
    assert.equal(ask('_HTTP._TCP.web.default.svc.cluster.local.', TYPE.SRV).answers.length, 1);
    assert.equal(ask('_syslog._udp.udp.default.svc.cluster.local.', TYPE.SRV).answers.length, 1);
    assertNx(ask('_syslog._tcp.udp.default.svc.cluster.local.', TYPE.SRV));
    assertNx(ask('_https._tcp.web.default.svc.cluster.local.', TYPE.SRV));
    assertNx(ask('_dns._tcp.kube-dns.kube-system.svc.cluster.local.', TYPE.SRV));
    const dns = ask('_dns._udp.kube-dns.kube-system.svc.cluster.local.', TYPE.SRV);
    assert.equal((dns.answers[0]!.data as { port: number }).port, 53);
  });

  test('unnamed ports have no _port._proto name', () => {
    assertNx(ask('_._tcp.unnamed.default.svc.cluster.local.', TYPE.SRV));
  });

  test('SRV for the service name itself answers all ports (unnamed ones too), weights shared', () => {
    const a = ask('web.default.svc.cluster.local.', TYPE.SRV);
    assert.deepEqual(
      a.answers.map((r) => r.data),
      [
        { type: TYPE.SRV, priority: 0, weight: 50, port: 80, target: 'web.default.svc.cluster.local.' },
        { type: TYPE.SRV, priority: 0, weight: 50, port: 9090, target: 'web.default.svc.cluster.local.' },
      ],
    );
    assert.deepEqual(addrs(a.additional), ['10.96.0.20']);
    const kd = ask('kube-dns.kube-system.svc.cluster.local.', TYPE.SRV);
    assert.deepEqual(kd.answers.map((r) => (r.data as { port: number }).port), [53, 9153]);
    assert.equal((kd.answers[0]!.data as { weight: number }).weight, 50);
    assert.deepEqual(ask('unnamed.default.svc.cluster.local.', TYPE.SRV).answers.map((r) => (r.data as { port: number }).port), [8080]);
  });

  test('headless: one SRV per ready endpoint, to its hostname or dashed IP, addresses in additional', () => {
    const a = ask('_web._tcp.myapp.default.svc.cluster.local.', TYPE.SRV);
    assert.deepEqual(targets(a.answers), ['web-0.myapp.default.svc.cluster.local.', 'web-1.myapp.default.svc.cluster.local.']);
    assert.ok(a.answers.every((r) => (r.data as { port: number; weight: number }).port === 80 && (r.data as { weight: number }).weight === 50));
    assert.deepEqual(
      a.additional.map((r) => `${r.name} ${r.type} ${(r.data as { address: string }).address}`).sort(),
      ['web-0.myapp.default.svc.cluster.local. 1 10.244.1.10', 'web-0.myapp.default.svc.cluster.local. 28 fd00:244::10', 'web-1.myapp.default.svc.cluster.local. 1 10.244.2.11'],
    );
    const b = ask('_http._tcp.nohost.default.svc.cluster.local.', TYPE.SRV);
    assert.deepEqual(targets(b.answers), ['10-244-3-64.nohost.default.svc.cluster.local.', '10-244-3-65.nohost.default.svc.cluster.local.']);
    assert.ok(b.answers.every((r) => (r.data as { port: number }).port === 8080));
    const c = ask('myapp.default.svc.cluster.local.', TYPE.SRV);
    assert.equal(c.answers.length, 2);
  });

  test('SRV of one endpoint', () => {
    const a = ask('web-1.myapp.default.svc.cluster.local.', TYPE.SRV);
    assert.deepEqual(a.answers.map((r) => r.data), [{ type: TYPE.SRV, priority: 0, weight: 100, port: 80, target: 'web-1.myapp.default.svc.cluster.local.' }]);
  });

  test('weights: floor(100/n), at least 1', () => {
    const ix = fixture();
    const eps = Array.from({ length: 150 }, (_, i) => ep(`10.245.${Math.floor(i / 200)}.${i + 1}`));
    upsertService(ix, svc('default', 'big', { clusterIP: 'None', ports: [{ name: 'p', port: 1, protocol: 'TCP' }] }));
    upsertEndpointSlice(ix, slice('default', 'big-a', 'big', eps, [{ name: 'p', port: 1, protocol: 'TCP' }]));
    const a = ask('_p._tcp.big.default.svc.cluster.local.', TYPE.SRV, {}, ix);
    assert.equal(a.answers.length, 150);
    assert.ok(a.answers.every((r) => (r.data as { weight: number }).weight === 1));
    const three = ask('_http._tcp.nohost.default.svc.cluster.local.', TYPE.SRV);
    assert.equal((three.answers[0]!.data as { weight: number }).weight, 50);
  });

  test('SRV of an ExternalName service: NODATA', () => {
    assertNoData(ask('ext.default.svc.cluster.local.', TYPE.SRV));
  });

  test('A for an SRV-style name answers the service address (as CoreDNS)', () => {
    assert.deepEqual(addrs(ask('_http._tcp.web.default.svc.cluster.local.', TYPE.A).answers), ['10.96.0.20']);
  });
});

describe('ExternalName', () => {
  test('CNAME to the external name, not chased, for A, AAAA and CNAME', () => {
    for (const t of [TYPE.A, TYPE.AAAA, TYPE.CNAME]) {
      const a = ask('ext.default.svc.cluster.local.', t);
      assert.equal(a.rcode, RCODE.NOERROR);
      assert.deepEqual(a.answers, [{ name: 'ext.default.svc.cluster.local.', type: TYPE.CNAME, class: CLASS.IN, ttl: 5, data: { type: TYPE.CNAME, target: 'my.database.example.com.' } }]);
      assert.deepEqual(a.additional, []);
    }
  });
  test('no endpoint names under an ExternalName service; an IP externalName serves nothing', () => {
    assertNx(ask('x.ext.default.svc.cluster.local.', TYPE.A));
    assertNx(ask('extip.default.svc.cluster.local.', TYPE.A));
  });
});

describe('PTR', () => {
  test('cluster IP -> service name', () => {
    const a = ask('20.0.96.10.in-addr.arpa.', TYPE.PTR);
    assert.equal(a.rcode, RCODE.NOERROR);
    assert.deepEqual(a.answers, [{ name: '20.0.96.10.in-addr.arpa.', type: TYPE.PTR, class: CLASS.IN, ttl: 5, data: { type: TYPE.PTR, target: 'web.default.svc.cluster.local.' } }]);
    assert.equal(a.zone, 'in-addr.arpa.');
    assert.deepEqual(targets(ask('10.0.96.10.in-addr.arpa.', TYPE.PTR).answers), ['kube-dns.kube-system.svc.cluster.local.']);
  });

  test('IPv6 cluster IP -> service name', () => {
    const name = reverseName('fd00:10:96::20')!;
    assert.deepEqual(targets(ask(name, TYPE.PTR).answers), ['v6.default.svc.cluster.local.']);
  });

  test('headless endpoint IP -> hostname, or dashed IP', () => {
    assert.deepEqual(targets(ask('10.1.244.10.in-addr.arpa.', TYPE.PTR).answers), ['web-0.myapp.default.svc.cluster.local.']);
    assert.deepEqual(targets(ask('64.3.244.10.in-addr.arpa.', TYPE.PTR).answers), ['10-244-3-64.nohost.default.svc.cluster.local.']);
    assert.deepEqual(targets(ask('64.3.244.10.in-addr.arpa.', TYPE.PTR, { endpointPodNames: true }).answers), ['nginx-7d9f-abcde.nohost.default.svc.cluster.local.']);
    assert.deepEqual(targets(ask(reverseName('fd00:244::10')!, TYPE.PTR).answers), ['web-0.myapp.default.svc.cluster.local.']);
  });

  test('not-ready endpoints have no PTR (unless publishNotReadyAddresses)', () => {
    assertNx(ask('12.3.244.10.in-addr.arpa.', TYPE.PTR), 'in-addr.arpa.');
    assert.deepEqual(targets(ask('5.4.244.10.in-addr.arpa.', TYPE.PTR).answers), ['etcd-0.pubnr.default.svc.cluster.local.']);
  });

  test('unknown IPs and partial reverse names: NXDOMAIN with the reverse zone SOA', () => {
    const a = ask('8.8.8.8.in-addr.arpa.', TYPE.PTR);
    assertNx(a, 'in-addr.arpa.');
    assert.equal((a.authority[0]!.data as { mname: string }).mname, 'ns.dns.in-addr.arpa.');
    assertNx(ask('10.in-addr.arpa.', TYPE.PTR), 'in-addr.arpa.');
  });

  test('other types of an existing reverse name: NODATA', () => {
    assertNoData(ask('20.0.96.10.in-addr.arpa.', TYPE.A), 'in-addr.arpa.');
  });

  test('PTR targets use the primary (first forward) zone', () => {
    const a = ask('20.0.96.10.in-addr.arpa.', TYPE.PTR, { zones: ['in-addr.arpa.', 'k8s.example.', 'cluster.local.'] });
    assert.deepEqual(targets(a.answers), ['web.default.svc.k8s.example.']);
  });

  test('namespaces restrict PTRs too', () => {
    assertNx(ask('20.0.96.10.in-addr.arpa.', TYPE.PTR, { namespaces: ['other'] }), 'in-addr.arpa.');
  });
});

describe('pods', () => {
  test('insecure: any syntactically valid IP in an existing namespace', () => {
    const a = ask('10-244-9-9.default.pod.cluster.local.', TYPE.A, { pods: 'insecure' });
    assert.deepEqual(a.answers, [{ name: '10-244-9-9.default.pod.cluster.local.', type: TYPE.A, class: CLASS.IN, ttl: 5, data: { type: TYPE.A, address: '10.244.9.9' } }]);
    assertNoData(ask('10-244-9-9.default.pod.cluster.local.', TYPE.AAAA, { pods: 'insecure' }));
    assert.deepEqual(addrs(ask('fd00--1.default.pod.cluster.local.', TYPE.AAAA, { pods: 'insecure' }).answers), ['fd00::1']);
    assertNx(ask('10-244-9-999.default.pod.cluster.local.', TYPE.A, { pods: 'insecure' }));
    assertNx(ask('not-an-ip.default.pod.cluster.local.', TYPE.A, { pods: 'insecure' }));
    assertNx(ask('10-244-9-9.nope.pod.cluster.local.', TYPE.A, { pods: 'insecure' }));
    assertNx(ask('x.10-244-9-9.default.pod.cluster.local.', TYPE.A, { pods: 'insecure' }));
  });

  test('verified: only a pod with that IP in that namespace', () => {
    const o = { pods: 'verified' as const };
    assert.deepEqual(addrs(ask('10-244-1-10.default.pod.cluster.local.', TYPE.A, o).answers), ['10.244.1.10']);
    assertNx(ask('10-244-1-10.other.pod.cluster.local.', TYPE.A, o));
    assert.deepEqual(addrs(ask('10-244-5-5.other.pod.cluster.local.', TYPE.A, o).answers), ['10.244.5.5']);
    assertNx(ask('10-244-9-9.default.pod.cluster.local.', TYPE.A, o));
    assert.deepEqual(addrs(ask('fd00-244--99.default.pod.cluster.local.', TYPE.AAAA, o).answers), ['fd00:244::99']);
  });

  test('disabled: NXDOMAIN, even for the namespace', () => {
    const o = { pods: 'disabled' as const };
    assertNx(ask('10-244-1-10.default.pod.cluster.local.', TYPE.A, o));
    assertNx(ask('default.pod.cluster.local.', TYPE.A, o));
    // disabled is the default
    assertNx(ask('10-244-1-10.default.pod.cluster.local.', TYPE.A, { pods: undefined }));
  });

  test('<ns>.pod.<zone>: NODATA for an existing namespace', () => {
    assertNoData(ask('default.pod.cluster.local.', TYPE.A));
    assertNx(ask('nope.pod.cluster.local.', TYPE.A));
  });
});

describe('zone structure, SOA, NS, TXT', () => {
  test('dns-version TXT', () => {
    const a = ask('dns-version.cluster.local.', TYPE.TXT);
    assert.deepEqual(a.answers, [{ name: 'dns-version.cluster.local.', type: TYPE.TXT, class: CLASS.IN, ttl: 28800, data: { type: TYPE.TXT, texts: ['1.1.0'] } }]);
    assertNoData(ask('dns-version.cluster.local.', TYPE.A));
  });

  test('<ns>.svc.<zone>: NODATA for an existing namespace (even without services), NXDOMAIN otherwise', () => {
    assertNoData(ask('default.svc.cluster.local.', TYPE.A));
    assertNoData(ask('empty-ns.svc.cluster.local.', TYPE.A));
    assertNx(ask('nope.svc.cluster.local.', TYPE.A));
  });

  test('the apex, svc.<zone> and pod.<zone>: NODATA', () => {
    assertNoData(ask('cluster.local.', TYPE.A));
    assertNoData(ask('svc.cluster.local.', TYPE.A));
    assertNoData(ask('pod.cluster.local.', TYPE.A));
  });

  test('SOA at the apex, as CoreDNS', () => {
    const ix = fixture();
    const a = ask('cluster.local.', TYPE.SOA, { ttl: 30 }, ix);
    assert.equal(a.rcode, RCODE.NOERROR);
    assert.equal(a.answers.length, 1);
    const soa = a.answers[0]!;
    assert.equal(soa.name, 'cluster.local.');
    assert.equal(soa.ttl, 30);
    assert.deepEqual(soa.data, { type: TYPE.SOA, mname: 'ns.dns.cluster.local.', rname: 'hostmaster.cluster.local.', serial: ix.modified, refresh: 7200, retry: 1800, expire: 86400, minimum: 30 });
    assert.deepEqual(a.authority, []);
  });

  test('SOA in negative answers: minimum = ttl, record TTL capped at 300', () => {
    const a = ask('nope.default.svc.cluster.local.', TYPE.A, { ttl: 3600 });
    assert.equal(a.authority[0]!.ttl, 300);
    assert.equal((a.authority[0]!.data as { minimum: number }).minimum, 3600);
  });

  test('the SOA serial changes when the index changes', () => {
    const ix = fixture();
    const s1 = (ask('nope.default.svc.cluster.local.', TYPE.A, {}, ix).authority[0]!.data as { serial: number }).serial;
    upsertService(ix, svc('default', 'new', { clusterIP: '10.96.0.99', ports: [{ name: 'x', port: 1, protocol: 'TCP' }] }));
    const s2 = (ask('nope.default.svc.cluster.local.', TYPE.A, {}, ix).authority[0]!.data as { serial: number }).serial;
    assert.ok(s2 > s1);
  });

  test('NS at the apex with glue; ns.dns.<zone> answers the server addresses', () => {
    const o = { nsAddresses: ['10.96.0.10'] };
    const a = ask('cluster.local.', TYPE.NS, o);
    assert.deepEqual(a.answers.map((r) => r.data), [{ type: TYPE.NS, target: 'ns.dns.cluster.local.' }]);
    assert.deepEqual(a.additional.map((r) => [r.name, (r.data as { address: string }).address]), [['ns.dns.cluster.local.', '10.96.0.10']]);
    assert.deepEqual(addrs(ask('ns.dns.cluster.local.', TYPE.A, o).answers), ['10.96.0.10']);
    assertNoData(ask('ns.dns.cluster.local.', TYPE.AAAA, o));
    assertNoData(ask('dns.cluster.local.', TYPE.A, o));
  });

  test('NS below the apex: NODATA or NXDOMAIN', () => {
    assertNoData(ask('web.default.svc.cluster.local.', TYPE.NS));
    assertNx(ask('nope.default.svc.cluster.local.', TYPE.NS));
  });

  test('zone transfers are refused', () => {
    assert.equal(ask('cluster.local.', TYPE.AXFR).rcode, RCODE.REFUSED);
  });

  test('names outside the zones: undefined (the plugin passes them on)', () => {
    assert.equal(answer(fixture(), { name: 'example.com.', type: TYPE.A, class: CLASS.IN }, base), undefined);
    assert.equal(answer(fixture(), { name: 'local.', type: TYPE.A, class: CLASS.IN }, base), undefined);
  });

  test('other zones and the root zone', () => {
    assert.deepEqual(addrs(ask('web.default.svc.k8s.example.', TYPE.A, { zones: ['cluster.local.', 'k8s.example.'] }).answers), ['10.96.0.20']);
    const a = ask('web.default.svc.', TYPE.A, { zones: ['.'] });
    assert.deepEqual(addrs(a.answers), ['10.96.0.20']);
    const n = ask('nope.default.svc.', TYPE.A, { zones: ['.'] });
    assert.equal(n.rcode, RCODE.NXDOMAIN);
    assert.equal((n.authority[0]!.data as { mname: string }).mname, 'ns.dns.');
    // The longest zone wins.
    assert.equal(ask('web.default.svc.a.cluster.local.', TYPE.A, { zones: ['cluster.local.', 'a.cluster.local.'] }).zone, 'a.cluster.local.');
  });

  test('SRV targets and negative SOAs use the zone of the question', () => {
    const a = ask('_http._tcp.web.default.svc.k8s.example.', TYPE.SRV, { zones: ['cluster.local.', 'k8s.example.'] });
    assert.deepEqual(targets(a.answers), ['web.default.svc.k8s.example.']);
  });
});

describe('options', () => {
  test('TTL from ttl, including 0', () => {
    assert.equal(ask('web.default.svc.cluster.local.', TYPE.A, { ttl: 30 }).answers[0]!.ttl, 30);
    assert.equal(ask('web.default.svc.cluster.local.', TYPE.A, { ttl: 0 }).answers[0]!.ttl, 0);
    assert.equal(ask('_web._tcp.myapp.default.svc.cluster.local.', TYPE.SRV, { ttl: 17 }).additional[0]!.ttl, 17);
    assert.equal(ask('20.0.96.10.in-addr.arpa.', TYPE.PTR, { ttl: 17 }).answers[0]!.ttl, 17);
    assert.equal(ask('ext.default.svc.cluster.local.', TYPE.A, { ttl: 17 }).answers[0]!.ttl, 17);
    assert.equal(ask('web.default.svc.cluster.local.', TYPE.A, { ttl: undefined }).answers[0]!.ttl, 5);
  });

  test('namespaces: only those are exposed', () => {
    const o = { namespaces: ['other'] };
    assertNx(ask('web.default.svc.cluster.local.', TYPE.A, o));
    assertNx(ask('default.svc.cluster.local.', TYPE.A, o));
    assert.deepEqual(addrs(ask('web.other.svc.cluster.local.', TYPE.A, o).answers), ['10.96.1.20']);
  });

  test('ignore empty_service: ClusterIP services without ready endpoints are NXDOMAIN', () => {
    const o = { ignoreEmptyService: true };
    assertNx(ask('empty.default.svc.cluster.local.', TYPE.A, o));
    assert.deepEqual(addrs(ask('web.default.svc.cluster.local.', TYPE.A, o).answers), ['10.96.0.20']);
    // ExternalName and headless are not affected beyond their own rules
    assert.equal(ask('ext.default.svc.cluster.local.', TYPE.A, o).answers.length, 1);
    assert.equal(ask('myapp.default.svc.cluster.local.', TYPE.A, o).answers.length, 2);
  });

  test('not synced yet: NXDOMAIN becomes SERVFAIL, positive answers still served', () => {
    const a = ask('nope.default.svc.cluster.local.', TYPE.A, { synced: false });
    assert.equal(a.rcode, RCODE.SERVFAIL);
    assert.equal(ask('web.default.svc.cluster.local.', TYPE.A, { synced: false }).rcode, RCODE.NOERROR);
  });
});

describe('case', () => {
  test('names match case-insensitively; answers use the name as asked', () => {
    const a = ask('Web.DEFAULT.Svc.Cluster.Local.', TYPE.A);
    assert.deepEqual(addrs(a.answers), ['10.96.0.20']);
    assert.equal(a.answers[0]!.name, 'Web.DEFAULT.Svc.Cluster.Local.');
    assert.deepEqual(addrs(ask('WEB-0.MyApp.default.svc.cluster.local.', TYPE.A).answers), ['10.244.1.10']);
    assert.equal(ask('_HTTP._Tcp.web.default.svc.cluster.local.', TYPE.SRV).answers[0]!.name, '_HTTP._Tcp.web.default.svc.cluster.local.');
    assert.equal(ask('20.0.96.10.IN-ADDR.ARPA.', TYPE.PTR).answers.length, 1);
    assert.equal(ask('DNS-Version.cluster.local.', TYPE.TXT).answers.length, 1);
    assert.equal(ask('web.default.svc.cluster.local', TYPE.A).answers.length, 1, 'a name without the trailing dot');
  });
});

describe('index builders', () => {
  test('updates and deletes keep the reverse maps right', () => {
    const ix = newIndex();
    ix.namespaces!.add('default');
    const s = svc('default', 'a', { clusterIP: '10.96.0.1', ports: [{ name: 'p', port: 1, protocol: 'TCP' }] });
    upsertService(ix, s);
    assert.ok(ix.servicesByIP.has('10.96.0.1'));
    upsertService(ix, svc('default', 'a', { clusterIP: '10.96.0.2', ports: [] }));
    assert.ok(!ix.servicesByIP.has('10.96.0.1'));
    assert.deepEqual([...ix.servicesByIP.get('10.96.0.2')!], ['default/a']);
    removeService(ix, s);
    assert.equal(ix.services.size, 0);
    assert.equal(ix.servicesByIP.size, 0);

    const sl = slice('default', 'a-1', 'a', [ep('10.244.0.1')], [{ name: 'p', port: 1, protocol: 'TCP' }]);
    upsertEndpointSlice(ix, sl);
    assert.equal(serviceEndpoints(ix, 'default', 'a').length, 1);
    upsertEndpointSlice(ix, slice('default', 'a-1', 'a', [ep('10.244.0.2')], []));
    assert.deepEqual(serviceEndpoints(ix, 'default', 'a').map((e) => e.address), ['10.244.0.2']);
    assert.ok(!ix.slicesByIP.has('10.244.0.1'));
    removeEndpointSlice(ix, sl);
    assert.equal(ix.slicesByService.size, 0);
    assert.equal(ix.slicesByIP.size, 0);
  });

  test('endpoints merge across slices, and a deleted slice removes its endpoints from answers', () => {
    const ix = fixture();
    upsertEndpointSlice(ix, slice('default', 'myapp-more', 'myapp', [ep('10.244.7.7', { hostname: 'web-3' })], [{ name: 'web', port: 80, protocol: 'TCP' }]));
    assert.deepEqual(addrs(ask('myapp.default.svc.cluster.local.', TYPE.A, {}, ix).answers), ['10.244.1.10', '10.244.2.11', '10.244.7.7']);
    removeEndpointSlice(ix, { metadata: { namespace: 'default', name: 'myapp-abc' } });
    assert.deepEqual(addrs(ask('myapp.default.svc.cluster.local.', TYPE.A, {}, ix).answers), ['10.244.7.7']);
  });

  test('slices without a service label or of FQDN type are ignored', () => {
    const ix = fixture();
    const s = slice('default', 'orphan', 'x', [ep('10.9.9.9')]);
    delete s.metadata.labels;
    upsertEndpointSlice(ix, s);
    upsertEndpointSlice(ix, slice('default', 'fqdn', 'myapp', [{ addresses: ['example.com'] }], [], 'FQDN'));
    assert.ok(!ix.slices.has('default/orphan'));
    assert.ok(!ix.slices.has('default/fqdn'));
  });

  test('without namespace tracking, a namespace exists if a service or pod is in it', () => {
    const ix = buildIndex({ services: [svc('team', 'a', { clusterIP: '10.96.5.5', ports: [{ name: 'p', port: 1, protocol: 'TCP' }] })] });
    assertNoData(ask('team.svc.cluster.local.', TYPE.A, {}, ix));
    assertNx(ask('nope.svc.cluster.local.', TYPE.A, {}, ix));
  });
});

describe('ip helpers', () => {
  test('canonical forms, reverse names, dashed labels', () => {
    assert.equal(canonicalIP('FD00:0:0::0:1'), 'fd00::1');
    assert.equal(canonicalIP('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
    assert.equal(reverseName('10.96.0.12'), '12.0.96.10.in-addr.arpa.');
    assert.equal(addressFromReverse('12.0.96.10.in-addr.arpa.'), '10.96.0.12');
    assert.equal(addressFromReverse(reverseName('fd00:10:96::20')!), 'fd00:10:96::20');
    assert.equal(reverseName('::1'), `1.${'0.'.repeat(31)}ip6.arpa.`);
    assert.equal(addressFromReverse('1.2.3.in-addr.arpa.'), undefined);
    assert.equal(dashedIP('10.244.3.64'), '10-244-3-64');
    assert.equal(dashedIP('fd00::1'), 'fd00--1');
    assert.equal(dashedIP('fd00:1::'), 'fd00-1--0');
    assert.equal(ipFromDashed('10-244-3-64')?.text, '10.244.3.64');
    assert.equal(ipFromDashed('fd00--1')?.text, 'fd00::1');
    assert.equal(ipFromDashed('01-2-3-4'), undefined);
  });
});
