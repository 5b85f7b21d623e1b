import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GENERIC_422_MESSAGE, PatchError } from '../../../src/api/patch/errors.js';
import {
  MAX_JSON_PATCH_OPERATIONS,
  applyJsonPatch,
  decodeJsonPatch,
  escapePointerToken,
  formatPointer,
  jsonEqual,
  parsePointer,
  unescapePointerToken,
} from '../../../src/api/patch/json-patch.js';

/** Asserts the patch fails with this message and code. */
function fails(doc: unknown, patch: unknown, message: string, code = 422): PatchError {
  let caught: unknown;
  try {
    applyJsonPatch(doc, patch);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof PatchError, `expected PatchError, got ${String(caught)}`);
  assert.equal(caught.message, message);
  assert.equal(caught.code, code);
  return caught;
}

const base = () => ({
  metadata: { name: 'x', labels: { app: 'web' } },
  spec: { replicas: 1, list: ['a', 'b', 'c'], nested: [{ name: 'n0' }, { name: 'n1' }] },
});

describe('pointers', () => {
  test('escape and unescape tokens', () => {
    assert.equal(escapePointerToken('a/b~c'), 'a~1b~0c');
    assert.equal(unescapePointerToken('a~1b~0c'), 'a/b~c');
    // one pass, left to right: "~01" is "~1", not "/"
    assert.equal(unescapePointerToken('~01'), '~1');
    assert.deepEqual(parsePointer('/metadata/annotations/example.com~1x'), ['metadata', 'annotations', 'example.com/x']);
    assert.deepEqual(parsePointer(''), []);
    assert.deepEqual(parsePointer('/'), ['']);
    assert.equal(formatPointer(['a/b', '~']), '/a~1b/~0');
  });
});

describe('add', () => {
  test('object member, new and existing', () => {
    const r = applyJsonPatch(base(), [
      { op: 'add', path: '/metadata/labels/tier', value: 'front' },
      { op: 'add', path: '/spec/replicas', value: 3 },
    ]);
    assert.deepEqual(r.metadata.labels, { app: 'web', tier: 'front' });
    assert.equal(r.spec.replicas, 3);
  });

  test('escaped keys', () => {
    const r = applyJsonPatch({ metadata: { annotations: {} } }, [
      { op: 'add', path: '/metadata/annotations/example.com~1owner', value: 'me' },
      { op: 'add', path: '/metadata/annotations/a~0b', value: 'tilde' },
    ]);
    assert.deepEqual(r.metadata.annotations, { 'example.com/owner': 'me', 'a~b': 'tilde' });
  });

  test('array insert, append with -, negative index', () => {
    const r = applyJsonPatch(base(), [
      { op: 'add', path: '/spec/list/0', value: 'first' },
      { op: 'add', path: '/spec/list/-', value: 'last' },
      { op: 'add', path: '/spec/list/5', value: 'end' },
      { op: 'add', path: '/spec/list/-1', value: 'neg' },
    ]);
    assert.deepEqual(r.spec.list, ['first', 'a', 'b', 'c', 'last', 'end', 'neg']);
  });

  test('missing value adds null', () => {
    assert.deepEqual(applyJsonPatch({}, [{ op: 'add', path: '/a' }]), { a: null });
  });

  test('does not modify the input or share values with the patch', () => {
    const doc = base();
    const value = { deep: [1] };
    const r = applyJsonPatch(doc, [{ op: 'add', path: '/spec/x', value }]);
    assert.deepEqual(doc, base());
    value.deep.push(2);
    assert.deepEqual((r.spec as Record<string, unknown>).x, { deep: [1] });
  });

  test('errors', () => {
    fails(base(), [{ op: 'add', path: '/nope/x', value: 1 }], 'add operation does not apply: doc is missing path: "/nope/x": missing value');
    fails(base(), [{ op: 'add', path: '/spec/replicas/x', value: 1 }], 'add operation does not apply: doc is missing path: "/spec/replicas/x": missing value');
    fails(base(), [{ op: 'add', path: '', value: {} }], 'add operation does not apply: doc is missing path: "": missing value');
    fails(base(), [{ op: 'add', path: '/spec/list/4', value: 'x' }], "error in add for path: '/spec/list/4': Unable to access invalid index: 4: invalid index referenced");
    fails(base(), [{ op: 'add', path: '/spec/list/-5', value: 'x' }], "error in add for path: '/spec/list/-5': Unable to access invalid index: -5: invalid index referenced");
    fails(
      base(),
      [{ op: 'add', path: '/spec/list/x', value: 'x' }],
      `error in add for path: '/spec/list/x': value was not a proper array index: 'x': strconv.Atoi: parsing "x": invalid syntax`,
    );
    fails(base(), [{ op: 'add', value: 1 }], 'add operation failed to decode path: missing value');
  });
});

