import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { grOf, RESOURCES } from '../../../src/api/registry.js';
import {
  buildTable,
  buildTableForObject,
  buildTableForWatchEvent,
  hasPrinter,
  humanDuration,
  tableColumns,
  tableOptionsError,
} from '../../../src/api/tables.js';

const NOW = new Date('2024-06-01T12:00:00Z');
/** The timestamp `s` seconds before NOW. */
const ago = (s: number): string => new Date(NOW.getTime() - s * 1000).toISOString().replace(/\.000Z$/, 'Z');
const meta = (name: string, createdSecondsAgo = 300, extra: Record<string, unknown> = {}) => ({
  name,
  namespace: 'default',
  uid: `uid-${name}`,
  resourceVersion: '42',
  creationTimestamp: ago(createdSecondsAgo),
  ...extra,
});

/** The cells of one object's row. */
const cells = (gr: string, obj: unknown): unknown[] => buildTable(gr, [obj], { now: NOW }).rows[0]!.cells;
/** Column names and priorities, "NAME" or "NAME*" for wide ones, in kubectl's upper case. */
const headers = (gr: string): string[] => tableColumns(gr).map((c) => c.name.toUpperCase() + (c.priority ? '*' : ''));

describe('humanDuration (upstream duration.HumanDuration)', () => {
  const S = 1000;
  const M = 60 * S;
  const H = 60 * M;
  const D = 24 * H;
  const cases: Array<[number, string]> = [
    [-2 * S - 1, '<invalid>'],
    [-2 * S, '<invalid>'],
    [-1999, '0s'],
    [-S, '0s'],
    [-1, '0s'],
    [0, '0s'],
    [999, '0s'],
    [59 * S, '59s'],
    [119 * S + 999, '119s'],
    [2 * M, '2m'],
    [2 * M + 5 * S, '2m5s'],
    [9 * M + 59 * S, '9m59s'],
    [10 * M, '10m'],
    [10 * M + 59 * S, '10m'],
    [179 * M + 59 * S, '179m'],
    [3 * H, '3h'],
    [3 * H + 5 * M, '3h5m'],
    [7 * H + 59 * M, '7h59m'],
    [8 * H, '8h'],
    [8 * H + 30 * M, '8h'],
    [47 * H + 59 * M, '47h'],
    [48 * H, '2d'],
    [51 * H, '2d3h'],
    [7 * D + 23 * H, '7d23h'],
    [8 * D, '8d'],
    [8 * D + 5 * H, '8d'],
    [729 * D, '729d'],
    [730 * D, '2y'],
    [733 * D, '2y3d'],
    [8 * 365 * D - 1 * H, '7y364d'],
    [8 * 365 * D, '8y'],
    [10 * 365 * D + 100 * D, '10y'],
  ];
  for (const [ms, want] of cases) test(`${ms}ms -> ${want}`, () => assert.equal(humanDuration(ms), want));

  test('AGE cells: unknown without a timestamp, invalid in the future', () => {
    assert.equal(cells('/configmaps', { metadata: { name: 'x' } })[2], '<unknown>');
    assert.equal(cells('/configmaps', { metadata: { name: 'x', creationTimestamp: ago(-1) } })[2], '0s');
    assert.equal(cells('/configmaps', { metadata: { name: 'x', creationTimestamp: ago(-60) } })[2], '<invalid>');
  });
});

