import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  SelectorError,
  convertFieldLabel,
  escapeFieldValue,
  everything,
  fieldSelectorFromSet,
  fieldSelectorMatcher,
  formatLabelSelector,
  isValidLabelKey,
  isValidLabelValue,
  labelSelectorFromObject,
  newRequirement,
  nothing,
  parseFieldSelector,
  parseLabelSelector,
  parseToLabelSelector,
  selectableFields,
  selectorFromSet,
  selectorToString,
  supportedFieldLabels,
  unescapeFieldValue,
  validateLabelSelector,
  validatedSelectorFromSet,
} from '../../../src/api/selectors.js';

/** Asserts fn throws a SelectorError with exactly this message. */
function throwsSel(fn: () => unknown, message: string): SelectorError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof SelectorError, `expected SelectorError, got ${String(caught)}`);
  assert.equal(caught.message, message);
  return caught;
}

const NAME_PART_ERR =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character " +
  "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const VALUE_ERR =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character " +
  "(e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

describe('label key/value syntax', () => {
  test('valid keys and values', () => {
    for (const k of ['a', 'app', 'app.kubernetes.io/name', 'A_b-c.d', 'example.com/x', '1', 'a'.repeat(63)]) {
      assert.deepEqual(isValidLabelKey(k), [], k);
    }
    for (const v of ['', 'a', 'MyValue', 'my_value', '12345', 'a.b-c_d', 'x'.repeat(63)]) assert.deepEqual(isValidLabelValue(v), [], v);
  });

  test('invalid keys, with upstream messages', () => {
    assert.deepEqual(isValidLabelKey(''), ['name part must be non-empty', NAME_PART_ERR]);
    assert.deepEqual(isValidLabelKey('-a'), [NAME_PART_ERR]);
    assert.deepEqual(isValidLabelKey('a'.repeat(64)), ['name part must be no more than 63 characters']);
    assert.deepEqual(isValidLabelKey('/a'), ['prefix part must be non-empty']);
    assert.deepEqual(isValidLabelKey('Example.com/a'), [
      "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character " +
        "(e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    ]);
    assert.equal(isValidLabelKey('a/b/c').length, 1);
    assert.match(isValidLabelKey('a/b/c')[0]!, /^a valid label key must consist of .* with an optional DNS subdomain prefix and '\/' \(e\.g\. 'example\.com\/MyName'\)$/);
  });

  test('invalid values', () => {
    assert.deepEqual(isValidLabelValue('a b'), [VALUE_ERR]);
    assert.deepEqual(isValidLabelValue('-a'), [VALUE_ERR]);
    assert.deepEqual(isValidLabelValue('a'.repeat(64)), ['must be no more than 63 characters']);
  });
});

describe('parseLabelSelector', () => {
  const L = { app: 'web', tier: 'front', env: 'prod', n: '5' };

  test('equality forms', () => {
    assert.ok(parseLabelSelector('app=web').matches(L));
    assert.ok(parseLabelSelector('app==web').matches(L));
    assert.ok(!parseLabelSelector('app=db').matches(L));
    assert.ok(parseLabelSelector('app!=db').matches(L));
    assert.ok(!parseLabelSelector('app!=web').matches(L));
    // != and notin match objects without the key
    assert.ok(parseLabelSelector('missing!=x').matches(L));
    assert.ok(parseLabelSelector('missing notin (x)').matches(L));
    assert.ok(!parseLabelSelector('missing=x').matches(L));
  });

  test('set forms, existence, and combinations', () => {
    assert.ok(parseLabelSelector('app in (web,db)').matches(L));
    assert.ok(!parseLabelSelector('app in (db)').matches(L));
    assert.ok(parseLabelSelector('app notin (db)').matches(L));
    assert.ok(!parseLabelSelector('app notin (db,web)').matches(L));
    assert.ok(parseLabelSelector('app').matches(L));
    assert.ok(!parseLabelSelector('missing').matches(L));
    assert.ok(parseLabelSelector('!missing').matches(L));
    assert.ok(!parseLabelSelector('!app').matches(L));
    assert.ok(parseLabelSelector('app=web,tier in (front),!canary,env').matches(L));
    assert.ok(!parseLabelSelector('app=web,tier=back').matches(L));
  });

  test('gt and lt compare integers', () => {
    assert.ok(parseLabelSelector('n>3').matches(L));
    assert.ok(!parseLabelSelector('n>5').matches(L));
    assert.ok(parseLabelSelector('n<6').matches(L));
    assert.ok(!parseLabelSelector('app>1').matches(L), 'non-integer label value never matches');
    assert.ok(!parseLabelSelector('missing<10').matches(L));
    assert.equal(parseLabelSelector('n > 3').toString(), 'n>3');
    throwsSel(() => parseLabelSelector('n>x'), `unable to parse requirement: values[0]: Invalid value: "x": for 'Gt', 'Lt' operators, the value must be an integer`);
  });

  test('whitespace is a delimiter and is otherwise ignored', () => {
    const s = parseLabelSelector('  app = web ,  tier  in ( front , back ) ,\t! canary\n');
    // sorted by key: the `!` is part of the operator, not the key
    assert.equal(s.toString(), 'app=web,!canary,tier in (back,front)');
    assert.ok(s.matches(L));
    assert.equal(parseLabelSelector('a in(x)').toString(), 'a in (x)');
  });

  test('keywords are values where a value is expected', () => {
    const s = parseLabelSelector('in in (in,notin)');
    assert.ok(s.matches({ in: 'notin' }));
    assert.equal(s.toString(), 'in in (in,notin)');
    assert.ok(parseLabelSelector('notin=in').matches({ notin: 'in' }));
  });

  test('empty values', () => {
    assert.ok(parseLabelSelector('a=').matches({ a: '' }));
    assert.ok(parseLabelSelector('a=,b').matches({ a: '', b: 'x' }));
    assert.deepEqual(parseLabelSelector('a in ()').requirements[0]!.values, ['']);
    assert.deepEqual(parseLabelSelector('a in (,)').requirements[0]!.values, ['']);
    assert.deepEqual(parseLabelSelector('a in (x,,y)').requirements[0]!.values, ['', 'x', 'y']);
    assert.deepEqual(parseLabelSelector('a in (x,)').requirements[0]!.values, ['', 'x']);
    assert.deepEqual(parseLabelSelector('a in (,x)').requirements[0]!.values, ['', 'x']);
    // upstream's doc example
    assert.equal(parseLabelSelector('x in (foo,,baz),y,z notin ()').toString(), 'x in (,baz,foo),y,z notin ()');
  });

  test('values are de-duplicated and sorted, requirements sorted by key', () => {
    const s = parseLabelSelector('z=1,a in (c,b,c),m');
    assert.deepEqual(
      s.requirements.map((r) => [r.key, r.operator, r.values]),
      [
        ['a', 'in', ['b', 'c']],
        ['m', 'exists', []],
        ['z', '=', ['1']],
      ],
    );
    assert.equal(s.toString(), 'a in (b,c),m,z=1');
  });

  test('canonical string keeps the operator spelling', () => {
    assert.equal(parseLabelSelector('a==b').toString(), 'a==b');
    assert.equal(parseLabelSelector('a!=b').toString(), 'a!=b');
    assert.equal(parseLabelSelector('a<5').toString(), 'a<5');
    assert.equal(parseLabelSelector('!a').toString(), '!a');
    assert.equal(parseLabelSelector('a notin (y,x)').toString(), 'a notin (x,y)');
  });

  test('empty selector matches everything', () => {
    for (const s of ['', '   ']) {
      const sel = parseLabelSelector(s);
      assert.ok(sel.isEmpty());
      assert.ok(sel.matches({}));
      assert.ok(sel.matches(undefined));
      assert.equal(sel.toString(), '');
    }
  });

  test('labels argument may be missing', () => {
    assert.ok(!parseLabelSelector('a').matches(undefined));
    assert.ok(parseLabelSelector('!a').matches(null));
    assert.ok(!parseLabelSelector('toString').matches({}), 'own properties only');
  });

  test('syntax errors have upstream messages', () => {
    throwsSel(() => parseLabelSelector(','), "found ',', expected: !, identifier, or 'end of string'");
    throwsSel(() => parseLabelSelector('a,'), "found '', expected: identifier after ','");
    throwsSel(() => parseLabelSelector('a,,b'), "found ',', expected: identifier after ','");
    throwsSel(() => parseLabelSelector('a=b=c'), "found '=', expected: ',' or 'end of string'");
    throwsSel(() => parseLabelSelector('a=b c'), "found 'c', expected: ',' or 'end of string'");
    throwsSel(() => parseLabelSelector('a b'), "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt");
    throwsSel(() => parseLabelSelector('!'), "unable to parse requirement: found '', expected: identifier");
    throwsSel(() => parseLabelSelector('!!a'), "unable to parse requirement: found '!', expected: identifier");
    throwsSel(() => parseLabelSelector('a in x'), "unable to parse requirement: found 'x' expected: '('");
    throwsSel(() => parseLabelSelector('a in (x'), "unable to parse requirement: found '', expected: ',' or ')'");
    throwsSel(() => parseLabelSelector('a in (x y)'), "unable to parse requirement: found 'y', expected: ',' or ')'");
    throwsSel(() => parseLabelSelector('a in (='), "unable to parse requirement: found '=', expected: ',', ')' or identifier");
    throwsSel(() => parseLabelSelector('a in (x,='), "unable to parse requirement: found '=', expected: ',', or identifier");
    throwsSel(() => parseLabelSelector('a=(b'), "unable to parse requirement: found '(', expected: identifier");
    throwsSel(() => parseLabelSelector('a!b'), "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt");
    throwsSel(() => parseLabelSelector('(a)'), "found '(', expected: !, identifier, or 'end of string'");
  });

  test('key and value validation errors', () => {
    const e = throwsSel(() => parseLabelSelector('a$=b'), `unable to parse requirement: <nil>: Invalid value: "a$": ${NAME_PART_ERR}`);
    assert.equal(e.fieldErrors[0]!.field, '<nil>');
    throwsSel(() => parseLabelSelector('a=b$'), `unable to parse requirement: values[0][a]: Invalid value: "b$": ${VALUE_ERR}`);
    throwsSel(() => parseLabelSelector('a in (b$,a0)'), `unable to parse requirement: values[1][a]: Invalid value: "b$": ${VALUE_ERR}`);
    throwsSel(
      () => parseLabelSelector('a=b$', { path: 'labelSelector' }),
      `unable to parse requirement: labelSelector.values[0][a]: Invalid value: "b$": ${VALUE_ERR}`,
    );
    assert.match(parseErr('x/y/z'), /^unable to parse requirement: <nil>: Invalid value: "x\/y\/z": a valid label key must consist of /);
    assert.equal(parseErr('a/'), 'unable to parse requirement: <nil>: Invalid value: "a/": ' + `name part must be non-empty; ${NAME_PART_ERR}`);
  });

  test('requiresExactMatch', () => {
    const s = parseLabelSelector('a=1,b in (2),c in (3,4),d!=5,e');
    assert.equal(s.requiresExactMatch('a'), '1');
    assert.equal(s.requiresExactMatch('b'), '2');
    assert.equal(s.requiresExactMatch('c'), undefined);
    assert.equal(s.requiresExactMatch('d'), undefined);
    assert.equal(s.requiresExactMatch('e'), undefined);
    assert.equal(s.requiresExactMatch('zz'), undefined);
  });

  test('add returns a new sorted selector', () => {
    const s = parseLabelSelector('b=1');
    const t = s.add(newRequirement('a', 'exists'));
    assert.equal(s.toString(), 'b=1');
    assert.equal(t.toString(), 'a,b=1');
  });
});

function parseErr(s: string): string {
  try {
    parseLabelSelector(s);
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

describe('newRequirement', () => {
  test('validates operator arity', () => {
    throwsSel(() => newRequirement('a', 'in', []), `values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty`);
    throwsSel(() => newRequirement('a', '=', ['x', 'y']), `values: Invalid value: ["x","y"]: exact-match compatibility requires one single value`);
    throwsSel(() => newRequirement('a', 'exists', ['x']), `values: Invalid value: ["x"]: values set must be empty for exists and does not exist`);
    throwsSel(
      () => newRequirement('a', 'bogus' as never, []),
      'operator: Unsupported value: "bogus": supported values: "in", "notin", "=", "==", "!=", "gt", "lt", "exists", "!"',
    );
  });

  test('aggregates several errors in brackets', () => {
    throwsSel(() => newRequirement('-k', '=', ['-v']), `[key: Invalid value: "-k": ${NAME_PART_ERR}, values[0][-k]: Invalid value: "-v": ${VALUE_ERR}]`);
  });

  test('keeps value order as given but prints sorted', () => {
    const r = newRequirement('a', 'in', ['z', 'b']);
    assert.deepEqual(r.values, ['z', 'b']);
    assert.equal(everything().add(r).toString(), 'a in (b,z)');
  });
});

describe('set selectors', () => {
  test('selectorFromSet', () => {
    const s = selectorFromSet({ b: '2', a: '1' });
    assert.equal(s.toString(), 'a=1,b=2');
    assert.ok(s.matches({ a: '1', b: '2', c: '3' }));
    assert.ok(!s.matches({ a: '1' }));
    assert.ok(selectorFromSet({}).isEmpty());
    assert.ok(selectorFromSet(null).matches({ any: 'thing' }));
  });

  test('validatedSelectorFromSet rejects bad input', () => {
    throwsSel(() => validatedSelectorFromSet({ a: 'b c' }), `values[0][a]: Invalid value: "b c": ${VALUE_ERR}`);
    assert.equal(validatedSelectorFromSet({ a: 'b' }).toString(), 'a=b');
  });

  test('everything and nothing', () => {
    assert.ok(everything().matches({}));
    assert.ok(everything().isEmpty());
    assert.ok(!nothing().matches({}));
    assert.ok(!nothing().isEmpty());
    assert.ok(nothing().matchesNothing);
    assert.equal(nothing().toString(), '');
    assert.equal(nothing().add(newRequirement('a', 'exists')), nothing());
  });
});

describe('metav1.LabelSelector', () => {
  test('null matches nothing, empty matches everything', () => {
    assert.ok(!labelSelectorFromObject(null).matches({ a: 'b' }));
    assert.ok(!labelSelectorFromObject(undefined).matches({}));
    assert.ok(labelSelectorFromObject(null).matchesNothing);
    assert.ok(labelSelectorFromObject({}).matches({}));
    assert.ok(labelSelectorFromObject({ matchLabels: {}, matchExpressions: [] }).isEmpty());
    assert.ok(labelSelectorFromObject({ matchLabels: null, matchExpressions: null }).matches({ x: 'y' }));
  });

  test('matchLabels and matchExpressions are ANDed', () => {
    const s = labelSelectorFromObject({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['front', 'edge'] },
        { key: 'env', operator: 'NotIn', values: ['dev'] },
        { key: 'team', operator: 'Exists' },
        { key: 'canary', operator: 'DoesNotExist' },
      ],
    });
    assert.ok(s.matches({ app: 'web', tier: 'edge', team: 'x' }));
    assert.ok(!s.matches({ app: 'web', tier: 'edge', team: 'x', canary: '1' }));
    assert.ok(!s.matches({ app: 'web', tier: 'edge', team: 'x', env: 'dev' }));
    assert.ok(!s.matches({ app: 'web', tier: 'back', team: 'x' }));
    assert.ok(!s.matches({ app: 'db', tier: 'edge', team: 'x' }));
    assert.equal(s.toString(), 'app=web,!canary,env notin (dev),team,tier in (edge,front)');
  });

  test('validation errors carry field paths', () => {
    const errs = validateLabelSelector(
      {
        matchLabels: { 'bad key': 'v', ok: 'bad value' },
        matchExpressions: [
          { key: 'a', operator: 'In', values: [] },
          { key: 'b', operator: 'Exists', values: ['x'] },
          { key: 'c', operator: 'Bogus', values: ['x'] },
          { key: '-d', operator: 'NotIn', values: ['ok', 'no pe'] },
        ],
      },
      'spec.selector',
    );
    assert.deepEqual(
      errs.map((e) => [e.type, e.field]),
      [
        ['FieldValueInvalid', 'spec.selector.matchLabels'],
        ['FieldValueInvalid', 'spec.selector.matchLabels'],
        ['FieldValueRequired', 'spec.selector.matchExpressions[0].values'],
        ['FieldValueForbidden', 'spec.selector.matchExpressions[1].values'],
        ['FieldValueInvalid', 'spec.selector.matchExpressions[2].operator'],
        ['FieldValueInvalid', 'spec.selector.matchExpressions[3].key'],
        ['FieldValueInvalid', 'spec.selector.matchExpressions[3].values[1]'],
      ],
    );
    assert.equal(errs[2]!.detail, "must be specified when `operator` is 'In' or 'NotIn'");
    assert.equal(errs[3]!.detail, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
    assert.equal(errs[4]!.detail, 'not a valid selector operator');
    assert.equal(errs[4]!.badValue, 'Bogus');
  });

  test('allowInvalidLabelValueInSelector skips value syntax', () => {
    const sel = { matchExpressions: [{ key: 'a', operator: 'In', values: ['no pe'] }] };
    assert.equal(validateLabelSelector(sel).length, 1);
    assert.equal(validateLabelSelector(sel, 'x', { allowInvalidLabelValueInSelector: true }).length, 0);
  });

  test('labelSelectorFromObject throws with field errors', () => {
    const e = throwsSel(
      () => labelSelectorFromObject({ matchExpressions: [{ key: 'a', operator: 'In' }] }, 'spec.template.spec.affinity'),
      "spec.template.spec.affinity.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
    );
    assert.equal(e.fieldErrors.length, 1);
    const e2 = throwsSel(
      () => labelSelectorFromObject({ matchExpressions: [{ key: 'a', operator: 'In' }, { key: 'b', operator: 'X' }] }),
      "[spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn', " +
        'spec.selector.matchExpressions[1].operator: Invalid value: "X": not a valid selector operator]',
    );
    assert.equal(e2.fieldErrors.length, 2);
  });

  test('selectorToString and formatLabelSelector (kubectl describe)', () => {
    assert.equal(selectorToString({ matchLabels: { app: 'web', a: 'b' } }), 'a=b,app=web');
    assert.equal(selectorToString({}), '<none>');
    assert.equal(selectorToString(null), '<none>');
    assert.equal(selectorToString({ matchExpressions: [{ key: 'a', operator: 'In' }] }), '<error>');
    assert.equal(selectorToString(parseLabelSelector('x in (b,a)')), 'x in (a,b)');
    assert.equal(selectorToString(everything()), '');
    assert.equal(formatLabelSelector({ matchExpressions: [{ key: 'k', operator: 'DoesNotExist' }] }), '!k');
  });

  test('parseToLabelSelector', () => {
    assert.deepEqual(parseToLabelSelector('app=web,tier in (a,b),x,!y'), {
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['a', 'b'] },
        { key: 'x', operator: 'Exists' },
        { key: 'y', operator: 'DoesNotExist' },
      ],
    });
    assert.throws(() => parseToLabelSelector('a!=b'), SelectorError);
  });
});

describe('parseFieldSelector', () => {
  test('operators, sorting and canonical string', () => {
    const s = parseFieldSelector('status.phase!=Running,metadata.name==x,spec.nodeName=n1');
    assert.deepEqual(
      s.requirements.map((r) => [r.field, r.operator, r.value]),
      [
        ['metadata.name', '=', 'x'],
        ['spec.nodeName', '=', 'n1'],
        ['status.phase', '!=', 'Running'],
      ],
    );
    assert.equal(s.toString(), 'metadata.name=x,spec.nodeName=n1,status.phase!=Running');
    assert.ok(s.matches({ 'metadata.name': 'x', 'spec.nodeName': 'n1', 'status.phase': 'Pending' }));
    assert.ok(!s.matches({ 'metadata.name': 'x', 'spec.nodeName': 'n1', 'status.phase': 'Running' }));
  });

  test('missing fields read as the empty string', () => {
    assert.ok(parseFieldSelector('a=').matches({}));
    assert.ok(!parseFieldSelector('a=x').matches({}));
    assert.ok(parseFieldSelector('a!=x').matches({}));
  });

  test('empty selector and empty terms', () => {
    assert.ok(parseFieldSelector('').isEmpty());
    assert.ok(parseFieldSelector(',').isEmpty());
    assert.equal(parseFieldSelector('a=b,,').toString(), 'a=b');
    assert.ok(parseFieldSelector('').matches({ anything: 'x' }));
  });

  test('escaping', () => {
    const s = parseFieldSelector('a=x\\,y\\=z\\\\w,b=c');
    assert.deepEqual(
      s.requirements.map((r) => r.value),
      ['x,y=z\\w', 'c'],
    );
    assert.equal(s.toString(), 'a=x\\,y\\=z\\\\w,b=c');
    assert.equal(escapeFieldValue('a,b=c\\'), 'a\\,b\\=c\\\\');
    assert.equal(unescapeFieldValue(escapeFieldValue('a,b=c\\')), 'a,b=c\\');
    assert.equal(fieldSelectorFromSet({ 'metadata.name': 'a,b' }).toString(), 'metadata.name=a\\,b');
  });

  test('the first operator splits; a==b is equality, a!=b inequality', () => {
    assert.deepEqual(parseFieldSelector('a==b').requirements[0], { field: 'a', operator: '=', value: 'b' });
    assert.deepEqual(parseFieldSelector('a!=b').requirements[0], { field: 'a', operator: '!=', value: 'b' });
    // whitespace is data, not a delimiter
    assert.deepEqual(parseFieldSelector(' a = b').requirements[0], { field: ' a ', operator: '=', value: ' b' });
  });

  test('errors', () => {
    throwsSel(() => parseFieldSelector('foo'), "invalid selector: 'foo'; can't understand 'foo'");
    throwsSel(() => parseFieldSelector('a=b,foo'), "invalid selector: 'a=b,foo'; can't understand 'foo'");
    throwsSel(() => parseFieldSelector('a=b=c'), 'invalid field selector: unescaped character in value: 61');
    throwsSel(() => parseFieldSelector('a==='), 'invalid field selector: unescaped character in value: 61');
    throwsSel(() => parseFieldSelector('a=b\\x'), 'invalid field selector: invalid escape sequence: \\x');
    throwsSel(() => parseFieldSelector('a=b\\'), 'invalid field selector: invalid escape sequence: \\');
  });

  test('requiresExactMatch', () => {
    const s = parseFieldSelector('spec.nodeName=n1,status.phase!=Failed');
    assert.equal(s.requiresExactMatch('spec.nodeName'), 'n1');
    assert.equal(s.requiresExactMatch('status.phase'), undefined);
  });
});

describe('field labels per resource', () => {
  const pod = {
    metadata: { name: 'p1', namespace: 'ns1' },
    spec: { nodeName: 'node-a', restartPolicy: 'Always', schedulerName: 'default-scheduler', serviceAccountName: 'sa', hostNetwork: true },
    status: { phase: 'Running', podIP: '10.0.0.9', podIPs: [{ ip: '10.0.0.9' }, { ip: 'fd00::9' }], nominatedNodeName: '' },
  };

  test('pods', () => {
    assert.deepEqual(selectableFields('/pods', pod), {
      'metadata.name': 'p1',
      'metadata.namespace': 'ns1',
      'spec.nodeName': 'node-a',
      'spec.restartPolicy': 'Always',
      'spec.schedulerName': 'default-scheduler',
      'spec.serviceAccountName': 'sa',
      'spec.hostNetwork': 'true',
      'status.phase': 'Running',
      'status.podIP': '10.0.0.9',
      'status.nominatedNodeName': '',
    });
    assert.ok(fieldSelectorMatcher('/pods', 'spec.nodeName=node-a,status.phase=Running').matches(pod));
    assert.ok(fieldSelectorMatcher('/pods', 'spec.hostNetwork=true').matches(pod));
    assert.ok(fieldSelectorMatcher('/pods', 'spec.hostNetwork=false').matches({ metadata: { name: 'x' } }));
    assert.ok(fieldSelectorMatcher('/pods', 'metadata.namespace=ns1,metadata.name!=p2').matches(pod));
    assert.ok(!fieldSelectorMatcher('/pods', 'spec.nodeName=').matches(pod));
    assert.ok(fieldSelectorMatcher('/pods', 'spec.nodeName=').matches({ metadata: { name: 'unscheduled' } }));
    // status.podIP falls back to the scalar when podIPs is absent
    assert.ok(fieldSelectorMatcher('/pods', 'status.podIP=1.2.3.4').matches({ status: { podIP: '1.2.3.4' } }));
    // upstream accepts status.podIPs but never sets it
    assert.ok(!fieldSelectorMatcher('/pods', 'status.podIPs=10.0.0.9').matches(pod));
  });

  test('pods: spec.host is converted to spec.nodeName', () => {
    const m = fieldSelectorMatcher('/pods', 'spec.host=node-a');
    assert.equal(m.selector.toString(), 'spec.nodeName=node-a');
    assert.ok(m.matches(pod));
  });

  test('unsupported labels are rejected with upstream messages', () => {
    throwsSel(() => fieldSelectorMatcher('/pods', 'spec.foo=bar'), 'field label not supported: spec.foo');
    throwsSel(() => fieldSelectorMatcher('/nodes', 'metadata.namespace=x'), 'field label not supported: metadata.namespace');
    throwsSel(() => fieldSelectorMatcher('/namespaces', 'metadata.namespace=x'), 'field label not supported: metadata.namespace');
    throwsSel(
      () => fieldSelectorMatcher('/configmaps', 'data.x=1'),
      '"data.x" is not a known field selector: only "metadata.name", "metadata.namespace"',
    );
    throwsSel(
      () => fieldSelectorMatcher('networking.k8s.io/ingresses', 'foo.bar=baz'),
      '"foo.bar" is not a known field selector: only "metadata.name", "metadata.namespace"',
    );
    throwsSel(() => fieldSelectorMatcher('batch/jobs', 'status.succeeded=1'), 'field label "status.succeeded" not supported for batchv1.Job');
    // the first offending term in sorted order is reported
    throwsSel(() => fieldSelectorMatcher('/pods', 'z.z=1,a.a=1'), 'field label not supported: a.a');
    // parse errors come first
    throwsSel(() => fieldSelectorMatcher('/pods', 'nonsense'), "invalid selector: 'nonsense'; can't understand 'nonsense'");
  });

  test('every resource supports metadata.name; namespaced ones metadata.namespace', () => {
    for (const gr of ['/pods', '/services', '/configmaps', '/secrets', '/events', 'apps/deployments', 'apps/replicasets', 'batch/jobs', 'coordination.k8s.io/leases']) {
      assert.ok(supportedFieldLabels(gr).includes('metadata.name'), gr);
      assert.ok(supportedFieldLabels(gr).includes('metadata.namespace'), gr);
    }
    assert.deepEqual(supportedFieldLabels('/nodes'), ['metadata.name', 'spec.unschedulable']);
    assert.deepEqual(supportedFieldLabels('/namespaces'), ['metadata.name', 'status.phase']);
    assert.deepEqual(supportedFieldLabels('/secrets'), ['metadata.name', 'metadata.namespace', 'type']);
    assert.deepEqual(supportedFieldLabels('/services'), ['metadata.name', 'metadata.namespace', 'spec.clusterIP', 'spec.type']);
    assert.deepEqual(supportedFieldLabels('apps/replicasets'), ['metadata.name', 'metadata.namespace']);
    assert.deepEqual(supportedFieldLabels('/replicationcontrollers'), ['metadata.name', 'metadata.namespace', 'status.replicas']);
  });

  test('nodes, namespaces, secrets, services, jobs', () => {
    assert.ok(fieldSelectorMatcher('/nodes', 'spec.unschedulable=true').matches({ metadata: { name: 'n' }, spec: { unschedulable: true } }));
    assert.ok(fieldSelectorMatcher('/nodes', 'spec.unschedulable=false').matches({ metadata: { name: 'n' }, spec: {} }));
    assert.ok(fieldSelectorMatcher('/nodes', 'metadata.name=n').matches({ metadata: { name: 'n' } }));
    assert.ok(fieldSelectorMatcher('/namespaces', 'status.phase=Terminating').matches({ metadata: { name: 'x' }, status: { phase: 'Terminating' } }));
    assert.ok(fieldSelectorMatcher('/secrets', 'type=kubernetes.io/tls').matches({ metadata: { name: 's' }, type: 'kubernetes.io/tls' }));
    assert.ok(fieldSelectorMatcher('/services', 'spec.type=ClusterIP,spec.clusterIP!=None').matches({ spec: { type: 'ClusterIP', clusterIP: '10.43.0.1' } }));
    assert.ok(fieldSelectorMatcher('batch/jobs', 'status.successful=2').matches({ status: { succeeded: 2 } }));
    assert.ok(fieldSelectorMatcher('batch/jobs', 'status.successful=0').matches({ status: {} }));
    assert.ok(fieldSelectorMatcher('/replicationcontrollers', 'status.replicas=3').matches({ status: { replicas: 3 } }));
  });

  test('core events', () => {
    const ev = {
      metadata: { name: 'e', namespace: 'default' },
      involvedObject: { kind: 'Pod', namespace: 'default', name: 'p1', uid: 'u1', apiVersion: 'v1', resourceVersion: '7', fieldPath: 'spec.containers{c}' },
      reason: 'Started',
      type: 'Normal',
      source: { component: 'kubelet' },
      reportingComponent: 'kubelet',
    };
    const m = fieldSelectorMatcher('/events', 'involvedObject.kind=Pod,involvedObject.name=p1,involvedObject.uid=u1,reason=Started,type=Normal,source=kubelet');
    assert.ok(m.matches(ev));
    assert.ok(fieldSelectorMatcher('/events', 'involvedObject.fieldPath=spec.containers{c},involvedObject.resourceVersion=7,involvedObject.apiVersion=v1').matches(ev));
    // source falls back to reportingComponent
    assert.ok(fieldSelectorMatcher('/events', 'source=ctrl').matches({ reportingComponent: 'ctrl' }));
    throwsSel(() => fieldSelectorMatcher('/events', 'regarding.kind=Pod'), 'field label not supported: regarding.kind');
  });

  test('events.k8s.io events use regarding.* and reportingController', () => {
    const ev = { metadata: { name: 'e', namespace: 'd' }, regarding: { kind: 'Node', name: 'n1' }, reportingController: 'ctrl', reason: 'R', type: 'Warning' };
    const m = fieldSelectorMatcher('events.k8s.io/events', 'regarding.kind=Node,regarding.name=n1,reportingController=ctrl,type=Warning');
    assert.equal(m.selector.toString(), 'involvedObject.kind=Node,involvedObject.name=n1,reportingComponent=ctrl,type=Warning');
    assert.ok(m.matches(ev));
    throwsSel(() => fieldSelectorMatcher('events.k8s.io/events', 'involvedObject.kind=Node'), 'field label not supported: involvedObject.kind');
  });

  test('convertFieldLabel', () => {
    assert.equal(convertFieldLabel('/pods', 'spec.host'), 'spec.nodeName');
    assert.equal(convertFieldLabel('apps/deployments', 'metadata.name'), 'metadata.name');
    assert.throws(() => convertFieldLabel('apps/deployments', 'spec.replicas'), SelectorError);
  });

  test('an empty matcher matches every object', () => {
    const m = fieldSelectorMatcher('/pods', '');
    assert.ok(m.isEmpty());
    assert.ok(m.matches(pod));
    assert.ok(m.matches(null));
  });

  test('accepts a parsed selector', () => {
    const m = fieldSelectorMatcher('/pods', parseFieldSelector('metadata.name=p1'));
    assert.ok(m.matches(pod));
  });
});
