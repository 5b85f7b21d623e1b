// The API server's HTTP handler: authentication, routing, and the REST verbs
// (get, list, watch, create, update, patch, delete, deletecollection) plus
// subresources, answering errors as metav1.Status objects.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ResourceInfo, apiVersionOf, lookupResource } from '../api/registry.js';
import { logger } from '../util/log.js';
import { KUBERNETES_VERSION } from '../version.js';
import { aggregatedDiscovery, apiGroupDoc, apiGroupList, apiResourceList, apiVersions, wantsAggregated } from './discovery.js';
import { decodeObject, mediaType, parseDocument, readBody, sendError, sendJson, sendText } from './http.js';
import type { Metrics } from './metrics.js';
import type { Obj } from './objects.js';
import { applyPatch, PATCH_TYPES } from './patching.js';
import type { DeleteOptions, RequestContext, ResourceStorage } from './rest.js';
import { buildFilter } from './selection.js';
import {
  ApiError,
  badRequest,
  internalError,
  methodNotAllowed,
  notAcceptable,
  routeNotFound,
  serviceUnavailable,
  successStatus,
  unauthorized,
  unsupportedMediaType,
} from './status.js';
import { serveWatch } from './watch.js';
import { tableFor, wantsTable } from './table-output.js';

const log = logger('apiserver');

export interface UserInfo {
  name: string;
  groups: string[];
}

export interface HandlerDeps {
  storage: Map<string, ResourceStorage>;
  authenticate(req: IncomingMessage): UserInfo | undefined;
  isReady(): boolean;
  serverAddress: string;
  metrics: Metrics;
  openapi(path: string, req: IncomingMessage, res: ServerResponse): boolean;
  /** Pod log/exec/attach/portforward go to the node agent (the node-agent issue fills this in). */
  nodeProxy?(pod: Obj, subresource: string, req: IncomingMessage, res: ServerResponse): void;
  subresourceHandlers?: Map<string, SubresourceHandler>;
}

export type SubresourceHandler = (a: {
  storage: ResourceStorage;
  namespace: string | undefined;
  name: string;
  method: string;
  req: IncomingMessage;
  res: ServerResponse;
  query: URLSearchParams;
  ctx: RequestContext;
  body: () => Promise<Buffer>;
}) => Promise<unknown>;

const PUBLIC_PATHS = new Set(['/healthz', '/livez', '/readyz', '/version', '/version/']);

interface Route {
  info: ResourceInfo;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** Splits /api/v1/... and /apis/<g>/<v>/... into a resource route. */
export function parseResourcePath(path: string): Route | 'notfound' | undefined {
  const parts = path.split('/').filter(Boolean);
  let group: string;
  let rest: string[];
  if (parts[0] === 'api' && parts[1] === 'v1') {
    group = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1];
    rest = parts.slice(3);
    const info0 = rest[0] && (lookupResource(group, rest[0]) ?? (rest[0] === 'namespaces' ? lookupResource(group, rest[2] ?? '') : undefined));
    if (info0 && info0.version !== parts[2]) return 'notfound';
  } else return undefined;
  if (rest.length === 0) return undefined;
  let namespace: string | undefined;
  // /api/v1/namespaces/<name>/status|finalize are the namespace's own subresources.
  const nsSub = group === '' && rest[0] === 'namespaces' && rest.length === 3 && !lookupResource('', rest[2]) && lookupResource('', 'namespaces')!.subresources?.[rest[2]];
  if (rest[0] === 'namespaces' && rest.length >= 3 && !nsSub) {
    namespace = decodeURIComponent(rest[1]);
    rest = rest.slice(2);
  }
  const info = lookupResource(group, rest[0]);
  if (!info) return 'notfound';
  if (namespace !== undefined && !info.namespaced) return 'notfound';
  const name = rest[1] !== undefined ? decodeURIComponent(rest[1]) : undefined;
  const subresource = rest[2];
  if (rest.length > 3) return 'notfound';
  if (subresource && !info.subresources?.[subresource]) return 'notfound';
  return { info, namespace, name, subresource };
}

