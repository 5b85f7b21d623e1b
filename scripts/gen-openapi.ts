// Generates src/api/openapi/definitions.json: the OpenAPI (swagger 2.0 style)
// definitions of the kinds k8ts serves and everything they reference, derived
// from the TypeScript declarations of the `kubernetes-types` package (whose
// JSDoc comments carry upstream's field descriptions).
//
//   npx tsx scripts/gen-openapi.ts          # regenerate (the output is committed)
//   npx tsx scripts/gen-openapi.ts --check  # exit 1 if the committed file is stale
//
// What the declarations cannot say is added here, after upstream's published
// openapi: definition names (io.k8s.api.core.v1.Pod), the special string
// types (IntOrString, Quantity, Time), integer formats, the
// x-kubernetes-group-version-kind of top-level kinds, and the patch/list
// extensions (x-kubernetes-patch-merge-key, x-kubernetes-patch-strategy,
// x-kubernetes-list-type, x-kubernetes-list-map-keys, x-kubernetes-map-type),
// which come from the patch metadata table in src/api/patch/schema.ts (the
// one the strategic merge patch and apply code use), so that kubectl and the
// server agree on how lists merge.

import ts from 'typescript';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFINITIONS as PATCH_SCHEMA, definitionExtensions, openAPIExtensions } from '../src/api/patch/schema.js';
import { RESOURCES } from '../src/api/registry.js';

type Schema = Record<string, unknown>;
interface Gvk {
  group: string;
  version: string;
  kind: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.join(here, '..', 'src', 'api', 'openapi', 'definitions.json');
const require = createRequire(import.meta.url);
const TYPES_ROOT = path.dirname(require.resolve('kubernetes-types/package.json'));

// ---------------------------------------------------------------------------
// Names

/** kubernetes-types module ('core/v1', 'meta/v1', 'runtime', ...) -> upstream Go package path in definition names. */
function packageOf(mod: string): string {
  switch (mod) {
    case 'meta/v1':
      return 'io.k8s.apimachinery.pkg.apis.meta.v1';
    case 'api/resource':
      return 'io.k8s.apimachinery.pkg.api.resource';
    case 'runtime':
      return 'io.k8s.apimachinery.pkg.runtime';
    case 'version':
      return 'io.k8s.apimachinery.pkg.version';
  }
  if (mod.startsWith('apiextensions/')) return `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.${mod.split('/')[1]}`;
  return `io.k8s.api.${mod.replace('/', '.')}`;
}

/** API group -> kubernetes-types module directory ('' -> core, 'networking.k8s.io' -> networking). */
const moduleOf = (group: string, version: string): string => `${group === '' ? 'core' : group.split('.')[0]}/${version}`;

const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';

// ---------------------------------------------------------------------------
// Reading the declarations

interface Decl {
  mod: string;
  name: string;
  node: ts.InterfaceDeclaration | ts.TypeAliasDeclaration;
  imports: Map<string, string>; // local name -> module
}

const files = new Map<string, { decls: Map<string, Decl> }>();

function loadModule(mod: string): Map<string, Decl> {
  const cached = files.get(mod);
  if (cached) return cached.decls;
  const file = path.join(TYPES_ROOT, `${mod}.d.ts`);
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const imports = new Map<string, string>();
  const decls = new Map<string, Decl>();
  for (const st of sf.statements) {
    if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier)) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(mod), st.moduleSpecifier.text));
      const named = st.importClause?.namedBindings;
      if (named && ts.isNamedImports(named)) for (const el of named.elements) imports.set(el.name.text, target);
    } else if (ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st)) {
      decls.set(st.name.text, { mod, name: st.name.text, node: st, imports });
    }
  }
  files.set(mod, { decls });
  return decls;
}

function findDecl(mod: string, name: string): Decl {
  const d = loadModule(mod).get(name);
  if (!d) throw new Error(`kubernetes-types: no ${name} in ${mod}`);
  return d;
}

