import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PatchError } from '../../../src/api/patch/errors.js';
import { DEFINITIONS, RESOURCE_TYPES, definitionExtensions, fieldSchema, isAtomicMap, listMeta, openAPIExtensions } from '../../../src/api/patch/schema.js';
import { jsonMergePatch, strategicMergePatch } from '../../../src/api/patch/strategic.js';
import { RESOURCES, grOf } from '../../../src/api/registry.js';

type Obj = Record<string, any>;

const pod = (containers: Obj[], extra: Obj = {}): Obj => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'default', labels: { app: 'web' } },
  spec: { containers, ...extra },
});

const names = (xs: Obj[]) => xs.map((x) => x.name);
const smp = (gr: string, original: unknown, patch: unknown): Obj => strategicMergePatch(gr, original, patch);

function throwsPatchError(fn: () => unknown, code: number, message: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof PatchError, `expected PatchError, got ${e}`);
    assert.equal(e.code, code);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

describe('schema', () => {
  test('every served resource has a root definition, and every reference resolves', () => {
    for (const r of RESOURCES) {
      if (r.kind === 'Binding') continue;
      assert.ok(RESOURCE_TYPES[grOf(r)], `no patch schema for ${grOf(r)}`);
    }
    for (const [name, def] of Object.entries(DEFINITIONS)) {
      for (const [f, s] of Object.entries(def.fields)) {
        for (const ref of [s.ref, s.items, s.values]) {
          if (ref && ref !== 'scalar') assert.ok(DEFINITIONS[ref], `${name}.${f} refers to unknown ${ref}`);
        }
      }
    }
  });

  test('pod template lists: merge keys, strategies and SSA list types as upstream tags them', () => {
    for (const gr of ['apps/deployments', 'apps/replicasets', 'apps/statefulsets', 'apps/daemonsets', 'batch/jobs']) {
      assert.deepEqual(listMeta(gr, ['spec', 'template', 'spec', 'containers']), {
        strategy: 'merge',
        patchStrategy: 'merge',
        mergeKey: 'name',
        listType: 'map',
        mapKeys: ['name'],
      });
    }
    const p = (...path: string[]) => listMeta('/pods', path);
    assert.deepEqual(p('spec', 'containers', 'ports'), {
      strategy: 'merge',
      patchStrategy: 'merge',
      mergeKey: 'containerPort',
      listType: 'map',
      mapKeys: ['containerPort', 'protocol'],
    });
    assert.equal(p('spec', 'initContainers', 'env')?.mergeKey, 'name');
    assert.equal(p('spec', 'ephemeralContainers')?.mergeKey, 'name');
    assert.equal(p('spec', 'containers', 'volumeMounts')?.mergeKey, 'mountPath');
    assert.deepEqual(p('spec', 'volumes'), {
      strategy: 'merge',
      retainKeys: true,
      patchStrategy: 'merge,retainKeys',
      mergeKey: 'name',
      listType: 'map',
      mapKeys: ['name'],
    });
    assert.equal(p('spec', 'imagePullSecrets')?.mergeKey, 'name');
    assert.equal(p('spec', 'hostAliases')?.mergeKey, 'ip');
    assert.deepEqual(p('spec', 'tolerations'), { listType: 'atomic' });
    assert.deepEqual(p('spec', 'topologySpreadConstraints')?.mapKeys, ['topologyKey', 'whenUnsatisfiable']);
    assert.equal(p('spec', 'topologySpreadConstraints')?.mergeKey, 'topologyKey');
    assert.deepEqual(p('spec', 'containers', 'command'), { listType: 'atomic' });
    assert.deepEqual(p('status', 'conditions')?.mapKeys, ['type']);
    assert.equal(p('status', 'podIPs')?.mergeKey, 'ip');
    assert.deepEqual(p('status', 'hostIPs'), { strategy: 'merge', patchStrategy: 'merge', mergeKey: 'ip', listType: 'atomic' });
    assert.deepEqual(p('status', 'containerStatuses'), { listType: 'atomic' });
    assert.deepEqual(p('metadata', 'finalizers'), { strategy: 'merge', patchStrategy: 'merge', listType: 'set' });
    assert.deepEqual(p('metadata', 'ownerReferences')?.mapKeys, ['uid']);
    assert.equal(p('metadata', 'ownerReferences')?.mergeKey, 'uid');
    assert.equal(p('spec', 'nodeName'), undefined);
  });

  test('other kinds', () => {
    assert.deepEqual(listMeta('/services', ['spec', 'ports']), {
      strategy: 'merge',
      patchStrategy: 'merge',
      mergeKey: 'port',
      listType: 'map',
      mapKeys: ['port', 'protocol'],
    });
    assert.deepEqual(listMeta('/nodes', ['spec', 'taints']), { listType: 'atomic' });
    assert.deepEqual(listMeta('/nodes', ['spec', 'podCIDRs']), { strategy: 'merge', patchStrategy: 'merge', listType: 'set' });
    assert.equal(listMeta('/nodes', ['status', 'addresses'])?.mergeKey, 'type');
    assert.equal(listMeta('/serviceaccounts', ['secrets'])?.mergeKey, 'name');
    assert.deepEqual(listMeta('/namespaces', ['spec', 'finalizers']), { listType: 'atomic' });
    assert.deepEqual(listMeta('batch/jobs', ['status', 'conditions']), { strategy: 'merge', patchStrategy: 'merge', mergeKey: 'type', listType: 'atomic' });
    assert.deepEqual(listMeta('discovery.k8s.io/endpointslices', ['endpoints']), { listType: 'atomic' });
    assert.deepEqual(listMeta('discovery.k8s.io/endpointslices', ['endpoints', 'addresses']), { listType: 'set' });
    for (const gr of ['/services', '/nodes', '/namespaces', 'apps/deployments', 'apps/statefulsets', 'apps/daemonsets', 'apps/replicasets']) {
      assert.equal(listMeta(gr, ['status', 'conditions'])?.mergeKey, 'type', gr);
    }
    assert.equal(fieldSchema('apps/deployments', ['spec', 'strategy'])?.patchStrategy, 'retainKeys');
  });

  test('atomic maps and structs', () => {
    assert.equal(isAtomicMap('apps/deployments', ['spec', 'selector']), true);
    assert.equal(isAtomicMap('/pods', ['spec', 'nodeSelector']), true);
    assert.equal(isAtomicMap('/services', ['spec', 'selector']), true);
    assert.equal(isAtomicMap('/pods', ['spec', 'affinity', 'nodeAffinity', 'requiredDuringSchedulingIgnoredDuringExecution']), true);
    assert.equal(isAtomicMap('apps/controllerrevisions', ['data']), true);
    assert.equal(isAtomicMap('/pods', ['metadata', 'labels']), false);
    assert.equal(isAtomicMap('/configmaps', ['data']), false);
    assert.equal(isAtomicMap('/pods', ['spec', 'containers', 'resources', 'limits']), false);
  });

  test('OpenAPI extensions come from the same table', () => {
    assert.deepEqual(openAPIExtensions(DEFINITIONS['io.k8s.api.core.v1.Container'].fields.ports), {
      'x-kubernetes-patch-strategy': 'merge',
      'x-kubernetes-patch-merge-key': 'containerPort',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['containerPort', 'protocol'],
    });
    assert.deepEqual(openAPIExtensions(DEFINITIONS['io.k8s.api.core.v1.ServiceSpec'].fields.selector), { 'x-kubernetes-map-type': 'atomic' });
    assert.deepEqual(definitionExtensions('io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector'), { 'x-kubernetes-map-type': 'atomic' });
    assert.deepEqual(definitionExtensions('io.k8s.api.core.v1.PodSpec'), {});
  });
});

