// The API server's life: persistence across restarts, authentication, watch
// resumption and 410 Gone, and the bootstrap objects.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { NODE_IP, kubectlPath, withCluster } from '../helpers/cluster.js';

test('objects, allocations and the CA survive a restart; old watch versions get 410', async () => {
  await withCluster(async (c) => {
    await c.k(['create', 'configmap', 'keep', '--from-literal=a=1']);
    const svc = JSON.parse(await c.k(['create', 'service', 'nodeport', 'np', '--tcp=80:8080', '-o', 'json']));
    const ca = fs.readFileSync(path.join(c.dataDir, 'tls', 'ca.crt'), 'utf8');
    await c.restart();
    assert.equal(fs.readFileSync(path.join(c.dataDir, 'tls', 'ca.crt'), 'utf8'), ca, 'the CA is kept');
    assert.match(await c.k(['get', 'configmap', 'keep', '-o', 'jsonpath={.data.a}']), /^1$/);
    const again = JSON.parse(await c.k(['get', 'service', 'np', '-o', 'json']));
    assert.equal(again.spec.clusterIP, svc.spec.clusterIP);
    // The allocation is still held after the restart: asking for the same IP and port fails.
    const dup = await c.kubectl(['create', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'dup' },
        spec: { type: 'NodePort', clusterIP: svc.spec.clusterIP, ports: [{ port: 80, nodePort: svc.spec.ports[0].nodePort }] },
      }),
      allowFailure: true,
    });
    assert.match(dup.stderr, /provided IP is already allocated|provided port is already allocated/);

    // A watch from before the restart is older than the cache's window: an ERROR event with a 410 Status.
    const r = await c.k(['get', '--raw', '/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=1&timeoutSeconds=2']);
    const ev = JSON.parse(r.trim().split('\n')[0]);
    assert.equal(ev.type, 'ERROR');
    assert.equal(ev.object.code, 410);
    assert.equal(ev.object.reason, 'Expired');
    assert.match(ev.object.message, /too old resource version: 1 \(\d+\)/);

    // A watch from a current version replays later changes and ends at timeoutSeconds.
    // (kubectl get -o json wraps items in a client-side List without a resourceVersion: ask the API.)
    const rv = JSON.parse(await c.k(['get', '--raw', '/api/v1/namespaces/default/configmaps'])).metadata.resourceVersion;
    await c.k(['create', 'configmap', 'later']);
    const w = await c.k(['get', '--raw', `/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}&timeoutSeconds=1`]);
    const events = w.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(events.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'later']]);
  });
});

test('authentication: client certificates, static tokens, and 401 for anonymous requests', async () => {
  await withCluster(
    async (c) => {
      const server = (await c.k(['config', 'view', '-o', 'jsonpath={.clusters[0].cluster.server}'])).trim();
      const ca = path.join(c.dataDir, 'tls', 'ca.crt');
      const empty = path.join(c.dataDir, 'empty.kubeconfig');
      fs.writeFileSync(empty, 'apiVersion: v1\nkind: Config\n');
      const bare = ['--kubeconfig', empty, '--server', server, '--certificate-authority', ca, '--request-timeout=10s'];
      // kubectl prompts for a user when it has no credentials, so ask anonymously with a raw request.
      const raw = async (p: string) => {
        const script = `const https=require('https');https.get(${JSON.stringify(server + p)},{ca:require('fs').readFileSync(${JSON.stringify(ca)})},r=>{let b='';r.on('data',d=>b+=d);r.on('end',()=>console.log(r.statusCode+' '+b))})`;
        return (await c.scenario.exec(process.execPath, ['-e', script])).stdout.trim();
      };
      const anon = await raw('/api/v1/namespaces');
      assert.match(anon, /^401 /);
      assert.deepEqual(JSON.parse(anon.slice(4)), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
      for (const p of ['/healthz', '/livez', '/readyz']) assert.equal(await raw(p), '200 ok', p);
      assert.match(await raw('/version'), /^200 \{.*"gitVersion":"v1\.33\.0"/);
      const wrong = await c.scenario.exec(kubectlPath(), [...bare, '--token', 'nope', 'get', 'ns'], { allowFailure: true });
      assert.match(wrong.stderr, /Unauthorized/);
      const ok = await c.scenario.exec(kubectlPath(), [...bare, '--token', 's3cr3t-token', 'get', 'ns', '-o', 'name']);
      assert.match(ok.stdout, /namespace\/kube-system/);
    },
    { tokenFile: 's3cr3t-token,alice,uid-1,"devs,ops"\n' },
  );
});

test('bootstrap: default namespaces and the kubernetes service with its endpoints', async () => {
  await withCluster(async (c) => {
    const ns = await c.k(['get', 'ns', '-o', 'name']);
    for (const n of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) assert.match(ns, new RegExp(`namespace/${n}\\n`));
    const ep = JSON.parse(await c.k(['get', 'endpoints', 'kubernetes', '-o', 'json']));
    assert.equal(ep.subsets[0].ports[0].name, 'https');
    assert.equal(ep.subsets[0].addresses[0].ip, NODE_IP, 'the endpoints point at the advertised node address');
    const del = await c.kubectl(['delete', 'ns', 'kube-system'], { allowFailure: true });
    assert.match(del.stderr, /namespaces "kube-system" is forbidden: this namespace may not be deleted/);
    const missing = await c.kubectl(['create', 'configmap', 'x', '-n', 'nowhere'], { allowFailure: true });
    assert.match(missing.stderr, /namespaces "nowhere" not found/);
  });
});