describe('pods', () => {
  const container = (name: string) => ({ name, image: `${name}:1` });
  const running = (name: string, ready: boolean, restartCount = 0, extra: Record<string, unknown> = {}) => ({
    name,
    ready,
    restartCount,
    started: true,
    state: { running: { startedAt: ago(200) } },
    ...extra,
  });

  test('columns', () => {
    assert.deepEqual(headers('/pods'), ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP*', 'NODE*', 'NOMINATED NODE*', 'READINESS GATES*']);
    const name = tableColumns('/pods')[0]!;
    assert.equal(name.format, 'name');
    assert.match(name.description, /^Name must be unique within a namespace/);
  });

  test('running pod, one of two containers ready, wide cells', () => {
    const pod = {
      metadata: meta('web-1', 3 * 3600 + 5 * 60),
      spec: { nodeName: 'node-a', containers: [container('app'), container('sidecar')] },
      status: {
        phase: 'Running',
        podIP: '10.244.1.7',
        podIPs: [{ ip: '10.244.1.7' }],
        containerStatuses: [running('app', true), running('sidecar', false)],
      },
    };
    assert.deepEqual(cells('/pods', pod), ['web-1', '1/2', 'Running', '0', '3h5m', '10.244.1.7', 'node-a', '<none>', '<none>']);
  });

  test('pending pod without node or IP', () => {
    const pod = { metadata: meta('pending', 30), spec: { containers: [container('app')] }, status: { phase: 'Pending' } };
    assert.deepEqual(cells('/pods', pod), ['pending', '0/1', 'Pending', '0', '30s', '<none>', '<none>', '<none>', '<none>']);
  });

  test('CrashLoopBackOff with 3 restarts shows the last restart', () => {
    const pod = {
      metadata: meta('crashy', 600),
      spec: { nodeName: 'node-a', containers: [container('app')] },
      status: {
        phase: 'Running',
        podIP: '10.244.1.8',
        containerStatuses: [
          {
            name: 'app',
            ready: false,
            restartCount: 3,
            state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container' } },
            lastState: { terminated: { exitCode: 1, reason: 'Error', startedAt: ago(125), finishedAt: ago(120) } },
          },
        ],
      },
    };
    assert.deepEqual(cells('/pods', pod).slice(0, 6), ['crashy', '0/1', 'CrashLoopBackOff', '3 (2m ago)', '10m', '10.244.1.8']);
  });

  test('restarts without a recorded termination time are a bare number', () => {
    const pod = {
      metadata: meta('r'),
      spec: { containers: [container('app')] },
      status: { phase: 'Running', containerStatuses: [running('app', true, 2)] },
    };
    assert.equal(cells('/pods', pod)[3], '2');
  });

  test('image pull errors', () => {
    const pod = (reason: string) => ({
      metadata: meta('img'),
      spec: { containers: [container('app')] },
      status: { phase: 'Pending', containerStatuses: [{ name: 'app', ready: false, restartCount: 0, state: { waiting: { reason } } }] },
    });
    assert.equal(cells('/pods', pod('ErrImagePull'))[2], 'ErrImagePull');
    assert.equal(cells('/pods', pod('ImagePullBackOff'))[2], 'ImagePullBackOff');
    assert.equal(cells('/pods', pod('ContainerCreating'))[2], 'ContainerCreating');
  });

  test('the first container with a reason decides the status', () => {
    const pod = {
      metadata: meta('two'),
      spec: { containers: [container('a'), container('b')] },
      status: {
        phase: 'Running',
        containerStatuses: [
          { name: 'a', ready: false, restartCount: 0, state: { waiting: { reason: 'CrashLoopBackOff' } } },
          { name: 'b', ready: false, restartCount: 0, state: { terminated: { exitCode: 137, reason: 'OOMKilled' } } },
        ],
      },
    };
    assert.equal(cells('/pods', pod)[2], 'CrashLoopBackOff');
  });

  test('completed pod: Completed, with the Completed row condition', () => {
    const pod = {
      metadata: meta('job-abc', 7200),
      spec: { nodeName: 'node-b', containers: [container('main')] },
      status: {
        phase: 'Succeeded',
        podIP: '10.244.2.9',
        conditions: [{ type: 'Ready', status: 'False', reason: 'PodCompleted' }],
        containerStatuses: [{ name: 'main', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed', finishedAt: ago(7000) } } }],
      },
    };
    const table = buildTable('/pods', [pod], { now: NOW });
    assert.deepEqual(table.rows[0]!.cells.slice(0, 5), ['job-abc', '0/1', 'Completed', '0', '120m']);
    assert.deepEqual(table.rows[0]!.conditions, [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }]);
  });

  test('failed pods: Error, ExitCode:N, Signal:N; evicted pods show the pod reason', () => {
    const pod = (terminated: Record<string, unknown>, status: Record<string, unknown> = {}) => ({
      metadata: meta('f'),
      spec: { containers: [container('main')] },
      status: { phase: 'Failed', containerStatuses: [{ name: 'main', ready: false, restartCount: 0, state: { terminated } }], ...status },
    });
    assert.equal(cells('/pods', pod({ exitCode: 1, reason: 'Error' }))[2], 'Error');
    assert.equal(cells('/pods', pod({ exitCode: 3 }))[2], 'ExitCode:3');
    assert.equal(cells('/pods', pod({ exitCode: 0, signal: 9 }))[2], 'Signal:9');
    const evicted = { metadata: meta('ev'), spec: { containers: [container('main')] }, status: { phase: 'Failed', reason: 'Evicted', message: 'low on memory' } };
    assert.equal(cells('/pods', evicted)[2], 'Evicted');
    assert.deepEqual(buildTable('/pods', [evicted], { now: NOW }).rows[0]!.conditions, [
      { type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' },
    ]);
  });

  test('terminating pod', () => {
    const pod = {
      metadata: meta('bye', 600, { deletionTimestamp: ago(-30), deletionGracePeriodSeconds: 30 }),
      spec: { nodeName: 'node-a', containers: [container('app')] },
      status: { phase: 'Running', podIP: '10.244.1.9', containerStatuses: [running('app', true)] },
    };
    assert.deepEqual(cells('/pods', pod).slice(0, 5), ['bye', '1/1', 'Terminating', '0', '10m']);
    // A finished pod being deleted keeps its status; an unreachable node's pod reads Unknown.
    const done = { ...pod, status: { phase: 'Succeeded', containerStatuses: [{ name: 'app', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }] } };
    assert.equal(cells('/pods', done)[2], 'Completed');
    const lost = { ...pod, status: { ...pod.status, reason: 'NodeLost' } };
    assert.equal(cells('/pods', lost)[2], 'Unknown');
  });

  test('init containers: Init:i/n, Init:<reason>, Init:ExitCode:N, and init restarts', () => {
    const spec = { initContainers: [container('migrate'), container('warm')], containers: [container('app')] };
    const base = (init: unknown[]) => ({
      metadata: meta('init'),
      spec,
      status: {
        phase: 'Pending',
        conditions: [{ type: 'Initialized', status: 'False' }],
        initContainerStatuses: init,
        containerStatuses: [{ name: 'app', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } }],
      },
    });
    const done = { name: 'migrate', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } };
    assert.deepEqual(
      cells('/pods', base([done, { name: 'warm', ready: false, restartCount: 0, state: { running: { startedAt: ago(5) } } }])).slice(1, 4),
      ['0/1', 'Init:1/2', '0'],
    );
    assert.equal(cells('/pods', base([{ name: 'migrate', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } }]))[2], 'Init:0/2');
    assert.equal(cells('/pods', base([{ name: 'migrate', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff' } } }]))[2], 'Init:ImagePullBackOff');
    assert.equal(cells('/pods', base([{ name: 'migrate', ready: false, restartCount: 0, state: { terminated: { exitCode: 2 } } }]))[2], 'Init:ExitCode:2');
    const crashing = {
      name: 'migrate',
      ready: false,
      restartCount: 4,
      state: { waiting: { reason: 'CrashLoopBackOff' } },
      lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(65) } },
    };
    assert.deepEqual(cells('/pods', base([crashing])).slice(1, 4), ['0/1', 'Init:CrashLoopBackOff', '4 (65s ago)']);
    assert.equal(cells('/pods', base([{ ...crashing, state: { terminated: { exitCode: 1, reason: 'Error' } } }]))[2], 'Init:Error');
  });

  test('initialized pod: init restarts no longer count', () => {
    const pod = {
      metadata: meta('ok'),
      spec: { initContainers: [container('migrate')], containers: [container('app')] },
      status: {
        phase: 'Running',
        conditions: [{ type: 'Initialized', status: 'True' }, { type: 'Ready', status: 'True' }],
        initContainerStatuses: [{ name: 'migrate', ready: false, restartCount: 2, state: { terminated: { exitCode: 0, reason: 'Completed' } } }],
        containerStatuses: [running('app', true)],
      },
    };
    assert.deepEqual(cells('/pods', pod).slice(1, 4), ['1/1', 'Running', '0']);
  });

  test('sidecar (restartable init) containers count as containers', () => {
    const pod = {
      metadata: meta('sc'),
      spec: { initContainers: [{ ...container('proxy'), restartPolicy: 'Always' }], containers: [container('app')] },
      status: {
        phase: 'Running',
        conditions: [{ type: 'Initialized', status: 'True' }, { type: 'Ready', status: 'True' }],
        initContainerStatuses: [
          running('proxy', true, 1, { lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(3 * 60) } } }),
        ],
        containerStatuses: [running('app', true)],
      },
    };
    assert.deepEqual(cells('/pods', pod).slice(1, 4), ['2/2', 'Running', '1 (3m ago)']);
  });

  test('a Completed container beside a running one reads Running or NotReady', () => {
    const pod = (ready: boolean) => ({
      metadata: meta('mix'),
      spec: { containers: [container('once'), container('app')] },
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
        containerStatuses: [
          { name: 'once', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
          running('app', true),
        ],
      },
    });
    assert.deepEqual(cells('/pods', pod(true)).slice(1, 3), ['1/2', 'Running']);
    assert.deepEqual(cells('/pods', pod(false)).slice(1, 3), ['1/2', 'NotReady']);
  });

  test('SchedulingGated, nominated node and readiness gates', () => {
    const gated = {
      metadata: meta('gated'),
      spec: { containers: [container('app')], schedulingGates: [{ name: 'wait' }] },
      status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] },
    };
    assert.equal(cells('/pods', gated)[2], 'SchedulingGated');
    const gates = {
      metadata: meta('gates'),
      spec: { containers: [container('app')], readinessGates: [{ conditionType: 'example.com/lb' }, { conditionType: 'example.com/dns' }] },
      status: {
        phase: 'Pending',
        nominatedNodeName: 'node-c',
        conditions: [{ type: 'example.com/lb', status: 'True' }, { type: 'example.com/dns', status: 'False' }],
      },
    };
    assert.deepEqual(cells('/pods', gates).slice(5), ['<none>', '<none>', 'node-c', '1/2']);
  });
});