describe('strategic merge patch', () => {
  test('containers merge by name; a new container comes before server-only ones', () => {
    const orig = pod([{ name: 'nginx', image: 'nginx-1.0' }]);
    // The documented example: adding a container does not replace the list.
    const out = smp('/pods', orig, { spec: { containers: [{ name: 'log-tailer', image: 'log-tailer-1.0' }] } });
    assert.deepEqual(out.spec.containers, [
      { name: 'log-tailer', image: 'log-tailer-1.0' },
      { name: 'nginx', image: 'nginx-1.0' },
    ]);
    // Changing one container touches only it.
    const two = smp('/pods', out, { spec: { containers: [{ name: 'nginx', image: 'nginx-1.1' }] } });
    assert.deepEqual(two.spec.containers, [
      { name: 'log-tailer', image: 'log-tailer-1.0' },
      { name: 'nginx', image: 'nginx-1.1' },
    ]);
    // Inputs are not modified.
    assert.deepEqual(orig.spec.containers, [{ name: 'nginx', image: 'nginx-1.0' }]);
  });

  test('the patch order wins for the items it names; server-only items keep their place', () => {
    const orig = pod([{ name: '1' }, { name: '2', image: 'b' }, { name: '3' }]);
    // upstream's "preserve the order from the patch in a merging list 2"
    const out = smp('/pods', orig, {
      spec: {
        containers: [
          { name: '3', image: 'c' },
          { name: '1', image: 'a' },
        ],
      },
    });
    assert.deepEqual(out.spec.containers, [{ name: '2', image: 'b' }, { name: '3', image: 'c' }, { name: '1', image: 'a' }]);
  });

  test('$patch: delete removes a container (every item with that key)', () => {
    const orig = pod([{ name: 'nginx', image: 'nginx' }, { name: 'log-tailer', image: 'lt' }, { name: 'log-tailer', image: 'dup' }]);
    const out = smp('/pods', orig, {
      spec: { containers: [{ name: 'nginx', image: 'nginx-1.0' }, { $patch: 'delete', name: 'log-tailer' }] },
    });
    assert.deepEqual(out.spec.containers, [{ name: 'nginx', image: 'nginx-1.0' }]);
    // Deleting what is not there is a no-op.
    const again = smp('/pods', out, { spec: { containers: [{ $patch: 'delete', name: 'gone' }] } });
    assert.deepEqual(again.spec.containers, [{ name: 'nginx', image: 'nginx-1.0' }]);
  });

  test('$patch: replace on a list element replaces the whole list', () => {
    const orig = pod([{ name: 'a' }, { name: 'b' }]);
    const out = smp('/pods', orig, { spec: { containers: [{ name: 'c', image: 'x' }, { $patch: 'replace' }] } });
    assert.deepEqual(out.spec.containers, [{ name: 'c', image: 'x' }]);
    const none = smp('/pods', orig, { spec: { containers: [{ $patch: 'replace' }] } });
    assert.deepEqual(none.spec.containers, []);
  });

  test('env vars: change, add, delete, and null inside an item', () => {
    const orig = pod([
      {
        name: 'app',
        env: [
          { name: 'A', value: '1' },
          { name: 'B', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'C', value: '3' },
        ],
      },
    ]);
    const out = smp('/pods', orig, {
      spec: {
        containers: [
          {
            name: 'app',
            env: [
              { name: 'A', value: '10' },
              { name: 'B', value: 'plain', valueFrom: null },
              { name: 'D', value: '4' },
              { name: 'C', $patch: 'delete' },
            ],
          },
        ],
      },
    });
    assert.deepEqual(out.spec.containers[0].env, [
      { name: 'A', value: '10' },
      { name: 'B', value: 'plain' },
      { name: 'D', value: '4' },
    ]);
  });

  test('volumeMounts merge by mountPath inside a deployment pod template', () => {
    const orig = {
      spec: {
        replicas: 1,
        template: {
          spec: {
            containers: [{ name: 'app', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
            volumes: [{ name: 'data', emptyDir: {} }],
          },
        },
      },
    };
    const out = smp('apps/deployments', orig, {
      spec: {
        template: {
          spec: {
            containers: [{ name: 'app', volumeMounts: [{ name: 'cfg', mountPath: '/etc/cfg' }, { name: 'data2', mountPath: '/data' }] }],
            volumes: [{ name: 'cfg', configMap: { name: 'c' } }],
          },
        },
      },
    });
    assert.deepEqual(out.spec.template.spec.containers[0].volumeMounts, [
      { name: 'cfg', mountPath: '/etc/cfg' },
      { name: 'data2', mountPath: '/data' },
    ]);
    assert.deepEqual(names(out.spec.template.spec.volumes), ['cfg', 'data']);
    assert.equal(out.spec.replicas, 1);
  });

  test('a volume source switch with $retainKeys inside the list element', () => {
    const orig = pod([{ name: 'a' }], { volumes: [{ name: 'v', emptyDir: {} }] });
    const out = smp('/pods', orig, {
      spec: { volumes: [{ name: 'v', $retainKeys: ['name', 'hostPath'], hostPath: { path: '/tmp' } }] },
    });
    assert.deepEqual(out.spec.volumes, [{ name: 'v', hostPath: { path: '/tmp' } }]);
  });

  test('container ports merge by containerPort alone (upstream: protocol is not part of the merge key)', () => {
    const orig = pod([{ name: 'dns', ports: [{ containerPort: 53, protocol: 'TCP', name: 'dns-tcp' }] }]);
    const out = smp('/pods', orig, {
      spec: { containers: [{ name: 'dns', ports: [{ containerPort: 53, protocol: 'UDP', name: 'dns' }, { containerPort: 9153, protocol: 'TCP' }] }] },
    });
    assert.deepEqual(out.spec.containers[0].ports, [
      { containerPort: 53, protocol: 'UDP', name: 'dns' },
      { containerPort: 9153, protocol: 'TCP' },
    ]);
  });

  test('service ports merge by port', () => {
    const svc = { spec: { selector: { app: 'a' }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] } };
    const out = smp('/services', svc, { spec: { ports: [{ port: 80, targetPort: 9090 }, { name: 'https', port: 443 }], selector: { tier: 'web' } } });
    assert.deepEqual(out.spec.ports, [
      { name: 'http', port: 80, targetPort: 9090, protocol: 'TCP' },
      { name: 'https', port: 443 },
    ]);
    // Strategic merge patch merges even atomic maps (map-type is an apply notion).
    assert.deepEqual(out.spec.selector, { app: 'a', tier: 'web' });
  });

  test('finalizers: set union, $deleteFromPrimitiveList, $setElementOrder', () => {
    const obj = { metadata: { name: 'x', finalizers: ['a', 'b', 'c'] } };
    const union = smp('/configmaps', obj, { metadata: { finalizers: ['b', 'd'] } });
    // upstream keeps the patch order for b, d and slots d before c (not on the server).
    assert.deepEqual(union.metadata.finalizers, ['a', 'b', 'd', 'c']);
    const del = smp('/configmaps', obj, { metadata: { '$deleteFromPrimitiveList/finalizers': ['b', 'c'] } });
    assert.deepEqual(del.metadata.finalizers, ['a']);
    // What kubectl sends to remove "b": the deletion plus the order of what is left.
    const kubectl = smp('/configmaps', obj, {
      metadata: { '$deleteFromPrimitiveList/finalizers': ['b'], '$setElementOrder/finalizers': ['a', 'c'] },
    });
    assert.deepEqual(kubectl.metadata.finalizers, ['a', 'c']);
    const reorder = smp('/configmaps', obj, { metadata: { '$setElementOrder/finalizers': ['b', 'c', 'a'] } });
    assert.deepEqual(reorder.metadata.finalizers, ['b', 'c', 'a']);
    const dedupe = smp('/configmaps', obj, { metadata: { finalizers: ['a', 'a'] } });
    assert.deepEqual(dedupe.metadata.finalizers, ['a', 'b', 'c']);
  });

  test('$setElementOrder on containers, with a change and a deletion', () => {
    const orig = pod([{ name: 'a', image: '1' }, { name: 'b', image: '1' }, { name: 'c', image: '1' }]);
    const out = smp('/pods', orig, {
      spec: {
        '$setElementOrder/containers': [{ name: 'c' }, { name: 'a' }],
        containers: [{ name: 'a', image: '2' }, { name: 'b', $patch: 'delete' }],
      },
    });
    assert.deepEqual(out.spec.containers, [
      { name: 'c', image: '1' },
      { name: 'a', image: '2' },
    ]);
    // An order naming an item that is nowhere is ignored for that item.
    const orig2 = pod([{ name: '1' }, { name: '3' }]);
    const out2 = smp('/pods', orig2, {
      spec: { '$setElementOrder/containers': [{ name: '3' }, { name: '2' }, { name: '1' }], containers: [{ name: '3', image: '3' }, { name: '1', image: '1' }] },
    });
    assert.deepEqual(out2.spec.containers, [
      { name: '3', image: '3' },
      { name: '1', image: '1' },
    ]);
  });

  test('$setElementOrder on a list that is replaced just takes the patch', () => {
    const orig = pod([{ name: 'a' }], { tolerations: [{ key: 'x' }, { key: 'y' }] });
    const out = smp('/pods', orig, { spec: { '$setElementOrder/tolerations': [{ key: 'y' }], tolerations: [{ key: 'y' }] } });
    assert.deepEqual(out.spec.tolerations, [{ key: 'y' }]);
  });

  test('$setElementOrder must agree with the order of the patch list', () => {
    const orig = pod([{ name: '1' }, { name: '3' }, { name: '2' }]);
    throwsPatchError(
      () =>
        smp('/pods', orig, {
          spec: { '$setElementOrder/containers': [{ name: '1' }, { name: '2' }, { name: '3' }], containers: [{ name: '3', image: '3' }, { name: '1', image: '1' }] },
        }),
      500,
      /doesn't match \$setElementOrder list/,
    );
  });

  test('$retainKeys clears the other members of a union (deployment strategy)', () => {
    const deploy = {
      spec: { replicas: 2, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } } },
    };
    const out = smp('apps/deployments', deploy, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } });
    assert.deepEqual(out.spec, { replicas: 2, strategy: { type: 'Recreate' } });
    // Without the directive, a retainKeys map merges like any other.
    const merged = smp('apps/deployments', deploy, { spec: { strategy: { type: 'Recreate' } } });
    assert.deepEqual(merged.spec.strategy, { type: 'Recreate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } });
    // A null in the patch need not be listed; anything else must be.
    const nulled = smp('apps/deployments', deploy, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: null } } });
    assert.deepEqual(nulled.spec.strategy, { type: 'Recreate' });
    throwsPatchError(
      () => smp('apps/deployments', deploy, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: {} } } }),
      400,
      'invalid patch format of retainKeys',
    );
    throwsPatchError(() => smp('apps/deployments', deploy, { spec: { strategy: { $retainKeys: 'type' } } }), 400, 'invalid patch format of retainKeys');
  });

  test('maps: merge, null deletes, $patch replace and delete', () => {
    const orig = pod([{ name: 'a' }]);
    const labels = smp('/pods', orig, { metadata: { labels: { app: null, tier: 'db' } } });
    assert.deepEqual(labels.metadata.labels, { tier: 'db' });
    const replaced = smp('/pods', { ...orig, metadata: { ...orig.metadata, annotations: { a: '1', b: '2' } } }, {
      metadata: { annotations: { $patch: 'replace', c: '3' } },
    });
    assert.deepEqual(replaced.metadata.annotations, { c: '3' });
    // upstream: "$patch: delete" on a map leaves it empty.
    const deleted = smp('/pods', orig, { metadata: { labels: { $patch: 'delete' } } });
    assert.deepEqual(deleted.metadata.labels, {});
    const root = smp('/configmaps', { data: { a: '1' }, metadata: { name: 'x' } }, { $patch: 'replace', data: { b: '2' } });
    assert.deepEqual(root, { data: { b: '2' } });
    throwsPatchError(() => smp('/pods', orig, { metadata: { labels: { $patch: 'merge' } } }), 500, 'unknown patch type: merge in map: map[$patch:merge]');
  });

  test('lists without a merge strategy are replaced (tolerations, command, taints)', () => {
    const orig = pod([{ name: 'a', command: ['sh', '-c', 'x'] }], { tolerations: [{ key: 'a', operator: 'Exists' }] });
    const out = smp('/pods', orig, {
      spec: { tolerations: [{ key: 'b', operator: 'Exists' }], containers: [{ name: 'a', command: ['true'] }] },
    });
    assert.deepEqual(out.spec.tolerations, [{ key: 'b', operator: 'Exists' }]);
    assert.deepEqual(out.spec.containers[0].command, ['true']);
    const node = smp('/nodes', { spec: { taints: [{ key: 'a', effect: 'NoSchedule' }] } }, { spec: { taints: [] } });
    assert.deepEqual(node.spec.taints, []);
  });

  test('status lists: pod conditions merge by type, owner references by uid', () => {
    const p = {
      metadata: { ownerReferences: [{ uid: 'u1', kind: 'ReplicaSet', name: 'rs' }] },
      status: { conditions: [{ type: 'Ready', status: 'False' }, { type: 'PodScheduled', status: 'True' }] },
    };
    const out = smp('/pods', p, {
      metadata: { ownerReferences: [{ uid: 'u2', kind: 'Node', name: 'n' }] },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    });
    assert.deepEqual(out.status.conditions, [{ type: 'Ready', status: 'True' }, { type: 'PodScheduled', status: 'True' }]);
    assert.deepEqual(
      out.metadata.ownerReferences.map((o: Obj) => o.uid),
      ['u2', 'u1'],
    );
  });

  test('fields the original lacks take the patch value, cleaned of directives and nulls', () => {
    const out = smp('/pods', { metadata: { name: 'p' } }, {
      metadata: { labels: { a: '1', b: null } },
      spec: { containers: [{ name: 'x', env: [{ name: 'E', value: 'v' }, { name: 'F', $patch: 'delete' }] }] },
    });
    assert.deepEqual(out, { metadata: { name: 'p', labels: { a: '1' } }, spec: { containers: [{ name: 'x', env: [{ name: 'E', value: 'v' }] }] } });
  });

  test('errors', () => {
    const orig = pod([{ name: 'a' }]);
    throwsPatchError(() => smp('/pods', orig, { spec: { containers: [{ image: 'x' }] } }), 500, 'map: map[image:x] does not contain declared merge key: name');
    throwsPatchError(() => smp('/pods', orig, { spec: { containers: [{ name: 'a', $patch: 'bogus' }] } }), 500, 'unknown patch type: bogus in map: map[$patch:bogus name:a]');
    throwsPatchError(() => smp('/pods', orig, { spec: { containers: [{ $patch: 'merge' }] } }), 500, 'merging lists cannot yet be specified in the patch');
    throwsPatchError(() => smp('/pods', orig, []), 400, 'json: cannot unmarshal array into Go value of type map[string]interface {}');
    throwsPatchError(() => smp('/pods', orig, { metadata: { '$deleteFromPrimitiveList/finalizers': 'a' } }), 400, 'invalid patch format of primitive list');
    throwsPatchError(() => smp('/pods', orig, { metadata: { '$setElementOrder/finalizers': 'a' } }), 400, 'invalid patch format of setElementOrder list');
    throwsPatchError(
      () => smp('/configmaps', { metadata: { finalizers: [['a']] } }, { metadata: { finalizers: [['b']] } }),
      422,
      'lists of lists are not supported',
    );
  });

  test('resources without a schema get JSON merge patch', () => {
    const cr = { apiVersion: 'example.com/v1', kind: 'Widget', spec: { items: [{ name: 'a' }], size: 1, drop: true } };
    const out = smp('example.com/widgets', cr, { spec: { items: [{ name: 'b' }], drop: null } });
    assert.deepEqual(out, { apiVersion: 'example.com/v1', kind: 'Widget', spec: { items: [{ name: 'b' }], size: 1 } });
    assert.deepEqual(jsonMergePatch({ a: { b: 1, c: 2 } }, { a: { b: null, d: [1] } }), { a: { c: 2, d: [1] } });
    assert.equal(jsonMergePatch({ a: 1 }, 'x'), 'x');
  });
});
