// The API server's OpenAPI documents, built from the committed definitions
// (src/api/openapi/definitions.json, made by scripts/gen-openapi.ts from the
// kubernetes-types declarations) and the resource registry:
//
//   /openapi/v2                   swagger 2.0, every path of every group
//                                 (JSON, or protobuf for client-go)
//   /openapi/v3                   discovery: group-version -> URL with a hash
//   /openapi/v3/api/v1, /openapi/v3/apis/<group>/<version>
//                                 OpenAPI 3.0, one document per group version
//
// Everything here is pure and memoised; openapiResponse() answers an HTTP
// request for any of these paths the way upstream's kube-openapi handlers do
// (content negotiation, ETag, hash-pinned immutable caching), leaving the
// socket work to the API server.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { RESOURCES, type Verb } from '../registry.js';
import { KUBERNETES_VERSION } from '../../version.js';
import { encodeSwaggerProtobuf } from './protobuf.js';

type Schema = Record<string, unknown>;
type Obj = Record<string, unknown>;

/**
 * Whether operations advertise the `fieldValidation` query parameter. kubectl
 * (--validate=strict, its default) looks for it on the PATCH operation of the
 * object's kind: when present it skips its own schema validation and relies on
 * the server to reject unknown and duplicate fields (fieldValidation=Strict);
 * when absent it validates client-side against /openapi/v2 (protobuf). kubectl
 * sends fieldValidation=Strict either way. Turn this on once the API server
 * enforces it (unknownFields() below finds what Strict must reject).
 */
export const ADVERTISE_FIELD_VALIDATION = false;

export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';
/** What client-go puts in Accept (an older spelling, with '@'). */
export const OPENAPI_V2_PROTOBUF_ACCEPT = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

// ---------------------------------------------------------------------------
// Definitions

const PATCH_DEF = 'io.k8s.apimachinery.pkg.apis.meta.v1.Patch';

let defsCache: Record<string, Schema> | undefined;

/** The schema definitions (swagger 2.0 form, `#/definitions/` references). */
export function definitions(): Record<string, Schema> {
  if (defsCache) return defsCache;
  // Beside this module in the source tree; from dist/src/api/openapi the
  // build does not copy JSON, so fall back to the source tree.
  for (const rel of ['./definitions.json', '../../../../src/api/openapi/definitions.json']) {
    const url = new URL(rel, import.meta.url);
    if (existsSync(url)) {
      const defs = JSON.parse(readFileSync(url, 'utf8')) as Record<string, Schema>;
      defs[PATCH_DEF] = {
        description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.',
        type: 'object',
      };
      return (defsCache = defs);
    }
  }
  throw new Error('openapi: definitions.json not found (regenerate with npx tsx scripts/gen-openapi.ts)');
}

const defRef = (name: string): Schema => ({ $ref: `#/definitions/${name}` });

const definitionForCache = new Map<string, string | undefined>();

/** Definition name of a kind, found by its x-kubernetes-group-version-kind (memoised: it is on every write's path). */
function definitionFor(group: string, version: string, kind: string): string | undefined {
  const key = `${group}/${version}/${kind}`;
  if (!definitionForCache.has(key)) definitionForCache.set(key, findDefinition(group, version, kind));
  return definitionForCache.get(key);
}

function findDefinition(group: string, version: string, kind: string): string | undefined {
  const defs = definitions();
  let found: string | undefined;
  for (const [name, d] of Object.entries(defs)) {
    const gvks = d['x-kubernetes-group-version-kind'] as Array<{ group: string; version: string; kind: string }> | undefined;
    if (gvks?.some((g) => g.group === group && g.version === version && g.kind === kind)) {
      // Shared meta kinds (DeleteOptions) list many group versions; prefer a definition of this group's package.
      if (!found || gvks.length === 1) found = name;
    }
  }
  return found;
}

// ---------------------------------------------------------------------------
// Operations (swagger 2.0 form; the v3 documents are converted from these)

const str = (name: string, description: string): Obj => ({ name, in: 'query', description, type: 'string', uniqueItems: true });
const bool = (name: string, description: string): Obj => ({ name, in: 'query', description, type: 'boolean', uniqueItems: true });
const int = (name: string, description: string): Obj => ({ name, in: 'query', description, type: 'integer', uniqueItems: true });

