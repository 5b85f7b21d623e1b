// Generic REST storage for every served resource, as upstream's generic
// registry (k8s.io/apiserver/pkg/registry/generic/registry/store.go):
// create/get/list/update/patch/delete over the Store, with optimistic
// concurrency on resourceVersion, status separated from spec, generation,
// finalizers and graceful deletion, dry-run, and per-resource strategy hooks.
import { type ResourceInfo, apiVersionOf, grOf } from '../api/registry.js';
import type { FieldError } from '../api/field-errors.js';
import { applyDefaults, prepareForCreate, prepareForUpdate } from '../api/defaults/index.js';
import { validateCreate, validateNamespaceFinalize, validateStatusUpdate, validateUpdate } from '../api/validation/index.js';
import { unknownFields } from '../api/openapi/index.js';
import {
  CompactedError,
  ConflictError,
  KeyExistsError,
  NotFoundError,
  type Store,
  ValueTooLargeError,
} from '../storage/types.js';
import { type Obj, clone, generateName, jsonEqual, newUid, nowTime, specPart, storageKey, storagePrefix } from './objects.js';
import { ApiError, OBJECT_MODIFIED, alreadyExists, badRequest, conflict, forbidden, gone, invalid, notFound } from './status.js';
import { type K8sObject, WatchCache, decodeStored } from './watch-cache.js';

