// The change tracker (Services + EndpointSlices -> ProxySnapshot, changed
// service ports) and the proxy runner (informers, rate-limited syncs, metrics).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChangeTracker, endpointsForServicePort, servicePortsFromService } from '../../../src/proxy/tracker.js';
import type { ApiClient } from '../../../src/client/rest.js';
import { startProxier } from '../../../src/proxy/proxier.js';
import type { ProxyBackend, ProxySnapshot, SyncResult } from '../../../src/proxy/types.js';
import { setLogSink } from '../../../src/util/log.js';
import { FakeClient } from '../../helpers/fake-client.js';

const service = (name: string, spec: Record<string, unknown>, status?: unknown) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { namespace: 'ns1', name, resourceVersion: '1' },
  spec: { type: 'ClusterIP', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }], ...spec },
  ...(status ? { status } : {}),
});
const slice = (name: string, svc: string, endpoints: unknown[], ports: unknown[] = [{ name: 'http', port: 8080, protocol: 'TCP' }], annotations?: Record<string, string>) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { namespace: 'ns1', name, labels: { 'kubernetes.io/service-name': svc }, ...(annotations ? { annotations } : {}) },
  addressType: 'IPv4',
  endpoints,
  ports,
});

describe('servicePortsFromService', () => {
  it('skips headless, ExternalName and IP-less services', () => {
    assert.deepEqual(servicePortsFromService(service('a', { clusterIP: 'None', clusterIPs: ['None'] })), []);
    assert.deepEqual(servicePortsFromService(service('a', { type: 'ExternalName', externalName: 'x.example', clusterIP: undefined, clusterIPs: undefined })), []);
    assert.deepEqual(servicePortsFromService(service('a', { clusterIP: '', clusterIPs: [] })), []);
  });
  it('makes one ServicePortInfo per port with upstream defaults', () => {
    const ports = servicePortsFromService(
      service('web', {
        type: 'LoadBalancer',
        ports: [
          { name: 'http', port: 80, nodePort: 30080, protocol: 'TCP' },
          { name: 'dns', port: 53, nodePort: 30053, protocol: 'UDP' },
        ],
        externalIPs: ['192.168.99.1'],
        sessionAffinity: 'ClientIP',
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: 32000,
        loadBalancerSourceRanges: ['1.0.0.0/8'],
      }, { loadBalancer: { ingress: [{ ip: '5.6.7.8' }, { hostname: 'lb.example' }] } }),
    );
    assert.equal(ports.length, 2);
    assert.deepEqual(ports[0], {
      key: 'ns1/web:http',
      namespace: 'ns1',
      name: 'web',
      portName: 'http',
      protocol: 'TCP',
      clusterIPs: ['10.96.0.10'],
      port: 80,
      nodePort: 30080,
      externalIPs: ['192.168.99.1'],
      loadBalancerIPs: ['5.6.7.8'],
      loadBalancerSourceRanges: ['1.0.0.0/8'],
      stickySeconds: 10800,
      externalPolicyLocal: true,
      internalPolicyLocal: false,
      healthCheckNodePort: 32000,
    });
    assert.equal(ports[1].protocol, 'UDP');
    assert.equal(ports[1].key, 'ns1/web:dns');
  });
  it('ClusterIP services have no node ports and no external policy', () => {
    const [p] = servicePortsFromService(service('a', { externalTrafficPolicy: 'Local', internalTrafficPolicy: 'Local', sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } }));
    assert.equal(p.nodePort, 0);
    assert.equal(p.externalPolicyLocal, false);
    assert.equal(p.internalPolicyLocal, true);
    assert.equal(p.stickySeconds, 60);
    assert.equal(p.key, 'ns1/a:http');
  });
});

describe('endpointsForServicePort', () => {
  it('matches port name and protocol, applies condition defaults, dedupes and sorts', () => {
    const slices = [
      slice('a-1', 'a', [
        { addresses: ['10.244.1.5'], conditions: {}, nodeName: 'n1' },
        { addresses: ['10.244.1.3'], conditions: { ready: false }, nodeName: 'n2' },
        { addresses: ['10.244.1.4'], conditions: { ready: false, serving: true, terminating: true }, nodeName: 'n1' },
      ]),
      slice('a-2', 'a', [{ addresses: ['10.244.1.5'], conditions: { ready: true } }, { addresses: ['10.244.1.6'], conditions: { ready: true } }], [
        { name: 'http', port: 8080, protocol: 'TCP' },
        { name: 'http', port: 8080, protocol: 'UDP' },
        { name: 'other', port: 9, protocol: 'TCP' },
      ]),
    ];
    const eps = endpointsForServicePort(slices, 'http', 'TCP', 'n1');
    assert.deepEqual(eps, [
      { ip: '10.244.1.3', port: 8080, ready: false, serving: false, terminating: false, nodeName: 'n2', isLocal: false },
      { ip: '10.244.1.4', port: 8080, ready: false, serving: true, terminating: true, nodeName: 'n1', isLocal: true },
      { ip: '10.244.1.5', port: 8080, ready: true, serving: true, terminating: false, nodeName: 'n1', isLocal: true },
      { ip: '10.244.1.6', port: 8080, ready: true, serving: true, terminating: false, nodeName: undefined, isLocal: false },
    ]);
    assert.equal(endpointsForServicePort(slices, 'http', 'UDP', 'n1').length, 2);
    assert.deepEqual(endpointsForServicePort(slices, 'other', 'TCP', 'n1').map((e) => `${e.ip}:${e.port}`), ['10.244.1.5:9', '10.244.1.6:9']);
    assert.deepEqual(endpointsForServicePort(slices, '', 'TCP', 'n1'), []);
  });
});

