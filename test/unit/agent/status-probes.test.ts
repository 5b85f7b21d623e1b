import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Backoff, ProbeCounter, resolvePort, runProbe } from '../../../src/agent/probes.js';
import { type ContainerView, type PodView, podPhase, podStatus } from '../../../src/agent/status.js';

const NOW = '2026-11-23T18:00:00Z';
const pod = (spec: Record<string, any> = {}, status: Record<string, any> = {}) => ({
  metadata: { name: 'p', namespace: 'default' },
  spec: { containers: [{ name: 'a', image: 'busybox' }, { name: 'b', image: 'busybox' }], ...spec },
  status: { phase: 'Pending', qosClass: 'BestEffort', conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: NOW }], ...status },
});
const running = (name: string, ready = true): ContainerView => ({ name, image: 'busybox', imageId: 'sha256:1', state: { running: { startedAt: NOW } }, containerId: `${name}1`, restartCount: 0, ready, started: true });
const exited = (name: string, exitCode: number, restartCount = 0): ContainerView => ({
  name, image: 'busybox', state: { terminated: { exitCode, reason: exitCode ? 'Error' : 'Completed', startedAt: NOW, finishedAt: NOW } }, containerId: `${name}2`, restartCount, ready: false, started: false,
});
const waiting = (name: string, reason: string, last?: number): ContainerView => ({
  name, image: 'busybox', state: { waiting: { reason, message: 'back-off 10s restarting failed container' } }, restartCount: last === undefined ? 0 : 1, ready: false, started: false,
  ...(last === undefined ? {} : { lastTerminated: { exitCode: last, reason: 'Error', containerId: 'x' } }),
});
const view = (containers: ContainerView[], extra: Partial<PodView> = {}): PodView => ({ sandboxReady: true, podIPs: ['10.244.1.5'], hostIPs: ['192.0.2.10'], init: [], containers, ...extra });

test('phase, as kubelet getPhase', () => {
  assert.equal(podPhase(pod(), view([running('a'), running('b')])), 'Running');
  assert.equal(podPhase(pod(), view([running('a'), waiting('b', 'ContainerCreating')])), 'Pending');
  assert.equal(podPhase(pod(), view([running('a')])), 'Pending');
  assert.equal(podPhase(pod(), view([running('a'), waiting('b', 'CrashLoopBackOff', 1)])), 'Running');
  assert.equal(podPhase(pod({ restartPolicy: 'Never' }), view([exited('a', 0), exited('b', 0)])), 'Succeeded');
  assert.equal(podPhase(pod({ restartPolicy: 'Never' }), view([exited('a', 0), exited('b', 1)])), 'Failed');
  assert.equal(podPhase(pod({ restartPolicy: 'OnFailure' }), view([exited('a', 0), exited('b', 0)])), 'Succeeded');
  assert.equal(podPhase(pod({ restartPolicy: 'OnFailure' }), view([exited('a', 0), exited('b', 1)])), 'Running');
  assert.equal(podPhase(pod(), view([exited('a', 0), exited('b', 0)])), 'Running');
  const withInit = pod({ initContainers: [{ name: 'i', image: 'busybox' }], restartPolicy: 'Never' });
  assert.equal(podPhase(withInit, view([], { init: [running('i')] })), 'Pending');
  assert.equal(podPhase(withInit, view([], { init: [exited('i', 1)] })), 'Failed');
  assert.equal(podPhase(withInit, view([running('a'), running('b')], { init: [exited('i', 0)] })), 'Running');
  assert.equal(podPhase(pod(), view([running('a'), running('b')], { failed: { reason: 'DeadlineExceeded', message: 'x' } })), 'Failed');
});

test('status: conditions with upstream reasons, container statuses, IPs; PodScheduled and qosClass kept', () => {
  const p = pod();
  const st = podStatus(p, view([running('a'), running('b', false)]), NOW);
  assert.equal(st.phase, 'Running');
  assert.equal(st.qosClass, 'BestEffort');
  assert.equal(st.podIP, '10.244.1.5');
  assert.deepEqual(st.podIPs, [{ ip: '10.244.1.5' }]);
  assert.equal(st.hostIP, '192.0.2.10');
  const cond = (t: string) => st.conditions.find((c: any) => c.type === t);
  assert.equal(cond('PodScheduled').status, 'True');
  assert.equal(cond('PodReadyToStartContainers').status, 'True');
  assert.equal(cond('Initialized').status, 'True');
  assert.deepEqual([cond('Ready').status, cond('Ready').reason, cond('Ready').message], ['False', 'ContainersNotReady', 'containers with unready status: [b]']);
  assert.equal(cond('ContainersReady').reason, 'ContainersNotReady');
  const [a, b] = st.containerStatuses;
  assert.deepEqual([a.name, a.ready, a.started, a.containerID, a.state.running.startedAt], ['a', true, true, 'k8ts://a1', NOW]);
  assert.equal(b.ready, false);
  // Becoming ready moves lastTransitionTime only for the conditions that changed.
  const later = '2026-11-23T18:01:00Z';
  const st2 = podStatus({ ...p, status: st }, view([running('a'), running('b')]), later);
  assert.equal(st2.conditions.find((c: any) => c.type === 'Ready').status, 'True');
  assert.equal(st2.conditions.find((c: any) => c.type === 'Ready').lastTransitionTime, later);
  assert.equal(st2.conditions.find((c: any) => c.type === 'Initialized').lastTransitionTime, NOW);
  assert.equal(st2.startTime, st.startTime);
});

