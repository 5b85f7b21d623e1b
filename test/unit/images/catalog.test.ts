import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import {
  catalogImages,
  containerArgv,
  demoappEntrypoint,
  imageError,
  imagePullBackOff,
  imagePullError,
  resolveImage,
} from '../../../src/images/index.js';

const envOf = (ref: string): Record<string, string> => Object.fromEntries(resolveImage(ref)!.env.map((e) => [e.name, e.value]));

test('resolves demoapp in every form and the seeds\' aliases', () => {
  const forms: Array<[string, string]> = [
    ['k8ts/demoapp', 'docker.io/k8ts/demoapp:latest'],
    ['k8ts/demoapp:v1.0', 'docker.io/k8ts/demoapp:v1.0'],
    ['docker.io/k8ts/demoapp:latest', 'docker.io/k8ts/demoapp:latest'],
    ['oldxu3957/demoapp:v1.0', 'docker.io/oldxu3957/demoapp:v1.0'],
    ['ikubernetes/demoapp:v1.1', 'docker.io/ikubernetes/demoapp:v1.1'],
    ['ikubernetes/demoapp:latest', 'docker.io/ikubernetes/demoapp:latest'],
  ];
  for (const [ref, norm] of forms) {
    const img = resolveImage(ref);
    assert.ok(img, ref);
    assert.equal(img.name, 'k8ts/demoapp', ref);
    assert.equal(img.ref, norm);
    assert.deepEqual(img.entrypoint, demoappEntrypoint());
    assert.equal(img.entrypoint[0], process.execPath);
    assert.ok(existsSync(img.entrypoint.at(-1)!), 'demoapp program exists');
    assert.deepEqual(img.cmd, []);
    assert.deepEqual(img.exposedPorts, [80]);
    assert.match(img.imageId, /^sha256:[0-9a-f]{64}$/);
  }
  assert.equal(envOf('ikubernetes/demoapp:v1.1').VERSION, 'v1.1');
  assert.equal(envOf('k8ts/demoapp').VERSION, 'v1.0');
  assert.ok(envOf('k8ts/demoapp').PATH!.includes('/usr/bin'));
});

test('image IDs are stable per repository and tag', () => {
  assert.equal(resolveImage('busybox')!.imageId, resolveImage('docker.io/library/busybox:latest')!.imageId);
  assert.notEqual(resolveImage('busybox:1.36')!.imageId, resolveImage('busybox:1.28')!.imageId);
  assert.notEqual(resolveImage('k8ts/demoapp:v1.0')!.imageId, resolveImage('oldxu3957/demoapp:v1.0')!.imageId);
});

test('busybox: every form, registries\' copies, default cmd sh, applets first on PATH', () => {
  for (const ref of [
    'busybox',
    'busybox:1.36',
    'docker.io/library/busybox:latest',
    'kubernetes-register.superopsmsb.com/superopsmsb/busybox:1.28',
    'kubernetes-register.superopsmsb.com/superopsmsb/busybox:v0.1',
  ]) {
    const img = resolveImage(ref, { imagesDir: '/x/images' });
    assert.ok(img, ref);
    assert.equal(img.name, 'busybox');
    assert.deepEqual(img.entrypoint, []);
    assert.deepEqual(img.cmd, ['sh']);
    assert.equal(img.applets?.dir, '/x/images/busybox/bin');
    const path = img.env.find((e) => e.name === 'PATH')!.value;
    assert.ok(path.startsWith('/x/images/busybox/bin:'), path);
  }
  assert.equal(resolveImage('busybox:1.28')!.ref, 'docker.io/library/busybox:1.28');
});

test('host: no entrypoint, default cmd sh', () => {
  const img = resolveImage('host')!;
  assert.equal(img.name, 'host');
  assert.equal(img.ref, 'docker.io/library/host:latest');
  assert.deepEqual(img.entrypoint, []);
  assert.deepEqual(img.cmd, ['sh']);
  assert.equal(img.applets, undefined);
});

test('seed 002 images: nginx, nginx_web, django_web, tomcat_web, nginx_proxy', () => {
  const reg = 'kubernetes-register.superopsmsb.com/superopsmsb';
  const nginx = resolveImage(`${reg}/nginx:1.23.0`)!;
  assert.equal(nginx.name, 'nginx');
  assert.deepEqual(nginx.exposedPorts, [80]);
  assert.deepEqual(nginx.cmd.slice(0, 4), ['--flavor', 'nginx', '--port', '80']);
  assert.equal(envOf(`${reg}/nginx:1.23.0`).NGINX_VERSION, '1.23.0');
  assert.equal(resolveImage(`${reg}/nginx`)!.name, 'nginx');
  assert.equal(resolveImage('nginx')!.name, 'nginx');
  assert.equal(resolveImage('nginx:1.25.3')!.env.find((e) => e.name === 'NGINX_VERSION')!.value, '1.25.3');

  const web = resolveImage(`${reg}/nginx_web:v0.1`)!;
  assert.equal(web.name, 'superopsmsb/nginx_web');
  assert.deepEqual(web.exposedPorts, [80]);
  assert.ok(web.cmd.includes('Hello Nginx, $HOSTNAME-$NGINX_VERSION'));
  assert.equal(resolveImage('register.superopsmsb.com/superopsmsb/nginx_web:v0.1')!.name, 'superopsmsb/nginx_web');

  const django = resolveImage(`${reg}/django_web:v0.1`)!;
  assert.deepEqual(django.exposedPorts, [8000]);
  assert.equal(envOf(`${reg}/django_web:v0.1`).DJANGO_VERSION, '1.10.4');
  const tomcat = resolveImage(`${reg}/tomcat_web:v0.1`)!;
  assert.deepEqual(tomcat.exposedPorts, [8080]);
  assert.equal(envOf(`${reg}/tomcat_web:v0.1`).TOMCAT_VERSION, '10.0.22');

  const proxy = resolveImage(`${reg}/nginx_proxy:v0.1`)!;
  const rules = proxy.cmd.filter((_, i) => proxy.cmd[i - 1] === '--proxy');
  assert.deepEqual(rules, [
    '/=http://superopsmsb-nginx-web/',
    '/django/=http://superopsmsb-django-web:8000/',
    '/tomcat/=http://superopsmsb-tomcat-web:8080/',
  ]);
});

