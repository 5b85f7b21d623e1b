import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PatchError } from '../../../src/api/patch/errors.js';
import { applyMergePatch, createMergePatch } from '../../../src/api/patch/merge-patch.js';

function fails(doc: unknown, patch: unknown, message: string, code: number): void {
  assert.throws(
    () => applyMergePatch(doc, patch),
    (e: unknown) => e instanceof PatchError && e.message === message && e.code === code,
  );
}

describe('applyMergePatch', () => {
  // RFC 7386 appendix A, for an object target
  const rfc: Array<[unknown, unknown, unknown]> = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [doc, patch, want] of rfc) {
    test(`${JSON.stringify(doc)} + ${JSON.stringify(patch)}`, () => assert.deepEqual(applyMergePatch(doc, patch), want));
  }

  test('RFC 7386 example', () => {
    const doc = { title: 'Goodbye!', author: { givenName: 'John', familyName: 'Doe' }, tags: ['example', 'sample'], content: 'This will be unchanged' };
    const patch = { title: 'Hello!', phoneNumber: '+01-123-456-7890', author: { familyName: null }, tags: ['example'] };
    assert.deepEqual(applyMergePatch(doc, patch), {
      title: 'Hello!',
      author: { givenName: 'John' },
      tags: ['example'],
      content: 'This will be unchanged',
      phoneNumber: '+01-123-456-7890',
    });
  });

  test('a typical kubectl patch', () => {
    const deploy = { metadata: { name: 'd', labels: { app: 'web', old: 'x' } }, spec: { replicas: 1, template: { spec: { containers: [{ name: 'c', image: 'a:1' }] } } } };
    const r = applyMergePatch(deploy, { metadata: { labels: { old: null, new: 'y' } }, spec: { replicas: 3 } });
    assert.deepEqual(r, {
      metadata: { name: 'd', labels: { app: 'web', new: 'y' } },
      spec: { replicas: 3, template: { spec: { containers: [{ name: 'c', image: 'a:1' }] } } },
    });
  });

  test('arrays replace wholesale', () => {
    assert.deepEqual(applyMergePatch({ a: [1, 2, 3] }, { a: [4] }), { a: [4] });
    assert.deepEqual(applyMergePatch({ a: [1] }, { a: [] }), { a: [] });
  });

  test('deleting a missing key is fine; the empty patch changes nothing', () => {
    assert.deepEqual(applyMergePatch({ a: 1 }, { b: null }), { a: 1 });
    assert.deepEqual(applyMergePatch({ a: 1 }, {}), { a: 1 });
  });

  test('nulls inside new values are dropped, except array elements (upstream pruneNulls)', () => {
    assert.deepEqual(applyMergePatch({}, { a: { b: null, c: [null, { d: null, e: 1 }] } }), { a: { c: [null, { e: 1 }] } });
    // a scalar target is replaced by the pruned patch value
    assert.deepEqual(applyMergePatch({ a: 1 }, { a: { b: null, c: 2 } }), { a: { c: 2 } });
    // an object target replaced by an array keeps the array as sent
    assert.deepEqual(applyMergePatch({ a: { x: 1 } }, { a: [{ b: null }] }), { a: [{ b: null }] });
  });

  test('does not modify its arguments or share structure with them', () => {
    const doc = { a: { b: 1 }, keep: { k: 1 } };
    const patch = { a: { c: { d: 2 } } };
    const r = applyMergePatch<unknown>(doc, patch) as { a: { c: { d: number } }; keep: { k: number } };
    assert.deepEqual(doc, { a: { b: 1 }, keep: { k: 1 } });
    assert.deepEqual(patch, { a: { c: { d: 2 } } });
    r.a.c.d = 9;
    r.keep.k = 9;
    assert.equal(patch.a.c.d, 2);
    assert.equal(doc.keep.k, 1);
  });

  test('errors and non-object patches', () => {
    fails({ a: 1 }, null, 'Invalid JSON Patch', 400);
    fails({ a: 1 }, 5, 'Invalid JSON Patch', 400);
    fails({ a: 1 }, 'x', 'Invalid JSON Patch', 400);
    fails({ a: 1 }, true, 'Invalid JSON Patch', 400);
    fails(null, { a: 1 }, 'Invalid JSON Document', 500);
    // an array patch becomes the document (the API server then rejects it)
    assert.deepEqual(applyMergePatch({ a: 1 }, [1, { b: null }]), [1, {}]);
    // a non-object document is replaced by the (pruned) patch
    assert.deepEqual(applyMergePatch([1, 2], { a: 1, b: null }), { a: 1 });
  });

  test('__proto__ is an ordinary key', () => {
    const r = applyMergePatch({}, JSON.parse('{"__proto__":{"polluted":true}}')) as object;
    assert.deepEqual(Object.keys(r), ['__proto__']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe('createMergePatch', () => {
  test('round-trips through applyMergePatch', () => {
    const a = { metadata: { name: 'x', labels: { app: 'web', gone: '1' } }, spec: { replicas: 1, ports: [80], same: { s: 1 } } };
    const b = { metadata: { name: 'x', labels: { app: 'db' } }, spec: { replicas: 1, ports: [80, 443], same: { s: 1 }, new: true } };
    const p = createMergePatch(a, b);
    assert.deepEqual(p, { metadata: { labels: { app: 'db', gone: null } }, spec: { ports: [80, 443], new: true } });
    assert.deepEqual(applyMergePatch(a, p), b);
  });

  test('identical objects give an empty patch; type changes replace', () => {
    assert.deepEqual(createMergePatch({ a: { b: [1] } }, { a: { b: [1] } }), {});
    assert.deepEqual(createMergePatch({ a: { b: 1 } }, { a: 'x' }), { a: 'x' });
    assert.deepEqual(createMergePatch({ a: 'x' }, { a: { b: 1 } }), { a: { b: 1 } });
    assert.deepEqual(createMergePatch({ a: 1 }, {}), { a: null });
  });
});