const Q = {
  pretty: str('pretty', "If 'true', then the output is pretty printed."),
  allowWatchBookmarks: bool('allowWatchBookmarks', 'Asks the server to send BOOKMARK watch events; servers may ignore it. Only with watch.'),
  continue: str('continue', 'The continue token returned by a previous, limited list call, to fetch the next chunk.'),
  fieldSelector: str('fieldSelector', 'Restricts the returned objects by their fields. Defaults to everything.'),
  labelSelector: str('labelSelector', 'Restricts the returned objects by their labels. Defaults to everything.'),
  limit: int('limit', 'The maximum number of objects to return; a continue token in the list metadata fetches the rest.'),
  resourceVersion: str('resourceVersion', 'The resource version the request must be served from or be newer than (see resourceVersionMatch).'),
  resourceVersionMatch: str('resourceVersionMatch', 'How resourceVersion applies to list calls: Exact or NotOlderThan.'),
  sendInitialEvents: bool('sendInitialEvents', 'With watch: start with synthetic ADDED events for the current state, then a bookmark.'),
  timeoutSeconds: int('timeoutSeconds', 'Timeout for the list or watch call, regardless of activity.'),
  watch: bool('watch', 'Watch for changes to the described resources and return them as a stream of add, update and remove notifications.'),
  dryRun: str('dryRun', 'When present, modifications are not persisted. Valid values: All.'),
  fieldManager: str('fieldManager', 'The name of the actor or entity making these changes (managed fields).'),
  fieldValidation: str(
    'fieldValidation',
    'How the server treats unknown or duplicate fields in the request body: Ignore, Warn or Strict.',
  ),
  force: bool('force', 'Apply requests only: take ownership of conflicting fields. Must be unset for other patch types.'),
  gracePeriodSeconds: int('gracePeriodSeconds', 'The duration in seconds before the object should be deleted; 0 means immediately.'),
  orphanDependents: bool('orphanDependents', 'Deprecated: use propagationPolicy. Whether dependents are orphaned.'),
  propagationPolicy: str('propagationPolicy', 'Whether and how garbage collection is performed: Orphan, Background or Foreground.'),
};

const LIST_PARAMS = [
  Q.allowWatchBookmarks,
  Q.continue,
  Q.fieldSelector,
  Q.labelSelector,
  Q.limit,
  Q.resourceVersion,
  Q.resourceVersionMatch,
  Q.sendInitialEvents,
  Q.timeoutSeconds,
  Q.watch,
];
const fv = (): Obj[] => (ADVERTISE_FIELD_VALIDATION ? [Q.fieldValidation] : []);
const WRITE_PARAMS = (): Obj[] => [Q.dryRun, Q.fieldManager, ...fv()];
const DELETE_PARAMS = [Q.dryRun, Q.gracePeriodSeconds, Q.orphanDependents, Q.propagationPolicy];

const body = (schema: Schema): Obj => ({ name: 'body', in: 'body', required: true, schema });

const SUB_PARAMS: Record<string, Obj[]> = {
  log: [
    str('container', 'The container to stream logs of. Defaults to the only container if there is one.'),
    bool('follow', 'Follow the log stream of the pod.'),
    bool('insecureSkipTLSVerifyBackend', 'Do not verify the serving certificate of the node agent serving the logs.'),
    int('limitBytes', 'The number of bytes to read from the server before terminating the log output.'),
    bool('previous', 'Return the logs of the previous, terminated instance of the container.'),
    int('sinceSeconds', 'A relative time in seconds before the current time from which to show logs.'),
    int('tailLines', 'The number of lines from the end of the logs to show.'),
    bool('timestamps', 'Prefix every line of log output with an RFC3339 timestamp.'),
  ],
  exec: [
    str('command', 'The command to execute; repeat for every argument.'),
    str('container', 'The container in which to execute the command. Defaults to the only container if there is one.'),
    bool('stderr', 'Redirect the standard error stream of the command.'),
    bool('stdin', 'Redirect the standard input stream of the command.'),
    bool('stdout', 'Redirect the standard output stream of the command.'),
    bool('tty', 'Allocate a terminal for the command.'),
  ],
  attach: [
    str('container', 'The container to attach to. Defaults to the only container if there is one.'),
    bool('stderr', 'Stream the standard error of the container.'),
    bool('stdin', 'Pass standard input to the container.'),
    bool('stdout', 'Stream the standard output of the container.'),
    bool('tty', 'The attached stream is a terminal.'),
  ],
  portforward: [int('ports', 'The pod ports to forward.')],
};
const CONNECT = new Set(['exec', 'attach', 'portforward']);