/** The text of a node's JSDoc comment, with the comment syntax removed and the lines kept. */
function docOf(node: ts.Node): string | undefined {
  const jsDoc = (node as { jsDoc?: ts.JSDoc[] }).jsDoc;
  if (!jsDoc?.length) return undefined;
  const raw = jsDoc[jsDoc.length - 1].getText();
  const body = raw.replace(/^\/\*\*/, '').replace(/\*\/$/, '');
  const lines = body.split('\n').map((l) => l.replace(/^\s*\* ?/, ''));
  const text = lines.join('\n').trim();
  return text || undefined;
}

// ---------------------------------------------------------------------------
// Extensions the declarations do not carry

/**
 * Integer fields that upstream serves as int64 (all other integers are int32).
 * Keyed by property name, which is unambiguous within the kinds k8ts serves.
 */
const INT64 = new Set([
  'activeDeadlineSeconds',
  'deletionGracePeriodSeconds',
  'expirationSeconds',
  'fsGroup',
  'generation',
  'gracePeriodSeconds',
  'observedGeneration',
  'remainingItemCount',
  'runAsGroup',
  'runAsUser',
  'sizeBytes',
  'supplementalGroups',
  'terminationGracePeriodSeconds',
  'tolerationSeconds',
]);

/** Top-level kinds whose apiVersion is not a literal in the declarations. */
const EXTRA_GVKS: Record<string, () => Gvk[]> = {
  'io.k8s.apimachinery.pkg.apis.meta.v1.Status': () => [{ group: '', version: 'v1', kind: 'Status' }],
  // Upstream lists every served group version for these shared kinds.
  'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions': () => servedGroupVersions().map((gv) => ({ ...gv, kind: 'DeleteOptions' })),
  'io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent': () => servedGroupVersions().map((gv) => ({ ...gv, kind: 'WatchEvent' })),
};

function servedGroupVersions(): Array<{ group: string; version: string }> {
  const seen = new Map<string, { group: string; version: string }>();
  for (const r of RESOURCES) seen.set(`${r.group}/${r.version}`, { group: r.group, version: r.version });
  for (const r of RESOURCES)
    for (const s of Object.values(r.subresources ?? {}))
      if (s.group !== undefined && s.version) seen.set(`${s.group}/${s.version}`, { group: s.group, version: s.version });
  return [...seen.values()].sort((a, b) => (a.group + '/' + a.version).localeCompare(b.group + '/' + b.version));
}

// ---------------------------------------------------------------------------
// Conversion

const definitions: Record<string, Schema> = {};
const pending: Decl[] = [];

function refName(d: Decl): string {
  return `${packageOf(d.mod)}.${d.name}`;
}

function want(d: Decl): string {
  const name = refName(d);
  if (!(name in definitions) && !pending.some((p) => refName(p) === name)) pending.push(d);
  return name;
}

const ref = (name: string): Schema => ({ $ref: `#/definitions/${name}` });

function resolveName(from: Decl, id: string): Decl {
  const local = loadModule(from.mod).get(id);
  if (local) return local;
  const mod = from.imports.get(id);
  if (!mod) throw new Error(`${from.mod}.${from.name}: cannot resolve type ${id}`);
  return findDecl(mod, id);
}