test('status: waiting reasons, lastState and restart counts; init containers', () => {
  const st = podStatus(pod(), view([running('a'), waiting('b', 'CrashLoopBackOff', 2)]), NOW);
  const b = st.containerStatuses[1];
  assert.equal(b.state.waiting.reason, 'CrashLoopBackOff');
  assert.equal(b.lastState.terminated.exitCode, 2);
  assert.equal(b.lastState.terminated.containerID, 'k8ts://x');
  assert.equal(b.restartCount, 1);
  const withInit = pod({ initContainers: [{ name: 'i', image: 'busybox' }] });
  const st2 = podStatus(withInit, view([waiting('a', 'PodInitializing'), waiting('b', 'PodInitializing')], { init: [running('i')] }), NOW);
  const init = st2.conditions.find((c: any) => c.type === 'Initialized');
  assert.deepEqual([init.status, init.reason, init.message], ['False', 'ContainersNotInitialized', 'containers with incomplete status: [i]']);
  assert.equal(st2.initContainerStatuses[0].name, 'i');
  const done = podStatus(pod({ restartPolicy: 'Never' }), view([exited('a', 0), exited('b', 0)]), NOW);
  assert.equal(done.conditions.find((c: any) => c.type === 'Ready').reason, 'PodCompleted');
  assert.equal(done.containerStatuses[0].state.terminated.reason, 'Completed');
});

test('probe counters: thresholds, readiness starts failed, liveness succeeded', () => {
  const r = ProbeCounter.of('readiness', { successThreshold: 2, failureThreshold: 2 });
  assert.equal(r.result, false);
  assert.equal(r.record(true), false);
  assert.equal(r.record(true), true);
  assert.equal(r.result, true);
  assert.equal(r.record(false), false);
  assert.equal(r.record(true), false);
  assert.equal(r.record(false), false);
  assert.equal(r.record(false), true);
  assert.equal(r.result, false);
  const l = ProbeCounter.of('liveness', { successThreshold: 5 });
  assert.equal(l.result, true);
  assert.equal(l.record(false) || l.record(false), false);
  assert.equal(l.record(false), true);
  l.reset();
  assert.equal(l.result, true);
});

test('back-off: no wait at first, then 10 s doubling to 5 min, from the container end', () => {
  const b = new Backoff();
  const t0 = 1_000_000;
  assert.equal(b.remaining('p/c', t0, t0), 0);
  b.next('p/c', t0);
  assert.equal(b.remaining('p/c', t0 + 1000, t0 + 1000), 10_000);
  b.next('p/c', t0 + 11_000);
  assert.equal(b.delay('p/c'), 20_000);
  for (let i = 0; i < 10; i++) b.next('p/c', t0 + 12_000 + i);
  assert.equal(b.delay('p/c'), 300_000);
  b.forget('p/');
  assert.equal(b.remaining('p/c', t0, t0), 0);
});

test('probes: httpGet (status codes, named port, refused), tcpSocket, exec', async () => {
  let code = 200;
  const srv = http.createServer((req, res) => {
    res.statusCode = req.headers['user-agent']?.startsWith('kube-probe/') ? code : 400;
    res.end('x');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  const container = { ports: [{ name: 'http', containerPort: port }] };
  const target = { podIP: '127.0.0.1', container, exec: async (argv: string[]) => ({ code: argv[0] === 'true' ? 0 : 1, output: argv[0] === 'true' ? '' : 'boom' }) };
  try {
    assert.equal(resolvePort('http', container), port);
    assert.deepEqual(await runProbe({ httpGet: { path: '/readyz', port: 'http' } }, target), { ok: true });
    code = 503;
    assert.deepEqual(await runProbe({ httpGet: { path: '/readyz', port } }, target), { ok: false, message: 'HTTP probe failed with statuscode: 503' });
    assert.deepEqual(await runProbe({ tcpSocket: { port } }, target), { ok: true });
  } finally {
    await new Promise((r) => srv.close(r));
  }
  const refused = await runProbe({ httpGet: { path: '/', port } }, target);
  assert.equal(refused.message, `Get "http://127.0.0.1:${port}/": dial tcp 127.0.0.1:${port}: connect: connection refused`);
  assert.equal((await runProbe({ tcpSocket: { port } }, target)).message, `dial tcp 127.0.0.1:${port}: connect: connection refused`);
  assert.deepEqual(await runProbe({ exec: { command: ['true'] } }, target), { ok: true });
  assert.deepEqual(await runProbe({ exec: { command: ['false'] } }, target), { ok: false, message: 'boom' });
});