const JSON_YAML = ['application/json', 'application/yaml'];
const WATCHABLE = [...JSON_YAML, 'application/json;stream=watch'];
const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
];
const UNAUTHORIZED = { '401': { description: 'Unauthorized' } };

/** 'networking.k8s.io' -> 'Networking', '' -> 'Core' (as in upstream operation ids). */
function groupId(group: string): string {
  if (group === '') return 'Core';
  return group
    .replace(/\.k8s\.io$/, '')
    .split('.')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
}
const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const tagOf = (r: { group: string; version: string }) => `${r.group === '' ? 'core' : r.group.replace(/\.k8s\.io$/, '').replace(/\./g, '_')}_${r.version}`;

interface PathItem {
  parameters?: Obj[];
  [method: string]: unknown;
}

function buildPaths(): Record<string, PathItem> {
  const paths: Record<string, PathItem> = {};
  const item = (p: string, params: Obj[]): PathItem => (paths[p] ??= { parameters: params });
  const status = defRef('io.k8s.apimachinery.pkg.apis.meta.v1.Status');
  const watchEvent = defRef('io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent');
  const deleteOptions = defRef('io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions');
  const patch = defRef(PATCH_DEF);

  for (const r of RESOURCES) {
    const gvk = { group: r.group, kind: r.kind, version: r.version };
    const kindDef = definitionFor(r.group, r.version, r.kind);
    const listDef = definitionFor(r.group, r.version, `${r.kind}List`);
    if (!kindDef) continue; // not in the committed definitions: regenerate them
    const obj = defRef(kindDef);
    const prefix = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
    const nsSeg = r.namespaced ? '/namespaces/{namespace}' : '';
    const ns = r.namespaced ? 'Namespaced' : '';
    const G = groupId(r.group) + cap(r.version);
    const K = r.kind;
    const tags = [tagOf(r)];
    const nsParam: Obj[] = r.namespaced
      ? [{ name: 'namespace', in: 'path', required: true, type: 'string', uniqueItems: true, description: 'object name and auth scope, such as for teams and projects' }]
      : [];
    const nameParam = (what: string): Obj => ({ name: 'name', in: 'path', required: true, type: 'string', uniqueItems: true, description: `name of the ${what}` });
    const has = (v: Verb) => r.verbs.includes(v);
    const op = (o: {
      description: string;
      id: string;
      action: string;
      params?: Obj[];
      responses: Record<string, Schema | undefined>;
      produces?: string[];
      consumes?: string[];
      gvk?: { group: string; kind: string; version: string };
    }): Obj => ({
      description: o.description,
      consumes: o.consumes ?? ['*/*'],
      produces: o.produces ?? JSON_YAML,
      schemes: ['https'],
      tags,
      operationId: o.id,
      ...(o.params?.length ? { parameters: o.params } : {}),
      responses: {
        ...Object.fromEntries(
          Object.entries(o.responses).map(([code, schema]) => [
            code,
            { description: code === '200' ? 'OK' : code === '201' ? 'Created' : code === '202' ? 'Accepted' : 'OK', ...(schema ? { schema } : {}) },
          ]),
        ),
        ...UNAUTHORIZED,
      },
      'x-kubernetes-action': o.action,
      'x-kubernetes-group-version-kind': o.gvk ?? gvk,
    });

    const collection = item(`${prefix}${nsSeg}/${r.plural}`, [...nsParam, Q.pretty]);
    if (has('list') && listDef) {
      collection.get = op({
        description: `list or watch objects of kind ${K}`,
        id: `list${G}${ns}${K}`,
        action: 'list',
        params: LIST_PARAMS,
        produces: WATCHABLE,
        responses: { '200': defRef(listDef) },
      });
      if (r.namespaced)
        item(`${prefix}/${r.plural}`, [Q.pretty]).get = op({
          description: `list or watch objects of kind ${K}`,
          id: `list${G}${K}ForAllNamespaces`,
          action: 'list',
          params: LIST_PARAMS,
          produces: WATCHABLE,
          responses: { '200': defRef(listDef) },
        });
    }
    if (has('create'))
      collection.post = op({
        description: `create ${article(K)} ${K}`,
        id: `create${G}${ns}${K}`,
        action: 'post',
        params: [body(obj), ...WRITE_PARAMS()],
        responses: { '200': obj, '201': obj, '202': obj },
      });
    if (has('deletecollection'))
      collection.delete = op({
        description: `delete collection of ${K}`,
        id: `delete${G}Collection${ns}${K}`,
        action: 'deletecollection',
        params: [body(deleteOptions), ...LIST_PARAMS.filter((p) => p !== Q.watch && p !== Q.allowWatchBookmarks), ...DELETE_PARAMS],
        responses: { '200': status },
      });
    if (collection.get === undefined && collection.post === undefined && collection.delete === undefined) delete paths[`${prefix}${nsSeg}/${r.plural}`];

    const itemPath = `${prefix}${nsSeg}/${r.plural}/{name}`;
    const itemParams = [nameParam(K), ...nsParam, Q.pretty];
    if (has('get') || has('update') || has('patch') || has('delete')) {
      const it = item(itemPath, itemParams);
      if (has('get')) it.get = op({ description: `read the specified ${K}`, id: `read${G}${ns}${K}`, action: 'get', responses: { '200': obj } });
      if (has('update'))
        it.put = op({
          description: `replace the specified ${K}`,
          id: `replace${G}${ns}${K}`,
          action: 'put',
          params: [body(obj), ...WRITE_PARAMS()],
          responses: { '200': obj, '201': obj },
        });
      if (has('patch'))
        it.patch = op({
          description: `partially update the specified ${K}`,
          id: `patch${G}${ns}${K}`,
          action: 'patch',
          consumes: PATCH_TYPES,
          params: [body(patch), ...WRITE_PARAMS(), Q.force],
          responses: { '200': obj, '201': obj },
        });
      if (has('delete'))
        it.delete = op({
          description: `delete ${article(K)} ${K}`,
          id: `delete${G}${ns}${K}`,
          action: 'delete',
          params: [body(deleteOptions), ...DELETE_PARAMS],
          responses: { '200': status, '202': status },
        });
    }
    if (has('watch')) {
      item(`${prefix}/watch${nsSeg}/${r.plural}`, [...nsParam, ...LIST_PARAMS, Q.pretty]).get = op({
        description: `watch individual changes to a list of ${K}. deprecated: use the 'watch' parameter with a list operation instead.`,
        id: `watch${G}${ns}${K}List`,
        action: 'watchlist',
        produces: WATCHABLE,
        responses: { '200': watchEvent },
      });
      item(`${prefix}/watch${nsSeg}/${r.plural}/{name}`, [nameParam(K), ...nsParam, ...LIST_PARAMS, Q.pretty]).get = op({
        description: `watch changes to an object of kind ${K}. deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter.`,
        id: `watch${G}${ns}${K}`,
        action: 'watch',
        produces: WATCHABLE,
        responses: { '200': watchEvent },
      });
      if (r.namespaced)
        item(`${prefix}/watch/${r.plural}`, [...LIST_PARAMS, Q.pretty]).get = op({
          description: `watch individual changes to a list of ${K}. deprecated: use the 'watch' parameter with a list operation instead.`,
          id: `watch${G}${K}ListForAllNamespaces`,
          action: 'watchlist',
          produces: WATCHABLE,
          responses: { '200': watchEvent },
        });
    }

    for (const [sub, info] of Object.entries(r.subresources ?? {})) {
      const S = cap(sub);
      const subGvk = { group: info.group ?? r.group, kind: info.kind, version: info.version ?? r.version };
      const subDef = definitionFor(subGvk.group, subGvk.version, subGvk.kind);
      const p = `${itemPath}/${sub}`;
      if (CONNECT.has(sub)) {
        const it = item(p, [nameParam(`${info.kind}`), ...nsParam, ...(SUB_PARAMS[sub] ?? [])]);
        for (const v of info.verbs) {
          const method = v === 'get' ? 'get' : 'post';
          it[method] = op({
            description: `connect ${method.toUpperCase()} requests to ${sub} of ${K}`,
            id: `connect${G}${cap(method)}${ns}${K}${S}`,
            action: 'connect',
            consumes: ['*/*'],
            produces: ['*/*'],
            responses: { '200': { type: 'string' } },
            gvk: subGvk,
          });
        }
        continue;
      }
      if (sub === 'log') {
        item(p, [nameParam(K), ...nsParam, Q.pretty]).get = op({
          description: `read log of the specified ${K}`,
          id: `read${G}${ns}${K}Log`,
          action: 'get',
          params: SUB_PARAMS.log,
          produces: ['text/plain', ...JSON_YAML],
          responses: { '200': { type: 'string' } },
          gvk: subGvk,
        });
        continue;
      }
      if (!subDef) continue;
      const subObj = defRef(subDef);
      const it = item(p, [nameParam(info.kind === K ? K : info.kind), ...nsParam, Q.pretty]);
      for (const v of info.verbs) {
        if (v === 'get')
          it.get = op({ description: `read ${sub} of the specified ${K}`, id: `read${G}${ns}${K}${S}`, action: 'get', responses: { '200': subObj }, gvk: subGvk });
        else if (v === 'update')
          it.put = op({
            description: `replace ${sub} of the specified ${K}`,
            id: `replace${G}${ns}${K}${S}`,
            action: 'put',
            params: [body(subObj), ...WRITE_PARAMS()],
            responses: { '200': subObj, '201': subObj },
            gvk: subGvk,
          });
        else if (v === 'patch')
          it.patch = op({
            description: `partially update ${sub} of the specified ${K}`,
            id: `patch${G}${ns}${K}${S}`,
            action: 'patch',
            consumes: PATCH_TYPES,
            params: [body(patch), ...WRITE_PARAMS(), Q.force],
            responses: { '200': subObj, '201': subObj },
            gvk: subGvk,
          });
        else if (v === 'create')
          it.post = op({
            description: `create ${sub} of ${article(K)} ${K}`,
            id: `create${G}${ns}${K}${S}`,
            action: 'post',
            params: [body(subObj), ...WRITE_PARAMS()],
            responses: { '200': subObj, '201': subObj, '202': subObj },
            gvk: subGvk,
          });
      }
    }
  }
  return paths;
}

