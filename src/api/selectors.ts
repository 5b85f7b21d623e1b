// Label and field selectors, as upstream's k8s.io/apimachinery/pkg/labels,
// k8s.io/apimachinery/pkg/fields and metav1.LabelSelector, plus the per-resource
// field-label tables of the API server (pkg/apis/*/v1 field label conversion
// funcs + the registries' ToSelectableFields).
//
// Semantics worth knowing:
// - An empty label selector (string "" or an object with neither matchLabels
//   nor matchExpressions) matches everything.
// - A null/undefined metav1.LabelSelector matches nothing (upstream
//   LabelSelectorAsSelector(nil) == labels.Nothing()).
// - A Service-style map selector (selectorFromSet) that is empty matches
//   everything; callers that want "no selector selects nothing" (services,
//   replication controllers) must check for emptiness themselves, as upstream
//   controllers do.

import { fieldErrorMessage, forbidden, invalid, required, type FieldError } from './field-errors.js';
import type { GroupResource } from './registry.js';

export class SelectorError extends Error {
  /** Structured errors, for selectors validated as part of an object (spec.selector). */
  readonly fieldErrors: FieldError[];
  constructor(message: string, fieldErrors: FieldError[] = []) {
    super(message);
    this.name = 'SelectorError';
    this.fieldErrors = fieldErrors;
  }
}

// ---------------------------------------------------------------------------
// Label key / value syntax (k8s.io/apimachinery/pkg/util/validation)

const LABEL_KEY_NAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_KEY_NAME_RE = new RegExp(`^${LABEL_KEY_NAME_FMT}$`);
const LABEL_KEY_ERR = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT = `(${LABEL_KEY_NAME_FMT})?`;
const LABEL_VALUE_RE = new RegExp(`^${LABEL_VALUE_FMT}$`);
const LABEL_VALUE_ERR =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1123_SUBDOMAIN_RE = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`);
const DNS1123_SUBDOMAIN_ERR =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

/** upstream validation.RegexError: note the doubled space between examples, as upstream prints it. */
function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  return `${msg} (e.g. ${examples.map((e) => `'${e}', `).join(' or ')}regex used for validation is '${fmt}')`;
}
const maxLenError = (n: number): string => `must be no more than ${n} characters`;
const byteLen = (s: string): number => Buffer.byteLength(s, 'utf8');

/** upstream validation.IsDNS1123Subdomain: a list of problems, empty when valid. */
export function isDNS1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (byteLen(value) > 253) errs.push(maxLenError(253));
  if (!DNS1123_SUBDOMAIN_RE.test(value)) errs.push(regexError(DNS1123_SUBDOMAIN_ERR, DNS1123_SUBDOMAIN_FMT, 'example.com'));
  return errs;
}

/** upstream validation.IsLabelKey (formerly IsQualifiedName): a list of problems, empty when valid. */
export function isValidLabelKey(value: string): string[] {
  const errs: string[] = [];
  const slash = value.indexOf('/');
  let name = value;
  if (slash >= 0) {
    const prefix = value.slice(0, slash);
    name = value.slice(slash + 1);
    if (name.includes('/')) {
      return [
        `a valid label key ${regexError(LABEL_KEY_ERR, LABEL_KEY_NAME_FMT, 'MyName', 'my.name', '123-abc')}` +
          " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
      ];
    }
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else for (const m of isDNS1123Subdomain(prefix)) errs.push(`prefix part ${m}`);
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (byteLen(name) > 63) errs.push(`name part ${maxLenError(63)}`);
  if (!LABEL_KEY_NAME_RE.test(name)) errs.push(`name part ${regexError(LABEL_KEY_ERR, LABEL_KEY_NAME_FMT, 'MyName', 'my.name', '123-abc')}`);
  return errs;
}

/** upstream validation.IsValidLabelValue: a list of problems, empty when valid. */
export function isValidLabelValue(value: string): string[] {
  const errs: string[] = [];
  if (byteLen(value) > 63) errs.push(maxLenError(63));
  if (!LABEL_VALUE_RE.test(value)) errs.push(regexError(LABEL_VALUE_ERR, LABEL_VALUE_FMT, 'MyValue', 'my_value', '12345'));
  return errs;
}

// ---------------------------------------------------------------------------
// Field paths, as upstream's field.Path renders them; `undefined` is the nil
// path, which upstream prints as "<nil>".

const child = (path: string | undefined, name: string): string => (path ? `${path}.${name}` : name);
const pathString = (path: string | undefined): string => (path === undefined || path === '' ? '<nil>' : path);

/** utilerrors.NewAggregate(...).Error(): one message as is, several de-duplicated in brackets. */
function aggregateMessage(errs: FieldError[]): string {
  const msgs = [...new Set(errs.map(fieldErrorMessage))];
  return msgs.length === 1 ? msgs[0]! : `[${msgs.join(', ')}]`;
}

// ---------------------------------------------------------------------------
// Label requirements and selectors

/** selection.Operator values, spelled as upstream spells them. */
export type SelectorOperator = 'in' | 'notin' | '=' | '==' | '!=' | 'exists' | '!' | 'gt' | 'lt';

const BINARY_OPERATORS: SelectorOperator[] = ['in', 'notin', '=', '==', '!=', 'gt', 'lt'];
const ALL_OPERATORS: SelectorOperator[] = [...BINARY_OPERATORS, 'exists', '!'];

export interface Requirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  /** As given (parsed selectors hold them sorted and de-duplicated, as upstream's set does). */
  readonly values: readonly string[];
}

export type Labels = Readonly<Record<string, string>> | null | undefined;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** strconv.ParseInt(s, 10, 64). */
function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const v = BigInt(s);
  return v < INT64_MIN || v > INT64_MAX ? undefined : v;
}

function requirementErrors(key: string, op: string, values: readonly string[], path: string | undefined): FieldError[] {
  const errs: FieldError[] = [];
  const keyMsgs = isValidLabelKey(key);
  if (keyMsgs.length) errs.push(invalid(child(path, 'key'), key, keyMsgs.join('; ')));
  const valuePath = child(path, 'values');
  switch (op) {
    case 'in':
    case 'notin':
      if (values.length === 0) errs.push(invalid(valuePath, [...values], "for 'in', 'notin' operators, values set can't be empty"));
      break;
    case '=':
    case '==':
    case '!=':
      if (values.length !== 1) errs.push(invalid(valuePath, [...values], 'exact-match compatibility requires one single value'));
      break;
    case 'exists':
    case '!':
      if (values.length !== 0) errs.push(invalid(valuePath, [...values], 'values set must be empty for exists and does not exist'));
      break;
    case 'gt':
    case 'lt':
      if (values.length !== 1) errs.push(invalid(valuePath, [...values], "for 'Gt', 'Lt' operators, exactly one value is required"));
      values.forEach((v, i) => {
        if (parseInt64(v) === undefined) errs.push(invalid(`${valuePath}[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"));
      });
      break;
    default:
      errs.push({
        type: 'FieldValueNotSupported',
        field: child(path, 'operator'),
        badValue: op,
        detail: `supported values: ${ALL_OPERATORS.map((o) => JSON.stringify(o)).join(', ')}`,
      });
  }
  values.forEach((v, i) => {
    const msgs = isValidLabelValue(v);
    if (msgs.length) errs.push(invalid(`${valuePath}[${i}][${key}]`, v, msgs.join('; ')));
  });
  return errs;
}

