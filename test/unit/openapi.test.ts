// The OpenAPI documents: structure checks, and the real kubectl (oldest and
// newest installed) reading them from a small loopback server that serves
// only discovery, /version and /openapi.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import {
  ADVERTISE_FIELD_VALIDATION,
  definitions,
  etagOf,
  OPENAPI_V2_PROTOBUF,
  OPENAPI_V2_PROTOBUF_ACCEPT,
  openapiResponse,
  openapiV2,
  openapiV2Protobuf,
  openapiV3,
  openapiV3Discovery,
  unknownFields,
} from '../../src/api/openapi/index.js';
import { RESOURCES } from '../../src/api/registry.js';

type Obj = Record<string, any>;

// ---------------------------------------------------------------------------
// Documents

test('definitions carry upstream names, special types, required fields and extensions', () => {
  const d = definitions();
  const pod = d['io.k8s.api.core.v1.Pod'] as Obj;
  assert.deepEqual(pod['x-kubernetes-group-version-kind'], [{ group: '', version: 'v1', kind: 'Pod' }]);
  assert.equal(pod.properties.metadata.$ref, '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta');
  assert.match(pod.properties.spec.description, /Specification of the desired behavior of the pod/);

  const containers = (d['io.k8s.api.core.v1.PodSpec'] as Obj).properties.containers;
  assert.equal(containers.type, 'array');
  assert.equal(containers.items.$ref, '#/definitions/io.k8s.api.core.v1.Container');
  assert.equal(containers['x-kubernetes-patch-merge-key'], 'name');
  assert.equal(containers['x-kubernetes-patch-strategy'], 'merge');
  assert.equal((d['io.k8s.api.core.v1.PodSpec'] as Obj).properties.volumes['x-kubernetes-patch-strategy'], 'merge,retainKeys');
  const ports = (d['io.k8s.api.core.v1.Container'] as Obj).properties.ports;
  assert.equal(ports['x-kubernetes-patch-merge-key'], 'containerPort');
  assert.equal(ports['x-kubernetes-list-type'], 'map');
  assert.deepEqual(ports['x-kubernetes-list-map-keys'], ['containerPort', 'protocol']);
  assert.deepEqual((d['io.k8s.api.core.v1.Container'] as Obj).required, ['name']);
  assert.deepEqual((d['io.k8s.api.core.v1.ServiceSpec'] as Obj).properties.ports['x-kubernetes-list-map-keys'], ['port', 'protocol']);

  assert.deepEqual(
    { ...(d['io.k8s.apimachinery.pkg.util.intstr.IntOrString'] as Obj), description: undefined },
    { description: undefined, type: 'string', format: 'int-or-string' },
  );
  assert.equal((d['io.k8s.apimachinery.pkg.api.resource.Quantity'] as Obj).type, 'string');
  assert.equal((d['io.k8s.apimachinery.pkg.apis.meta.v1.Time'] as Obj).format, 'date-time');
  assert.equal((d['io.k8s.api.core.v1.ContainerPort'] as Obj).properties.containerPort.type, 'integer');
  assert.equal((d['io.k8s.api.core.v1.PodSpec'] as Obj).properties.terminationGracePeriodSeconds.format, 'int64');
  assert.equal(
    (d['io.k8s.api.apps.v1.RollingUpdateDeployment'] as Obj).properties.maxSurge.$ref,
    '#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString',
  );

  // Every served kind (and its list) has a definition; every reference resolves.
  for (const r of RESOURCES) {
    const kinds = Object.values(d).filter((x) =>
      (x['x-kubernetes-group-version-kind'] as Obj[] | undefined)?.some((g) => g.group === r.group && g.version === r.version && g.kind === r.kind),
    );
    assert.ok(kinds.length >= 1, `${r.group}/${r.version} ${r.kind}`);
  }
  for (const extra of ['autoscaling.v1.Scale', 'policy.v1.Eviction', 'core.v1.Binding']) assert.ok(d[`io.k8s.api.${extra}`], extra);
  const refs = JSON.stringify(openapiV2()).match(/#\/definitions\/[^"]+/g) ?? [];
  for (const ref of new Set(refs)) assert.ok(d[ref.slice('#/definitions/'.length)], `dangling ${ref}`);
});

test('the swagger 2.0 document has paths for every resource and verb', () => {
  const doc = openapiV2() as Obj;
  assert.equal(doc.swagger, '2.0');
  const pods = doc.paths['/api/v1/namespaces/{namespace}/pods'];
  assert.equal(pods.get.operationId, 'listCoreV1NamespacedPod');
  assert.equal(pods.get['x-kubernetes-action'], 'list');
  assert.equal(pods.post.operationId, 'createCoreV1NamespacedPod');
  assert.equal(pods.delete.operationId, 'deleteCoreV1CollectionNamespacedPod');
  const pod = doc.paths['/api/v1/namespaces/{namespace}/pods/{name}'];
  assert.equal(pod.patch.operationId, 'patchCoreV1NamespacedPod');
  assert.deepEqual(pod.patch['x-kubernetes-group-version-kind'], { group: '', kind: 'Pod', version: 'v1' });
  assert.ok(pod.patch.consumes.includes('application/strategic-merge-patch+json'));
  assert.equal(
    pod.patch.parameters.some((p: Obj) => p.name === 'fieldValidation'),
    ADVERTISE_FIELD_VALIDATION,
  );
  assert.equal(doc.paths['/api/v1/pods'].get.operationId, 'listCoreV1PodForAllNamespaces');
  assert.equal(doc.paths['/api/v1/watch/namespaces/{namespace}/pods'].get['x-kubernetes-action'], 'watchlist');
  assert.equal(doc.paths['/api/v1/nodes/{name}'].get.operationId, 'readCoreV1Node');
  const scale = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale'];
  assert.equal(scale.put.operationId, 'replaceAppsV1NamespacedDeploymentScale');
  assert.deepEqual(scale.get['x-kubernetes-group-version-kind'], { group: 'autoscaling', kind: 'Scale', version: 'v1' });
  assert.equal(
    doc.paths['/api/v1/namespaces/{namespace}/pods/{name}/eviction'].post['x-kubernetes-group-version-kind'].group,
    'policy',
  );
  assert.equal(doc.paths['/api/v1/namespaces/{namespace}/pods/{name}/exec'].post.operationId, 'connectCoreV1PostNamespacedPodExec');
  assert.equal(doc.paths['/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses'].get.operationId, 'listNetworkingV1NamespacedIngress');
  assert.equal(doc.paths['/api/v1/namespaces/{name}/finalize'].put.operationId, 'replaceCoreV1NamespaceFinalize');
  // Every operation id is unique.
  const ids = Object.values(doc.paths as Obj).flatMap((item: Obj) =>
    ['get', 'put', 'post', 'patch', 'delete'].filter((m) => item[m]).map((m) => item[m].operationId),
  );
  assert.equal(new Set(ids).size, ids.length);
});

test('OpenAPI v3: discovery with hashes, one document per group version', () => {
  const disc = openapiV3Discovery() as Obj;
  const gvs = Object.keys(disc.paths);
  assert.ok(gvs.includes('api/v1') && gvs.includes('apis/apps/v1') && gvs.includes('apis/networking.k8s.io/v1'));
  const apps = openapiV3('apis/apps/v1') as Obj;
  assert.equal(apps.openapi, '3.0.0');
  const hash = etagOf(JSON.stringify(apps));
  assert.equal(disc.paths['apis/apps/v1'].serverRelativeURL, `/openapi/v3/apis/apps/v1?hash=${hash}`);
  assert.ok(Object.keys(apps.paths).every((p) => p.startsWith('/apis/apps/v1/')));
  const schemas = apps.components.schemas;
  assert.ok(schemas['io.k8s.api.apps.v1.Deployment'] && schemas['io.k8s.api.core.v1.PodSpec']);
  assert.equal(schemas['io.k8s.api.core.v1.Pod'], undefined, 'only what the group version references');
  const spec = schemas['io.k8s.api.apps.v1.Deployment'].properties.spec;
  assert.deepEqual(spec.allOf, [{ $ref: '#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec' }]);
  const patch = apps.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch;
  assert.ok(patch.requestBody.content['application/apply-patch+yaml']);
  assert.ok(!JSON.stringify(apps).includes('#/definitions/'));
  assert.equal(openapiV3('apis/nope/v1'), undefined);
});

test('openapiResponse negotiates, pins hashes and honours ETags', () => {
  const pb = openapiResponse({ path: '/openapi/v2', accept: `${OPENAPI_V2_PROTOBUF_ACCEPT}, application/json` })!;
  assert.equal(pb.status, 200);
  assert.equal(pb.headers['Content-Type'], OPENAPI_V2_PROTOBUF);
  assert.deepEqual(pb.body, openapiV2Protobuf().body);
  const json = openapiResponse({ path: '/openapi/v2', accept: 'application/json', acceptEncoding: 'gzip' })!;
  assert.equal(json.headers['Content-Type'], 'application/json');
  assert.equal(json.headers['Content-Encoding'], 'gzip');
  assert.equal(JSON.parse(gunzipSync(json.body).toString()).swagger, '2.0');
  assert.equal(openapiResponse({ path: '/openapi/v2' })!.headers['Content-Type'], 'application/json');
  assert.equal(openapiResponse({ path: '/openapi/v2', accept: 'text/html' })!.status, 406);
  const again = openapiResponse({ path: '/openapi/v2', accept: 'application/json', ifNoneMatch: json.headers.ETag })!;
  assert.equal(again.status, 304);
  assert.equal(again.body.length, 0);

  const url = new URL((openapiV3Discovery() as Obj).paths['api/v1'].serverRelativeURL, 'http://x');
  const pinned = openapiResponse({ path: url.pathname, query: url.search.slice(1), accept: 'application/json' })!;
  assert.equal(pinned.status, 200);
  assert.equal(pinned.headers['Cache-Control'], 'public, immutable');
  assert.equal(JSON.parse(pinned.body.toString()).openapi, '3.0.0');
  const stale = openapiResponse({ path: '/openapi/v3/api/v1', query: 'hash=0123', accept: 'application/json' })!;
  assert.equal(stale.status, 301);
  assert.equal(stale.headers.Location, url.pathname + url.search);
  assert.equal(openapiResponse({ path: '/openapi/v3/apis/nope/v1' })!.status, 404);
  assert.equal(openapiResponse({ path: '/api/v1' }), undefined);
});

test('unknownFields names the fields a kind does not declare, as strict decoding does', () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', labelz: {}, labels: { 'any-key': 'x' }, managedFields: [{ fieldsV1: { 'f:anything': {} } }] },
    spec: { containers: [{ name: 'c', image: 'i' }, { name: 'd', imagee: 'i', ports: [{ containerPort: 1, hostPortt: 2 }] }] },
    status: {},
    extra: 1,
  };
  assert.deepEqual(unknownFields('', 'v1', 'Pod', pod), ['metadata.labelz', 'spec.containers[1].imagee', 'spec.containers[1].ports[0].hostPortt', 'extra']);
  assert.deepEqual(unknownFields('apps', 'v1', 'Deployment', { spec: { template: { spec: { containers: [{ name: 'c' }] } } } }), []);
  assert.deepEqual(unknownFields('apps', 'v1', 'Deployment', { spec: { strategy: { rollingUpdate: { maxSurge: 1, max: 2 } } } }), ['spec.strategy.rollingUpdate.max']);
  assert.deepEqual(unknownFields('example.com', 'v1', 'Thing', { a: 1 }), []);
});