describe('remove', () => {
  test('object member and array element', () => {
    const r = applyJsonPatch(base(), [
      { op: 'remove', path: '/metadata/labels/app' },
      { op: 'remove', path: '/spec/list/1' },
      { op: 'remove', path: '/spec/nested/-1' },
    ]);
    assert.deepEqual(r.metadata.labels, {});
    assert.deepEqual(r.spec.list, ['a', 'c']);
    assert.deepEqual(r.spec.nested, [{ name: 'n0' }]);
  });

  test('errors', () => {
    fails(base(), [{ op: 'remove', path: '/metadata/labels/nope' }], "error in remove for path: '/metadata/labels/nope': Unable to remove nonexistent key: nope: missing value");
    fails(base(), [{ op: 'remove', path: '/metadata/nope/x' }], 'remove operation does not apply: doc is missing path: "/metadata/nope/x": missing value');
    fails(base(), [{ op: 'remove', path: '/spec/list/3' }], "error in remove for path: '/spec/list/3': Unable to access invalid index: 3: invalid index referenced");
    fails(base(), [{ op: 'remove', path: '/spec/list/-' }], `error in remove for path: '/spec/list/-': strconv.Atoi: parsing "-": invalid syntax`);
    fails(base(), [{ op: 'remove' }], 'remove operation failed to decode path: operation missing path field: missing value');
    fails(base(), [{ op: 'remove', path: 5 }], 'remove operation failed to decode path: json: cannot unmarshal number into Go value of type string');
  });
});

describe('replace', () => {
  test('object member, array element, whole document', () => {
    const r = applyJsonPatch(base(), [
      { op: 'replace', path: '/spec/replicas', value: 5 },
      { op: 'replace', path: '/spec/list/0', value: 'A' },
      { op: 'replace', path: '/spec/nested/-1/name', value: 'last' },
    ]);
    assert.equal(r.spec.replicas, 5);
    assert.deepEqual(r.spec.list, ['A', 'b', 'c']);
    assert.equal(r.spec.nested[1]!.name, 'last');
    assert.deepEqual(applyJsonPatch(base(), [{ op: 'replace', path: '', value: { a: 1 } }]), { a: 1 });
    // upstream quietly ignores a non-container root replacement
    assert.deepEqual(applyJsonPatch(base(), [{ op: 'replace', path: '', value: 5 }]), base());
  });

  test('a key holding null exists', () => {
    assert.deepEqual(applyJsonPatch({ a: null }, [{ op: 'replace', path: '/a', value: 1 }]), { a: 1 });
  });

  test('errors: the target must exist', () => {
    fails(base(), [{ op: 'replace', path: '/spec/nope', value: 1 }], 'replace operation does not apply: doc is missing key: /spec/nope: missing value');
    fails(base(), [{ op: 'replace', path: '/spec/list/9', value: 1 }], 'replace operation does not apply: doc is missing key: /spec/list/9: missing value');
    fails(base(), [{ op: 'replace', path: '/spec/list/-', value: 1 }], 'replace operation does not apply: doc is missing key: /spec/list/-: missing value');
    fails(base(), [{ op: 'replace', path: '/x/y', value: 1 }], 'replace operation does not apply: doc is missing path: /x/y: missing value');
  });
});