/**
 * labels.NewRequirement: validates key, operator and values; throws a
 * SelectorError whose message is upstream's aggregated error.
 * `path` is the field path prefix (upstream field.WithPath); none by default.
 */
export function newRequirement(key: string, operator: SelectorOperator, values: readonly string[] = [], path?: string): Requirement {
  const errs = requirementErrors(key, operator, values, path);
  if (errs.length) throw new SelectorError(aggregateMessage(errs), errs);
  return Object.freeze({ key, operator, values: Object.freeze([...values]) });
}

function requirementMatches(r: Requirement, labels: Labels): boolean {
  const has = labels != null && Object.prototype.hasOwnProperty.call(labels, r.key);
  const val = has ? labels![r.key]! : undefined;
  switch (r.operator) {
    case 'in':
    case '=':
    case '==':
      return has && r.values.includes(val!);
    case 'notin':
    case '!=':
      return !has || !r.values.includes(val!);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has || r.values.length !== 1) return false;
      const lv = parseInt64(val!);
      const rv = parseInt64(r.values[0]!);
      if (lv === undefined || rv === undefined) return false;
      return r.operator === 'gt' ? lv > rv : lv < rv;
    }
    default:
      return false;
  }
}

/** Requirement.String(): `a=b`, `a in (x,y)`, `!a`, values sorted on output. */
export function requirementToString(r: Requirement): string {
  let s = r.operator === '!' ? `!${r.key}` : r.key;
  switch (r.operator) {
    case 'exists':
    case '!':
      return s;
    case '=':
    case '==':
    case '!=':
      s += r.operator;
      break;
    case 'gt':
      s += '>';
      break;
    case 'lt':
      s += '<';
      break;
    case 'in':
    case 'notin':
      s += ` ${r.operator} `;
      break;
  }
  const vals = r.values.length === 1 ? r.values[0]! : [...r.values].sort(compareStrings).join(',');
  return r.operator === 'in' || r.operator === 'notin' ? `${s}(${vals})` : s + vals;
}

/** Byte-wise ordering, as Go's string comparison (keys and values are ASCII once valid). */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface LabelSelectorMatcher {
  /** The requirements, sorted by key (AND of all). Empty for both everything and nothing. */
  readonly requirements: readonly Requirement[];
  /** True only for the selector that matches no object (a null metav1.LabelSelector). */
  readonly matchesNothing: boolean;
  matches(labels: Labels): boolean;
  /** True when the selector does not restrict the selection (matches everything). */
  isEmpty(): boolean;
  /** Upstream Selector.String(): requirements joined by ","; "" for everything and nothing. */
  toString(): string;
  /** If the selector requires `key` to have exactly one value (=, ==, or `in` with one value), that value. */
  requiresExactMatch(key: string): string | undefined;
  /** A new selector with more requirements (sorted by key again). */
  add(...reqs: Requirement[]): LabelSelectorMatcher;
}

