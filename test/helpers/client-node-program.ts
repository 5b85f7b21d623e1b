// Run inside the test's network namespace by test/e2e/client-node.test.ts:
// exercises @kubernetes/client-node against k8ts and reports JSON lines.
import * as k8s from '@kubernetes/client-node';

const kc = new k8s.KubeConfig();
kc.loadFromFile(process.argv[2]);
const core = kc.makeApiClient(k8s.CoreV1Api);
const say = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
const ns = 'default';

await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'from-client' }, data: { a: '1' } } });
await core.patchNamespacedConfigMap({ name: 'from-client', namespace: ns, body: [{ op: 'replace', path: '/data/a', value: '2' }] });
const got = await core.readNamespacedConfigMap({ name: 'from-client', namespace: ns });
const list = await core.listNamespacedConfigMap({ namespace: ns });
say({ patched: got.data?.a, list: list.items.map((i) => i.metadata?.name) });

const watch = new k8s.Watch(kc);
await watch.watch(
  `/api/v1/namespaces/${ns}/configmaps`,
  { resourceVersion: list.metadata?.resourceVersion },
  (type, obj) => say({ watch: type, name: obj.metadata?.name }),
  (err) => say({ watchEnded: String(err ?? '') }),
);

const informer = k8s.makeInformer(kc, `/api/v1/namespaces/${ns}/configmaps`, () => core.listNamespacedConfigMap({ namespace: ns }));
informer.on('add', (o) => say({ add: o.metadata?.name }));
informer.on('update', (o) => say({ update: o.metadata?.name, data: o.data }));
informer.on('error', (err) => {
  say({ informerError: String(err) });
  // client-node's documented pattern: restart the informer after an error.
  setTimeout(() => informer.start().catch(() => {}), 500);
});
await informer.start();
say({ ready: true });