function verbOf(method: string, route: Route, query: URLSearchParams): string {
  switch (method) {
    case 'GET':
      return route.name ? 'get' : query.get('watch') === 'true' || query.get('watch') === '1' ? 'watch' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return route.name ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

function parseDeleteOptions(query: URLSearchParams, body: Obj | undefined): DeleteOptions {
  const o: DeleteOptions = { ...(body ?? {}) } as DeleteOptions;
  const g = query.get('gracePeriodSeconds');
  if (g !== null) o.gracePeriodSeconds = Number(g);
  const p = query.get('propagationPolicy');
  if (p) o.propagationPolicy = p as DeleteOptions['propagationPolicy'];
  const orphan = query.get('orphanDependents');
  if (orphan !== null) o.orphanDependents = orphan === 'true';
  if (o.propagationPolicy && !['Orphan', 'Background', 'Foreground'].includes(o.propagationPolicy)) {
    throw badRequest(`propagationPolicy: Unsupported value: "${o.propagationPolicy}": supported values: "Foreground", "Background", "Orphan"`);
  }
  if (o.gracePeriodSeconds !== undefined && !Number.isFinite(o.gracePeriodSeconds)) throw badRequest('gracePeriodSeconds must be a number');
  return o;
}

export function createHandler(deps: HandlerDeps) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'https://local');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    let verb = method.toLowerCase();
    let route: Route | undefined;
    try {
      if (PUBLIC_PATHS.has(path)) return servePublic(path, deps, res);
      const user = deps.authenticate(req);
      if (!user) throw unauthorized();
      const r = parseResourcePath(path);
      if (r === 'notfound') throw routeNotFound();
      if (r === undefined) return await serveNonResource(path, req, res, deps);
      route = r;
      verb = verbOf(method, r, url.searchParams);
      await serveResource(r, method, url.searchParams, req, res, deps);
    } catch (err) {
      const apiErr = err instanceof ApiError ? err : toApiError(err);
      if (apiErr.code >= 500) log.error('request failed', { method, path, code: apiErr.code, error: err as Error });
      sendError(res, apiErr);
    } finally {
      deps.metrics.observeRequest({
        verb: metricVerb(verb, route),
        group: route?.info.group ?? '',
        version: route?.info.version ?? '',
        resource: route?.info.plural ?? '',
        subresource: route?.subresource ?? '',
        scope: route ? (route.name ? 'resource' : route.namespace ? 'namespace' : 'cluster') : '',
        code: res.statusCode,
        seconds: (performance.now() - started) / 1000,
      });
    }
  };
}

/** Upstream's `verb` label: GET, LIST, WATCH, POST, PUT, PATCH, DELETE, DELETECOLLECTION. */
function metricVerb(verb: string, route: Route | undefined): string {
  if (!route) return verb.toUpperCase();
  return ({ create: 'POST', update: 'PUT' } as Record<string, string>)[verb] ?? verb.toUpperCase();
}

function toApiError(err: unknown): ApiError {
  const e = err as Error;
  if (e?.name === 'UnavailableError') return serviceUnavailable(e.message);
  if (e?.name === 'SelectorError') return badRequest(e.message);
  if (e?.name === 'PatchError') {
    // Upstream puts a generic message on 422 patch failures and the detail in causes.
    const pe = e as Error & { code: number; reason: string; statusMessage?: string };
    // A patch the server cannot apply is the request's fault: never a 500 (upstream answers 500 for a few).
    const code = pe.code >= 500 ? 422 : pe.code;
    const reason = pe.code >= 500 ? 'Invalid' : pe.reason;
    return new ApiError(code, reason, pe.statusMessage ?? e.message, pe.statusMessage ? { causes: [{ message: e.message }] } : undefined);
  }
  return internalError(e?.message ?? String(err));
}

function servePublic(path: string, deps: HandlerDeps, res: ServerResponse): void {
  if (path.startsWith('/version')) {
    sendJson(res, 200, {
      ...KUBERNETES_VERSION,
      gitCommit: '0000000000000000000000000000000000000000',
      gitTreeState: 'clean',
      buildDate: '2026-11-23T00:00:00Z',
      goVersion: `node${process.versions.node}`,
      compiler: 'tsc',
      platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
    });
    return;
  }
  if (path === '/readyz' && !deps.isReady()) return sendText(res, 500, '[-]informer-sync failed: not ready\nreadyz check failed\n');
  sendText(res, 200, 'ok');
}

