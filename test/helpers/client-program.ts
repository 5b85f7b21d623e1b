// Run inside a test's network namespace by test/unit/client/*.test.ts:
//   node client-program.js <kubeconfig> <scenario> [args...]
// exercises src/client against a real k8ts server and prints JSON lines.
import { EventRecorder } from '../../src/client/events.js';
import { Informer } from '../../src/client/informer.js';
import { LeaderElector } from '../../src/client/leaderelection.js';
import { ApiClient, ApiStatusError, type KObject } from '../../src/client/rest.js';

const [kubeconfig, scenario, ...args] = process.argv.slice(2);
const say = (o: object): void => void process.stdout.write(JSON.stringify(o) + "\n");
const client = ApiClient.fromKubeconfig(kubeconfig!);

/** The Status of a failed call, or {ok:true}. */
async function outcome(fn: () => Promise<unknown>): Promise<object> {
  try {
    await fn();
    return { ok: true };
  } catch (e) {
    if (e instanceof ApiStatusError) return { code: e.code, reason: e.reason, message: e.message, kind: e.status.kind };
    return { error: String(e) };
  }
}

async function crud(): Promise<void> {
  const ns = 'default';
  const cm = await client.create('/configmaps', { metadata: { name: 'c1', namespace: ns, labels: { app: 'x' } }, data: { a: '1' } });
  await client.create('configmaps', { metadata: { name: 'c2', labels: { app: 'y' } }, data: { a: '2' } });
  await client.create('/configmaps', { metadata: { name: 'c3', labels: { app: 'x' } } });
  const got = await client.get('/configmaps', ns, 'c1');
  const byLabel = await client.list('/configmaps', { namespace: ns, labelSelector: 'app=x' });
  const byField = await client.list('/configmaps', { namespace: ns, fieldSelector: 'metadata.name=c2' });
  const page1 = await client.list('/configmaps', { namespace: ns, limit: 2, labelSelector: 'app' });
  const page2 = await client.list('/configmaps', { namespace: ns, limit: 2, labelSelector: 'app', continue: page1.metadata.continue });
  const all = await client.listAll('/configmaps', { namespace: ns, pageSize: 1, labelSelector: 'app' });
  const updated = await client.update('/configmaps', { ...got, data: { a: 'updated' } });
  const staleUpdate = await outcome(() => client.update('/configmaps', { ...got, data: { a: 'stale' } }));
  const notFound = await outcome(() => client.get('/configmaps', ns, 'missing'));
  const exists = await outcome(() => client.create('/configmaps', { metadata: { name: 'c1' } }));
  const invalid = await outcome(() => client.create('/configmaps', { metadata: { name: 'Bad_Name' } }));
  const merge = await client.patch('/configmaps', ns, 'c1', { data: { m: 'merge' } });
  const strategic = await client.patch('/configmaps', ns, 'c1', { data: { s: 'strategic' } }, { type: 'strategic' });
  const json = await client.patch('/configmaps', ns, 'c1', [{ op: 'add', path: '/data/j', value: 'json' }], { type: 'json' });
  const apply = await client.patch(
    '/configmaps',
    ns,
    'applied',
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'applied', namespace: ns }, data: { k: 'v' } },
    { type: 'apply', fieldManager: 'client-test' },
  );
  // A status subresource: a Deployment's status through updateStatus.
  const dep = await client.create('apps/deployments', {
    metadata: { name: 'd1' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'd1' } },
      template: { metadata: { labels: { app: 'd1' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
    },
  });
  const depStatus = await client.updateStatus('apps/deployments', { ...dep, spec: { ...dep.spec, replicas: 5 }, status: { observedGeneration: 1, replicas: 0 } });
  // Namespaced resource listed across namespaces; cluster-scoped resource.
  const namespaces = await client.list('/namespaces');
  // Watch: from the list's resourceVersion, see a change made after it.
  const list = await client.list('/configmaps', { namespace: ns });
  const w = await client.watch('/configmaps', { namespace: ns, resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: true });
  await client.patch('/configmaps', ns, 'c2', { data: { a: 'watched' } });
  let watched: KObject | undefined;
  for await (const ev of w) {
    if (ev.type === 'MODIFIED') {
      watched = { type: ev.type, name: ev.object.metadata?.name, a: ev.object.data?.a };
      break;
    }
  }
  w.close();
  // A watch from an old resourceVersion still in the server's window replays what followed it.
  const old = await client.watch('/configmaps', { namespace: ns, resourceVersion: '1', timeoutSeconds: 2 });
  const replayed: KObject[] = [];
  for await (const ev of old) replayed.push({ type: ev.type, name: ev.object.metadata?.name });
  // timeoutSeconds: the server ends the watch by itself.
  const t0 = Date.now();
  const timed = await client.watch('/configmaps', { namespace: ns, resourceVersion: list.metadata.resourceVersion, timeoutSeconds: 1 });
  for await (const _ of timed) void _;
  const timedMs = Date.now() - t0;
  // Delete with DeleteOptions: a failed precondition, then a real delete.
  const precondition = await outcome(() => client.delete('/configmaps', ns, 'c3', { preconditions: { uid: 'not-the-uid' } }));
  const deleted = await client.delete('/configmaps', ns, 'c3', { gracePeriodSeconds: 0, propagationPolicy: 'Background' });
  const afterDelete = await outcome(() => client.get('/configmaps', ns, 'c3'));
  say({
    created: { name: cm.metadata?.name, uid: !!cm.metadata?.uid },
    got: got.data,
    byLabel: byLabel.items.map((i) => i.metadata?.name),
    byField: byField.items.map((i) => i.metadata?.name),
    page1: { names: page1.items.map((i) => i.metadata?.name), cont: !!page1.metadata.continue },
    page2: page2.items.map((i) => i.metadata?.name),
    all: all.items.map((i) => i.metadata?.name),
    updated: updated.data,
    staleUpdate,
    notFound,
    exists,
    invalid,
    merge: merge.data,
    strategic: strategic.data,
    json: json.data,
    apply: { data: apply.data, managers: (apply.metadata?.managedFields ?? []).map((m: KObject) => m.manager) },
    depStatus: { replicas: depStatus.spec?.replicas, status: depStatus.status },
    namespaces: namespaces.items.map((i) => i.metadata?.name),
    watched,
    replayed,
    timedMs,
    precondition,
    deleted: deleted.kind,
    afterDelete,
  });
}