describe('services', () => {
  const svc = (name: string, spec: Record<string, unknown>, status: Record<string, unknown> = {}) => ({ metadata: meta(name, 86400 * 3), spec, status });

  test('columns', () => {
    assert.deepEqual(headers('/services'), ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE', 'SELECTOR*']);
  });

  test('ClusterIP', () => {
    const s = svc('web', { type: 'ClusterIP', clusterIP: '10.96.12.4', clusterIPs: ['10.96.12.4'], selector: { app: 'web', tier: 'fe' }, ports: [{ port: 80, protocol: 'TCP', targetPort: 8080 }] });
    assert.deepEqual(cells('/services', s), ['web', 'ClusterIP', '10.96.12.4', '<none>', '80/TCP', '3d', 'app=web,tier=fe']);
  });

  test('NodePort with two ports and external IPs', () => {
    const s = svc('np', {
      type: 'NodePort',
      clusterIPs: ['10.96.0.20'],
      externalIPs: ['192.0.2.10', '192.0.2.11'],
      ports: [
        { name: 'http', port: 80, nodePort: 30080, protocol: 'TCP' },
        { name: 'dns', port: 53, nodePort: 30053, protocol: 'UDP' },
      ],
      selector: { app: 'np' },
    });
    assert.deepEqual(cells('/services', s).slice(1, 5), ['NodePort', '10.96.0.20', '192.0.2.10,192.0.2.11', '80:30080/TCP,53:30053/UDP']);
  });

  test('LoadBalancer: pending, then its ingress addresses (sorted), then with external IPs', () => {
    const spec = { type: 'LoadBalancer', clusterIP: '10.96.0.30', ports: [{ port: 443, nodePort: 31443, protocol: 'TCP' }] };
    assert.deepEqual(cells('/services', svc('lb', spec)).slice(3, 5), ['<pending>', '443:31443/TCP']);
    const ingress = { loadBalancer: { ingress: [{ ip: '203.0.113.9' }, { hostname: 'lb.example.com' }, { ip: '203.0.113.10' }, { ip: '203.0.113.9' }] } };
    // Not clipped: the server prints the wide form.
    assert.equal(cells('/services', svc('lb', spec, ingress))[3], '203.0.113.10,203.0.113.9,lb.example.com');
    assert.equal(cells('/services', svc('lb', { ...spec, externalIPs: ['192.0.2.1'] }, ingress))[3], '203.0.113.10,203.0.113.9,lb.example.com,192.0.2.1');
  });

  test('headless: CLUSTER-IP None; no selector', () => {
    const s = svc('db', { type: 'ClusterIP', clusterIP: 'None', clusterIPs: ['None'], ports: [{ port: 5432, protocol: 'TCP' }] });
    assert.deepEqual(cells('/services', s), ['db', 'ClusterIP', 'None', '<none>', '5432/TCP', '3d', '<none>']);
  });

  test('ExternalName', () => {
    const s = svc('ext', { type: 'ExternalName', externalName: 'db.example.com' });
    assert.deepEqual(cells('/services', s), ['ext', 'ExternalName', '<none>', 'db.example.com', '<none>', '3d', '<none>']);
  });
});

describe('endpoints and endpointslices', () => {
  test('endpoints: three shown, the rest counted', () => {
    const ep = {
      metadata: meta('web', 90),
      subsets: [
        { addresses: ['10.244.1.2', '10.244.2.3', '10.244.3.4'].map((ip) => ({ ip })), ports: [{ port: 80, protocol: 'TCP' }] },
        { addresses: [{ ip: '10.244.4.5' }], notReadyAddresses: [{ ip: '10.244.9.9' }], ports: [{ port: 80, protocol: 'TCP' }] },
      ],
    };
    assert.deepEqual(headers('/endpoints'), ['NAME', 'ENDPOINTS', 'AGE']);
    assert.deepEqual(cells('/endpoints', ep), ['web', '10.244.1.2:80,10.244.2.3:80,10.244.3.4:80 + 1 more...', '90s']);
  });

  test('endpoints: every port of every address; bare IPs without ports; IPv6; none', () => {
    const twoPorts = { metadata: meta('a'), subsets: [{ addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }], ports: [{ port: 80 }, { port: 443 }] }] };
    assert.equal(cells('/endpoints', twoPorts)[1], '10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...');
    const noPorts = { metadata: meta('b'), subsets: [{ addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }] }] };
    assert.equal(cells('/endpoints', noPorts)[1], '10.0.0.1,10.0.0.2');
    const v6 = { metadata: meta('c'), subsets: [{ addresses: [{ ip: 'fd00::1' }], ports: [{ port: 53 }] }] };
    assert.equal(cells('/endpoints', v6)[1], '[fd00::1]:53');
    assert.equal(cells('/endpoints', { metadata: meta('d') })[1], '<none>');
    assert.equal(cells('/endpoints', { metadata: meta('e'), subsets: [{ notReadyAddresses: [{ ip: '10.0.0.9' }], ports: [{ port: 80 }] }] })[1], '');
  });

  test('endpointslices', () => {
    assert.deepEqual(headers('discovery.k8s.io/endpointslices'), ['NAME', 'ADDRESSTYPE', 'PORTS', 'ENDPOINTS', 'AGE']);
    const slice = {
      metadata: meta('web-abc12', 60),
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'https', port: 443 }, { name: 'metrics' }, {}],
      endpoints: [{ addresses: ['10.0.0.1'] }, { addresses: ['10.0.0.2', '10.0.0.3'] }, { addresses: ['10.0.0.4'], conditions: { ready: false } }],
    };
    assert.deepEqual(cells('discovery.k8s.io/endpointslices', slice), ['web-abc12', 'IPv4', '80,443,metrics + 1 more...', '10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...', '60s']);
    const empty = { metadata: meta('empty', 60), addressType: 'IPv4', ports: [{}], endpoints: [] };
    assert.deepEqual(cells('discovery.k8s.io/endpointslices', empty).slice(2, 4), ['*', '<unset>']);
    assert.deepEqual(cells('discovery.k8s.io/endpointslices', { metadata: meta('nil'), addressType: 'IPv6' }).slice(2, 4), ['<unset>', '<unset>']);
  });
});