function typeSchema(t: ts.TypeNode, ctx: Decl, prop: string): Schema {
  switch (t.kind) {
    case ts.SyntaxKind.StringKeyword:
      return { type: 'string' };
    case ts.SyntaxKind.BooleanKeyword:
      return { type: 'boolean' };
    case ts.SyntaxKind.NumberKeyword:
      return { type: 'integer', format: INT64.has(prop) ? 'int64' : 'int32' };
  }
  if (ts.isLiteralTypeNode(t)) {
    if (ts.isStringLiteral(t.literal)) return { type: 'string' };
    throw new Error(`${ctx.name}.${prop}: unsupported literal type ${t.getText()}`);
  }
  if (ts.isArrayTypeNode(t)) return { type: 'array', items: typeSchema(t.elementType, ctx, prop) };
  if (ts.isUnionTypeNode(t)) {
    const kinds = new Set(t.types.map((x) => x.kind));
    if (kinds.size === 2 && kinds.has(ts.SyntaxKind.NumberKeyword) && kinds.has(ts.SyntaxKind.StringKeyword)) {
      if (!(INT_OR_STRING in definitions)) {
        definitions[INT_OR_STRING] = {
          description:
            'IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number.',
          type: 'string',
          format: 'int-or-string',
        };
      }
      return ref(INT_OR_STRING);
    }
    if (t.types.every((x) => ts.isLiteralTypeNode(x) && ts.isStringLiteral(x.literal))) return { type: 'string' };
    throw new Error(`${ctx.name}.${prop}: unsupported union ${t.getText()}`);
  }
  if (ts.isTypeLiteralNode(t)) {
    const idx = t.members.find(ts.isIndexSignatureDeclaration);
    if (idx && t.members.length === 1) return { type: 'object', additionalProperties: typeSchema(idx.type, ctx, prop) };
    throw new Error(`${ctx.name}.${prop}: unsupported type literal ${t.getText()}`);
  }
  if (ts.isTypeReferenceNode(t) && ts.isIdentifier(t.typeName)) {
    const id = t.typeName.text;
    if (id === 'Array' && t.typeArguments?.length === 1) return { type: 'array', items: typeSchema(t.typeArguments[0], ctx, prop) };
    if (id === 'Record' && t.typeArguments?.length === 2) return { type: 'object', additionalProperties: typeSchema(t.typeArguments[1], ctx, prop) };
    return ref(want(resolveName(ctx, id)));
  }
  throw new Error(`${ctx.name}.${prop}: unsupported type ${t.getText()}`);
}

/** The group/version/kind of a top-level kind: its apiVersion and kind are string literals. */
function literalGvk(node: ts.InterfaceDeclaration): Gvk | undefined {
  let apiVersion: string | undefined;
  let kind: string | undefined;
  for (const m of node.members) {
    if (!ts.isPropertySignature(m) || !m.type || !ts.isLiteralTypeNode(m.type) || !ts.isStringLiteral(m.type.literal)) continue;
    const name = m.name.getText();
    if (name === 'apiVersion') apiVersion = m.type.literal.text;
    if (name === 'kind') kind = m.type.literal.text;
  }
  if (!apiVersion || !kind) return undefined;
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion, kind }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1), kind };
}

