// The API server driven by the real kubectl, oldest and newest supported.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KUBECTL_RANGE, withCluster } from '../helpers/cluster.js';

const fixture = (f: string) => fileURLToPath(new URL(`../../../test/fixtures/${f}`, import.meta.url));

for (const version of KUBECTL_RANGE) {
  describe(`kubectl ${version} against k8ts`, () => {
    test('discovery, version, cluster-info, api-resources, api-versions, explain', async () => {
      await withCluster(async (c) => {
        const k = (args: string[]) => c.k(args, { version });
        assert.match(await k(['version', '-o', 'json']), /"gitVersion": "v1\.33\.0"/);
        assert.match(await k(['cluster-info']), /Kubernetes control plane.* is running at .*https:\/\/127\.0\.0\.1:/);
        const res = await k(['api-resources']);
        assert.match(res, /^pods\s+po\s+v1\s+true\s+Pod$/m);
        assert.match(res, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
        assert.match(res, /^endpointslices\s+discovery\.k8s\.io\/v1\s+true\s+EndpointSlice$/m);
        const versions = await k(['api-versions']);
        for (const gv of ['v1', 'apps/v1', 'coordination.k8s.io/v1', 'discovery.k8s.io/v1', 'events.k8s.io/v1', 'networking.k8s.io/v1']) {
          assert.match(versions, new RegExp(`^${gv.replace('.', '\\.')}$`, 'm'));
        }
        assert.match(await k(['get', 'namespaces']), /^default\s+Active\s+\d+s$/m);
        const svc = await k(['get', 'svc', 'kubernetes', '-o', 'wide']);
        assert.match(svc, /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE\s+SELECTOR$/m);
        assert.match(svc, /^kubernetes\s+ClusterIP\s+10\.96\.0\.1\s+<none>\s+443\/TCP\s+\S+\s+<none>$/m);
        const explain = await k(['explain', 'pod.spec.containers']);
        assert.match(explain, /FIELDS:/);
        assert.match(explain, /image\s/);
      });
    });

    test('apply (client-side and server-side), get, describe, label, annotate, scale, patch, edit, delete', async () => {
      await withCluster(async (c) => {
        const k = (args: string[], input?: string) => c.k(args, { version, input });
        const file = fixture('seed-002/nginx-web.yaml');
        assert.match(await k(['apply', '-f', file]), /deployment\.apps\/superopsmsb-nginx-web created\nservice\/superopsmsb-nginx-web created/);
        assert.match(await k(['apply', '-f', file]), /deployment\.apps\/superopsmsb-nginx-web unchanged/);
        const dep = JSON.parse(await k(['get', 'deploy', 'superopsmsb-nginx-web', '-o', 'json']));
        assert.equal(dep.spec.replicas, 1);
        assert.equal(dep.metadata.generation, 1);
        assert.ok(dep.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);
        assert.equal(dep.spec.strategy.rollingUpdate.maxSurge, '25%', 'defaulted');
        assert.match(await k(['get', 'deploy', '-o', 'jsonpath={.items[0].spec.template.spec.containers[0].name}']), /^nginx$/);
        const yaml = await k(['get', 'deploy', 'superopsmsb-nginx-web', '-o', 'yaml']);
        assert.match(yaml, /^apiVersion: apps\/v1\nkind: Deployment\nmetadata:\n/);
        assert.match(yaml, /^    app: nginx-web$/m);

        const svc = JSON.parse(await k(['get', 'svc', 'superopsmsb-nginx-web', '-o', 'json']));
        assert.match(svc.spec.clusterIP, /^10\.(9[6-9]|1[01]\d)\./, 'a cluster IP from 10.96.0.0/12');
        assert.equal(svc.spec.ports[0].targetPort, 80);

        // Server-side apply changes replicas and takes ownership.
        const ssa = fs.readFileSync(file, 'utf8').split('---')[0].replace('replicas: 1', 'replicas: 2');
        assert.match(await k(['apply', '--server-side', '--force-conflicts', '-f', '-'], ssa), /serverside-applied/);
        assert.equal(JSON.parse(await k(['get', 'deploy', 'superopsmsb-nginx-web', '-o', 'json'])).spec.replicas, 2);

        await k(['label', 'deploy', 'superopsmsb-nginx-web', 'tier=web']);
        await k(['annotate', 'deploy', 'superopsmsb-nginx-web', 'note=hello']);
        assert.match(await k(['get', 'deploy', '-l', 'tier=web', '-o', 'name']), /deployment\.apps\/superopsmsb-nginx-web/);
        assert.equal(await k(['get', 'deploy', '-l', 'tier=db', '-o', 'name']), '');
        assert.match(await k(['scale', 'deploy', 'superopsmsb-nginx-web', '--replicas=3']), /scaled/);
        await k(['patch', 'deploy', 'superopsmsb-nginx-web', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.25"}]}}}}']);
        await k(['patch', 'deploy', 'superopsmsb-nginx-web', '--type=merge', '-p', '{"metadata":{"labels":{"merged":"yes"}}}']);
        await k(['patch', 'deploy', 'superopsmsb-nginx-web', '--type=json', '-p', '[{"op":"add","path":"/spec/minReadySeconds","value":5}]']);
        const after = JSON.parse(await k(['get', 'deploy', 'superopsmsb-nginx-web', '-o', 'json']));
        assert.equal(after.spec.replicas, 3);
        assert.equal(after.spec.template.spec.containers.length, 1, 'strategic merge by name');
        assert.equal(after.spec.template.spec.containers[0].image, 'nginx:1.25');
        assert.equal(after.spec.template.spec.containers[0].ports[0].containerPort, 80);
        assert.equal(after.metadata.labels.merged, 'yes');
        assert.equal(after.spec.minReadySeconds, 5);
        assert.ok(after.metadata.generation >= 3, 'generation bumps on spec changes');

        // kubectl edit with an editor script.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k8ts-editor-'));
        try {
          const editor = path.join(dir, 'editor.sh');
          fs.writeFileSync(editor, '#!/bin/sh\nsed -i "s/note: hello/note: edited/" "$1"\n', { mode: 0o755 });
          await c.kubectl(['edit', 'deploy', 'superopsmsb-nginx-web'], { version, env: { EDITOR: editor, KUBE_EDITOR: editor } });
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
        assert.equal(JSON.parse(await k(['get', 'deploy', 'superopsmsb-nginx-web', '-o', 'json'])).metadata.annotations.note, 'edited');

        const desc = await k(['describe', 'deploy', 'superopsmsb-nginx-web']);
        assert.match(desc, /Name:\s+superopsmsb-nginx-web/);
        assert.match(desc, /Replicas:\s+3 desired/);
        assert.match(await k(['describe', 'svc', 'superopsmsb-nginx-web']), /IP:\s+10\./);

        assert.match(await k(['delete', '-f', file]), /deleted/);
        const gone = await c.kubectl(['get', 'deploy', 'superopsmsb-nginx-web'], { version, allowFailure: true });
        assert.match(gone.stderr, /Error from server \(NotFound\): deployments\.apps "superopsmsb-nginx-web" not found/);
      });
    });

    test('create, expose, field selectors, -A, -w, errors', async () => {
      await withCluster(async (c) => {
        const k = (args: string[], input?: string) => c.k(args, { version, input });
        await k(['create', 'namespace', 'demo']);
        await k(['create', 'deployment', 'web', '--image=nginx', '--replicas=3', '--port=80', '-n', 'demo']);
        await k(['create', 'configmap', 'cfg', '--from-literal=a=1', '-n', 'demo']);
        await k(['create', 'secret', 'generic', 'sec', '--from-literal=p=s3cret', '-n', 'demo']);
        await k(['create', 'service', 'clusterip', 'cip', '--tcp=80:8080', '-n', 'demo']);
        const np = await k(['create', 'service', 'nodeport', 'np', '--tcp=80:8080', '--node-port=30080', '-n', 'demo', '-o', 'json']);
        assert.equal(JSON.parse(np).spec.ports[0].nodePort, 30080);
        const clash = await c.kubectl(['create', 'service', 'nodeport', 'np2', '--tcp=80:8080', '--node-port=30080', '-n', 'demo'], { version, allowFailure: true });
        assert.match(clash.stderr, /spec\.ports\[0\]\.nodePort: Invalid value: 30080: provided port is already allocated/);
        await k(['expose', 'deployment', 'web', '--port=80', '--type=NodePort', '-n', 'demo']);
        const web = JSON.parse(await k(['get', 'svc', 'web', '-n', 'demo', '-o', 'json']));
        assert.deepEqual(web.spec.selector, { app: 'web' });
        assert.ok(web.spec.ports[0].nodePort >= 30000 && web.spec.ports[0].nodePort <= 32767);
        assert.match(await k(['get', 'cm', '-A']), /^demo\s+cfg\s+1\s+\S+$/m);
        assert.match(await k(['get', 'secret', 'sec', '-n', 'demo', '-o', 'jsonpath={.data.p}']), /^czNjcmV0$/);
        assert.match(await k(['get', 'svc', '-n', 'demo', '--field-selector', 'metadata.name=cip', '-o', 'name']), /^service\/cip\n$/);
        const bad = await c.kubectl(['get', 'pods', '--field-selector', 'spec.bogus=x'], { version, allowFailure: true });
        assert.match(bad.stderr, /field label not supported: spec\.bogus/);
        const invalid = await c.kubectl(['create', 'deployment', 'Bad_Name', '--image=x'], { version, allowFailure: true });
        assert.match(invalid.stderr, /Invalid value: "Bad_Name"/);

        // get -w sees a change made while it watches.
        const watch = c.scenario.spawn(process.env.KUBECTL_W ?? (await import('../helpers/cluster.js')).kubectlPath(version), [
          '--kubeconfig', c.kubeconfig, 'get', 'cm', '-n', 'demo', '-w', '--request-timeout=20s',
        ]);
        let seen = '';
        watch.stdout!.on('data', (b) => (seen += b));
        const { poll } = await import('../helpers/poll.js');
        await poll(() => seen.includes('cfg'), { what: 'initial watch output' });
        await k(['create', 'configmap', 'later', '-n', 'demo']);
        await poll(() => /later\s+0\s+\d+s/.test(seen), { what: 'watch to show the new configmap' });
        watch.kill('SIGTERM');

        await k(['delete', 'svc', 'cip', 'np', '-n', 'demo']);
        // Released ports can be allocated again.
        await k(['create', 'service', 'nodeport', 'np3', '--tcp=80:8080', '--node-port=30080', '-n', 'demo']);
      });
    });
  });
}