const article = (k: string) => (/^[AEIOU]/.test(k) ? 'an' : 'a');

// ---------------------------------------------------------------------------
// Documents

const INFO = () => ({ title: 'Kubernetes', version: KUBERNETES_VERSION.gitVersion });
const BEARER = { type: 'apiKey', name: 'authorization', in: 'header', description: 'Bearer Token authentication' };

let v2Cache: Obj | undefined;

/** The swagger 2.0 document served at /openapi/v2. */
export function openapiV2(): Obj {
  return (v2Cache ??= {
    swagger: '2.0',
    info: INFO(),
    paths: buildPaths(),
    definitions: definitions(),
    securityDefinitions: { BearerToken: BEARER },
    security: [{ BearerToken: [] }],
  });
}

/** 'api/v1' or 'apis/<group>/<version>' of a path of the v2 document. */
function groupVersionPathOf(p: string): string | undefined {
  const m = /^\/(api\/[^/]+|apis\/[^/]+\/[^/]+)(\/|$)/.exec(p);
  return m?.[1];
}

/** Served group versions as OpenAPI v3 paths, in registry order. */
function groupVersionPaths(): string[] {
  const out: string[] = [];
  for (const r of RESOURCES) {
    const gv = r.group ? `apis/${r.group}/${r.version}` : `api/${r.version}`;
    if (!out.includes(gv)) out.push(gv);
  }
  return out;
}

