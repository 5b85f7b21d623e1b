// The REST client every k8ts component uses to talk to the API server, as
// client-go's rest/dynamic clients: one keep-alive HTTPS agent, paths built
// from the registry, errors as the server's metav1.Status, and watches as
// streams of JSON lines.
import fs from 'node:fs';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { type ResourceInfo, lookupResource } from '../api/registry.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type KObject = Record<string, any> & { metadata?: Record<string, any> };

export interface Status {
  kind?: 'Status';
  apiVersion?: 'v1';
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}

/** An error answered by the API server (or synthesised for a transport failure), carrying its Status. */
export class ApiStatusError extends Error {
  constructor(public readonly status: Status) {
    super(status.message ?? `${status.code ?? ''} ${status.reason ?? 'error'}`);
    this.name = 'ApiStatusError';
  }
  get code(): number {
    return this.status.code ?? 0;
  }
  get reason(): string {
    return this.status.reason ?? '';
  }
}

export const isNotFound = (e: unknown): boolean => e instanceof ApiStatusError && e.code === 404;
export const isConflict = (e: unknown): boolean => e instanceof ApiStatusError && e.code === 409;
export const isAlreadyExists = (e: unknown): boolean => e instanceof ApiStatusError && e.code === 409 && e.reason === 'AlreadyExists';
export const isExpired = (e: unknown): boolean => e instanceof ApiStatusError && (e.code === 410 || e.reason === 'Expired' || e.reason === 'Gone');

export interface ApiClientOptions {
  /** e.g. https://127.0.0.1:6443 */
  server: string;
  /** PEM CA bundle that signed the server's certificate. */
  ca?: string | Buffer;
  /** PEM client certificate and key. */
  cert?: string | Buffer;
  key?: string | Buffer;
  token?: string;
  /** Default namespace of the kubeconfig context. */
  namespace?: string;
  userAgent?: string;
  /** Timeout of non-watch requests (default 30 s). */
  requestTimeoutMs?: number;
}

/** A resource: a ResourceInfo, or its GroupResource string ("/configmaps", "apps/deployments"; a bare plural means core). */
export type ResourceRef = ResourceInfo | string;

export function resolveResource(ref: ResourceRef): ResourceInfo {
  if (typeof ref !== 'string') return ref;
  const i = ref.indexOf('/');
  const [group, plural] = i < 0 ? ['', ref] : [ref.slice(0, i), ref.slice(i + 1)];
  const info = lookupResource(group, plural);
  if (!info) throw new Error(`unknown resource ${JSON.stringify(ref)}`);
  return info;
}