describe('move and copy', () => {
  test('move', () => {
    const r = applyJsonPatch(base(), [
      { op: 'move', from: '/metadata/labels/app', path: '/metadata/labels/application' },
      { op: 'move', from: '/spec/list/0', path: '/spec/list/-' },
    ]);
    assert.deepEqual(r.metadata.labels, { application: 'web' });
    assert.deepEqual(r.spec.list, ['b', 'c', 'a']);
  });

  test('move errors', () => {
    fails(base(), [{ op: 'move', from: '/nope/x', path: '/a' }], 'move operation does not apply: doc is missing from path: /nope/x: missing value');
    // upstream prints the key, not the path
    fails(base(), [{ op: 'move', from: '/spec/nope', path: '/a' }], "error in move for path: 'nope': unable to get nonexistent key: nope: missing value");
    fails(base(), [{ op: 'move', from: '/spec', path: '/spec/child' }], 'move operation does not apply: doc is missing destination path: /spec/child: missing value');
    fails(base(), [{ op: 'move', path: '/a' }], 'move operation failed to decode from: operation missing from field: missing value');
  });

  test('copy is deep', () => {
    const r = applyJsonPatch(base(), [
      { op: 'copy', from: '/metadata/labels', path: '/spec/selector' },
      { op: 'add', path: '/spec/selector/extra', value: 'x' },
      { op: 'copy', from: '/spec/list/2', path: '/spec/list/0' },
    ]) as ReturnType<typeof base> & { spec: { selector: unknown } };
    assert.deepEqual(r.metadata.labels, { app: 'web' });
    assert.deepEqual(r.spec.selector, { app: 'web', extra: 'x' });
    assert.deepEqual(r.spec.list, ['c', 'a', 'b', 'c']);
  });

  test('copy errors', () => {
    fails(base(), [{ op: 'copy', from: '/spec/nope', path: '/a' }], "error in copy for from: '/spec/nope': unable to get nonexistent key: nope: missing value");
    fails(base(), [{ op: 'copy', from: '/spec', path: '/x/y' }], 'copy operation does not apply: doc is missing destination path: /x/y: missing value');
    fails(base(), [{ op: 'copy', from: '/spec' }], 'copy operation failed to decode path: missing value');
    fails(
      base(),
      [{ op: 'copy', from: '/spec/replicas', path: '/spec/list/9' }],
      'error while adding value during copy: Unable to access invalid index: 9: invalid index referenced',
    );
  });
});

describe('test', () => {
  test('passes on deep equality, regardless of key order', () => {
    const r = applyJsonPatch(base(), [
      { op: 'test', path: '/metadata', value: { labels: { app: 'web' }, name: 'x' } },
      { op: 'test', path: '/spec/list', value: ['a', 'b', 'c'] },
      { op: 'test', path: '/spec/list/-1', value: 'c' },
      { op: 'replace', path: '/spec/replicas', value: 2 },
    ]);
    assert.equal(r.spec.replicas, 2);
    applyJsonPatch(base(), [{ op: 'test', path: '', value: base() }]);
  });

  test('a missing key tests equal to null (upstream)', () => {
    applyJsonPatch(base(), [{ op: 'test', path: '/spec/nope', value: null }]);
    applyJsonPatch(base(), [{ op: 'test', path: '/spec/nope' }]);
  });

  test('failures are 422 with the generic Status message', () => {
    const e = fails(base(), [{ op: 'test', path: '/spec/replicas', value: 2 }], 'testing value /spec/replicas failed: test failed');
    assert.equal(e.reason, 'Invalid');
    assert.equal(e.statusMessage, GENERIC_422_MESSAGE);
    fails(base(), [{ op: 'test', path: '/spec/replicas', value: '1' }], 'testing value /spec/replicas failed: test failed');
    fails(base(), [{ op: 'test', path: '/spec/nope', value: 1 }], 'testing value /spec/nope failed: test failed');
    fails(base(), [{ op: 'test', path: '', value: {} }], 'testing value  failed: test failed');
    fails(base(), [{ op: 'test', path: '/x/y', value: 1 }], 'test operation does not apply: is missing path: /x/y: missing value');
    fails(base(), [{ op: 'test', path: '/spec/list/7', value: 1 }], "error in test for path: '/spec/list/7': Unable to access invalid index: 7: invalid index referenced");
  });

  test('a failing test aborts the whole patch', () => {
    const doc = base();
    fails(doc, [{ op: 'replace', path: '/spec/replicas', value: 9 }, { op: 'test', path: '/spec/replicas', value: 1 }], 'testing value /spec/replicas failed: test failed');
    assert.equal(doc.spec.replicas, 1);
  });
});