class RequirementsSelector implements LabelSelectorMatcher {
  readonly matchesNothing = false;
  readonly requirements: readonly Requirement[];
  constructor(reqs: readonly Requirement[]) {
    // Stable sort by key, as upstream's sort.Sort(ByKey) behaves on small inputs.
    this.requirements = Object.freeze([...reqs].sort((a, b) => compareStrings(a.key, b.key)));
  }
  matches(labels: Labels): boolean {
    return this.requirements.every((r) => requirementMatches(r, labels));
  }
  isEmpty(): boolean {
    return this.requirements.length === 0;
  }
  toString(): string {
    return this.requirements.map(requirementToString).join(',');
  }
  requiresExactMatch(key: string): string | undefined {
    const r = this.requirements.find((x) => x.key === key);
    if (!r) return undefined;
    if ((r.operator === '=' || r.operator === '==' || r.operator === 'in') && r.values.length === 1) return r.values[0];
    return undefined;
  }
  add(...reqs: Requirement[]): LabelSelectorMatcher {
    return new RequirementsSelector([...this.requirements, ...reqs]);
  }
}

class NothingSelector implements LabelSelectorMatcher {
  readonly matchesNothing = true;
  readonly requirements: readonly Requirement[] = Object.freeze([]);
  matches(): boolean {
    return false;
  }
  isEmpty(): boolean {
    return false;
  }
  toString(): string {
    return '';
  }
  requiresExactMatch(): string | undefined {
    return undefined;
  }
  add(): LabelSelectorMatcher {
    return this;
  }
}

const EVERYTHING = new RequirementsSelector([]);
const NOTHING = new NothingSelector();

/** labels.Everything(): matches all objects. */
export const everything = (): LabelSelectorMatcher => EVERYTHING;
/** labels.Nothing(): matches no object. */
export const nothing = (): LabelSelectorMatcher => NOTHING;

/** A selector from already-validated requirements. */
export function selectorFromRequirements(reqs: readonly Requirement[]): LabelSelectorMatcher {
  return reqs.length === 0 ? EVERYTHING : new RequirementsSelector(reqs);
}

/**
 * labels.SelectorFromSet: `key=value` for every entry, no validation. A null
 * or empty set matches everything (Service.spec.selector semantics are the
 * caller's business).
 */
export function selectorFromSet(set: Labels): LabelSelectorMatcher {
  if (!set) return EVERYTHING;
  const reqs = Object.entries(set).map(([key, v]): Requirement => ({ key, operator: '=', values: [v] }));
  return selectorFromRequirements(reqs);
}

/** labels.ValidatedSelectorFromSet: as selectorFromSet, throwing SelectorError for an invalid key or value. */
export function validatedSelectorFromSet(set: Labels): LabelSelectorMatcher {
  if (!set) return EVERYTHING;
  return selectorFromRequirements(
    Object.keys(set)
      .sort(compareStrings)
      .map((k) => newRequirement(k, '=', [set[k]!])),
  );
}

// --- the string parser (labels.Parse) ---------------------------------------

const enum Tok {
  Error,
  EndOfString,
  ClosedPar,
  Comma,
  DoesNotExist,
  DoubleEquals,
  Equals,
  GreaterThan,
  Identifier,
  In,
  LessThan,
  NotEquals,
  NotIn,
  OpenPar,
}

const STRING_TO_TOKEN: ReadonlyMap<string, Tok> = new Map([
  [')', Tok.ClosedPar],
  [',', Tok.Comma],
  ['!', Tok.DoesNotExist],
  ['==', Tok.DoubleEquals],
  ['=', Tok.Equals],
  ['>', Tok.GreaterThan],
  ['in', Tok.In],
  ['<', Tok.LessThan],
  ['!=', Tok.NotEquals],
  ['notin', Tok.NotIn],
  ['(', Tok.OpenPar],
]);

interface Item {
  tok: Tok;
  lit: string;
}

const isWhitespace = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isSpecial = (c: string): boolean => c === '=' || c === '!' || c === '(' || c === ')' || c === ',' || c === '>' || c === '<';

function lex(s: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  for (;;) {
    while (pos < s.length && isWhitespace(s[pos]!)) pos++;
    if (pos >= s.length) {
      items.push({ tok: Tok.EndOfString, lit: '' });
      return items;
    }
    if (isSpecial(s[pos]!)) {
      // Longest run of special symbols that is still a token ("!=", "==").
      let buf = '';
      let last: Item | undefined;
      while (pos < s.length && isSpecial(s[pos]!)) {
        const tok = STRING_TO_TOKEN.get(buf + s[pos]);
        if (tok !== undefined) {
          buf += s[pos];
          last = { tok, lit: buf };
          pos++;
        } else if (last) {
          break;
        } else {
          buf += s[pos];
          pos++;
        }
      }
      items.push(last ?? { tok: Tok.Error, lit: `error expected: keyword found '${buf}'` });
    } else {
      const start = pos;
      while (pos < s.length && !isSpecial(s[pos]!) && !isWhitespace(s[pos]!)) pos++;
      const word = s.slice(start, pos);
      items.push({ tok: STRING_TO_TOKEN.get(word) ?? Tok.Identifier, lit: word });
    }
  }
}

/** Parser contexts: in Values context the keywords `in`/`notin` are identifiers. */
const enum Ctx {
  KeyAndOperator,
  Values,
}

class Parser {
  private position = 0;
  constructor(
    private readonly items: Item[],
    private readonly path: string | undefined,
  ) {}

  private lookahead(ctx: Ctx): Item {
    const it = this.items[this.position]!;
    if (ctx === Ctx.Values && (it.tok === Tok.In || it.tok === Tok.NotIn)) return { tok: Tok.Identifier, lit: it.lit };
    return it;
  }