/** The collection or object path of a resource. */
export function resourcePath(info: ResourceInfo, namespace?: string, name?: string, subresource?: string): string {
  let p = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
  if (info.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${info.plural}`;
  if (name !== undefined) p += `/${encodeURIComponent(name)}`;
  if (subresource) p += `/${subresource}`;
  return p;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  timeoutSeconds?: number;
  allowWatchBookmarks?: boolean;
}

export interface WriteOptions {
  fieldManager?: string;
  dryRun?: boolean;
}

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';
const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

export interface PatchOptions extends WriteOptions {
  type?: PatchType;
  /** Server-side apply: take over conflicting fields. */
  force?: boolean;
  subresource?: string;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface ObjectList<T = KObject> {
  kind?: string;
  apiVersion?: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
export interface WatchEvent<T = KObject> {
  type: WatchEventType;
  object: T;
}

/** An open watch: iterate it for events; it ends when the server ends the stream or close() is called. */
export interface WatchStream<T = KObject> extends AsyncIterable<WatchEvent<T>> {
  close(): void;
  /** Resolves when the stream has ended (normally, by close(), or with the transport error). */
  readonly done: Promise<Error | undefined>;
}

interface KubeconfigFile {
  'current-context'?: string;
  contexts?: Array<{ name: string; context: { cluster: string; user: string; namespace?: string } }>;
  clusters?: Array<{ name: string; cluster: { server: string; 'certificate-authority-data'?: string; 'certificate-authority'?: string } }>;
  users?: Array<{
    name: string;
    user: { 'client-certificate-data'?: string; 'client-key-data'?: string; 'client-certificate'?: string; 'client-key'?: string; token?: string };
  }>;
}

/** Reads a kubeconfig file into client options (current context, embedded or file credentials). */
export function loadKubeconfig(file: string, context?: string): ApiClientOptions {
  const cfg = parseYaml(fs.readFileSync(file, 'utf8')) as KubeconfigFile;
  const ctxName = context ?? cfg['current-context'];
  const ctx = cfg.contexts?.find((c) => c.name === ctxName) ?? (ctxName === undefined ? cfg.contexts?.[0] : undefined);
  if (!ctx) throw new Error(`kubeconfig ${file}: context ${JSON.stringify(ctxName)} not found`);
  const cluster = cfg.clusters?.find((c) => c.name === ctx.context.cluster)?.cluster;
  if (!cluster) throw new Error(`kubeconfig ${file}: cluster ${JSON.stringify(ctx.context.cluster)} not found`);
  const user = cfg.users?.find((u) => u.name === ctx.context.user)?.user ?? {};
  const data = (b64?: string, path?: string): Buffer | undefined =>
    b64 ? Buffer.from(b64, 'base64') : path ? fs.readFileSync(path) : undefined;
  return {
    server: cluster.server,
    ca: data(cluster['certificate-authority-data'], cluster['certificate-authority']),
    cert: data(user['client-certificate-data'], user['client-certificate']),
    key: data(user['client-key-data'], user['client-key']),
    token: user.token,
    namespace: ctx.context.namespace,
  };
}

function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (b: Buffer) => chunks.push(b));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('response aborted')));
  });
}

function statusFromBody(code: number, body: string): Status {
  try {
    const o = JSON.parse(body);
    if (o && o.kind === 'Status') return { ...o, code: o.code ?? code };
  } catch {
    /* not JSON */
  }
  return { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason: code === 404 ? 'NotFound' : 'Unknown', message: body.trim() || `HTTP ${code}` };
}

export class ApiClient {
  readonly server: URL;
  readonly namespace: string;
  private readonly agent: https.Agent;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;

  constructor(readonly options: ApiClientOptions) {
    this.server = new URL(options.server);
    this.namespace = options.namespace ?? 'default';
    this.agent = new https.Agent({ keepAlive: true, ca: options.ca, cert: options.cert, key: options.key, maxSockets: 64 });
    this.headers = { Accept: 'application/json', 'User-Agent': options.userAgent ?? 'k8ts-client' };
    if (options.token) this.headers.Authorization = `Bearer ${options.token}`;
    this.timeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  static fromKubeconfig(file: string, extra: Partial<ApiClientOptions> = {}): ApiClient {
    return new ApiClient({ ...loadKubeconfig(file), ...extra });
  }

  /** Releases the keep-alive sockets. */
  close(): void {
    this.agent.destroy();
  }

  /**
   * Sends a request and resolves with the response (headers received). The
   * timeout covers the whole exchange, or, for a stream, only the wait for its headers.
   */
  private open(method: string, path: string, body?: string, contentType?: string, streaming = false): Promise<IncomingMessage> {
    const headers: Record<string, string | number> = { ...this.headers };
    if (body !== undefined) {
      headers['Content-Type'] = contentType ?? 'application/json';
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    const timeoutMs = this.timeoutMs;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = https.request(
        { protocol: 'https:', hostname: this.server.hostname, port: this.server.port || 443, method, path, headers, agent: this.agent },
        (res) => {
          if (streaming) req.setTimeout(0);
          resolve(res);
        },
      );
      req.on('error', reject);
      if (timeoutMs > 0) req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path}: timed out after ${timeoutMs} ms`)));
      req.end(body);
    });
  }

  /** One request; JSON in and out; a non-2xx answer throws ApiStatusError. */
  async request<T = KObject>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const res = await this.open(method, path, text, contentType);
    const out = await readAll(res);
    const code = res.statusCode ?? 0;
    if (code < 200 || code > 299) throw new ApiStatusError(statusFromBody(code, out));
    return (out ? JSON.parse(out) : {}) as T;
  }

  private ns(info: ResourceInfo, namespace: string | undefined): string | undefined {
    return info.namespaced ? (namespace ?? this.namespace) : undefined;
  }

  get<T = KObject>(resource: ResourceRef, namespace: string | undefined, name: string, subresource?: string): Promise<T> {
    const info = resolveResource(resource);
    return this.request<T>('GET', resourcePath(info, this.ns(info, namespace), name, subresource));
  }

  /** Lists a resource; with no namespace on a namespaced resource, lists across all namespaces. */
  list<T = KObject>(resource: ResourceRef, opts: ListOptions = {}): Promise<ObjectList<T>> {
    const info = resolveResource(resource);
    const q = query({
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
      limit: opts.limit,
      continue: opts.continue,
      resourceVersion: opts.resourceVersion,
    });
    return this.request<ObjectList<T>>('GET', resourcePath(info, opts.namespace) + q);
  }

  /** Lists every page (limit/continue) into one list. */
  async listAll<T = KObject>(resource: ResourceRef, opts: ListOptions & { pageSize?: number } = {}): Promise<ObjectList<T>> {
    const items: T[] = [];
    let cont: string | undefined;
    let first: ObjectList<T> | undefined;
    do {
      const page = await this.list<T>(resource, { ...opts, limit: opts.pageSize ?? 500, continue: cont });
      first ??= page;
      items.push(...page.items);
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return { ...first!, metadata: { resourceVersion: first!.metadata?.resourceVersion }, items };
  }

  create<T = KObject>(resource: ResourceRef, obj: KObject, opts: WriteOptions & { namespace?: string } = {}): Promise<T> {
    const info = resolveResource(resource);
    const q = query({ fieldManager: opts.fieldManager, dryRun: opts.dryRun ? 'All' : undefined });
    return this.request<T>('POST', resourcePath(info, this.ns(info, opts.namespace ?? obj.metadata?.namespace)) + q, obj);
  }

  /** PUT of the whole object (optimistic concurrency through metadata.resourceVersion). */
  update<T = KObject>(resource: ResourceRef, obj: KObject, opts: WriteOptions = {}): Promise<T> {
    return this.put<T>(resource, obj, undefined, opts);
  }

  updateStatus<T = KObject>(resource: ResourceRef, obj: KObject, opts: WriteOptions = {}): Promise<T> {
    return this.put<T>(resource, obj, 'status', opts);
  }

  private put<T>(resource: ResourceRef, obj: KObject, subresource: string | undefined, opts: WriteOptions): Promise<T> {
    const info = resolveResource(resource);
    const name = obj.metadata?.name;
    if (!name) throw new Error('update: metadata.name is required');
    const q = query({ fieldManager: opts.fieldManager, dryRun: opts.dryRun ? 'All' : undefined });
    return this.request<T>('PUT', resourcePath(info, this.ns(info, obj.metadata?.namespace), name, subresource) + q, obj);
  }

  patch<T = KObject>(resource: ResourceRef, namespace: string | undefined, name: string, patch: unknown, opts: PatchOptions = {}): Promise<T> {
    const info = resolveResource(resource);
    const type = opts.type ?? 'merge';
    if (type === 'apply' && !opts.fieldManager) throw new Error('patch: server-side apply needs a fieldManager');
    const q = query({ fieldManager: opts.fieldManager, force: opts.force, dryRun: opts.dryRun ? 'All' : undefined });
    return this.request<T>('PATCH', resourcePath(info, this.ns(info, namespace), name, opts.subresource) + q, patch, PATCH_CONTENT_TYPES[type]);
  }

  delete<T = KObject>(resource: ResourceRef, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<T> {
    const info = resolveResource(resource);
    const { dryRun, ...rest } = opts;
    const body = { kind: 'DeleteOptions', apiVersion: 'v1', ...rest, ...(dryRun ? { dryRun: ['All'] } : {}) };
    return this.request<T>('DELETE', resourcePath(info, this.ns(info, namespace), name), body);
  }

  /**
   * Opens a watch. Resolves once the server has accepted it (a refusal throws
   * ApiStatusError); ERROR events in the stream are passed through as events.
   */
  async watch<T = KObject>(resource: ResourceRef, opts: WatchOptions = {}): Promise<WatchStream<T>> {
    const info = resolveResource(resource);
    const q = query({
      watch: 'true',
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
      resourceVersion: opts.resourceVersion,
      timeoutSeconds: opts.timeoutSeconds,
      allowWatchBookmarks: opts.allowWatchBookmarks,
    });
    const path = resourcePath(info, opts.namespace) + q;
    // No idle timeout on the stream (bookmarks come only every minute); a client-side
    // deadline a little after the server's ends a watch whose server vanished silently.
    const deadline = opts.timeoutSeconds !== undefined ? (opts.timeoutSeconds + 30) * 1000 : 0;
    const res = await this.open('GET', path, undefined, undefined, true);
    const code = res.statusCode ?? 0;
    if (code !== 200) throw new ApiStatusError(statusFromBody(code, await readAll(res)));

    const queue: WatchEvent<T>[] = [];
    let ended = false;
    let endError: Error | undefined;
    let wake: (() => void) | undefined;
    let resolveDone!: (e: Error | undefined) => void;
    const done = new Promise<Error | undefined>((r) => (resolveDone = r));
    let timer: NodeJS.Timeout | undefined;
    const finish = (err?: Error) => {
      if (ended) return;
      ended = true;
      endError = err;
      if (timer) clearTimeout(timer);
      res.destroy();
      resolveDone(err);
      wake?.();
    };
    if (deadline > 0) timer = setTimeout(() => finish(new Error('watch: no end from the server before the deadline')), deadline);
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (!line) continue;
        try {
          queue.push(JSON.parse(line) as WatchEvent<T>);
        } catch {
          finish(new Error(`watch: bad event line: ${line.slice(0, 200)}`));
          return;
        }
      }
      wake?.();
    });
    res.on('end', () => finish());
    res.on('aborted', () => finish(new Error('watch: connection aborted')));
    res.on('error', (e) => finish(e));
    res.on('close', () => finish(res.complete ? undefined : new Error('watch: connection closed')));

    const stream: WatchStream<T> = {
      close: () => finish(),
      done,
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<WatchEvent<T>>> => {
          for (;;) {
            if (queue.length) return { value: queue.shift()!, done: false };
            if (ended) {
              if (endError && !closedByUser) throw endError;
              return { value: undefined, done: true };
            }
            await new Promise<void>((r) => (wake = r));
            wake = undefined;
          }
        },
        return: async (): Promise<IteratorResult<WatchEvent<T>>> => {
          closedByUser = true;
          finish();
          return { value: undefined, done: true };
        },
      }),
    };
    let closedByUser = false;
    const origClose = stream.close;
    stream.close = () => {
      closedByUser = true;
      origClose();
    };
    return stream;
  }
}
