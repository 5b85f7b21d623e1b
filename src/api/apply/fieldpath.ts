// Field paths and field sets, as sigs.k8s.io/structured-merge-diff/fieldpath
// defines them, and their FieldsV1 encoding in metadata.managedFields:
//
//   f:<name>                 a struct field or map key
//   k:{"name":"nginx"}       a list item, by its list-map keys (sorted, JSON)
//   v:"value"                a list item of a set, by its value (JSON)
//   i:0                      a list item by index (atomic lists never need it)
//   .                        the node itself is owned, besides its children
//
// A FieldSet is a trie: at every node, `members` are the path elements owned
// there as leaves, and `children` the elements with owned paths below them
// (an element can be both: `{".":{}, "f:x":{}}`).

export type PathElement =
  | { kind: 'field'; name: string }
  | { kind: 'key'; fields: Array<[string, unknown]> }
  | { kind: 'value'; value: unknown }
  | { kind: 'index'; index: number };

export type Path = PathElement[];

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export const field = (name: string): PathElement => ({ kind: 'field', name });

/** A key path element; the fields are sorted by name, as upstream's keys are. */
export function keyElement(fields: Array<[string, unknown]>): PathElement {
  return { kind: 'key', fields: [...fields].sort((a, b) => cmpStr(a[0], b[0])) };
}

/** Go's encoding/json rendering: sorted map keys, HTML-safe escapes. */
export function goJSON(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return `[${v.map(goJSON).join(',')}]`;
  if (isObj(v)) {
    const keys = Object.keys(v).sort(cmpStr);
    return `{${keys.map((k) => `${escapeString(k)}:${goJSON(v[k])}`).join(',')}}`;
  }
  if (typeof v === 'string') return escapeString(v);
  return JSON.stringify(v);
}

function escapeString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The FieldsV1 key of a path element (also its identity in sets). */
export function encodeElement(pe: PathElement): string {
  switch (pe.kind) {
    case 'field':
      return `f:${pe.name}`;
    case 'key':
      return `k:{${pe.fields.map(([n, v]) => `${escapeString(n)}:${goJSON(v)}`).join(',')}}`;
    case 'value':
      return `v:${goJSON(pe.value)}`;
    case 'index':
      return `i:${pe.index}`;
  }
}

export function decodeElement(s: string): PathElement {
  const tag = s.slice(0, 2);
  const rest = s.slice(2);
  try {
    switch (tag) {
      case 'f:':
        return { kind: 'field', name: rest };
      case 'v:':
        return { kind: 'value', value: JSON.parse(rest) };
      case 'i:': {
        const n = Number(rest);
        if (!Number.isInteger(n) || rest.trim() === '') break;
        return { kind: 'index', index: n };
      }
      case 'k:': {
        const o: unknown = JSON.parse(rest);
        if (!isObj(o)) break;
        return keyElement(Object.entries(o));
      }
    }
  } catch {
    // fall through
  }
  throw new Error(`unknown path element type or malformed path element: ${JSON.stringify(s)}`);
}