  private consume(ctx: Ctx): Item {
    const it = this.lookahead(ctx);
    this.position++;
    return it;
  }

  parse(): Requirement[] {
    const reqs: Requirement[] = [];
    for (;;) {
      const { tok, lit } = this.lookahead(Ctx.Values);
      switch (tok) {
        case Tok.Identifier:
        case Tok.DoesNotExist: {
          let r: Requirement;
          try {
            r = this.parseRequirement();
          } catch (e) {
            if (e instanceof SelectorError) throw new SelectorError(`unable to parse requirement: ${e.message}`, e.fieldErrors);
            throw e;
          }
          reqs.push(r);
          const next = this.consume(Ctx.Values);
          if (next.tok === Tok.EndOfString) return reqs;
          if (next.tok === Tok.Comma) {
            const after = this.lookahead(Ctx.Values);
            if (after.tok !== Tok.Identifier && after.tok !== Tok.DoesNotExist) {
              throw new SelectorError(`found '${after.lit}', expected: identifier after ','`);
            }
            break;
          }
          throw new SelectorError(`found '${next.lit}', expected: ',' or 'end of string'`);
        }
        case Tok.EndOfString:
          return reqs;
        default:
          throw new SelectorError(`found '${lit}', expected: !, identifier, or 'end of string'`);
      }
    }
  }

  private parseRequirement(): Requirement {
    const { key, operator } = this.parseKeyAndInferOperator();
    if (operator === 'exists' || operator === '!') return newRequirement(key, operator, [], this.path);
    const op = this.parseOperator();
    const values = op === 'in' || op === 'notin' ? this.parseValues() : this.parseExactValue();
    // upstream collects values in a string set and hands over its sorted list
    return newRequirement(key, op, [...values].sort(compareStrings), this.path);
  }

  private parseKeyAndInferOperator(): { key: string; operator: SelectorOperator | undefined } {
    let operator: SelectorOperator | undefined;
    let it = this.consume(Ctx.Values);
    if (it.tok === Tok.DoesNotExist) {
      operator = '!';
      it = this.consume(Ctx.Values);
    }
    if (it.tok !== Tok.Identifier) throw new SelectorError(`found '${it.lit}', expected: identifier`);
    const msgs = isValidLabelKey(it.lit);
    if (msgs.length) {
      const fe = invalid(pathString(this.path), it.lit, msgs.join('; '));
      throw new SelectorError(fieldErrorMessage(fe), [fe]);
    }
    const next = this.lookahead(Ctx.Values).tok;
    if ((next === Tok.EndOfString || next === Tok.Comma) && operator !== '!') operator = 'exists';
    return { key: it.lit, operator };
  }

  private parseOperator(): SelectorOperator {
    const { tok, lit } = this.consume(Ctx.KeyAndOperator);
    switch (tok) {
      case Tok.In:
        return 'in';
      case Tok.Equals:
        return '=';
      case Tok.DoubleEquals:
        return '==';
      case Tok.GreaterThan:
        return 'gt';
      case Tok.LessThan:
        return 'lt';
      case Tok.NotIn:
        return 'notin';
      case Tok.NotEquals:
        return '!=';
      default:
        throw new SelectorError(`found '${lit}', expected: ${BINARY_OPERATORS.join(', ')}`);
    }
  }

  private parseValues(): Set<string> {
    const open = this.consume(Ctx.Values);
    if (open.tok !== Tok.OpenPar) throw new SelectorError(`found '${open.lit}' expected: '('`);
    const { tok, lit } = this.lookahead(Ctx.Values);
    switch (tok) {
      case Tok.Identifier:
      case Tok.Comma: {
        const s = this.parseIdentifiersList();
        // (upstream reports the first value's literal here, not the unexpected token's)
        if (this.consume(Ctx.Values).tok !== Tok.ClosedPar) throw new SelectorError(`found '${lit}', expected: ')'`);
        return s;
      }
      case Tok.ClosedPar:
        this.consume(Ctx.Values);
        return new Set(['']);
      default:
        throw new SelectorError(`found '${lit}', expected: ',', ')' or identifier`);
    }
  }

  private parseIdentifiersList(): Set<string> {
    const s = new Set<string>();
    for (;;) {
      const { tok, lit } = this.consume(Ctx.Values);
      if (tok === Tok.Identifier) {
        s.add(lit);
        const next = this.lookahead(Ctx.Values);
        if (next.tok === Tok.Comma) continue;
        if (next.tok === Tok.ClosedPar) return s;
        throw new SelectorError(`found '${next.lit}', expected: ',' or ')'`);
      } else if (tok === Tok.Comma) {
        // an empty value: "(,a)", "(a,,b)", "(a,)"
        if (s.size === 0) s.add('');
        const next = this.lookahead(Ctx.Values).tok;
        if (next === Tok.ClosedPar) {
          s.add('');
          return s;
        }
        if (next === Tok.Comma) s.add('');
      } else {
        throw new SelectorError(`found '${lit}', expected: ',', or identifier`);
      }
    }
  }

  private parseExactValue(): Set<string> {
    const next = this.lookahead(Ctx.Values).tok;
    if (next === Tok.EndOfString || next === Tok.Comma) return new Set(['']);
    const { tok, lit } = this.consume(Ctx.Values);
    if (tok === Tok.Identifier) return new Set([lit]);
    throw new SelectorError(`found '${lit}', expected: identifier`);
  }
}