function convert(d: Decl): Schema {
  const name = refName(d);
  const out: Schema = {};
  const description = docOf(d.node);
  if (description) out.description = description;
  if (ts.isTypeAliasDeclaration(d.node)) {
    // Quantity, Time, MicroTime: strings with a format.
    const inner = typeSchema(d.node.type, d, d.name);
    Object.assign(out, inner);
    if (d.name === 'Time' || d.name === 'MicroTime') out.format = 'date-time';
    return out;
  }
  const props: Record<string, Schema> = {};
  const required: string[] = [];
  const table = PATCH_SCHEMA[name]?.fields ?? {};
  for (const m of d.node.members) {
    if (!ts.isPropertySignature(m) || !m.type) throw new Error(`${name}: unsupported member ${m.getText()}`);
    const prop = m.name.getText().replace(/^["']|["']$/g, '');
    const s = typeSchema(m.type, d, prop);
    const doc = docOf(m);
    // Upstream keeps the description beside a $ref.
    const p: Schema = doc ? (s.$ref ? { $ref: s.$ref, description: doc } : { description: doc, ...s }) : s;
    const f = table[prop];
    if (f) {
      const shape = p.type === 'array' ? 'list' : p.type === 'object' ? 'map' : p.$ref ? 'struct' : 'scalar';
      const agrees =
        f.type === shape ||
        f.type === 'untyped' ||
        (f.type === 'struct' && shape === 'map') ||
        (f.type === 'map' && shape === 'struct') ||
        (f.type === 'scalar' && shape === 'struct'); // Time, Quantity, IntOrString are referenced strings
      if (!agrees) warnings.push(`patch schema says ${name}.${prop} is a ${f.type}, the declarations a ${shape}`);
      else Object.assign(p, openAPIExtensions(f));
    }
    props[prop] = p;
    if (!m.questionToken) required.push(prop);
  }
  for (const prop of Object.keys(table)) if (!(prop in props)) missingFields.push(`${name}.${prop}`);
  if (required.length) out.required = required.sort();
  out.type = 'object';
  if (Object.keys(props).length) out.properties = props;
  const gvk = ts.isInterfaceDeclaration(d.node) ? literalGvk(d.node) : undefined;
  const gvks = EXTRA_GVKS[name]?.() ?? (gvk ? [gvk] : undefined);
  if (gvks) out['x-kubernetes-group-version-kind'] = gvks;
  Object.assign(out, definitionExtensions(name));
  return out;
}
const warnings: string[] = [];
const missingFields: string[] = [];

// ---------------------------------------------------------------------------
// Roots: served kinds and their lists, subresource kinds, meta/v1 vocabulary

function roots(): Decl[] {
  const out: Decl[] = [];
  const add = (mod: string, name: string, optional = false) => {
    const d = loadModule(mod).get(name);
    if (d) out.push(d);
    else if (!optional) throw new Error(`kubernetes-types: no ${name} in ${mod}`);
    else console.warn(`gen-openapi: skipping ${mod} ${name} (not in kubernetes-types)`);
  };
  for (const r of RESOURCES) {
    add(moduleOf(r.group, r.version), r.kind);
    if (r.verbs.includes('list')) add(moduleOf(r.group, r.version), `${r.kind}List`);
    for (const s of Object.values(r.subresources ?? {})) {
      // exec/attach/portforward "kinds" are query options upstream, not definitions.
      add(moduleOf(s.group ?? r.group, s.version ?? r.version), s.kind, true);
    }
  }
  for (const n of ['ObjectMeta', 'ListMeta', 'Status', 'WatchEvent', 'DeleteOptions', 'APIResourceList', 'APIGroupList', 'APIGroup', 'APIVersions', 'Table'])
    add('meta/v1', n, n === 'Table');
  add('autoscaling/v1', 'Scale');
  add('policy/v1', 'Eviction');
  add('core/v1', 'Binding');
  add('version', 'Info');
  return out;
}

function generate(): Record<string, Schema> {
  for (const d of roots()) want(d);
  while (pending.length) {
    const d = pending.shift()!;
    const name = refName(d);
    if (name in definitions) continue;
    definitions[name] = convert(d);
  }
  for (const w of warnings) console.warn(`gen-openapi: ${w}`);
  // Fields newer than the kubernetes-types release (or of types k8ts does not reach) have no declaration to annotate.
  const unreached = Object.keys(PATCH_SCHEMA).filter((n) => !(n in definitions));
  if (missingFields.length || unreached.length)
    console.warn(
      `gen-openapi: patch schema entries without a declaration: ${[...missingFields, ...unreached.map((n) => `${n} (type)`)].join(', ')}`,
    );
  const sorted: Record<string, Schema> = {};
  for (const k of Object.keys(definitions).sort()) sorted[k] = definitions[k];
  return sorted;
}

/** One definition per line: compact, yet diffs stay readable. */
function serialize(defs: Record<string, Schema>): string {
  const lines = Object.entries(defs).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  return `{\n${lines.join(',\n')}\n}\n`;
}

const text = serialize(generate());
if (process.argv.includes('--check')) {
  const current = existsSync(OUT) ? readFileSync(OUT, 'utf8') : '';
  if (current !== text) {
    console.error(`gen-openapi: ${path.relative(process.cwd(), OUT)} is stale; run npx tsx scripts/gen-openapi.ts`);
    process.exit(1);
  }
  console.log('gen-openapi: up to date');
} else {
  writeFileSync(OUT, text);
  console.log(`gen-openapi: wrote ${Object.keys(definitions).length} definitions, ${text.length} bytes to ${path.relative(process.cwd(), OUT)}`);
}