export interface RequestContext {
  dryRun: boolean;
  fieldManager?: string;
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
  userAgent?: string;
  /** Warnings for the Warning response header. */
  warnings: string[];
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface Strategy {
  /** Resets or initialises status on create (default: status cleared for kinds with a status subresource). */
  initialStatus?(obj: Obj): Obj | undefined;
  /** Extra validation beyond src/api/validation (e.g. allocations). */
  validate?(obj: Obj, old: Obj | undefined): FieldError[];
  /**
   * Claims what the object needs (service IPs, node ports) before it is written;
   * returns an undo for when the write does not happen.
   */
  allocate?(obj: Obj, old: Obj | undefined, ctx: RequestContext): Promise<(() => Promise<void>) | undefined>;
  /** Releases what `old` held and `current` (the replacement, if any) no longer does. */
  release?(old: Obj, current: Obj | undefined): Promise<void>;
  /** Graceful deletion period (pods); undefined or 0 means delete at once. */
  gracePeriod?(obj: Obj, requested: number | undefined): number;
  /** Admission-time check on create (e.g. pods bound to nodes). */
  admitCreate?(obj: Obj): void;
  /** Adjusts an update before validation (e.g. carrying over allocated fields). */
  prepareForUpdate?(next: Obj, old: Obj): void;
  /** True while something other than metadata.finalizers holds deletion (namespaces' spec.finalizers). */
  pendingDeletion?(obj: Obj): boolean;
  /** Marks an object whose deletion is pending (namespaces: phase Terminating). */
  markDeleting?(obj: Obj): void;
  /** A reason to forbid deleting this object (403), if any. */
  admitDelete?(obj: Obj): string | undefined;
}

/** Kinds whose metadata.generation tracks spec changes. */
const GENERATION_TRACKED = new Set([
  'apps/deployments',
  'apps/replicasets',
  'apps/statefulsets',
  'apps/daemonsets',
  'batch/jobs',
  'networking.k8s.io/networkpolicies',
  'networking.k8s.io/ingresses',
]);

const MAX_CAS_RETRIES = 16;

export interface ListOptions {
  namespace?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
  filter?: (o: K8sObject) => boolean;
}

export interface ListResult {
  items: K8sObject[];
  resourceVersion: string;
  continue?: string;
}

/** What the storage layer needs from the rest of the server. */
export interface StorageContext {
  store: Store;
  /** True when every committed write reaches the caches before the next request runs (in-process stores). */
  cacheIsConsistent: boolean;
  namespacePhase(name: string): Promise<'Active' | 'Terminating' | undefined>;
  recordUpdate?(info: ResourceInfo, oldObj: Obj | undefined, newObj: Obj, ctx: RequestContext): void;
}

/** Deletes the field at an upstream-style path (`spec.containers[1].imagee`) if it exists. */
export function deletePath(obj: Obj, path: string): void {
  const segs: Array<string | number> = [];
  for (const part of path.split('.')) {
    const m = /^([^[]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) return;
    if (m[1]) segs.push(m[1]);
    for (const idx of m[2].matchAll(/\[(\d+)\]/g)) segs.push(Number(idx[1]));
  }
  let cur: any = obj;
  for (const s of segs.slice(0, -1)) {
    cur = cur?.[s];
    if (cur === null || typeof cur !== 'object') return;
  }
  const last = segs[segs.length - 1];
  if (cur && typeof cur === 'object' && last !== undefined) delete cur[last];
}

export class ResourceStorage {
  readonly gr: string;
  readonly cache: WatchCache;
  private readonly hasStatus: boolean;

  constructor(
    readonly info: ResourceInfo,
    private readonly ctx: StorageContext,
    readonly strategy: Strategy = {},
  ) {
    this.gr = grOf(info);
    this.cache = new WatchCache(ctx.store, storagePrefix(info));
    this.hasStatus = !!info.subresources?.status;
  }

  key(ns: string | undefined, name: string): string {
    return storageKey(this.info, ns, name);
  }

  private nf(name: string): ApiError {
    return notFound(this.info.group, this.info.plural, name);
  }

  async get(ns: string | undefined, name: string): Promise<K8sObject> {
    await this.cache.start();
    if (this.ctx.cacheIsConsistent) {
      const o = this.cache.get(this.key(ns, name));
      if (!o) throw this.nf(name);
      return o;
    }
    const kv = await this.ctx.store.get(this.key(ns, name));
    if (!kv) throw this.nf(name);
    return decodeStored(kv.value, kv.modRevision);
  }

  async list(opts: ListOptions): Promise<ListResult> {
    await this.cache.start();
    const prefix = storagePrefix(this.info, opts.namespace);
    const exact = opts.resourceVersionMatch === 'Exact' && opts.resourceVersion && opts.resourceVersion !== '0';
    if (opts.limit || opts.continue || exact || !this.ctx.cacheIsConsistent) {
      // Paged and exact-revision lists read the store, consistent at one revision across pages.
      try {
        const r = await this.ctx.store.list(prefix, {
          limit: opts.limit,
          continue: opts.continue,
          revision: exact ? Number(opts.resourceVersion) : undefined,
        });
        let items = r.items.map((kv) => decodeStored(kv.value, kv.modRevision));
        if (opts.filter) items = items.filter(opts.filter);
        return { items, resourceVersion: String(r.revision), continue: r.continue };
      } catch (e) {
        if (e instanceof CompactedError) {
          throw gone(
            opts.continue
              ? 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.'
              : `too old resource version: ${opts.resourceVersion} (${e.compactRevision})`,
          );
        }
        if (e instanceof Error && e.name === 'InvalidContinueError') throw badRequest(`invalid continue token: ${e.message}`);
        throw e;
      }
    }
    let items = this.cache.list(prefix);
    if (opts.filter) items = items.filter(opts.filter);
    const rv = Math.max(this.cache.rv, await this.ctx.store.currentRevision());
    return { items, resourceVersion: String(rv) };
  }

  /** Checks apiVersion/kind, name and namespace of a request body against the URL. */
  private checkIdentity(body: Obj, ns: string | undefined, name?: string): Obj {
    const want = apiVersionOf(this.info);
    if (body.apiVersion !== undefined && body.apiVersion !== want) {
      throw badRequest(`the API version in the data (${body.apiVersion}) does not match the expected API version (${want})`);
    }
    if (body.kind !== undefined && body.kind !== this.info.kind) {
      throw badRequest(`the kind in the data (${body.kind}) does not match the expected kind (${this.info.kind})`);
    }
    const obj: Obj = { ...body, apiVersion: want, kind: this.info.kind };
    obj.metadata = { ...(body.metadata ?? {}) };
    if (typeof obj.metadata !== 'object' || Array.isArray(body.metadata)) throw badRequest('metadata must be an object');
    if (this.info.namespaced) {
      if (obj.metadata.namespace && ns && obj.metadata.namespace !== ns) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      obj.metadata.namespace = ns ?? obj.metadata.namespace;
    } else {
      delete obj.metadata.namespace;
    }
    if (name !== undefined && obj.metadata.name !== undefined && obj.metadata.name !== name) {
      throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    }
    if (name !== undefined) obj.metadata.name ??= name;
    return obj;
  }

  private async admitNamespace(ns: string | undefined): Promise<void> {
    if (!this.info.namespaced || !ns) return;
    const phase = await this.ctx.namespacePhase(ns);
    if (!phase) throw notFound('', 'namespaces', ns);
    if (phase === 'Terminating' && !['/events', 'events.k8s.io/events'].includes(this.gr)) {
      throw forbidden(
        `${this.info.plural} "${'?'}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
      );
    }
  }

  /**
   * fieldValidation: Strict refuses fields the schema does not declare (400),
   * Warn (the default) answers with a Warning header per field, Ignore drops them silently.
   */
  checkUnknownFields(body: Obj, rctx: RequestContext): void {
    const mode = rctx.fieldValidation ?? 'Warn';
    const unknown = unknownFields(this.info.group, this.info.version, this.info.kind, body);
    if (unknown.length === 0) return;
    const msgs = unknown.map((f) => `unknown field "${f}"`);
    if (mode === 'Strict') throw badRequest(`strict decoding error: ${msgs.join(', ')}`);
    if (mode === 'Warn') rctx.warnings.push(...msgs);
    // Like decoding into upstream's typed structs: unknown fields are never stored.
    for (const f of unknown) deletePath(body, f);
  }

  private validateOrThrow(errs: FieldError[], obj: Obj): void {
    if (errs.length) throw invalid(this.info.group, this.info.kind, obj.metadata?.name ?? '', errs);
  }

  private encode(obj: Obj): string {
    const { resourceVersion: _rv, ...meta } = obj.metadata;
    return JSON.stringify({ ...obj, metadata: meta });
  }

  async create(ns: string | undefined, body: Obj, rctx: RequestContext): Promise<K8sObject> {
    const obj = this.checkIdentity(body, ns);
    this.checkUnknownFields(obj, rctx);
    if (!obj.metadata.name && !obj.metadata.generateName) {
      this.validateOrThrow([{ type: 'FieldValueRequired', field: 'metadata.name', detail: 'name or generateName is required' }], obj);
    }
    await this.admitNamespace(ns).catch((e) => {
      if (e instanceof ApiError && e.code === 403) {
        throw forbidden(`${this.info.plural} "${obj.metadata.name ?? obj.metadata.generateName}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`);
      }
      throw e;
    });
    for (let attempt = 0; ; attempt++) {
      const o = clone(obj);
      if (!o.metadata.name) o.metadata.name = generateName(o.metadata.generateName);
      const m = o.metadata;
      delete m.resourceVersion;
      delete m.deletionTimestamp;
      delete m.deletionGracePeriodSeconds;
      delete m.selfLink;
      m.uid = newUid();
      m.creationTimestamp = nowTime();
      if (GENERATION_TRACKED.has(this.gr)) m.generation = 1;
      else delete m.generation;
      applyDefaults(this.gr, o);
      prepareForCreate(this.gr, o);
      if (this.hasStatus && this.gr !== '/nodes' && this.gr !== '/namespaces') {
        const st = this.strategy.initialStatus ? this.strategy.initialStatus(o) : undefined;
        if (st === undefined) delete o.status;
        else o.status = st;
      }
      this.strategy.admitCreate?.(o);
      this.validateOrThrow([...validateCreate(this.gr, o), ...(this.strategy.validate?.(o, undefined) ?? [])], o);
      this.ctx.recordUpdate?.(this.info, undefined, o, rctx);
      if (rctx.dryRun) return o as K8sObject;
      const undo = await this.strategy.allocate?.(o, undefined, rctx);
      try {
        const kv = await this.ctx.store.create(this.key(ns, m.name), this.encode(o));
        return decodeStored(kv.value, kv.modRevision);
      } catch (e) {
        await undo?.();
        if (e instanceof KeyExistsError) {
          if (obj.metadata.name || attempt >= 3) throw alreadyExists(this.info.group, this.info.plural, m.name);
          continue; // a generated name collided: try another
        }
        throw this.storeError(e, m.name);
      }
    }
  }

  private storeError(e: unknown, name: string): unknown {
    if (e instanceof ValueTooLargeError) return new ApiError(413, 'RequestEntityTooLarge', `${this.info.plural} "${name}": ${e.message}`);
    if (e instanceof NotFoundError) return this.nf(name);
    return e;
  }

  /**
   * Read-modify-write with compare-and-swap, retried on conflicts, as upstream's
   * GuaranteedUpdate. `mutate` gets the current object and returns the new one
   * (or throws). When `preconditionRV` is set the write must apply to exactly it.
   */
  async guaranteedUpdate(
    ns: string | undefined,
    name: string,
    rctx: RequestContext,
    mutate: (cur: K8sObject) => Obj | Promise<Obj>,
    opts: { subresource?: string; allowCreate?: () => Obj | Promise<Obj> } = {},
  ): Promise<K8sObject> {
    const key = this.key(ns, name);
    for (let attempt = 0; attempt < MAX_CAS_RETRIES; attempt++) {
      const kv = await this.ctx.store.get(key);
      if (!kv) {
        if (opts.allowCreate) return this.create(ns, await opts.allowCreate(), rctx);
        throw this.nf(name);
      }
      const old = decodeStored(kv.value, kv.modRevision);
      const proposed = await mutate(clone(old));
      const wantRV = proposed.metadata?.resourceVersion;
      if (wantRV !== undefined && wantRV !== '' && wantRV !== old.metadata.resourceVersion) {
        throw conflict(this.info.group, this.info.plural, name, OBJECT_MODIFIED);
      }
      const next = this.prepareUpdate(this.checkIdentity(proposed, ns, name), old, opts.subresource);
      if (opts.subresource === undefined) {
        prepareForUpdate(this.gr, next, old);
        this.strategy.prepareForUpdate?.(next, old);
      }
      // A binding is a server-made change of spec.nodeName, which updates may not make.
      const errs =
        opts.subresource === 'status'
          ? validateStatusUpdate(this.gr, next, old)
          : opts.subresource === 'binding'
            ? []
            : opts.subresource === 'finalize'
              ? validateNamespaceFinalize(next, old)
              : validateUpdate(this.gr, next, old);
      this.validateOrThrow([...errs, ...(this.strategy.validate?.(next, old) ?? [])], next);
      if (jsonEqual(next, old)) return old; // nothing changed: no write, as upstream
      this.ctx.recordUpdate?.(this.info, old, next, rctx);
      if (rctx.dryRun) return next as K8sObject;
      if (this.readyToDelete(next)) return this.finishDelete(key, old, kv.modRevision, rctx).then((r) => r ?? next as K8sObject);
      const undo = await this.strategy.allocate?.(next, old, rctx);
      try {
        const out = await this.ctx.store.update(key, this.encode(next), kv.modRevision);
        await this.strategy.release?.(old, next);
        return decodeStored(out.value, out.modRevision);
      } catch (e) {
        await undo?.();
        if (e instanceof ConflictError) {
          if (wantRV) throw conflict(this.info.group, this.info.plural, name, OBJECT_MODIFIED);
          continue;
        }
        throw this.storeError(e, name);
      }
    }
    throw conflict(this.info.group, this.info.plural, name, 'too many concurrent writers; try again');
  }

  /** The object an update may write, given the old one: immutable metadata kept, status or spec preserved. */
  private prepareUpdate(proposed: Obj, old: K8sObject, subresource?: string): Obj {
    let next: Obj;
    if (subresource === 'status') {
      next = clone(old);
      next.status = proposed.status;
      if (proposed.metadata?.managedFields) next.metadata.managedFields = proposed.metadata.managedFields;
    } else if (subresource === 'binding') {
      next = clone(old);
      next.spec.nodeName = proposed.spec.nodeName;
      next.status = proposed.status;
    } else if (subresource === 'finalize') {
      // namespaces/finalize changes only spec.finalizers.
      next = clone(old);
      next.spec = { ...(next.spec ?? {}), finalizers: proposed.spec?.finalizers ?? [] };
    } else {
      next = proposed;
      if (this.hasStatus) {
        if (old.status === undefined) delete next.status;
        else next.status = clone(old.status);
      }
    }
    const m = next.metadata;
    for (const f of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'namespace', 'name']) {
      if (old.metadata[f] === undefined) delete m[f];
      else m[f] = old.metadata[f];
    }
    m.resourceVersion = old.metadata.resourceVersion;
    if (subresource === undefined) applyDefaults(this.gr, next);
    if (GENERATION_TRACKED.has(this.gr)) {
      m.generation = (old.metadata.generation ?? 1) + (jsonEqual(specPart(next), specPart(old)) ? 0 : 1);
    } else delete m.generation;
    if (Array.isArray(m.finalizers) && m.finalizers.length === 0) delete m.finalizers;
    return next;
  }