/**
 * labels.Parse: the string form used by `?labelSelector=` and `kubectl -l`.
 *
 *   <selector>    ::= <requirement> | <requirement> "," <selector>
 *   <requirement> ::= [!] KEY [ ("in"|"notin") "(" VALUES ")" | ("="|"=="|"!="|">"|"<") VALUE ]
 *
 * Throws SelectorError with upstream's message, e.g.
 * `unable to parse requirement: found '', expected: identifier`.
 * `path` prefixes field paths in key/value errors (upstream field.WithPath);
 * without it a bad key is reported at `<nil>`, as upstream does.
 */
export function parseLabelSelector(s: string, opts: { path?: string } = {}): LabelSelectorMatcher {
  return selectorFromRequirements(new Parser(lex(s), opts.path).parse());
}

// --- metav1.LabelSelector ----------------------------------------------------

export type LabelSelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface LabelSelectorRequirement {
  key: string;
  operator: LabelSelectorOperator | string;
  values?: string[] | null;
}

export interface LabelSelector {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: LabelSelectorRequirement[] | null;
}

export interface LabelSelectorValidationOptions {
  /** upstream AllowInvalidLabelValueInSelector: skip the label-value syntax check on matchExpressions values. */
  allowInvalidLabelValueInSelector?: boolean;
}

/**
 * metav1validation.ValidateLabelSelector: field errors for a selector held by
 * an object at `path` (e.g. "spec.selector"). A null selector is valid here
 * (resources that require one check that themselves).
 */
export function validateLabelSelector(
  sel: LabelSelector | null | undefined,
  path = 'spec.selector',
  opts: LabelSelectorValidationOptions = {},
): FieldError[] {
  const errs: FieldError[] = [];
  if (sel == null) return errs;
  const labelsPath = child(path, 'matchLabels');
  const matchLabels = sel.matchLabels ?? {};
  for (const k of Object.keys(matchLabels).sort(compareStrings)) {
    for (const m of isValidLabelKey(k)) errs.push(invalid(labelsPath, k, m));
    for (const m of isValidLabelValue(String(matchLabels[k]))) errs.push(invalid(labelsPath, matchLabels[k], m));
  }
  (sel.matchExpressions ?? []).forEach((expr, i) => {
    const p = `${child(path, 'matchExpressions')}[${i}]`;
    const values = expr.values ?? [];
    switch (expr.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) errs.push(required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) errs.push(forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
        break;
      default:
        errs.push(invalid(`${p}.operator`, expr.operator, 'not a valid selector operator'));
    }
    for (const m of isValidLabelKey(expr.key ?? '')) errs.push(invalid(`${p}.key`, expr.key ?? '', m));
    if (!opts.allowInvalidLabelValueInSelector) {
      values.forEach((v, j) => {
        for (const m of isValidLabelValue(v)) errs.push(invalid(`${p}.values[${j}]`, v, m));
      });
    }
  });
  return errs;
}

const OBJECT_OPERATORS: Record<LabelSelectorOperator, SelectorOperator> = {
  In: 'in',
  NotIn: 'notin',
  Exists: 'exists',
  DoesNotExist: '!',
};

/**
 * metav1.LabelSelectorAsSelector, after validateLabelSelector.
 *
 * - null/undefined -> a selector that matches nothing
 * - {} (no matchLabels, no matchExpressions) -> matches everything
 *
 * Throws SelectorError carrying `fieldErrors` (paths under `path`) when the
 * selector is invalid; the message is the field errors joined as upstream's
 * aggregate prints them.
 */
export function labelSelectorFromObject(
  sel: LabelSelector | null | undefined,
  path = 'spec.selector',
  opts: LabelSelectorValidationOptions = {},
): LabelSelectorMatcher {
  if (sel == null) return NOTHING;
  const errs = validateLabelSelector(sel, path, opts);
  if (errs.length) throw new SelectorError(aggregateMessage(errs), errs);
  const reqs: Requirement[] = [];
  for (const [key, v] of Object.entries(sel.matchLabels ?? {})) reqs.push({ key, operator: '=', values: [v] });
  for (const e of sel.matchExpressions ?? []) {
    reqs.push({ key: e.key, operator: OBJECT_OPERATORS[e.operator as LabelSelectorOperator], values: [...(e.values ?? [])] });
  }
  return selectorFromRequirements(reqs);
}

/**
 * metav1.ParseToLabelSelector: a selector string as a metav1.LabelSelector
 * (`=`/`==` become matchLabels; `in`, `notin`, `exists`, `!` become
 * expressions; `!=`, `>` and `<` have no object form and throw).
 */
export function parseToLabelSelector(s: string): LabelSelector {
  const out: LabelSelector = {};
  for (const r of parseLabelSelector(s).requirements) {
    switch (r.operator) {
      case '=':
      case '==':
        (out.matchLabels ??= {})[r.key] = r.values[0]!;
        break;
      case 'in':
      case 'notin':
        (out.matchExpressions ??= []).push({ key: r.key, operator: r.operator === 'in' ? 'In' : 'NotIn', values: [...r.values] });
        break;
      case 'exists':
      case '!':
        (out.matchExpressions ??= []).push({ key: r.key, operator: r.operator === 'exists' ? 'Exists' : 'DoesNotExist' });
        break;
      default:
        throw new SelectorError(`invalid selector operator: ${r.operator}`);
    }
  }
  return out;
}