async function serveNonResource(path: string, req: IncomingMessage, res: ServerResponse, deps: HandlerDeps): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') throw methodNotAllowed(req.method ?? '', path);
  const agg = wantsAggregated(req.headers.accept);
  const p = path.replace(/\/+$/, '') || '/';
  if ((p === '/api' || p === '/apis') && agg) {
    return sendJson(res, 200, aggregatedDiscovery(p === '/api', `apidiscovery.k8s.io/${agg}`), {
      'Content-Type': `application/json;g=apidiscovery.k8s.io;v=${agg};as=APIGroupDiscoveryList`,
      Vary: 'Accept',
    });
  }
  if (p === '/api') return sendJson(res, 200, apiVersions(deps.serverAddress), { Vary: 'Accept' });
  if (p === '/apis') return sendJson(res, 200, apiGroupList(), { Vary: 'Accept' });
  if (p === '/api/v1') return sendJson(res, 200, apiResourceList('', 'v1'));
  const m = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(p);
  if (m) {
    const doc = m[2] ? apiResourceList(m[1], m[2]) : apiGroupDoc(m[1]);
    if (doc) return sendJson(res, 200, doc);
    throw routeNotFound();
  }
  if (p === '/metrics') return sendText(res, 200, deps.metrics.render(deps), 'text/plain; version=0.0.4; charset=utf-8');
  if (p === '/' ) {
    return sendJson(res, 200, { paths: ['/api', '/api/v1', '/apis', '/healthz', '/livez', '/metrics', '/openapi/v2', '/openapi/v3', '/readyz', '/version'] });
  }
  if (p.startsWith('/openapi/') && deps.openapi(p, req, res)) return;
  throw routeNotFound();
}

function requestContext(query: URLSearchParams, req: IncomingMessage): RequestContext {
  const dryRun = query.getAll('dryRun');
  for (const d of dryRun) if (d !== 'All') throw badRequest(`dryRun: Unsupported value: "${d}": supported values: "All"`);
  const fv = query.get('fieldValidation') ?? 'Warn';
  if (!['Strict', 'Warn', 'Ignore'].includes(fv)) {
    throw badRequest(`fieldValidation: Unsupported value: "${fv}": supported values: "Ignore", "Strict", "Warn"`);
  }
  const fm = query.get('fieldManager') ?? undefined;
  if (fm !== undefined && fm.length > 128) throw badRequest('fieldManager: Too long: may not be more than 128 bytes');
  return {
    dryRun: dryRun.length > 0,
    fieldManager: fm,
    fieldValidation: fv as RequestContext['fieldValidation'],
    userAgent: req.headers['user-agent'],
    warnings: [],
  };
}