describe('ChangeTracker', () => {
  const opts = { nodeName: 'n1', nodeIPs: ['192.168.0.2'], clusterCidr: '10.244.0.0/16' };

  it('builds snapshots and reports changed service ports', () => {
    const t = new ChangeTracker(opts);
    assert.equal(t.hasChanges(), false);
    t.onServiceUpdate(service('a', {}));
    t.onServiceUpdate(service('b', { clusterIP: '10.96.0.11', clusterIPs: ['10.96.0.11'] }));
    t.onSliceUpdate(slice('a-1', 'a', [{ addresses: ['10.244.1.5'], nodeName: 'n1' }]));
    assert.equal(t.hasChanges(), true);
    let { snapshot, changes } = t.take();
    assert.deepEqual([...changes.changed].sort(), ['ns1/a:http', 'ns1/b:http']);
    assert.deepEqual(snapshot.endpoints.get('ns1/a:http')!.map((e) => [e.ip, e.isLocal]), [['10.244.1.5', true]]);
    assert.deepEqual(snapshot.endpoints.get('ns1/b:http'), []);
    assert.equal(snapshot.nodeName, 'n1');
    assert.equal(snapshot.clusterCidr, '10.244.0.0/16');
    assert.equal(t.hasChanges(), false);

    // The same slice again (a resync): no service port changes.
    t.onSliceUpdate(slice('a-1', 'a', [{ addresses: ['10.244.1.5'], nodeName: 'n1' }]));
    ({ changes } = t.take());
    assert.deepEqual([...changes.changed], []);

    // An endpoint added to b via a second slice: only b.
    t.onSliceUpdate(slice('b-1', 'b', [{ addresses: ['10.244.2.1'] }]));
    ({ snapshot, changes } = t.take());
    assert.deepEqual([...changes.changed], ['ns1/b:http']);

    // A service port renamed: the old key and the new key changed.
    t.onServiceUpdate(service('a', { ports: [{ name: 'web', port: 80, protocol: 'TCP' }] }));
    ({ snapshot, changes } = t.take());
    assert.deepEqual([...changes.changed].sort(), ['ns1/a:http', 'ns1/a:web']);
    assert.deepEqual(snapshot.endpoints.get('ns1/a:web'), [], 'slice ports are matched by name');

    // Deleted service: its port changed (gone).
    t.onServiceDelete(service('b', {}));
    ({ snapshot, changes } = t.take());
    assert.deepEqual([...changes.changed], ['ns1/b:http']);
    assert.equal(snapshot.services.has('ns1/b:http'), false);

    // Slice deleted.
    t.onServiceUpdate(service('a', {}));
    t.take();
    t.onSliceDelete(slice('a-1', 'a', []));
    ({ snapshot, changes } = t.take());
    assert.deepEqual([...changes.changed], ['ns1/a:http']);
    assert.deepEqual(snapshot.endpoints.get('ns1/a:http'), []);
  });

  it('ignores slices without a service-name label and headless services', () => {
    const t = new ChangeTracker(opts);
    const s = slice('x', 'x', []);
    delete (s.metadata as { labels?: unknown }).labels;
    assert.equal(t.onSliceUpdate(s), false);
    t.onServiceUpdate(service('h', { clusterIP: 'None', clusterIPs: ['None'] }));
    const { snapshot, changes } = t.take();
    assert.equal(snapshot.services.size, 0);
    assert.equal(changes.changed.size, 0);
  });

  it('records trigger times from the annotation, else from when the event was seen', () => {
    let now = 1_000_000;
    const t = new ChangeTracker({ ...opts, now: () => now });
    t.onSliceUpdate(slice('a-1', 'a', [], undefined, { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-01-01T00:00:00Z' }));
    now = 2_000_000;
    t.onSliceUpdate(slice('a-2', 'a', []));
    const { changes } = t.take();
    assert.deepEqual(changes.triggerTimes, [Date.parse('2026-01-01T00:00:00Z'), 2_000_000]);
    assert.deepEqual(t.take().changes.triggerTimes, []);
  });
});

// --- the proxy runner, against a fake API client (list + a controllable watch) ---

class FakeBackend implements ProxyBackend {
  readonly name = 'userspace' as const;
  syncs: Array<{ at: number; snapshot: ProxySnapshot; changed?: Set<string> }> = [];
  failNext = false;
  async sync(snapshot: ProxySnapshot, changed?: Set<string>): Promise<SyncResult> {
    this.syncs.push({ at: Date.now(), snapshot, changed: changed && new Set(changed) });
    if (this.failNext) {
      this.failNext = false;
      throw new Error('boom');
    }
    return { full: changed === undefined, changed: changed?.size ?? snapshot.services.size, durationMs: 1 };
  }
  async rules() {
    return '';
  }
  async cleanup() {}
}

const waitFor = async (pred: () => boolean, what: string, ms = 5000) => {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('startProxier', () => {
  it('syncs on start (full), coalesces events, rate-limits by minSyncPeriod, exposes metrics', async () => {
    const logs: string[] = [];
    const prev = setLogSink((l) => logs.push(l));
    const client = new FakeClient({}, 10);
    client.objects.set('services', [service('a', {})]);
    client.objects.set('endpointslices', [slice('a-1', 'a', [{ addresses: ['10.244.1.5'], nodeName: 'n1' }])]);
    const backend = new FakeBackend();
    const p = await startProxier({ client: client as unknown as ApiClient, nodeName: 'n1', nodeIPs: ['192.168.0.2'], clusterCidr: '10.244.0.0/16', backend, minSyncPeriodMs: 300, syncPeriodMs: 60_000 });
    try {
      assert.equal(backend.syncs.length, 1);
      assert.equal(backend.syncs[0].changed, undefined, 'the first sync is full');
      assert.deepEqual(backend.syncs[0].snapshot.endpoints.get('ns1/a:http')!.map((e) => e.ip), ['10.244.1.5']);
      assert.equal(backend.syncs[0].snapshot.nodeName, 'n1');

      // A burst of events: one sync, no sooner than minSyncPeriod after the last.
      client.send('services', 'ADDED', service('b', { clusterIP: '10.96.0.11', clusterIPs: ['10.96.0.11'] }));
      client.send('endpointslices', 'ADDED', slice('b-1', 'b', [{ addresses: ['10.244.2.1'] }], undefined, { 'endpoints.kubernetes.io/last-change-trigger-time': new Date(Date.now() - 2000).toISOString() }));
      client.send('endpointslices', 'MODIFIED', slice('a-1', 'a', [{ addresses: ['10.244.1.5'] }, { addresses: ['10.244.1.6'] }]));
      await waitFor(() => backend.syncs.length === 2, 'second sync');
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(backend.syncs.length, 2, 'the burst was coalesced');
      const s2 = backend.syncs[1];
      assert.ok(s2.at - backend.syncs[0].at >= 290, `rate-limited (${s2.at - backend.syncs[0].at} ms)`);
      assert.deepEqual([...s2.changed!].sort(), ['ns1/a:http', 'ns1/b:http']);

      // A failed sync: the next one is full.
      backend.failNext = true;
      client.send('services', 'DELETED', service('b', {}));
      await waitFor(() => backend.syncs.length === 4, 'failed sync then retry', 3000);
      assert.deepEqual([...backend.syncs[2].changed!], ['ns1/b:http']);
      assert.equal(backend.syncs[3].changed, undefined, 'retry after failure is full');

      // syncNow runs at once.
      const r = await p.syncNow();
      assert.ok(r);
      assert.equal(backend.syncs.length, 5);

      const m = p.metricsText();
      assert.match(m, /# TYPE kubeproxy_sync_proxy_rules_duration_seconds histogram/);
      assert.match(m, /kubeproxy_sync_proxy_rules_duration_seconds_count 5/);
      assert.match(m, /kubeproxy_network_programming_duration_seconds_count 3/);
      // The annotated change was 2 s old: it is in the 2..3 s buckets, not below 1.5 s.
      assert.match(m, /kubeproxy_network_programming_duration_seconds_bucket\{le="1"\} 2\n/);
      assert.match(m, /kubeproxy_network_programming_duration_seconds_bucket\{le="3"\} 3\n/);
      assert.match(m, /kubeproxy_sync_proxy_rules_last_timestamp_seconds \d+\.?\d*/);
      assert.ok(logs.filter((l) => l.includes('msg="synced proxy rules"') && l.includes('durationMs=')).length >= 4, 'one log line per sync');
      assert.ok(logs.some((l) => l.includes('sync of proxy rules failed')));
    } finally {
      await p.stop();
      setLogSink(prev);
    }
  });

  it('runs a full resync every syncPeriod', async () => {
    const prev = setLogSink(() => {});
    const client = new FakeClient({}, 10);
    const backend = new FakeBackend();
    const p = await startProxier({ client: client as unknown as ApiClient, nodeName: 'n1', nodeIPs: [], clusterCidr: '', backend, minSyncPeriodMs: 10, syncPeriodMs: 150 });
    try {
      await waitFor(() => backend.syncs.length >= 3, 'periodic syncs', 3000);
      assert.ok(backend.syncs.every((s) => s.changed === undefined), 'periodic syncs are full');
    } finally {
      await p.stop();
      setLogSink(prev);
    }
    const n = backend.syncs.length;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(backend.syncs.length, n, 'no syncs after stop');
  });
});