/**
 * The canonical string of a selector, as upstream's Selector.String():
 * `app=web,tier in (a,b),!canary`. A matcher prints as is ("" when it
 * restricts nothing); an object selector prints as kubectl describe shows it
 * (metav1.FormatLabelSelector): "<none>" when empty or null, "<error>" when invalid.
 */
export function selectorToString(sel: LabelSelectorMatcher | LabelSelector | null | undefined): string {
  if (sel != null && typeof (sel as LabelSelectorMatcher).matches === 'function') return (sel as LabelSelectorMatcher).toString();
  return formatLabelSelector(sel as LabelSelector | null | undefined);
}

/** metav1.FormatLabelSelector: "<none>" for an empty or null selector, "<error>" for an invalid one. */
export function formatLabelSelector(sel: LabelSelector | null | undefined): string {
  let s: string;
  try {
    s = labelSelectorFromObject(sel).toString();
  } catch {
    return '<error>';
  }
  return s === '' ? '<none>' : s;
}

// ---------------------------------------------------------------------------
// Field selectors (k8s.io/apimachinery/pkg/fields)

export interface FieldRequirement {
  readonly field: string;
  /** `==` parses as `=`, as upstream's hasTerm. */
  readonly operator: '=' | '!=';
  readonly value: string;
}

export type Fields = Readonly<Record<string, string>>;

export interface FieldSelector {
  readonly requirements: readonly FieldRequirement[];
  /** Missing fields read as "". */
  matches(fields: Fields): boolean;
  isEmpty(): boolean;
  /** Upstream String(): terms joined by ",", values escaped. */
  toString(): string;
  requiresExactMatch(field: string): string | undefined;
}

/** fields.EscapeValue: `\` -> `\\`, `,` -> `\,`, `=` -> `\=`. */
export function escapeFieldValue(s: string): string {
  return s.replace(/[\\,=]/g, (c) => `\\${c}`);
}

/** fields.UnescapeValue: throws SelectorError on a bad escape or a bare `,`/`=`. */
export function unescapeFieldValue(s: string): string {
  let out = '';
  let inSlash = false;
  for (const c of s) {
    if (inSlash) {
      if (c === '\\' || c === ',' || c === '=') out += c;
      else throw new SelectorError(`invalid field selector: invalid escape sequence: \\${c}`);
      inSlash = false;
      continue;
    }
    if (c === '\\') inSlash = true;
    else if (c === ',' || c === '=') {
      // upstream formats the rune with %v, i.e. as its code point number
      throw new SelectorError(`invalid field selector: unescaped character in value: ${c.codePointAt(0)}`);
    } else out += c;
  }
  if (inSlash) throw new SelectorError('invalid field selector: invalid escape sequence: \\');
  return out;
}

class FieldSelectorImpl implements FieldSelector {
  readonly requirements: readonly FieldRequirement[];
  constructor(reqs: readonly FieldRequirement[]) {
    this.requirements = Object.freeze([...reqs]);
  }
  matches(fields: Fields): boolean {
    return this.requirements.every((r) => {
      const v = Object.prototype.hasOwnProperty.call(fields, r.field) ? fields[r.field] : '';
      return r.operator === '=' ? v === r.value : v !== r.value;
    });
  }
  isEmpty(): boolean {
    return this.requirements.length === 0;
  }
  toString(): string {
    return this.requirements.map((r) => `${r.field}${r.operator}${escapeFieldValue(r.value)}`).join(',');
  }
  requiresExactMatch(field: string): string | undefined {
    for (const r of this.requirements) if (r.field === field && r.operator === '=') return r.value;
    return undefined;
  }
}

/** A field selector from requirements (no parsing, no conversion). */
export function fieldSelectorFromRequirements(reqs: readonly FieldRequirement[]): FieldSelector {
  return new FieldSelectorImpl(reqs);
}

/** fields.SelectorFromSet: `field=value` for every entry, sorted by field. */
export function fieldSelectorFromSet(set: Fields | null | undefined): FieldSelector {
  return new FieldSelectorImpl(
    Object.keys(set ?? {})
      .sort(compareStrings)
      .map((field) => ({ field, operator: '=' as const, value: set![field]! })),
  );
}

/**
 * fields.ParseSelector: comma-separated `field=value`, `field==value`,
 * `field!=value`; `\,` `\=` `\\` escape values. Terms are sorted as strings,
 * empty terms are skipped, "" selects everything. Throws SelectorError, e.g.
 * `invalid selector: 'foo'; can't understand 'foo'`.
 */