/**
 * Definitions whose v3 form is a oneOf of types rather than one type, as
 * upstream publishes them (kubectl explain then names them: <IntOrString>,
 * <map[string]Quantity>).
 */
const V3_ONE_OF: Record<string, string[]> = {
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': ['integer', 'string'],
  'io.k8s.apimachinery.pkg.api.resource.Quantity': ['string', 'number'],
};

function definitionV3(name: string, s: Schema): unknown {
  const oneOf = V3_ONE_OF[name];
  if (!oneOf) return schemaV3(s);
  const { type: _type, ...rest } = s;
  return { ...rest, oneOf: oneOf.map((type) => ({ type })) };
}

/** A swagger 2.0 schema as an OpenAPI 3.0 schema: components references; a $ref with siblings goes into allOf. */
function schemaV3(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(schemaV3);
  if (typeof s !== 'object' || s === null) return s;
  const o = s as Obj;
  const out: Obj = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === '$ref' && typeof v === 'string') out.$ref = v.replace('#/definitions/', '#/components/schemas/');
    else if (k === 'properties' && typeof v === 'object' && v) {
      out.properties = Object.fromEntries(Object.entries(v as Obj).map(([pk, pv]) => [pk, schemaV3(pv)]));
    } else if (k === 'items' || k === 'additionalProperties' || k === 'allOf') out[k] = schemaV3(v);
    else out[k] = v;
  }
  if (typeof out.$ref === 'string' && Object.keys(out).length > 1) {
    const { $ref, ...rest } = out;
    return { allOf: [{ $ref }], ...rest };
  }
  return out;
}