test('seed 003 tools image and pause', () => {
  const tools = resolveImage('registry.cn-hangzhou.aliyuncs.com/mokeyking/k8s-oldxu:tools-latest', { imagesDir: '/x' })!;
  assert.equal(tools.name, 'mokeyking/k8s-oldxu');
  assert.equal(tools.cmd[0], 'sh');
  const path = tools.env.find((e) => e.name === 'PATH')!.value;
  assert.ok(path.endsWith(':/x/busybox/bin') && path.startsWith('/usr/local/sbin'), path);
  for (const ref of ['registry.k8s.io/pause:3.9', 'k8s.gcr.io/pause:3.6', 'registry.aliyuncs.com/google_containers/pause:3.9']) {
    assert.equal(resolveImage(ref)?.name, 'pause', ref);
  }
});

test('unknown and invalid references do not resolve', () => {
  for (const ref of ['redis', 'goharbor/nginx-photon:v2.5.0', 'kubernetes-register.superopsmsb.com/superopsmsb/django', 'Busybox', '']) {
    assert.equal(resolveImage(ref), undefined, ref);
  }
});

test('containerArgv follows Kubernetes\' command/args rules', () => {
  const img = { entrypoint: ['/ep', '-x'], cmd: ['c1', 'c2'] };
  assert.deepEqual(containerArgv(img), ['/ep', '-x', 'c1', 'c2']);
  assert.deepEqual(containerArgv(img, ['/cmd']), ['/cmd']);
  assert.deepEqual(containerArgv(img, ['/cmd'], ['a']), ['/cmd', 'a']);
  assert.deepEqual(containerArgv(img, undefined, ['a', 'b']), ['/ep', '-x', 'a', 'b']);
  assert.deepEqual(containerArgv(img, [], []), ['/ep', '-x', 'c1', 'c2']);
  assert.deepEqual(containerArgv(img, [], ['a']), ['/ep', '-x', 'a']);
  const bb = resolveImage('busybox')!;
  assert.deepEqual(containerArgv(bb), ['sh']);
  assert.deepEqual(containerArgv(bb, ['sh', '-c', 'sleep 5']), ['sh', '-c', 'sleep 5']);
  assert.deepEqual(containerArgv(bb, ['/bin/sh'], ['-c', 'echo hi']), ['/bin/sh', '-c', 'echo hi']);
  const demo = resolveImage('k8ts/demoapp')!;
  assert.deepEqual(containerArgv(demo, undefined, ['--port', '8080']), [...demo.entrypoint, '--port', '8080']);
  assert.deepEqual(containerArgv(resolveImage('host')!, ['/usr/bin/env']), ['/usr/bin/env']);
});

test('pull errors keep kubelet\'s message shapes', () => {
  const e = imagePullError('redis');
  assert.equal(e.reason, 'ErrImagePull');
  assert.match(e.message, /^Failed to pull image "redis": image not in the k8ts catalog \(available: k8ts\/demoapp, k8ts\/coredns, busybox, host/);
  assert.deepEqual(imagePullBackOff('redis'), { reason: 'ImagePullBackOff', message: 'Back-off pulling image "redis"' });
  assert.equal(imageError('redis').reason, 'ErrImagePull');
  const bad = imageError('Busybox');
  assert.equal(bad.reason, 'InvalidImageName');
  assert.match(bad.message, /^Failed to apply default image tag "Busybox": couldn't parse image reference "Busybox": invalid reference format$/);
});

test('catalogImages lists every image with names and sizes', () => {
  const imgs = catalogImages();
  const names = imgs.flatMap((i) => i.names);
  for (const n of ['docker.io/k8ts/demoapp:v1.0', 'docker.io/library/busybox:latest', 'docker.io/library/host:latest']) {
    assert.ok(names.includes(n), n);
  }
  for (const i of imgs) {
    assert.ok(i.names.length > 0);
    assert.ok(Number.isInteger(i.sizeBytes) && i.sizeBytes >= 0);
    for (const n of i.names) assert.ok(resolveImage(n), `status name ${n} resolves`);
  }
});

test('the coredns image: k8ts/coredns and kubeadm\'s CoreDNS names run the k8ts DNS server', () => {
  for (const ref of ['k8ts/coredns', 'registry.k8s.io/coredns/coredns:v1.11.3', 'k8s.gcr.io/coredns/coredns:v1.8.6']) {
    const img = resolveImage(ref);
    assert.equal(img?.name, 'k8ts/coredns', ref);
    assert.match(img!.entrypoint.join(' '), /dns\/main\.(js|ts)/);
    assert.deepEqual(img!.cmd, ['-conf', '/etc/coredns/Corefile']);
  }
});