/** value.ToString: strings quoted, numbers and booleans as they are. */
function valueString(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(valueString).join(',')}]`;
  if (isObj(v)) return `{${Object.keys(v).sort(cmpStr).map((k) => `${k}=${valueString(v[k])}`).join(';')}}`;
  return String(v);
}

/** `.spec`, `[name="nginx"]`, `[containerPort=80,protocol="TCP"]`, `[="x"]`, `[0]` */
export function elementString(pe: PathElement): string {
  switch (pe.kind) {
    case 'field':
      return `.${pe.name}`;
    case 'key':
      return `[${pe.fields.map(([n, v]) => `${n}=${valueString(v)}`).join(',')}]`;
    case 'value':
      return `[=${valueString(pe.value)}]`;
    case 'index':
      return `[${pe.index}]`;
  }
}

/** A path as upstream prints it in conflicts: `.spec.template.spec.containers[name="nginx"].image`. */
export function pathString(path: Path): string {
  return path.map(elementString).join('');
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function typeRank(v: unknown): number {
  if (typeof v === 'number') return 0;
  if (typeof v === 'string') return 1;
  if (typeof v === 'boolean') return 2;
  if (Array.isArray(v)) return 3;
  if (isObj(v)) return 4;
  return 5; // null
}

/** The total order of values upstream uses (numbers < strings < booleans < lists < maps < null). */
export function compareValues(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 0:
      return (a as number) - (b as number);
    case 1:
      return cmpStr(a as string, b as string);
    case 2:
      return Number(a) - Number(b);
    case 3: {
      const la = a as unknown[];
      const lb = b as unknown[];
      for (let i = 0; i < Math.min(la.length, lb.length); i++) {
        const c = compareValues(la[i], lb[i]);
        if (c) return c;
      }
      return la.length - lb.length;
    }
    case 4: {
      const ma = a as Record<string, unknown>;
      const mb = b as Record<string, unknown>;
      const ka = Object.keys(ma).sort(cmpStr);
      const kb = Object.keys(mb).sort(cmpStr);
      for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
        const c = cmpStr(ka[i], kb[i]) || compareValues(ma[ka[i]], mb[kb[i]]);
        if (c) return c;
      }
      return ka.length - kb.length;
    }
    default:
      return 0;
  }
}

/** Path element order: fields < keys < values < indexes, each by content. */
export function compareElements(a: PathElement, b: PathElement): number {
  const rank = { field: 0, key: 1, value: 2, index: 3 } as const;
  if (a.kind !== b.kind) return rank[a.kind] - rank[b.kind];
  switch (a.kind) {
    case 'field':
      return cmpStr(a.name, (b as typeof a).name);
    case 'key': {
      const fb = (b as typeof a).fields;
      for (let i = 0; i < Math.min(a.fields.length, fb.length); i++) {
        const c = cmpStr(a.fields[i][0], fb[i][0]) || compareValues(a.fields[i][1], fb[i][1]);
        if (c) return c;
      }
      return a.fields.length - fb.length;
    }
    case 'value':
      return compareValues(a.value, (b as typeof a).value);
    case 'index':
      return a.index - (b as typeof a).index;
  }
}

interface Child {
  pe: PathElement;
  set: FieldSet;
}

export class FieldSet {
  private readonly members = new Map<string, PathElement>();
  private readonly children = new Map<string, Child>();

  static fromPaths(paths: Path[]): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  /** Parses a managedFields fieldsV1 object. */
  static fromFieldsV1(obj: unknown): FieldSet {
    const s = new FieldSet();
    if (!isObj(obj)) throw new Error('fieldsV1 must be an object');
    for (const [k, v] of Object.entries(obj)) {
      if (k === '.') continue;
      const pe = decodeElement(k);
      if (!isObj(v)) throw new Error(`fieldsV1 entry ${JSON.stringify(k)} must be an object`);
      const keys = Object.keys(v);
      if (keys.length === 0 || Object.prototype.hasOwnProperty.call(v, '.')) s.members.set(k, pe);
      if (keys.some((x) => x !== '.')) {
        const child = FieldSet.fromFieldsV1(v);
        if (!child.isEmpty()) s.children.set(k, { pe, set: child });
      }
    }
    return s;
  }

  isEmpty(): boolean {
    if (this.members.size > 0) return false;
    for (const c of this.children.values()) if (!c.set.isEmpty()) return false;
    return true;
  }

  insert(path: Path): void {
    if (path.length === 0) return;
    let node: FieldSet = this;
    for (let i = 0; i < path.length - 1; i++) {
      const k = encodeElement(path[i]);
      let c = node.children.get(k);
      if (!c) {
        c = { pe: path[i], set: new FieldSet() };
        node.children.set(k, c);
      }
      node = c.set;
    }
    const last = path[path.length - 1];
    node.members.set(encodeElement(last), last);
  }

  /** True when `path` is a member (owned as such), not merely a prefix of owned paths. */
  has(path: Path): boolean {
    if (path.length === 0) return false;
    let node: FieldSet | undefined = this;
    for (let i = 0; i < path.length - 1 && node; i++) node = node.children.get(encodeElement(path[i]))?.set;
    return node !== undefined && node.members.has(encodeElement(path[path.length - 1]));
  }

  /** The subset below element `pe` (undefined when nothing is owned below it). */
  withPrefix(pe: PathElement): FieldSet | undefined {
    return this.children.get(encodeElement(pe))?.set;
  }

  clone(): FieldSet {
    const s = new FieldSet();
    for (const [k, pe] of this.members) s.members.set(k, pe);
    for (const [k, c] of this.children) s.children.set(k, { pe: c.pe, set: c.set.clone() });
    return s;
  }

  union(o: FieldSet): FieldSet {
    const s = this.clone();
    for (const [k, pe] of o.members) s.members.set(k, pe);
    for (const [k, c] of o.children) {
      const mine = s.children.get(k);
      s.children.set(k, { pe: c.pe, set: mine ? mine.set.union(c.set) : c.set.clone() });
    }
    return s;
  }

  intersection(o: FieldSet): FieldSet {
    const s = new FieldSet();
    for (const [k, pe] of this.members) if (o.members.has(k)) s.members.set(k, pe);
    for (const [k, c] of this.children) {
      const theirs = o.children.get(k);
      if (!theirs) continue;
      const i = c.set.intersection(theirs.set);
      if (!i.isEmpty()) s.children.set(k, { pe: c.pe, set: i });
    }
    return s;
  }

  /** Members of this set that are not members of `o` (children compared member-wise). */
  difference(o: FieldSet): FieldSet {
    const s = new FieldSet();
    for (const [k, pe] of this.members) if (!o.members.has(k)) s.members.set(k, pe);
    for (const [k, c] of this.children) {
      const theirs = o.children.get(k);
      const d = theirs ? c.set.difference(theirs.set) : c.set.clone();
      if (!d.isEmpty()) s.children.set(k, { pe: c.pe, set: d });
    }
    return s;
  }

  /** Like difference, but a member of `o` also removes everything below it. */
  recursiveDifference(o: FieldSet): FieldSet {
    const s = new FieldSet();
    for (const [k, pe] of this.members) if (!o.members.has(k)) s.members.set(k, pe);
    for (const [k, c] of this.children) {
      if (o.members.has(k)) continue;
      const theirs = o.children.get(k);
      const d = theirs ? c.set.recursiveDifference(theirs.set) : c.set.clone();
      if (!d.isEmpty()) s.children.set(k, { pe: c.pe, set: d });
    }
    return s;
  }

  equals(o: FieldSet): boolean {
    return JSON.stringify(this.toFieldsV1()) === JSON.stringify(o.toFieldsV1());
  }

  /** Every member path, in upstream's iteration order (a node's members, then its children, each sorted). */
  paths(): Path[] {
    const out: Path[] = [];
    this.collect([], out);
    return out;
  }

  private collect(prefix: Path, out: Path[]): void {
    for (const pe of [...this.members.values()].sort(compareElements)) out.push([...prefix, pe]);
    for (const c of [...this.children.values()].sort((a, b) => compareElements(a.pe, b.pe))) c.set.collect([...prefix, c.pe], out);
  }

  /** Visits members and children with their element (for schema-aware walks). */
  entries(): { members: PathElement[]; children: Array<[PathElement, FieldSet]> } {
    return { members: [...this.members.values()], children: [...this.children.values()].map((c) => [c.pe, c.set]) };
  }

  /** The managedFields fieldsV1 object, keys in upstream's order. */
  toFieldsV1(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const all = new Map<string, PathElement>();
    for (const [k, pe] of this.members) all.set(k, pe);
    for (const [k, c] of this.children) if (!c.set.isEmpty()) all.set(k, c.pe);
    const sorted = [...all.entries()].sort((a, b) => compareElements(a[1], b[1]));
    for (const [k] of sorted) {
      const c = this.children.get(k);
      if (c && !c.set.isEmpty()) {
        const inner: Record<string, unknown> = {};
        if (this.members.has(k)) inner['.'] = {};
        Object.assign(inner, c.set.toFieldsV1());
        out[k] = inner;
      } else {
        out[k] = {};
      }
    }
    return out;
  }

  toString(): string {
    return this.paths().map(pathString).join('\n');
  }
}