describe('decoding and limits', () => {
  test('unknown or missing op', () => {
    fails(base(), [{ op: 'merge', path: '/a' }], 'Unexpected kind: merge');
    fails(base(), [{ path: '/a' }], 'Unexpected kind: unknown');
    fails(base(), [null], 'Unexpected kind: unknown');
    fails(base(), [{ op: 1, path: '/a' }], 'Unexpected kind: unknown');
  });

  test('a patch that is not an array of objects is a 400', () => {
    fails(base(), { op: 'add' }, 'json: cannot unmarshal object into Go value of type jsonpatch.Patch', 400);
    fails(base(), 'x', 'json: cannot unmarshal string into Go value of type jsonpatch.Patch', 400);
    fails(base(), [1], 'json: cannot unmarshal number into Go value of type jsonpatch.Operation', 400);
    fails(base(), [[]], 'json: cannot unmarshal array into Go value of type jsonpatch.Operation', 400);
    const e = fails(base(), [true], 'json: cannot unmarshal bool into Go value of type jsonpatch.Operation', 400);
    assert.equal(e.reason, 'BadRequest');
    assert.equal(e.statusMessage, undefined);
  });

  test('empty and null patches change nothing', () => {
    assert.deepEqual(applyJsonPatch(base(), []), base());
    assert.deepEqual(applyJsonPatch(base(), null), base());
    assert.deepEqual(decodeJsonPatch([{ op: 'add', path: '/a', value: 1 }]), [{ op: 'add', path: '/a', value: 1 }]);
  });

  test('too many operations is a 413', () => {
    const ops = Array.from({ length: MAX_JSON_PATCH_OPERATIONS + 1 }, () => ({ op: 'test', path: '/spec/replicas', value: 1 }));
    const e = fails(base(), ops, 'The allowed maximum operations in a JSON patch is 10000, got 10001', 413);
    assert.equal(e.reason, 'RequestEntityTooLarge');
    applyJsonPatch(base(), ops.slice(1));
  });

  test('arrays as documents', () => {
    assert.deepEqual(applyJsonPatch([1, 2], [{ op: 'add', path: '/0', value: 0 }]), [0, 1, 2]);
  });

  test('a path without a leading slash has its first segment ignored (upstream)', () => {
    assert.deepEqual(applyJsonPatch({ a: 1 }, [{ op: 'add', path: 'ignored/b', value: 2 }]), { a: 1, b: 2 });
  });

  test('__proto__ is an ordinary key', () => {
    const r = applyJsonPatch(JSON.parse('{"m":{}}'), [{ op: 'add', path: '/m/__proto__', value: { polluted: true } }]) as { m: object };
    assert.deepEqual(Object.keys(r.m), ['__proto__']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe('jsonEqual', () => {
  test('deep, order-insensitive for objects, order-sensitive for arrays', () => {
    assert.ok(jsonEqual({ a: 1, b: [1, { c: null }] }, { b: [1, { c: null }], a: 1 }));
    assert.ok(!jsonEqual([1, 2], [2, 1]));
    assert.ok(!jsonEqual({ a: 1 }, { a: 1, b: 2 }));
    assert.ok(!jsonEqual(null, {}));
    assert.ok(!jsonEqual([], {}));
    assert.ok(!jsonEqual(1, '1'));
  });
});
