// API semantics through the real kubectl: dry-run, finalizers, field
// validation, paging, bookmarks, optimistic concurrency, and /metrics.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withCluster } from '../helpers/cluster.js';

const cm = (name: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...extra }, data: { a: '1' } });

test('dry-run, finalizers, fieldValidation, paging, conflicts, bookmarks, metrics', async () => {
  await withCluster(async (c) => {
    const k = (args: string[], input?: string) => c.k(args, { input });
    // Dry run: validated and answered, never stored.
    assert.match(await k(['apply', '--dry-run=server', '-f', '-'], cm('dry')), /configmap\/dry created \(server dry run\)/);
    assert.match((await c.kubectl(['get', 'cm', 'dry'], { allowFailure: true })).stderr, /configmaps "dry" not found/);

    // Finalizers hold deletion until removed.
    await k(['apply', '-f', '-'], cm('held', { finalizers: ['example.com/hold'] }));
    await k(['delete', 'cm', 'held', '--wait=false']);
    const held = JSON.parse(await k(['get', 'cm', 'held', '-o', 'json']));
    assert.ok(held.metadata.deletionTimestamp, 'marked for deletion');
    await k(['patch', 'cm', 'held', '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    assert.match((await c.kubectl(['get', 'cm', 'held'], { allowFailure: true })).stderr, /not found/);

    // fieldValidation: Strict refuses unknown fields, Warn warns, Ignore drops them.
    const bad = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fv' }, data: { a: '1' }, bogus: 1 });
    const strict = await c.kubectl(['create', '--raw', '/api/v1/namespaces/default/configmaps?fieldValidation=Strict', '-f', '-'], { input: bad, allowFailure: true });
    assert.match(strict.stderr, /strict decoding error: unknown field "bogus"/);
    const warn = await c.kubectl(['create', '--raw', '/api/v1/namespaces/default/configmaps?fieldValidation=Warn', '-f', '-'], { input: bad });
    assert.match(warn.stderr, /Warning: unknown field "bogus"/);
    assert.equal(JSON.parse(await k(['get', 'cm', 'fv', '-o', 'json'])).bogus, undefined);

    // Stale resourceVersion: 409.
    const cur = JSON.parse(await k(['get', 'cm', 'fv', '-o', 'json']));
    await k(['label', 'cm', 'fv', 'x=1']);
    const stale = await c.kubectl(['replace', '-f', '-'], { input: JSON.stringify(cur), allowFailure: true });
    assert.match(stale.stderr, /Operation cannot be fulfilled on configmaps "fv": the object has been modified/);

    // Paging with limit/continue (kubectl --chunk-size) returns every object once.
    for (let i = 0; i < 7; i++) await k(['create', 'cm', `page-${i}`]);
    const paged = await k(['get', 'cm', '--chunk-size=2', '-o', 'name']);
    assert.equal(paged.split('\n').filter((l) => l.startsWith('configmap/page-')).length, 7);
    const raw = JSON.parse(await k(['get', '--raw', '/api/v1/namespaces/default/configmaps?limit=3']));
    assert.equal(raw.items.length, 3);
    assert.ok(raw.metadata.continue);

    // Initial events end with a bookmark when asked (sendInitialEvents).
    const w = await k(['get', '--raw', '/api/v1/namespaces/default/configmaps?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1']);
    const evs = w.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(evs.filter((e) => e.type === 'ADDED').length >= 8);
    const last = evs[evs.length - 1];
    assert.equal(last.type, 'BOOKMARK');
    assert.equal(last.object.metadata.annotations['k8s.io/initial-events-end'], 'true');

    // Metrics in Prometheus text format.
    const metrics = await k(['get', '--raw', '/metrics']);
    assert.match(metrics, /^apiserver_request_total\{verb="POST",group="",version="v1",resource="configmaps",.*code="201"\} \d+$/m);
    assert.match(metrics, /^apiserver_request_duration_seconds_bucket\{.*le="\+Inf"\} \d+$/m);
  });
});