function warningHeaders(ctx: RequestContext): Record<string, string> {
  if (!ctx.warnings.length) return {};
  return { Warning: ctx.warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ') };
}

async function serveResource(
  route: Route,
  method: string,
  query: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
  deps: HandlerDeps,
): Promise<void> {
  const storage = deps.storage.get(`${route.info.group}/${route.info.plural}`);
  if (!storage) throw routeNotFound();
  const { info, namespace, name, subresource } = route;
  if (info.namespaced && name !== undefined && namespace === undefined && method !== 'GET') throw routeNotFound();
  const accept = req.headers.accept;
  if (accept && !/application\/json|\*\/\*|application\/\*|application\/yaml/.test(accept)) {
    throw notAcceptable(['application/json', 'application/yaml']);
  }
  const ctx = requestContext(query, req);
  const body = () => readBody(req);

  if (subresource && subresource !== 'status' && subresource !== 'finalize') {
    const h = deps.subresourceHandlers?.get(`${info.group}/${info.plural}/${subresource}`) ?? deps.subresourceHandlers?.get(`*/${subresource}`);
    if (!h) throw methodNotAllowed(method, `${info.plural}/${subresource}`);
    const out = await h({ storage, namespace, name: name!, method, req, res, query, ctx, body });
    if (out !== undefined && !res.headersSent) sendJson(res, method === 'POST' ? 201 : 200, out, warningHeaders(ctx));
    return;
  }

  switch (method) {
    case 'GET': {
      if (name === undefined) {
        const filter = buildFilter(`${info.group}/${info.plural}`, query.get('labelSelector'), query.get('fieldSelector'));
        if (query.get('watch') === 'true' || query.get('watch') === '1') {
          return serveWatch({ storage, namespace, query, req, res, filter, table: wantsTable(accept) });
        }
        const limit = query.get('limit') ? Number(query.get('limit')) : undefined;
        if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) throw badRequest(`limit: Invalid value: "${query.get('limit')}"`);
        const list = await storage.list({
          namespace,
          limit,
          continue: query.get('continue') ?? undefined,
          resourceVersion: query.get('resourceVersion') ?? undefined,
          resourceVersionMatch: query.get('resourceVersionMatch') ?? undefined,
          filter,
        });
        const meta = { resourceVersion: list.resourceVersion, ...(list.continue ? { continue: list.continue } : {}) };
        if (wantsTable(accept)) return sendJson(res, 200, tableFor(storage, list.items, accept, query, meta));
        return sendJson(res, 200, { kind: `${info.kind}List`, apiVersion: apiVersionOf(info), metadata: meta, items: list.items });
      }
      const obj = await storage.get(namespace, name);
      if (wantsTable(accept) && !subresource) return sendJson(res, 200, tableFor(storage, [obj], accept, query, { resourceVersion: obj.metadata.resourceVersion }));
      return sendJson(res, 200, obj);
    }
    case 'POST': {
      if (name !== undefined) throw methodNotAllowed(method, info.plural);
      const obj = decodeObject(await body(), mediaType(req));
      const created = await storage.create(namespace, obj, ctx);
      return sendJson(res, 201, created, warningHeaders(ctx));
    }
    case 'PUT': {
      if (name === undefined) throw methodNotAllowed(method, info.plural);
      const obj = decodeObject(await body(), mediaType(req));
      const updated = await storage.update(namespace, name, obj, ctx, subresource);
      return sendJson(res, 200, updated, warningHeaders(ctx));
    }
    case 'PATCH': {
      if (name === undefined) throw methodNotAllowed(method, info.plural);
      const type = mediaType(req);
      if (!PATCH_TYPES.includes(type)) throw unsupportedMediaType(type, PATCH_TYPES);
      const raw = (await body()).toString('utf8');
      const force = query.get('force') === 'true';
      const out = await applyPatch({ storage, namespace, name, type, raw, ctx, subresource, force });
      return sendJson(res, out.created ? 201 : 200, out.object, warningHeaders(ctx));
    }
    case 'DELETE': {
      const raw = (await body()).toString('utf8');
      const opts = parseDeleteOptions(query, raw.trim() ? (parseDocument(raw, 'json') as Obj) : undefined);
      if (opts.preconditions === null) delete opts.preconditions;
      if ((opts as Obj).dryRun?.length) ctx.dryRun = true;
      if (name === undefined) {
        const filter = buildFilter(`${info.group}/${info.plural}`, query.get('labelSelector'), query.get('fieldSelector'));
        const list = await storage.list({ namespace, filter });
        const items: Obj[] = [];
        for (const o of list.items) {
          const r = await storage.delete(o.metadata.namespace, o.metadata.name, opts, ctx).catch((e) => {
            if (e instanceof ApiError && e.code === 404) return undefined;
            throw e;
          });
          if (r) items.push(r.object);
        }
        return sendJson(res, 200, { kind: `${info.kind}List`, apiVersion: apiVersionOf(info), metadata: { resourceVersion: list.resourceVersion }, items });
      }
      const r = await storage.delete(namespace, name, opts, ctx);
      if (r.gone && !['/pods', '/namespaces'].includes(storage.gr)) {
        return sendJson(res, 200, successStatus({ name, group: info.group || undefined, kind: info.plural, uid: r.object.metadata.uid }));
      }
      return sendJson(res, r.gone ? 200 : 202, r.object);
    }
    default:
      throw methodNotAllowed(method, info.plural);
  }
}