function parameterV3(p: Obj): Obj {
  const { name, in: where, description, required, type, format, uniqueItems } = p;
  return {
    name,
    in: where,
    ...(description ? { description } : {}),
    ...(required ? { required } : {}),
    schema: { type, ...(format ? { format } : {}), ...(uniqueItems ? { uniqueItems } : {}) },
  };
}

function operationV3(op: Obj): Obj {
  const out: Obj = {};
  const consumes = (op.consumes as string[] | undefined) ?? ['*/*'];
  const produces = (op.produces as string[] | undefined) ?? JSON_YAML;
  for (const [k, v] of Object.entries(op)) {
    if (k === 'consumes' || k === 'produces' || k === 'schemes') continue;
    if (k === 'parameters') {
      const params = v as Obj[];
      const nonBody = params.filter((p) => p.in !== 'body').map(parameterV3);
      if (nonBody.length) out.parameters = nonBody;
      const b = params.find((p) => p.in === 'body');
      if (b) out.requestBody = { content: Object.fromEntries(consumes.map((c) => [c, { schema: schemaV3(b.schema) }])), required: true };
    } else if (k === 'responses') {
      out.responses = Object.fromEntries(
        Object.entries(v as Record<string, Obj>).map(([code, r]) => [
          code,
          {
            description: r.description,
            ...(r.schema ? { content: Object.fromEntries(produces.map((c) => [c, { schema: schemaV3(r.schema) }])) } : {}),
          },
        ]),
      );
    } else out[k] = v;
  }
  return out;
}

/** Names of the definitions a value refers to, directly or through other definitions. */
function referencedDefinitions(roots: unknown): string[] {
  const defs = definitions();
  const seen = new Set<string>();
  const visit = (x: unknown) => {
    if (Array.isArray(x)) return x.forEach(visit);
    if (typeof x !== 'object' || x === null) return;
    for (const [k, v] of Object.entries(x as Obj)) {
      if (k === '$ref' && typeof v === 'string') {
        const name = v.slice(v.lastIndexOf('/') + 1);
        if (!seen.has(name) && defs[name]) {
          seen.add(name);
          visit(defs[name]);
        }
      } else visit(v);
    }
  };
  visit(roots);
  return [...seen].sort();
}

const v3Cache = new Map<string, Obj | undefined>();

/** The OpenAPI 3.0 document of one group version ('api/v1', 'apis/apps/v1'), or undefined if not served. */
export function openapiV3(groupVersionPath: string): Obj | undefined {
  const key = groupVersionPath.replace(/^\/+|\/+$/g, '');
  if (v3Cache.has(key)) return v3Cache.get(key);
  let doc: Obj | undefined;
  if (groupVersionPaths().includes(key)) {
    const v2paths = Object.entries(openapiV2().paths as Record<string, PathItem>).filter(([p]) => groupVersionPathOf(p) === key);
    const paths: Record<string, Obj> = {};
    for (const [p, item] of v2paths) {
      const out: Obj = {};
      for (const [method, v] of Object.entries(item)) {
        if (method === 'parameters') out.parameters = (v as Obj[]).map(parameterV3);
        else out[method] = operationV3(v as Obj);
      }
      paths[p] = out;
    }
    const defs = definitions();
    const schemas: Record<string, unknown> = {};
    for (const name of referencedDefinitions(v2paths.map(([, item]) => item))) schemas[name] = definitionV3(name, defs[name]);
    doc = {
      openapi: '3.0.0',
      info: INFO(),
      paths,
      components: { schemas, securitySchemes: { BearerToken: BEARER } },
    };
  }
  v3Cache.set(key, doc);
  return doc;
}

/** The upstream ETag/hash of a served body: uppercase hex SHA-512 (as kube-openapi computes it). */
export function etagOf(body: Uint8Array | string): string {
  return createHash('sha512').update(body).digest('hex').toUpperCase();
}

interface Representation {
  body: Buffer;
  etag: string;
  gzipped?: Buffer;
}