// ---------------------------------------------------------------------------
// The real kubectl

/** kubectl on PATH, resolved to the directory of versioned binaries. */
function kubectls(): Array<{ name: string; bin: string }> {
  const onPath = (process.env.PATH ?? '')
    .split(path.delimiter)
    .map((d) => path.join(d, 'kubectl'))
    .find((f) => fs.existsSync(f));
  if (!onPath) return [];
  const dir = path.dirname(fs.realpathSync(onPath));
  const versions = fs
    .readdirSync(dir)
    .map((f) => /^kubectl\.1\.(\d+)$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  const out: Array<{ name: string; bin: string }> = [];
  if (versions.includes(27)) out.push({ name: 'kubectl 1.27', bin: path.join(dir, 'kubectl.1.27') });
  const newest = versions.at(-1);
  if (newest !== undefined && newest !== 27) out.push({ name: `kubectl 1.${newest}`, bin: path.join(dir, `kubectl.1.${newest}`) });
  if (out.length === 0) out.push({ name: 'kubectl', bin: onPath });
  return out;
}

interface Logged {
  method: string;
  url: string;
  accept: string;
}

/** Discovery for the registry, /version, /openapi; everything else is 404 NotFound. */
function startFakeApiserver(): Promise<{ server: http.Server; port: number; log: Logged[] }> {
  const log: Logged[] = [];
  const groups = new Map<string, string>(); // group -> version
  for (const r of RESOURCES) if (!groups.has(r.group)) groups.set(r.group, r.version);
  const gv = (g: string, v: string) => (g ? `${g}/${v}` : v);
  const group = (g: string, v: string) => ({ name: g, versions: [{ groupVersion: gv(g, v), version: v }], preferredVersion: { groupVersion: gv(g, v), version: v } });
  const resourceList = (g: string, v: string) => ({
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: gv(g, v),
    resources: RESOURCES.filter((r) => r.group === g && r.version === v).flatMap((r) => [
      { name: r.plural, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: r.verbs, ...(r.shortNames ? { shortNames: r.shortNames } : {}) },
      ...Object.entries(r.subresources ?? {}).map(([s, info]) => ({
        name: `${r.plural}/${s}`,
        singularName: '',
        namespaced: r.namespaced,
        ...(info.group !== undefined ? { group: info.group, version: info.version } : {}),
        kind: info.kind,
        verbs: info.verbs,
      })),
    ]),
  });
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    log.push({ method: req.method ?? '', url: req.url ?? '', accept: String(req.headers.accept ?? '') });
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const oa = openapiResponse({
      path: url.pathname,
      query: url.searchParams,
      accept: req.headers.accept,
      acceptEncoding: req.headers['accept-encoding'] as string | undefined,
      ifNoneMatch: req.headers['if-none-match'],
      method: req.method,
    });
    if (oa) {
      res.writeHead(oa.status, { ...oa.headers, 'Content-Length': String(oa.body.length) });
      res.end(oa.body);
      return;
    }
    const p = url.pathname.replace(/\/+$/, '');
    const parts = p.split('/').filter(Boolean);
    if (p === '/version') return json(200, { major: '1', minor: '33', gitVersion: 'v1.33.0' });
    if (p === '/api') return json(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] });
    if (p === '/apis')
      return json(200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [...groups].filter(([g]) => g).map(([g, v]) => group(g, v)) });
    if (p === '/api/v1') return json(200, resourceList('', 'v1'));
    if (parts[0] === 'apis' && parts.length === 2 && groups.has(parts[1])) return json(200, { kind: 'APIGroup', apiVersion: 'v1', ...group(parts[1], groups.get(parts[1])!) });
    if (parts[0] === 'apis' && parts.length === 3 && groups.get(parts[1]) === parts[2]) return json(200, resourceList(parts[1], parts[2]));
    json(404, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `${p} not found`, reason: 'NotFound', code: 404 });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port, log }));
  });
}