  /** An object being deleted whose finalizers are all gone can go (pods: once their grace period is over). */
  private readyToDelete(o: Obj): boolean {
    if (!o.metadata.deletionTimestamp || (o.metadata.finalizers?.length ?? 0) > 0) return false;
    if (this.strategy.pendingDeletion?.(o)) return false;
    return this.gr !== '/pods' || (o.metadata.deletionGracePeriodSeconds ?? 0) === 0;
  }

  private async finishDelete(key: string, old: K8sObject, modRevision: number, rctx: RequestContext): Promise<K8sObject | undefined> {
    if (rctx.dryRun) return old;
    try {
      await this.ctx.store.delete(key, modRevision);
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
    await this.strategy.release?.(old, undefined);
    return old;
  }

  async update(ns: string | undefined, name: string, body: Obj, rctx: RequestContext, subresource?: string): Promise<K8sObject> {
    this.checkUnknownFields(this.checkIdentity(body, ns, name), rctx);
    return this.guaranteedUpdate(ns, name, rctx, () => body, { subresource });
  }

  /**
   * Deletes as upstream: preconditions, finalizers (plus orphan/foregroundDeletion
   * for those propagation policies), graceful deletion for pods. Returns the
   * object and whether it is gone now.
   */
  async delete(ns: string | undefined, name: string, opts: DeleteOptions, rctx: RequestContext): Promise<{ object: K8sObject; gone: boolean }> {
    const key = this.key(ns, name);
    for (let attempt = 0; attempt < MAX_CAS_RETRIES; attempt++) {
      const kv = await this.ctx.store.get(key);
      if (!kv) throw this.nf(name);
      const old = decodeStored(kv.value, kv.modRevision);
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== old.metadata.uid) {
        throw conflict(this.info.group, this.info.plural, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`);
      }
      if (pre?.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) {
        throw conflict(
          this.info.group,
          this.info.plural,
          name,
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`,
        );
      }
      const policy = opts.propagationPolicy ?? (opts.orphanDependents === true ? 'Orphan' : opts.orphanDependents === false ? 'Background' : undefined);
      const finalizers = new Set<string>(old.metadata.finalizers ?? []);
      if (policy === 'Orphan') finalizers.add('orphan');
      if (policy === 'Foreground') finalizers.add('foregroundDeletion');
      if (policy === 'Background') {
        finalizers.delete('orphan');
        finalizers.delete('foregroundDeletion');
      }
      const denied = this.strategy.admitDelete?.(old);
      if (denied) throw forbidden(denied);
      const grace = this.strategy.gracePeriod?.(old, opts.gracePeriodSeconds) ?? 0;
      const pending = this.strategy.pendingDeletion?.(old) ?? false;
      if (finalizers.size === 0 && grace === 0 && !pending) {
        if (rctx.dryRun) return { object: old, gone: true };
        try {
          const prev = await this.ctx.store.delete(key, kv.modRevision);
          await this.strategy.release?.(old, undefined);
          return { object: decodeStored(prev.value, prev.modRevision), gone: true };
        } catch (e) {
          if (e instanceof ConflictError) continue;
          if (e instanceof NotFoundError) throw this.nf(name);
          throw e;
        }
      }
      // Graceful: mark for deletion and let finalizers (or the node agent) finish it.
      const next = clone(old);
      const m = next.metadata;
      m.finalizers = [...finalizers];
      if (m.finalizers.length === 0) delete m.finalizers;
      const now = Date.now();
      const prevGrace = m.deletionGracePeriodSeconds;
      if (!m.deletionTimestamp || (prevGrace !== undefined && grace < prevGrace)) {
        m.deletionTimestamp = nowTime(new Date(now + grace * 1000));
        m.deletionGracePeriodSeconds = grace;
      }
      this.strategy.markDeleting?.(next);
      if (jsonEqual(next, old)) return { object: old, gone: false };
      if (rctx.dryRun) return { object: next as K8sObject, gone: false };
      try {
        const out = await this.ctx.store.update(key, this.encode(next), kv.modRevision);
        return { object: decodeStored(out.value, out.modRevision), gone: false };
      } catch (e) {
        if (e instanceof ConflictError) continue;
        throw this.storeError(e, name);
      }
    }
    throw conflict(this.info.group, this.info.plural, name, 'too many concurrent writers; try again');
  }
}