const bytesCache = new Map<string, Representation>();
function representation(key: string, make: () => Uint8Array | string): Representation {
  let r = bytesCache.get(key);
  if (!r) {
    const made = make();
    const body = typeof made === 'string' ? Buffer.from(made) : Buffer.from(made.buffer, made.byteOffset, made.byteLength);
    r = { body, etag: etagOf(body) };
    bytesCache.set(key, r);
  }
  return r;
}

/** /openapi/v2 as JSON bytes, with its ETag (unquoted). */
export function openapiV2Json(): Representation {
  return representation('v2.json', () => JSON.stringify(openapiV2()));
}

/** /openapi/v2 as gnostic openapi_v2.Document protobuf bytes, with its ETag (unquoted). */
export function openapiV2Protobuf(): Representation {
  return representation('v2.pb', () => encodeSwaggerProtobuf(openapiV2()));
}

/** A group version's OpenAPI v3 JSON bytes with their hash, or undefined if not served. */
export function openapiV3Json(groupVersionPath: string): Representation | undefined {
  const doc = openapiV3(groupVersionPath);
  if (!doc) return undefined;
  return representation(`v3:${groupVersionPath.replace(/^\/+|\/+$/g, '')}`, () => JSON.stringify(doc));
}

let discoveryCache: Obj | undefined;

/** /openapi/v3: every served group version with a hash-pinned URL of its document. */
export function openapiV3Discovery(): Obj {
  if (discoveryCache) return discoveryCache;
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const gv of groupVersionPaths()) paths[gv] = { serverRelativeURL: `/openapi/v3/${gv}?hash=${openapiV3Json(gv)!.etag}` };
  return (discoveryCache = { paths });
}

// ---------------------------------------------------------------------------
// Unknown fields (for fieldValidation=Strict/Warn on the server)

/**
 * The paths of fields in `obj` that the schema of group/version/kind does not
 * declare, formatted as upstream's strict decoding errors name them
 * (`spec.containers[0].imagee`, `metadata.labelz`). Opaque parts
 * (RawExtension, FieldsV1, maps) are not inspected. An unknown kind yields [].
 */
export function unknownFields(group: string, version: string, kind: string, obj: unknown): string[] {
  const root = definitionFor(group, version, kind);
  if (!root) return [];
  const defs = definitions();
  const out: string[] = [];
  const walk = (schema: Schema | undefined, value: unknown, path: string) => {
    for (let hops = 0; schema && typeof schema.$ref === 'string' && hops < 64; hops++) schema = defs[(schema.$ref as string).slice('#/definitions/'.length)];
    if (!schema || value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      if (schema.type === 'array') value.forEach((v, i) => walk(schema!.items as Schema, v, `${path}[${i}]`));
      return;
    }
    const props = schema.properties as Record<string, Schema> | undefined;
    if (props) {
      for (const [k, v] of Object.entries(value as Obj)) {
        const p = path ? `${path}.${k}` : k;
        if (!(k in props)) out.push(p);
        else walk(props[k], v, p);
      }
    } else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
      for (const [k, v] of Object.entries(value as Obj)) walk(schema.additionalProperties as Schema, v, path ? `${path}.${k}` : k);
    }
  };
  walk(defs[root], obj, '');
  return out;
}

// ---------------------------------------------------------------------------
// HTTP

export interface OpenAPIRequest {
  /** URL path, without the query ('/openapi/v2', '/openapi/v3/apis/apps/v1'). */
  path: string;
  /** The query string or parsed parameters (for `hash`). */
  query?: string | URLSearchParams;
  accept?: string;
  acceptEncoding?: string;
  ifNoneMatch?: string;
  method?: string;
}

export interface OpenAPIResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

interface Clause {
  type: string;
  subtype: string;
  q: number;
}

/** The media ranges of an Accept header, best first (by q, then specificity). */
function parseAccept(accept: string | undefined): Clause[] {
  const clauses: Array<Clause & { i: number }> = [];
  (accept?.trim() ? accept : '*/*').split(',').forEach((part, i) => {
    const [range, ...params] = part.split(';').map((s) => s.trim());
    const [type, subtype] = range.split('/');
    if (!type || !subtype) return;
    let q = 1;
    for (const p of params) {
      const [k, v] = p.split('=').map((s) => s.trim());
      if (k === 'q') q = Number(v);
    }
    if (!(q > 0)) return;
    clauses.push({ type: type.toLowerCase(), subtype: subtype.toLowerCase(), q, i });
  });
  const spec = (c: Clause) => (c.type === '*' ? 0 : c.subtype === '*' ? 1 : 2);
  return clauses.sort((a, b) => b.q - a.q || spec(b) - spec(a) || a.i - b.i);
}

