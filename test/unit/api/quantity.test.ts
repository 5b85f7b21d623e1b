import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ERR_FORMAT_WRONG,
  ERR_NUMERIC,
  ERR_SUFFIX,
  QuantityError,
  addQuantities,
  compareQuantities,
  formatQuantity,
  isValidQuantity,
  isZeroQuantity,
  negateQuantity,
  newMilliQuantity,
  newQuantity,
  newScaledQuantity,
  normalizeQuantity,
  parseQuantity,
  quantityEquals,
  quantityFromJSON,
  quantitySign,
  quantityString,
  quantityValue,
  scaledValue,
  subtractQuantities,
  sumQuantities,
  toMilli,
  toNumber,
} from '../../../src/api/quantity.js';

function throwsQ(s: string, message: string): void {
  assert.throws(
    () => parseQuantity(s),
    (e: unknown) => e instanceof QuantityError && e.message === message,
    `${JSON.stringify(s)} should fail with ${message}`,
  );
}

describe('parseQuantity: values', () => {
  const cases: Array<[string, number]> = [
    ['0', 0],
    ['1', 1],
    ['100m', 0.1],
    ['1.5', 1.5],
    ['.5', 0.5],
    ['-2', -2],
    ['+3', 3],
    ['1n', 1e-9],
    ['1u', 1e-6],
    ['1k', 1000],
    ['1M', 1e6],
    ['1G', 1e9],
    ['1T', 1e12],
    ['1P', 1e15],
    ['1E', 1e18],
    ['1Ki', 1024],
    ['1Mi', 1024 ** 2],
    ['1Gi', 1024 ** 3],
    ['1Ti', 1024 ** 4],
    ['1Pi', 1024 ** 5],
    ['1Ei', 1024 ** 6],
    ['1e3', 1000],
    ['1E3', 1000],
    ['1e-3', 0.001],
    ['1.5e+3', 1500],
    ['2.5Gi', 2.5 * 1024 ** 3],
  ];
  for (const [s, v] of cases) {
    test(`${s} = ${v}`, () => assert.equal(toNumber(parseQuantity(s)), v));
  }

  test('formats are remembered', () => {
    assert.equal(parseQuantity('1k').format, 'DecimalSI');
    assert.equal(parseQuantity('1Ki').format, 'BinarySI');
    assert.equal(parseQuantity('1e3').format, 'DecimalExponent');
    assert.equal(parseQuantity('1').format, 'DecimalSI');
  });

  test('values finer than 1n round up, away from zero', () => {
    assert.equal(formatQuantity('0.1n'), '1n');
    assert.equal(formatQuantity('-0.1n'), '-1n');
    assert.equal(formatQuantity('1.0000000001'), '1000000001n');
    assert.equal(formatQuantity('0.0000000001'), '1n');
    assert.equal(formatQuantity('1e-20'), '1e-9');
  });

  test('binary values are capped at 2^63-1 and below 1 become decimal', () => {
    assert.equal(formatQuantity('9Ei'), '9223372036854775807');
    assert.equal(formatQuantity('-9Ei'), '-9223372036854775807');
    assert.equal(formatQuantity('8191Pi'), '8191Pi');
    const tiny = parseQuantity('0.0001Ki');
    assert.equal(tiny.format, 'DecimalSI');
    assert.equal(formatQuantity(tiny), '102400u');
  });

  test('upstream oddities: a lone sign or dot is zero', () => {
    for (const s of ['-', '+', '.', '-.', '00', '0.0', 'Mi', 'k', '-Gi']) assert.equal(formatQuantity(s), '0', s);
    assert.equal(formatQuantity('1.'), '1');
    assert.equal(formatQuantity('1.G'), '1G');
  });

  test('numbers are accepted', () => {
    assert.equal(formatQuantity(parseQuantity(1.5)), '1500m');
    assert.equal(formatQuantity(parseQuantity(2)), '2');
    assert.equal(formatQuantity(parseQuantity(1e21)), '1e21');
    assert.throws(() => parseQuantity(NaN), QuantityError);
  });

  test('huge exponents do not hang', () => {
    assert.equal(formatQuantity('1e2147483647'), '10e2147483646');
    assert.equal(formatQuantity('1e-2147483647'), '1e-9');
    assert.throws(() => addQuantities('1e2147483647', '1'), QuantityError);
  });
});