async function informer(): Promise<void> {
  const inf = new Informer(client, '/configmaps', { namespace: 'default', labelSelector: 'informer=yes' });
  inf.addEventHandler({
    onAdd: (o) => say({ add: o.metadata?.name, data: o.data, lists: inf.listCount }),
    onUpdate: (a, b) => say({ update: b.metadata?.name, data: b.data, old: a.data, lists: inf.listCount }),
    onDelete: (o) => say({ delete: o.metadata?.name, lists: inf.listCount }),
  });
  inf.start();
  await inf.waitForSync(20_000);
  say({ synced: inf.hasSynced(), rv: inf.lastResourceVersion, cached: inf.lister.list('default').map((o) => o.metadata?.name) });
  // Report the lister's view on request (a line on stdin).
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d: string) => {
    for (const line of d.split('\n').filter(Boolean)) {
      say({ lister: line, names: inf.lister.list('default').map((o) => o.metadata?.name).sort(), get: inf.lister.get('default', line)?.data ?? null, lists: inf.listCount });
    }
  });
  process.on('SIGTERM', () => void inf.stop().then(() => process.exit(0)));
}

async function resync(): Promise<void> {
  await client.create('/configmaps', { metadata: { name: 'r1' } });
  await client.create('/configmaps', { metadata: { name: 'r2' } });
  const inf = new Informer(client, '/configmaps', { namespace: 'default', resyncPeriodMs: 100 });
  const resynced = new Map<string, number>();
  inf.onUpdate((a, b) => {
    if (a === b) resynced.set(b.metadata!.name, (resynced.get(b.metadata!.name) ?? 0) + 1);
  });
  inf.start();
  await inf.waitForSync(10_000);
  const deadline = Date.now() + 10_000;
  while (!((resynced.get('r1') ?? 0) >= 2 && (resynced.get('r2') ?? 0) >= 2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await inf.stop();
  say({ resynced: Object.fromEntries(resynced), stopped: true });
}

async function events(): Promise<void> {
  const target = await client.create('/configmaps', { metadata: { name: 'ev-target' } });
  const rec = new EventRecorder(client, { component: 'client-test', host: 'node-a' });
  await rec.event(target, 'Normal', 'Synced', 'synced the config map');
  await rec.event(target, 'Normal', 'Synced', 'synced the config map');
  await rec.eventf(target, 'Warning', 'Failed', 'could not do %s', 'it');
  const list = await client.list('/events', { namespace: 'default', fieldSelector: 'involvedObject.name=ev-target' });
  say({
    events: list.items
      .map((e) => ({ reason: e.reason, type: e.type, count: e.count, message: e.message, source: e.source, kind: e.involvedObject?.kind, uid: e.involvedObject?.uid === target.metadata?.uid, first: e.firstTimestamp, last: e.lastTimestamp }))
      .sort((a, b) => String(a.reason).localeCompare(String(b.reason))),
  });
}

async function elector(identity: string): Promise<void> {
  const el = new LeaderElector({
    client,
    namespace: 'default',
    name: 'client-test-lock',
    identity,
    leaseDurationMs: Number(args[1] ?? 2000),
    renewDeadlineMs: Number(args[2] ?? 1500),
    retryPeriodMs: Number(args[3] ?? 250),
    onStartedLeading: () => void say({ leading: identity, at: Date.now() }),
    onStoppedLeading: () => say({ stopped: identity, at: Date.now() }),
    onNewLeader: (who) => say({ observed: who, by: identity }),
  });
  process.on('SIGTERM', () => void el.stop().then(() => process.exit(0)));
  say({ started: identity });
  await el.run();
}

switch (scenario) {
  case 'crud':
    await crud();
    break;
  case 'informer':
    await informer();
    break;
  case 'resync':
    await resync();
    break;
  case 'events':
    await events();
    break;
  case 'elector':
    await elector(args[0]!);
    break;
  default:
    throw new Error(`unknown scenario ${scenario}`);
}
if (scenario !== 'informer' && scenario !== 'elector') client.close();