for (const k of kubectls()) {
  describe(`${k.name} reads the OpenAPI documents`, () => {
    let srv: Awaited<ReturnType<typeof startFakeApiserver>>;
    let tmp: string;
    before(async () => {
      srv = await startFakeApiserver();
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'k8ts-openapi-test-'));
      fs.writeFileSync(path.join(tmp, 'kubeconfig'), 'apiVersion: v1\nkind: Config\n');
    });
    after(async () => {
      srv.server.closeAllConnections();
      await new Promise((r) => srv.server.close(r));
      fs.rmSync(tmp, { recursive: true, force: true });
    });

    /** Runs kubectl against the fake server; bounded by --request-timeout and a kill timer. */
    const kubectl = (args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> =>
      new Promise((resolve) => {
        const child = execFile(
          k.bin,
          ['--server', `http://127.0.0.1:${srv.port}`, '--request-timeout=20s', `--cache-dir=${path.join(tmp, 'cache')}`, ...args],
          { env: { PATH: process.env.PATH, HOME: tmp, KUBECONFIG: path.join(tmp, 'kubeconfig') }, timeout: 60_000, killSignal: 'SIGKILL' },
          (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
        if (stdin !== undefined) child.stdin!.end(stdin);
      });

    const explain = async (what: string) => {
      const r = await kubectl(['explain', what]);
      assert.equal(r.code, 0, `kubectl explain ${what}: ${r.stderr}`);
      return r.stdout;
    };

    test('explain pod.spec.containers', async () => {
      const out = await explain('pod.spec.containers');
      assert.match(out, /KIND:\s+Pod/);
      assert.match(out, /VERSION:\s+v1/);
      assert.match(out, /FIELD:\s+containers <\[\]Container>/);
      assert.match(out, /DESCRIPTION:/);
      assert.match(out, /List of containers belonging to the pod/);
      assert.match(out, /FIELDS:/);
      assert.match(out, /\n {2}image\s+<string>/);
      assert.match(out, /\n {2}name\s+<string> -required-/);
      assert.match(out, /\n {2}ports\s+<\[\]ContainerPort>/);
      assert.match(out, /Container image name/);
    });

    test('explain deployment.spec.strategy and svc.spec.ports', async () => {
      const strategy = await explain('deployment.spec.strategy');
      assert.match(strategy, /GROUP:\s+apps/);
      assert.match(strategy, /KIND:\s+Deployment/);
      assert.match(strategy, /rollingUpdate\s+<RollingUpdateDeployment>/);
      assert.match(strategy, /\n {2}type\s+<string>/);
      const ports = await explain('svc.spec.ports');
      assert.match(ports, /KIND:\s+Service/);
      assert.match(ports, /FIELD:\s+ports <\[\]ServicePort>/);
      assert.match(ports, /targetPort\s+<IntOrString>/);
      assert.match(ports, /port\s+<integer> -required-/);
    });

    test('explain a whole kind, an apps kind nested field and a networking kind', async () => {
      assert.match(await explain('pods'), /Pod is a collection of containers that can run on a host/);
      assert.match(await explain('deploy.spec.template.spec.containers.resources'), /limits\s+<map\[string\]Quantity>/);
      assert.match(await explain('ingress.spec.rules'), /KIND:\s+Ingress/);
    });

    test('apply --dry-run=client validates against /openapi/v2 (protobuf)', async () => {
      const good = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: busybox\n    ports:\n    - containerPort: 80\n';
      const ok = await kubectl(['apply', '--dry-run=client', '-n', 'default', '-f', '-'], good);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /pod\/p created \(dry run\)/);
      assert.ok(
        srv.log.some((l) => l.url.startsWith('/openapi/v2') && l.accept.includes('protobuf')),
        'kubectl fetched the protobuf v2 document',
      );
      const bad = good.replace('image: busybox', 'image: busybox\n    imagee: typo');
      const rejected = await kubectl(['apply', '--dry-run=client', '-n', 'default', '-f', '-'], bad);
      assert.notEqual(rejected.code, 0);
      assert.match(rejected.stderr, /unknown field "imagee"|unknown field "spec\.containers\[0\]\.imagee"/);
      const missing = await kubectl(['create', '--dry-run=client', '-f', '-'], good.replace('  - name: c\n    image', '  - image'));
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /missing required field "name"/);
      const deploy = await kubectl(
        ['create', '--dry-run=client', '-o', 'name', '-f', '-'],
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  selector:\n    matchLabels: {app: d}\n  strategy:\n    rollingUpdate: {maxSurge: 1, maxUnavailable: 25%}\n  template:\n    metadata:\n      labels: {app: d}\n    spec:\n      containers:\n      - name: c\n        image: busybox\n        resources: {limits: {cpu: 1, memory: 64Mi}}\n',
      );
      assert.equal(deploy.code, 0, deploy.stderr);
      assert.match(deploy.stdout, /deployment\.apps\/d/);
    });
  });
}