describe('nodes', () => {
  const node = (name: string, conditions: unknown[], extra: { labels?: Record<string, string>; unschedulable?: boolean } = {}) => ({
    metadata: { ...meta(name, 86400 * 10), namespace: undefined, labels: extra.labels ?? { 'kubernetes.io/hostname': name } },
    spec: extra.unschedulable ? { unschedulable: true } : {},
    status: {
      conditions,
      addresses: [
        { type: 'Hostname', address: name },
        { type: 'InternalIP', address: '192.168.1.10' },
      ],
      nodeInfo: { kubeletVersion: 'v1.30.2-k8ts', osImage: 'Debian GNU/Linux 12 (bookworm)', kernelVersion: '6.1.0-18-amd64', containerRuntimeVersion: 'k8ts://0.1.0' },
    },
  });
  const ready = (status: string) => [
    { type: 'MemoryPressure', status: 'False' },
    { type: 'Ready', status },
  ];

  test('columns', () => {
    assert.deepEqual(headers('/nodes'), ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION', 'INTERNAL-IP*', 'EXTERNAL-IP*', 'OS-IMAGE*', 'KERNEL-VERSION*', 'CONTAINER-RUNTIME*']);
  });

  test('ready control plane', () => {
    const n = node('cp-1', ready('True'), { labels: { 'node-role.kubernetes.io/control-plane': '', 'node-role.kubernetes.io/master': 'true' } });
    assert.deepEqual(cells('/nodes', n), ['cp-1', 'Ready', 'control-plane,master', '10d', 'v1.30.2-k8ts', '192.168.1.10', '<none>', 'Debian GNU/Linux 12 (bookworm)', '6.1.0-18-amd64', 'k8ts://0.1.0']);
  });

  test('cordoned, not ready, unknown; roles from kubernetes.io/role', () => {
    assert.deepEqual(cells('/nodes', node('w1', ready('True'), { unschedulable: true })).slice(1, 3), ['Ready,SchedulingDisabled', '<none>']);
    assert.equal(cells('/nodes', node('w2', ready('False')))[1], 'NotReady');
    assert.equal(cells('/nodes', node('w3', ready('Unknown')))[1], 'NotReady');
    assert.equal(cells('/nodes', node('w4', [], { unschedulable: true }))[1], 'Unknown,SchedulingDisabled');
    assert.equal(cells('/nodes', node('w5', ready('True'), { labels: { 'kubernetes.io/role': 'worker', 'node-role.kubernetes.io/': '' } }))[2], 'worker');
  });

  test('a node without node info', () => {
    const n = { metadata: { name: 'bare', creationTimestamp: ago(5) }, status: {} };
    assert.deepEqual(cells('/nodes', n), ['bare', 'Unknown', '<none>', '5s', '', '<none>', '<none>', '<unknown>', '<unknown>', '<unknown>']);
  });
});

describe('namespaces, configmaps, secrets, serviceaccounts, leases', () => {
  test('namespaces', () => {
    assert.deepEqual(headers('/namespaces'), ['NAME', 'STATUS', 'AGE']);
    assert.deepEqual(cells('/namespaces', { metadata: { name: 'kube-system', creationTimestamp: ago(86400 * 400) }, status: { phase: 'Active' } }), ['kube-system', 'Active', '400d']);
    assert.equal(cells('/namespaces', { metadata: { name: 'old', creationTimestamp: ago(60), deletionTimestamp: ago(1) }, status: { phase: 'Terminating' } })[1], 'Terminating');
  });

  test('configmaps count data and binaryData', () => {
    assert.deepEqual(headers('/configmaps'), ['NAME', 'DATA', 'AGE']);
    assert.deepEqual(cells('/configmaps', { metadata: meta('cfg', 45), data: { a: '1', b: '2' }, binaryData: { c: 'AA==' } }), ['cfg', 3, '45s']);
    assert.deepEqual(cells('/configmaps', { metadata: meta('kube-root-ca.crt', 45) }), ['kube-root-ca.crt', 0, '45s']);
  });

  test('secrets', () => {
    assert.deepEqual(headers('/secrets'), ['NAME', 'TYPE', 'DATA', 'AGE']);
    assert.deepEqual(cells('/secrets', { metadata: meta('tls', 60), type: 'kubernetes.io/tls', data: { 'tls.crt': 'x', 'tls.key': 'y' } }), ['tls', 'kubernetes.io/tls', 2, '60s']);
    assert.deepEqual(cells('/secrets', { metadata: meta('empty', 60), type: 'Opaque' }), ['empty', 'Opaque', 0, '60s']);
  });

  test('serviceaccounts', () => {
    assert.deepEqual(headers('/serviceaccounts'), ['NAME', 'SECRETS', 'AGE']);
    assert.deepEqual(cells('/serviceaccounts', { metadata: meta('default', 600) }), ['default', 0, '10m']);
    assert.deepEqual(cells('/serviceaccounts', { metadata: meta('bot', 600), secrets: [{ name: 'bot-token' }] }), ['bot', 1, '10m']);
  });

  test('leases', () => {
    assert.deepEqual(headers('coordination.k8s.io/leases'), ['NAME', 'HOLDER', 'AGE']);
    const lease = { metadata: meta('kube-scheduler', 3600), spec: { holderIdentity: 'host-1_0b5a', leaseDurationSeconds: 15 } };
    assert.deepEqual(cells('coordination.k8s.io/leases', lease), ['kube-scheduler', 'host-1_0b5a', '60m']);
    assert.deepEqual(cells('coordination.k8s.io/leases', { metadata: meta('free', 3600), spec: {} }), ['free', '', '60m']);
  });
});

describe('events', () => {
  test('columns: LAST SEEN TYPE REASON OBJECT MESSAGE; wide adds SUBOBJECT SOURCE FIRST SEEN COUNT NAME', () => {
    assert.deepEqual(headers('/events'), ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'SUBOBJECT*', 'SOURCE*', 'MESSAGE', 'FIRST SEEN*', 'COUNT*', 'NAME*']);
    assert.deepEqual(tableColumns('events.k8s.io/events'), tableColumns('/events'));
  });

  test('a repeated core/v1 event', () => {
    const ev = {
      metadata: meta('web-1.17d8a', 600),
      involvedObject: { kind: 'Pod', namespace: 'default', name: 'web-1', fieldPath: 'spec.containers{app}' },
      reason: 'BackOff',
      message: 'Back-off restarting failed container app in pod web-1_default(uid)\n',
      source: { component: 'kubelet', host: 'node-a' },
      firstTimestamp: ago(600),
      lastTimestamp: ago(125),
      count: 5,
      type: 'Warning',
    };
    assert.deepEqual(cells('/events', ev), [
      '2m5s',
      'Warning',
      'BackOff',
      'pod/web-1',
      'spec.containers{app}',
      'kubelet, node-a',
      'Back-off restarting failed container app in pod web-1_default(uid)',
      '10m',
      5,
      'web-1.17d8a',
    ]);
  });

  test('a new-API singleton event (eventTime, reporting controller, no count)', () => {
    const ev = {
      metadata: meta('sched.1', 30),
      involvedObject: { kind: 'Pod', name: 'web-2' },
      reason: 'Scheduled',
      message: 'Successfully assigned default/web-2 to node-b',
      eventTime: new Date(NOW.getTime() - 30_000).toISOString().replace('Z', '123Z'),
      reportingComponent: 'default-scheduler',
      reportingController: 'default-scheduler',
      reportingInstance: 'default-scheduler-host-1',
      type: 'Normal',
      source: {},
    };
    assert.deepEqual(cells('/events', ev), ['30s', 'Normal', 'Scheduled', 'pod/web-2', '', 'default-scheduler, default-scheduler-host-1', 'Successfully assigned default/web-2 to node-b', '30s', 1, 'sched.1']);
  });

  test('an events.k8s.io/v1 event with a series, and an event about a cluster-scoped kind', () => {
    const ev = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: meta('node.1', 3600),
      eventTime: ago(3600),
      series: { count: 7, lastObservedTime: ago(61) },
      reportingController: 'kubelet',
      reportingInstance: 'node-a',
      action: 'Check',
      reason: 'NodeHasSufficientMemory',
      regarding: { kind: 'Node', name: 'node-a' },
      note: 'Node node-a status is now: NodeHasSufficientMemory',
      type: 'Normal',
    };
    assert.deepEqual(cells('events.k8s.io/events', ev), ['61s', 'Normal', 'NodeHasSufficientMemory', 'node/node-a', '', 'kubelet, node-a', 'Node node-a status is now: NodeHasSufficientMemory', '60m', 7, 'node.1']);
    const noName = { metadata: meta('x', 10), involvedObject: { kind: 'Node' }, reason: 'R', message: 'm', source: { component: 'c' }, firstTimestamp: ago(10), type: 'Normal' };
    assert.deepEqual(cells('/events', noName).slice(0, 6), ['10s', 'Normal', 'R', 'node', '', 'c']);
  });
});

