import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeImageRef, parseImageRef } from '../../../src/images/index.js';

test('normalizes every form users write', () => {
  const cases: Array<[string, string]> = [
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['library/busybox:1.28', 'docker.io/library/busybox:1.28'],
    ['docker.io/library/busybox:latest', 'docker.io/library/busybox:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest'],
    ['index.docker.io/library/busybox', 'docker.io/library/busybox:latest'],
    ['k8ts/demoapp', 'docker.io/k8ts/demoapp:latest'],
    ['k8ts/demoapp:v1.0', 'docker.io/k8ts/demoapp:v1.0'],
    ['docker.io/k8ts/demoapp:latest', 'docker.io/k8ts/demoapp:latest'],
    ['host', 'docker.io/library/host:latest'],
    ['localhost/foo', 'localhost/foo:latest'],
    ['localhost:5000/foo/bar:1', 'localhost:5000/foo/bar:1'],
    ['kubernetes-register.superopsmsb.com/superopsmsb/nginx_web:v0.1', 'kubernetes-register.superopsmsb.com/superopsmsb/nginx_web:v0.1'],
    ['registry.cn-hangzhou.aliyuncs.com/mokeyking/k8s-oldxu:tools-latest', 'registry.cn-hangzhou.aliyuncs.com/mokeyking/k8s-oldxu:tools-latest'],
    [`busybox@sha256:${'a'.repeat(64)}`, `docker.io/library/busybox@sha256:${'a'.repeat(64)}`],
    [`busybox:1.36@sha256:${'b'.repeat(64)}`, `docker.io/library/busybox:1.36@sha256:${'b'.repeat(64)}`],
  ];
  for (const [input, want] of cases) assert.equal(normalizeImageRef(input), want, input);
});

test('parts and familiar form', () => {
  const r = parseImageRef('busybox:1.28')!;
  assert.equal(r.domain, 'docker.io');
  assert.equal(r.path, 'library/busybox');
  assert.equal(r.tag, '1.28');
  assert.equal(r.repository, 'docker.io/library/busybox');
  assert.equal(r.familiar, 'busybox:1.28');
  assert.equal(parseImageRef('docker.io/k8ts/demoapp')!.familiar, 'k8ts/demoapp:latest');
  assert.equal(parseImageRef('quay.io/x/y:z')!.familiar, 'quay.io/x/y:z');
  const d = parseImageRef(`busybox@sha256:${'c'.repeat(64)}`)!;
  assert.equal(d.tag, undefined);
  assert.equal(d.digest, `sha256:${'c'.repeat(64)}`);
});

test('rejects invalid references', () => {
  for (const bad of ['', ' busybox', 'Busybox', 'k8ts/DemoApp', 'busybox:', 'busybox:-x', 'a//b', 'busybox@sha256:xyz', 'foo/', '/foo', 'a:b:c']) {
    assert.equal(parseImageRef(bad), undefined, JSON.stringify(bad));
  }
});