interface Offer {
  subtype: string;
  contentType: string;
  get: () => Representation;
}

function negotiate(accept: string | undefined, offers: Offer[]): Offer | undefined {
  for (const c of parseAccept(accept))
    for (const o of offers) {
      if (c.type !== 'application' && c.type !== '*') continue;
      if (c.subtype !== o.subtype.toLowerCase() && c.subtype !== '*') continue;
      return o;
    }
  return undefined;
}

function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((t) => {
    const v = t.trim().replace(/^W\//, '');
    return v === '*' || v === `"${etag}"`;
  });
}

const empty = Buffer.alloc(0);

function serve(req: OpenAPIRequest, rep: Representation, contentType: string, extra: Record<string, string> = {}): OpenAPIResponse {
  const headers: Record<string, string> = { 'Content-Type': contentType, ETag: `"${rep.etag}"`, Vary: 'Accept, Accept-Encoding', ...extra };
  if (etagMatches(req.ifNoneMatch, rep.etag)) return { status: 304, headers, body: empty };
  let body = rep.body;
  if (acceptsGzip(req.acceptEncoding)) {
    body = rep.gzipped ??= gzipSync(rep.body);
    headers['Content-Encoding'] = 'gzip';
  }
  return { status: 200, headers, body: req.method === 'HEAD' ? empty : body };
}

function acceptsGzip(acceptEncoding: string | undefined): boolean {
  return (acceptEncoding ?? '').split(',').some((part) => {
    const [coding, ...params] = part.split(';').map((x) => x.trim().toLowerCase());
    const q = params.find((x) => x.startsWith('q='));
    return coding === 'gzip' && !(q && Number(q.slice(2)) === 0);
  });
}

function statusBody(code: number, reason: string, message: string): Buffer {
  return Buffer.from(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
}

/**
 * Answers a GET (or HEAD) of /openapi/v2, /openapi/v3 or /openapi/v3/<gv>,
 * as upstream's kube-openapi does; undefined for any other path.
 */
export function openapiResponse(req: OpenAPIRequest): OpenAPIResponse | undefined {
  const path = req.path.replace(/\/+$/, '');
  if (path === '/openapi/v2') {
    const offer = negotiate(req.accept, [
      { subtype: 'json', contentType: 'application/json', get: openapiV2Json },
      { subtype: 'com.github.proto-openapi.spec.v2@v1.0+protobuf', contentType: OPENAPI_V2_PROTOBUF, get: openapiV2Protobuf },
      { subtype: 'com.github.proto-openapi.spec.v2.v1.0+protobuf', contentType: OPENAPI_V2_PROTOBUF, get: openapiV2Protobuf },
    ]);
    if (!offer) return { status: 406, headers: { Vary: 'Accept' }, body: empty };
    return serve(req, offer.get(), offer.contentType);
  }
  if (path === '/openapi/v3') {
    const rep = representation('v3.discovery', () => JSON.stringify(openapiV3Discovery()));
    return serve(req, rep, 'application/json');
  }
  if (path.startsWith('/openapi/v3/')) {
    const gv = path.slice('/openapi/v3/'.length);
    const rep = openapiV3Json(gv);
    if (!rep)
      return {
        status: 404,
        headers: { 'Content-Type': 'application/json' },
        body: statusBody(404, 'NotFound', `the OpenAPI document of ${gv} is not served`),
      };
    if (!negotiate(req.accept, [{ subtype: 'json', contentType: 'application/json', get: () => rep }]))
      return { status: 406, headers: { Vary: 'Accept' }, body: empty };
    const query = typeof req.query === 'string' ? new URLSearchParams(req.query) : req.query;
    const hash = query?.get('hash');
    if (hash) {
      if (hash !== rep.etag)
        return { status: 301, headers: { Location: `/openapi/v3/${gv}?hash=${rep.etag}`, Vary: 'Accept' }, body: empty };
      const expires = new Date(Date.now() + 365 * 24 * 3600 * 1000).toUTCString();
      return serve(req, rep, 'application/json', { 'Cache-Control': 'public, immutable', Expires: expires });
    }
    return serve(req, rep, 'application/json');
  }
  return undefined;
}

/** Exported for tests. */
export const _internal = { groupVersionPaths, definitionFor, referencedDefinitions, parseAccept };