describe('workloads', () => {
  const template = (containers: Array<[string, string]>, extra: Record<string, unknown> = {}) => ({
    metadata: { labels: { app: 'web' } },
    spec: { containers: containers.map(([name, image]) => ({ name, image })), ...extra },
  });

  test('deployments: 2/3 ready', () => {
    assert.deepEqual(headers('apps/deployments'), ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE', 'CONTAINERS*', 'IMAGES*', 'SELECTOR*']);
    const d = {
      metadata: meta('web', 86400 * 2 + 3600 * 3),
      spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: template([['app', 'nginx:1.25'], ['log', 'busybox']]) },
      status: { replicas: 3, updatedReplicas: 3, readyReplicas: 2, availableReplicas: 2 },
    };
    assert.deepEqual(cells('apps/deployments', d), ['web', '2/3', 3, 2, '2d3h', 'app,log', 'nginx:1.25,busybox', 'app=web']);
  });

  test('deployments: new, and selector expressions', () => {
    const d = {
      metadata: meta('new', 5),
      spec: {
        replicas: 0,
        selector: { matchLabels: { tier: 'fe', app: 'web' }, matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'canary'] }, { key: 'legacy', operator: 'DoesNotExist' }] },
        template: template([['app', 'nginx']]),
      },
      status: {},
    };
    assert.deepEqual(cells('apps/deployments', d), ['new', '0/0', 0, 0, '5s', 'app', 'nginx', 'app=web,env in (canary,prod),!legacy,tier=fe']);
    assert.equal(cells('apps/deployments', { ...d, spec: { ...d.spec, selector: { matchExpressions: [{ key: 'a', operator: 'Bogus' }] } } })[7], '<invalid>');
    assert.equal(cells('apps/deployments', { ...d, spec: { ...d.spec, selector: undefined } })[7], '');
  });

  test('replicasets', () => {
    assert.deepEqual(headers('apps/replicasets'), ['NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE', 'CONTAINERS*', 'IMAGES*', 'SELECTOR*']);
    const rs = {
      metadata: meta('web-7d4b9c', 3600),
      spec: { replicas: 3, selector: { matchLabels: { app: 'web', 'pod-template-hash': '7d4b9c' } }, template: template([['app', 'nginx:1.25']]) },
      status: { replicas: 3, readyReplicas: 1, availableReplicas: 1 },
    };
    assert.deepEqual(cells('apps/replicasets', rs), ['web-7d4b9c', 3, 3, 1, '60m', 'app', 'nginx:1.25', 'app=web,pod-template-hash=7d4b9c']);
    assert.equal(cells('apps/replicasets', { ...rs, spec: { ...rs.spec, selector: {} } })[7], '<none>');
  });

  test('statefulsets', () => {
    assert.deepEqual(headers('apps/statefulsets'), ['NAME', 'READY', 'AGE', 'CONTAINERS*', 'IMAGES*']);
    const ss = { metadata: meta('db', 120), spec: { replicas: 3, serviceName: 'db', template: template([['pg', 'postgres:16']]) }, status: { replicas: 2, readyReplicas: 1 } };
    assert.deepEqual(cells('apps/statefulsets', ss), ['db', '1/3', '2m', 'pg', 'postgres:16']);
  });

  test('daemonsets', () => {
    assert.deepEqual(headers('apps/daemonsets'), ['NAME', 'DESIRED', 'CURRENT', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'NODE SELECTOR', 'AGE', 'CONTAINERS*', 'IMAGES*', 'SELECTOR*']);
    const ds = {
      metadata: meta('kube-proxy', 86400),
      spec: { selector: { matchLabels: { 'k8s-app': 'kube-proxy' } }, template: template([['kube-proxy', 'k8ts/proxy']], { nodeSelector: { 'kubernetes.io/os': 'linux' } }) },
      status: { desiredNumberScheduled: 3, currentNumberScheduled: 3, numberReady: 2, updatedNumberScheduled: 3, numberAvailable: 2 },
    };
    assert.deepEqual(cells('apps/daemonsets', ds), ['kube-proxy', 3, 3, 2, 3, 2, 'kubernetes.io/os=linux', '24h', 'kube-proxy', 'k8ts/proxy', 'k8s-app=kube-proxy']);
    const bare = { metadata: meta('bare', 10), spec: { selector: { matchLabels: { a: 'b' } }, template: template([['c', 'i']]) }, status: {} };
    assert.deepEqual(cells('apps/daemonsets', bare).slice(1, 7), [0, 0, 0, 0, 0, '<none>']);
  });

  test('controllerrevisions', () => {
    assert.deepEqual(headers('apps/controllerrevisions'), ['NAME', 'CONTROLLER', 'REVISION', 'AGE']);
    const cr = {
      metadata: meta('fluentd-6c5b8d', 600, { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'fluentd', uid: 'u', controller: true, blockOwnerDeletion: true }] }),
      revision: 2,
      data: {},
    };
    assert.deepEqual(cells('apps/controllerrevisions', cr), ['fluentd-6c5b8d', 'daemonset.apps/fluentd', 2, '10m']);
    const notController = { ...cr, metadata: { ...cr.metadata, ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'p', uid: 'u' }] } };
    assert.equal(cells('apps/controllerrevisions', notController)[1], '<none>');
    const core = { ...cr, metadata: { ...cr.metadata, ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'p', uid: 'u', controller: true }] } };
    assert.equal(cells('apps/controllerrevisions', core)[1], 'pod/p');
  });

  test('jobs: columns', () => {
    assert.deepEqual(headers('batch/jobs'), ['NAME', 'STATUS', 'COMPLETIONS', 'DURATION', 'AGE', 'CONTAINERS*', 'IMAGES*', 'SELECTOR*']);
  });

  test('jobs: complete, running, parallel, failed, suspended, terminating', () => {
    const selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': 'abc' } };
    const job = (spec: Record<string, unknown>, status: Record<string, unknown>, metaExtra: Record<string, unknown> = {}) => ({
      metadata: meta('pi', 3600, metaExtra),
      spec: { selector, template: template([['pi', 'perl:5.34']]), ...spec },
      status,
    });
    const complete = job({ completions: 1, parallelism: 1 }, { succeeded: 1, startTime: ago(3600), completionTime: ago(3600 - 125), conditions: [{ type: 'SuccessCriteriaMet', status: 'True' }, { type: 'Complete', status: 'True' }] });
    assert.deepEqual(cells('batch/jobs', complete), ['pi', 'Complete', '1/1', '2m5s', '60m', 'pi', 'perl:5.34', 'batch.kubernetes.io/controller-uid=abc']);
    assert.deepEqual(cells('batch/jobs', job({ completions: 5, parallelism: 2 }, { succeeded: 2, active: 2, startTime: ago(90) })).slice(1, 4), ['Running', '2/5', '90s']);
    assert.deepEqual(cells('batch/jobs', job({ parallelism: 3 }, { active: 3, startTime: ago(10) })).slice(1, 4), ['Running', '0/1 of 3', '10s']);
    assert.deepEqual(cells('batch/jobs', job({ parallelism: 1 }, {})).slice(1, 4), ['Running', '0/1', '']);
    assert.deepEqual(cells('batch/jobs', job({}, {})).slice(1, 3), ['Running', '0/1']);
    const failed = job({ completions: 1, backoffLimit: 6 }, { failed: 7, startTime: ago(600), conditions: [{ type: 'FailureTarget', status: 'True' }, { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] });
    assert.deepEqual(cells('batch/jobs', failed).slice(1, 4), ['Failed', '0/1', '10m']);
    assert.equal(cells('batch/jobs', job({ completions: 1, suspend: true }, { conditions: [{ type: 'Suspended', status: 'True' }] }))[1], 'Suspended');
    assert.equal(cells('batch/jobs', job({ completions: 1 }, { conditions: [{ type: 'FailureTarget', status: 'True' }] }))[1], 'FailureTarget');
    assert.equal(cells('batch/jobs', job({ completions: 1 }, { conditions: [{ type: 'Suspended', status: 'True' }] }, { deletionTimestamp: ago(1) }))[1], 'Terminating');
    assert.equal(cells('batch/jobs', job({ completions: 1 }, { conditions: [{ type: 'Complete', status: 'False' }, { type: 'Complete', status: 'True' }] }))[1], 'Running');
  });
});