describe('parseQuantity: errors', () => {
  test('format errors', () => {
    for (const s of ['', ' 1', '1 ', 'abc', '1x', '1Gb', '1KI', '1.2.3', '1e3.5', '1-1-']) throwsQ(s, ERR_FORMAT_WRONG);
  });
  test('suffix errors', () => {
    for (const s of ['1K', '1GG', '1e', '1E+', '1i', '1m3', '1Mm', '1ki', '1e99999999999999999999', '--1', '1+']) throwsQ(s, ERR_SUFFIX);
  });
  test('numeric errors', () => {
    throwsQ('-e-10', ERR_NUMERIC);
  });
  test('the message is upstream’s', () => {
    assert.equal(ERR_FORMAT_WRONG, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
    assert.equal(ERR_SUFFIX, "unable to parse quantity's suffix");
    assert.equal(ERR_NUMERIC, 'unable to parse numeric part of quantity');
  });
  test('isValidQuantity', () => {
    assert.ok(isValidQuantity('250m'));
    assert.ok(!isValidQuantity('250 m'));
  });
});

describe('formatQuantity: canonical form', () => {
  const cases: Array<[string, string]> = [
    ['0', '0'],
    ['0m', '0'],
    ['0Ki', '0'],
    ['1000m', '1'],
    ['1500m', '1500m'],
    ['0.5', '500m'],
    ['0.25', '250m'],
    ['1.5', '1500m'],
    ['100m', '100m'],
    ['1000', '1k'],
    ['1500', '1500'],
    ['2000000', '2M'],
    ['1000k', '1M'],
    ['1000000u', '1'],
    ['1100000n', '1100u'],
    ['12345678901234567890', '12345678901234567890'],
    ['1536Mi', '1536Mi'],
    ['1.5Gi', '1536Mi'],
    ['0.5Gi', '512Mi'],
    ['1024Ki', '1Mi'],
    ['1024Mi', '1Gi'],
    ['1025Ki', '1025Ki'],
    ['1.5Ki', '1536'],
    ['0.5Ki', '512'],
    ['0.001Ki', '1024m'],
    ['1Ei', '1Ei'],
    ['1e3', '1e3'],
    ['1E3', '1e3'],
    ['1.5e3', '1500'],
    ['1500e0', '1500'],
    ['1e-3', '1e-3'],
    ['12.34e1', '123400e-3'],
    ['1e0', '1'],
    ['-1000m', '-1'],
    ['-1.5Gi', '-1536Mi'],
    ['-0.5', '-500m'],
    ['+1', '1'],
    ['01', '1'],
    // beyond the E suffix decimal values print with an exponent
    ['1000E', '1e21'],
    ['1e21', '1e21'],
  ];
  for (const [input, want] of cases) {
    test(`${input} -> ${want}`, () => assert.equal(formatQuantity(input), want));
  }

  test('the canonical form re-parses to the same value', () => {
    for (const [input] of cases) {
      const q = parseQuantity(input);
      assert.ok(quantityEquals(parseQuantity(formatQuantity(q)), q), input);
    }
  });

  test('constructed quantities', () => {
    assert.equal(formatQuantity(newQuantity(1536, 'BinarySI')), '1536');
    assert.equal(formatQuantity(newQuantity(2048, 'BinarySI')), '2Ki');
    assert.equal(formatQuantity(newQuantity(5)), '5');
    assert.equal(formatQuantity(newMilliQuantity(250)), '250m');
    assert.equal(formatQuantity(newMilliQuantity(3000)), '3');
    assert.equal(formatQuantity(newScaledQuantity(5, 6)), '5M');
    assert.equal(formatQuantity(newScaledQuantity(1, -12)), '1e-12');
    assert.equal(formatQuantity(newQuantity(2n ** 70n, 'BinarySI')), '1024Ei');
  });
});

describe('quantityString: what upstream serializes', () => {
  test('keeps the text upstream keeps', () => {
    // (leading zeros and signs included: upstream keeps any text its fast path finds canonical enough)
    const kept = ['100m', '1', '1Ki', '1536Mi', '1e3', '1E3', '+1', '01', '0100m', '1.500', '-100m', '1.', '500Mi', '1Ti'];
    for (const s of kept) assert.equal(quantityString(s), s, s);
  });
  test('canonicalizes the rest', () => {
    const cases: Array<[string, string]> = [
      ['1000m', '1'],
      ['0.5', '500m'],
      ['1.5Gi', '1536Mi'],
      ['8Ki', '8Ki'],
      ['1024Ki', '1Mi'],
      ['2000', '2k'],
      ['1Pi', '1Pi'],
      ['0.1n', '1n'],
      ['1000Ki', '1000Ki'],
      ['0.5Ki', '512'],
    ];
    for (const [s, want] of cases) assert.equal(quantityString(s), want, s);
    assert.equal(normalizeQuantity('1000m'), '1');
  });
  test('arithmetic results print canonically', () => {
    assert.equal(quantityString(addQuantities('+1', '0')), '1');
  });
});

describe('arithmetic and comparison', () => {
  test('compare', () => {
    assert.equal(compareQuantities('1', '1000m'), 0);
    assert.equal(compareQuantities('1Ki', '1k'), 1);
    assert.equal(compareQuantities('999m', '1'), -1);
    assert.equal(compareQuantities('-1', '1'), -1);
    assert.equal(compareQuantities('-2', '-1'), -1);
    assert.equal(compareQuantities('-1', '-2'), 1);
    assert.equal(compareQuantities('0', '-0'), 0);
    assert.equal(compareQuantities('1E', '1000P'), 0);
    assert.equal(compareQuantities('1e30', '1e29'), 1);
    assert.equal(compareQuantities('-1e30', '-1e29'), -1);
    assert.equal(compareQuantities('1n', '0'), 1);
    assert.ok(quantityEquals('1Gi', '1073741824'));
  });

  test('add and subtract keep the first operand’s format', () => {
    assert.equal(formatQuantity(addQuantities('100m', '900m')), '1');
    assert.equal(formatQuantity(addQuantities('1Gi', '512Mi')), '1536Mi');
    assert.equal(formatQuantity(addQuantities('1Gi', '1')), '1073741825');
    assert.equal(formatQuantity(addQuantities('1', '1Ki')), '1025');
    // a zero left operand takes the right operand's format
    assert.equal(addQuantities('0', '1Ki').format, 'BinarySI');
    assert.equal(formatQuantity(subtractQuantities('1', '250m')), '750m');
    assert.equal(formatQuantity(subtractQuantities('1Gi', '1Gi')), '0');
    assert.equal(formatQuantity(subtractQuantities('0', '2Ki')), '-2Ki');
    assert.equal(formatQuantity(negateQuantity('5m')), '-5m');
    assert.equal(formatQuantity(sumQuantities(['100m', '200m', '700m'])), '1');
    assert.equal(formatQuantity(sumQuantities([])), '0');
  });

  test('sign and zero', () => {
    assert.equal(quantitySign('-1m'), -1);
    assert.equal(quantitySign('0'), 0);
    assert.equal(quantitySign('1n'), 1);
    assert.ok(isZeroQuantity('0Gi'));
    assert.ok(!isZeroQuantity('1n'));
  });

  test('toMilli rounds away from zero', () => {
    assert.equal(toMilli('100m'), 100);
    assert.equal(toMilli('1'), 1000);
    assert.equal(toMilli('1.5'), 1500);
    assert.equal(toMilli('1n'), 1);
    assert.equal(toMilli('-1n'), -1);
    assert.equal(toMilli('1Ki'), 1024000);
    assert.equal(toMilli('0'), 0);
  });

  test('quantityValue rounds away from zero; toNumber is exact', () => {
    assert.equal(quantityValue('1.2'), 2);
    assert.equal(quantityValue('-1.2'), -2);
    assert.equal(quantityValue('100m'), 1);
    assert.equal(quantityValue('1Gi'), 1073741824);
    assert.equal(quantityValue('1k'), 1000);
    assert.equal(toNumber('250m'), 0.25);
    assert.equal(toNumber('128Mi'), 134217728);
    assert.equal(scaledValue('1.5G', 6), 1500n);
    assert.equal(scaledValue('1', 3), 1n);
  });
});

describe('quantityFromJSON', () => {
  test('trims strings, takes numbers, passes null', () => {
    assert.equal(formatQuantity(quantityFromJSON(' 100m ')!), '100m');
    assert.equal(formatQuantity(quantityFromJSON(2)!), '2');
    assert.equal(quantityFromJSON(null), undefined);
    assert.throws(() => quantityFromJSON({}), QuantityError);
    assert.throws(() => quantityFromJSON('1 0'), QuantityError);
  });
});