export function parseFieldSelector(s: string): FieldSelector {
  // split on unescaped commas, keeping escapes for UnescapeValue
  const parts: string[] = [];
  if (s.length > 0) {
    let start = 0;
    let inSlash = false;
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      if (inSlash) inSlash = false;
      else if (c === '\\') inSlash = true;
      else if (c === ',') {
        parts.push(s.slice(start, i));
        start = i + 1;
      }
    }
    parts.push(s.slice(start));
  }
  parts.sort(compareStrings);
  const reqs: FieldRequirement[] = [];
  for (const part of parts) {
    if (part === '') continue;
    let split: { lhs: string; op: string; rhs: string } | undefined;
    for (let i = 0; i < part.length && !split; i++) {
      for (const op of ['!=', '==', '=']) {
        if (part.startsWith(op, i)) {
          split = { lhs: part.slice(0, i), op, rhs: part.slice(i + op.length) };
          break;
        }
      }
    }
    if (!split) throw new SelectorError(`invalid selector: '${s}'; can't understand '${part}'`);
    reqs.push({ field: split.lhs, operator: split.op === '!=' ? '!=' : '=', value: unescapeFieldValue(split.rhs) });
  }
  return new FieldSelectorImpl(reqs);
}

// --- per-resource field labels ----------------------------------------------

type Obj = Record<string, unknown>;

function get(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const p of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Obj)[p];
  }
  return cur;
}
const str = (v: unknown): string => (v === undefined || v === null ? '' : typeof v === 'object' ? '' : String(v));
const bool = (v: unknown): string => (v === true ? 'true' : 'false');
const int = (v: unknown): string => (typeof v === 'number' && Number.isFinite(v) ? String(Math.trunc(v)) : '0');

interface FieldLabelTable {
  /** Accepted label -> the label it converts to (upstream field label conversion func). */
  accepted: Readonly<Record<string, string>>;
  /** The error for a label the resource does not accept. */
  reject: (label: string) => string;
  /** The object's selectable fields (upstream GetAttrs / ToSelectableFields), keyed by converted label. */
  fields: (obj: Obj) => Record<string, string>;
}

const defaultReject = (label: string): string => `field label not supported: ${label}`;
const metaReject = (label: string): string =>
  `${JSON.stringify(label)} is not a known field selector: only "metadata.name", "metadata.namespace"`;

function metaFields(obj: Obj, namespaced: boolean): Record<string, string> {
  const out: Record<string, string> = { 'metadata.name': str(get(obj, 'metadata.name')) };
  if (namespaced) out['metadata.namespace'] = str(get(obj, 'metadata.namespace'));
  return out;
}

function table(
  labels: string[],
  fields: (obj: Obj) => Record<string, string>,
  opts: { namespaced?: boolean; aliases?: Record<string, string>; reject?: (label: string) => string } = {},
): FieldLabelTable {
  const namespaced = opts.namespaced ?? true;
  const accepted: Record<string, string> = { 'metadata.name': 'metadata.name' };
  if (namespaced) accepted['metadata.namespace'] = 'metadata.namespace';
  for (const l of labels) accepted[l] = l;
  Object.assign(accepted, opts.aliases ?? {});
  return { accepted, reject: opts.reject ?? defaultReject, fields: (obj) => ({ ...metaFields(obj, namespaced), ...fields(obj) }) };
}

function eventFields(obj: Obj): Record<string, string> {
  // Reads both wire shapes (core/v1 and events.k8s.io/v1) of the one stored Event.
  const io = (k: string): string => str(get(obj, `involvedObject.${k}`) ?? get(obj, `regarding.${k}`));
  const reporting = str(get(obj, 'reportingComponent') ?? get(obj, 'reportingController'));
  const source = str(get(obj, 'source.component') ?? get(obj, 'deprecatedSource.component')) || reporting;
  return {
    'involvedObject.kind': io('kind'),
    'involvedObject.namespace': io('namespace'),
    'involvedObject.name': io('name'),
    'involvedObject.uid': io('uid'),
    'involvedObject.apiVersion': io('apiVersion'),
    'involvedObject.resourceVersion': io('resourceVersion'),
    'involvedObject.fieldPath': io('fieldPath'),
    reason: str(get(obj, 'reason')),
    reportingComponent: reporting,
    source,
    type: str(get(obj, 'type')),
  };
}

const EVENT_LABELS = [
  'involvedObject.kind',
  'involvedObject.namespace',
  'involvedObject.name',
  'involvedObject.uid',
  'involvedObject.apiVersion',
  'involvedObject.resourceVersion',
  'involvedObject.fieldPath',
  'reason',
  'reportingComponent',
  'source',
  'type',
];

/**
 * Resources whose version has a field label conversion func upstream. Every
 * other resource gets upstream's DefaultMetaV1FieldSelectorConversion:
 * metadata.name and metadata.namespace only, with its own error message.
 *
 * Upstream quirks kept on purpose:
 * - pods accept status.podIPs but never set it, so it reads as "".
 * - namespaces and nodes do not accept metadata.namespace.
 * - apps/v1 registers no conversion func, so replicasets (whose registry
 *   does compute status.replicas) and the other apps kinds accept only the
 *   metadata fields; status.replicas works on v1 replicationcontrollers.
 */