describe('networking', () => {
  test('networkpolicies', () => {
    assert.deepEqual(headers('networking.k8s.io/networkpolicies'), ['NAME', 'POD-SELECTOR', 'AGE']);
    assert.deepEqual(cells('networking.k8s.io/networkpolicies', { metadata: meta('deny-all', 60), spec: { podSelector: {}, policyTypes: ['Ingress'] } }), ['deny-all', '<none>', '60s']);
    const np = { metadata: meta('db', 60), spec: { podSelector: { matchLabels: { role: 'db' }, matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev'] }] } } };
    assert.deepEqual(cells('networking.k8s.io/networkpolicies', np), ['db', 'env notin (dev),role=db', '60s']);
  });

  test('ingresses', () => {
    assert.deepEqual(headers('networking.k8s.io/ingresses'), ['NAME', 'CLASS', 'HOSTS', 'ADDRESS', 'PORTS', 'AGE']);
    const ing = {
      metadata: meta('web', 300),
      spec: {
        ingressClassName: 'nginx',
        tls: [{ hosts: ['a.example.com'], secretName: 'tls' }],
        rules: [{ host: 'a.example.com' }, { host: 'b.example.com' }, {}, { host: 'c.example.com' }, { host: 'd.example.com' }],
      },
      status: { loadBalancer: { ingress: [{ ip: '192.0.2.5' }, { ip: '192.0.2.4' }] } },
    };
    assert.deepEqual(cells('networking.k8s.io/ingresses', ing), ['web', 'nginx', 'a.example.com,b.example.com,c.example.com + 2 more...', '192.0.2.4,192.0.2.5', '80, 443', '5m']);
    const bare = { metadata: meta('catch-all', 300), spec: { defaultBackend: { service: { name: 'web', port: { number: 80 } } } } };
    assert.deepEqual(cells('networking.k8s.io/ingresses', bare), ['catch-all', '<none>', '*', '', '80', '5m']);
  });
});

describe('default table, for resources without a printer', () => {
  test('Name and Created At, as upstream default table convertor', () => {
    assert.equal(hasPrinter('/bindings'), false);
    const cols = tableColumns('/bindings');
    assert.deepEqual(
      cols.map((c) => [c.name, c.type, c.format, c.priority]),
      [
        ['Name', 'string', 'name', 0],
        ['Created At', 'date', '', 0],
      ],
    );
    assert.match(cols[1]!.description, /^CreationTimestamp is a timestamp/);
    assert.deepEqual(cells('example.com/widgets', { metadata: { name: 'w', creationTimestamp: '2024-05-01T10:20:30Z' } }), ['w', '2024-05-01T10:20:30Z']);
    assert.deepEqual(cells('example.com/widgets', { metadata: { name: 'w' } }), ['w', '0001-01-01T00:00:00Z']);
  });
});

describe('the Table', () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: meta('p', 60, { labels: { app: 'web' }, annotations: { a: 'b' } }),
    spec: { containers: [{ name: 'c', image: 'i' }] },
    status: { phase: 'Pending' },
  };

  test('list: kind, apiVersion, list metadata, wide columns, PartialObjectMetadata rows by default', () => {
    const table = buildTable('/pods', [pod, { ...pod, metadata: { ...pod.metadata, name: 'q' } }], {
      now: NOW,
      listMeta: { resourceVersion: '1234', continue: 'tok', remainingItemCount: 5 },
    });
    assert.equal(table.kind, 'Table');
    assert.equal(table.apiVersion, 'meta.k8s.io/v1');
    assert.deepEqual(table.metadata, { resourceVersion: '1234', continue: 'tok', remainingItemCount: 5 });
    assert.equal(table.columnDefinitions!.length, 9);
    assert.deepEqual(Object.keys(table.columnDefinitions![0]!).sort(), ['description', 'format', 'name', 'priority', 'type']);
    assert.equal(table.rows.length, 2);
    assert.equal(table.rows[0]!.cells.length, 9);
    assert.deepEqual(table.rows[1]!.object, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { ...pod.metadata, name: 'q' } });
    assert.equal('conditions' in table.rows[0]!, false);
    // JSON round trip: what a client decodes.
    const json = JSON.parse(JSON.stringify(table));
    assert.deepEqual(json.rows[0].cells, ['p', '0/1', 'Pending', '0', '60s', '<none>', '<none>', '<none>', '<none>']);
  });

  test('includeObject Object and None; v1beta1', () => {
    const full = buildTable('/pods', [pod], { now: NOW, includeObject: 'Object' });
    assert.deepEqual(full.rows[0]!.object, pod);
    const bare = { metadata: { name: 'x' } };
    assert.deepEqual(buildTable('apps/deployments', [bare], { now: NOW, includeObject: 'Object' }).rows[0]!.object, { kind: 'Deployment', apiVersion: 'apps/v1', metadata: { name: 'x' } });
    const none = buildTable('/pods', [pod], { now: NOW, includeObject: 'None' });
    assert.equal('object' in none.rows[0]!, false);
    const beta = buildTable('/pods', [pod], { now: NOW, groupVersion: 'meta.k8s.io/v1beta1' });
    assert.equal(beta.apiVersion, 'meta.k8s.io/v1beta1');
    assert.equal((beta.rows[0]!.object as { apiVersion: string }).apiVersion, 'meta.k8s.io/v1beta1');
  });

  test('empty list', () => {
    const table = buildTable('/pods', [], { listMeta: { resourceVersion: '7' } });
    assert.deepEqual(table.rows, []);
    assert.deepEqual(table.metadata, { resourceVersion: '7' });
  });

  test('a single object: its resourceVersion', () => {
    const table = buildTableForObject('/pods', pod, { now: NOW });
    assert.deepEqual(table.metadata, { resourceVersion: '42' });
    assert.equal(table.rows.length, 1);
  });

  test('watch events: column definitions on the first event only', () => {
    const first = buildTableForWatchEvent('/pods', pod, { first: true, now: NOW });
    const next = buildTableForWatchEvent('/pods', pod, { first: false, now: NOW });
    assert.equal(first.columnDefinitions!.length, 9);
    assert.equal(next.columnDefinitions, null);
    assert.equal(JSON.parse(JSON.stringify(next)).columnDefinitions, null);
    assert.deepEqual(next.rows[0]!.cells, first.rows[0]!.cells);
    assert.deepEqual(next.metadata, { resourceVersion: '42' });
  });

  test('tableColumns returns copies', () => {
    tableColumns('/pods')[0]!.name = 'changed';
    assert.equal(tableColumns('/pods')[0]!.name, 'Name');
  });

  test('includeObject validation message', () => {
    for (const ok of [undefined, '', 'None', 'Metadata', 'Object']) assert.equal(tableOptionsError(ok), undefined);
    assert.equal(tableOptionsError('All'), `Unable to convert to Table as requested: includeObject: Invalid value: "All": must be 'Metadata', 'Object', 'None', or empty`);
  });

  test('every served resource prints a bare object with one cell per column', () => {
    for (const r of RESOURCES) {
      const gr = grOf(r);
      const cols = tableColumns(gr);
      assert.ok(cols.length >= 2, gr);
      assert.ok(cols.every((c) => typeof c.description === 'string' && c.description.length > 0), `${gr} descriptions`);
      for (const obj of [{}, { metadata: { name: 'n', creationTimestamp: ago(1) }, spec: {}, status: {} }]) {
        const row = buildTable(gr, [obj], { now: NOW }).rows[0]!;
        assert.equal(row.cells.length, cols.length, gr);
      }
      if (r.plural !== 'bindings') assert.ok(hasPrinter(gr), `${gr} has a printer`);
    }
  });
});