const FIELD_LABEL_TABLES: Readonly<Record<GroupResource, FieldLabelTable>> = {
  '/pods': table(
    [
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'spec.hostNetwork',
      'status.phase',
      'status.podIP',
      'status.podIPs',
      'status.nominatedNodeName',
    ],
    (o) => ({
      'spec.nodeName': str(get(o, 'spec.nodeName')),
      'spec.restartPolicy': str(get(o, 'spec.restartPolicy')),
      'spec.schedulerName': str(get(o, 'spec.schedulerName')),
      'spec.serviceAccountName': str(get(o, 'spec.serviceAccountName')),
      'spec.hostNetwork': bool(get(o, 'spec.hostNetwork')),
      'status.phase': str(get(o, 'status.phase')),
      // upstream reads status.podIPs[0] (filled from status.podIP on conversion)
      'status.podIP': str(firstPodIP(o) ?? get(o, 'status.podIP')),
      'status.nominatedNodeName': str(get(o, 'status.nominatedNodeName')),
    }),
    // old v1 clients send spec.host
    { aliases: { 'spec.host': 'spec.nodeName' } },
  ),
  '/nodes': table(['spec.unschedulable'], (o) => ({ 'spec.unschedulable': bool(get(o, 'spec.unschedulable')) }), { namespaced: false }),
  '/namespaces': table(['status.phase'], (o) => ({ 'status.phase': str(get(o, 'status.phase')) }), { namespaced: false }),
  '/secrets': table(['type'], (o) => ({ type: str(get(o, 'type')) })),
  '/services': table(['spec.clusterIP', 'spec.type'], (o) => ({
    'spec.clusterIP': str(get(o, 'spec.clusterIP')),
    'spec.type': str(get(o, 'spec.type')),
  })),
  '/replicationcontrollers': table(['status.replicas'], (o) => ({ 'status.replicas': int(get(o, 'status.replicas')) })),
  '/events': table(EVENT_LABELS, eventFields),
  // events.k8s.io/v1 speaks regarding.* and reportingController and converts
  // them to the core labels; the core spellings are not accepted here.
  'events.k8s.io/events': table(['reason', 'type'], eventFields, {
    aliases: {
      'regarding.kind': 'involvedObject.kind',
      'regarding.namespace': 'involvedObject.namespace',
      'regarding.name': 'involvedObject.name',
      'regarding.uid': 'involvedObject.uid',
      'regarding.apiVersion': 'involvedObject.apiVersion',
      'regarding.resourceVersion': 'involvedObject.resourceVersion',
      'regarding.fieldPath': 'involvedObject.fieldPath',
      reportingController: 'reportingComponent',
    },
  }),
  'batch/jobs': table(['status.successful'], (o) => ({ 'status.successful': int(get(o, 'status.succeeded')) }), {
    reject: (label) => `field label ${JSON.stringify(label)} not supported for batchv1.Job`,
  }),
  'certificates.k8s.io/certificatesigningrequests': table(
    ['spec.signerName'],
    (o) => ({ 'spec.signerName': str(get(o, 'spec.signerName')) }),
    { namespaced: false },
  ),
};

function firstPodIP(o: Obj): unknown {
  const ips = get(o, 'status.podIPs');
  return Array.isArray(ips) && ips.length > 0 ? (ips[0] as Obj | null)?.ip : undefined;
}

const DEFAULT_TABLE: FieldLabelTable = {
  accepted: { 'metadata.name': 'metadata.name', 'metadata.namespace': 'metadata.namespace' },
  reject: metaReject,
  fields: (obj) => metaFields(obj, true),
};

const tableFor = (gr: GroupResource): FieldLabelTable => FIELD_LABEL_TABLES[gr] ?? DEFAULT_TABLE;

/** The field labels a resource accepts in `?fieldSelector=` (including aliases such as pods' spec.host). */
export function supportedFieldLabels(gr: GroupResource): string[] {
  return Object.keys(tableFor(gr).accepted).sort(compareStrings);
}

/** The scheme's ConvertFieldLabel: the label a requirement is evaluated on; throws SelectorError for unsupported labels. */
export function convertFieldLabel(gr: GroupResource, label: string): string {
  const t = tableFor(gr);
  const to = Object.prototype.hasOwnProperty.call(t.accepted, label) ? t.accepted[label] : undefined;
  if (to === undefined) throw new SelectorError(t.reject(label));
  return to;
}

/** An object's selectable fields (upstream GetAttrs): values as strings, bools "true"/"false", counts decimal. */
export function selectableFields(gr: GroupResource, obj: unknown): Record<string, string> {
  return tableFor(gr).fields((obj ?? {}) as Obj);
}

export interface FieldSelectorMatcher {
  /** The selector after label conversion (e.g. spec.host -> spec.nodeName). */
  readonly selector: FieldSelector;
  matches(obj: unknown): boolean;
  isEmpty(): boolean;
}

/**
 * A matcher for `?fieldSelector=` on resource `gr` ("<group>/<plural>", core
 * group empty: "/pods"). Parses a string selector, converts every label as the
 * API server does and throws SelectorError with upstream's message for an
 * unsupported one (`field label not supported: spec.foo` for resources with a
 * conversion func; `"spec.foo" is not a known field selector: only
 * "metadata.name", "metadata.namespace"` for the rest). The API server answers
 * either with 400 BadRequest. Errors are reported for the first offending term
 * in sorted order, as upstream's Transform does.
 */
export function fieldSelectorMatcher(gr: GroupResource, selector: string | FieldSelector): FieldSelectorMatcher {
  const parsed = typeof selector === 'string' ? parseFieldSelector(selector) : selector;
  const converted = new FieldSelectorImpl(parsed.requirements.map((r) => ({ ...r, field: convertFieldLabel(gr, r.field) })));
  return {
    selector: converted,
    matches: (obj: unknown) => converted.isEmpty() || converted.matches(selectableFields(gr, obj)),
    isEmpty: () => converted.isEmpty(),
  };
}
