// The revisioned key-value store under the API server, with etcd v3 semantics.
//
// Every write gets the next store revision. A key's modRevision is the revision
// of its last write; createRevision is the revision that created it. Kubernetes'
// resourceVersion is the modRevision of an object (and a list's revision).
// Values are opaque strings (the API server stores JSON).

export interface KeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  /** Number of writes since the key was (re)created; 1 after create. */
  version: number;
}

export interface ListOptions {
  /** At most this many items; 0 or absent means no limit. */
  limit?: number;
  /** Token from a previous page; the list continues at that page's revision. */
  continue?: string;
  /** Read the state as of this revision (0 or absent: the current one). */
  revision?: number;
}

export interface ListResult {
  items: KeyValue[];
  /** The revision the whole list (every page) is consistent at. */
  revision: number;
  /** Present when more items follow; pass it back as `continue`. */
  continue?: string;
}

export type WatchEvent =
  | { type: 'put'; key: string; revision: number; kv: KeyValue; prevKv?: KeyValue }
  | { type: 'delete'; key: string; revision: number; prevKv: KeyValue };

export interface WatchHandler {
  /** Events in revision order; called asynchronously, never re-entrantly. */
  onEvents(events: WatchEvent[]): void;
  /** The watch broke for good (e.g. CompactedError); no more events follow. */
  onError?(err: Error): void;
}

export interface Watch {
  close(): void;
}

export interface Store {
  /** A short name for logs: "sqlite", "etcd", "memory". */
  readonly kind: string;
  get(key: string): Promise<KeyValue | null>;
  /** Keys starting with `prefix`, in key order, consistent at one revision across pages. */
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  /** Fails with KeyExistsError if the key exists. */
  create(key: string, value: string): Promise<KeyValue>;
  /** Compare-and-swap on modRevision: ConflictError if it moved, NotFoundError if gone. */
  update(key: string, value: string, expectedModRevision: number): Promise<KeyValue>;
  /** Deletes and returns the last value; with expectedModRevision it is a CAS. */
  delete(key: string, expectedModRevision?: number): Promise<KeyValue>;
  /**
   * Every change under `prefix` with revision > afterRevision (0: from now on),
   * in order, without loss or duplicates. Rejects with CompactedError when
   * afterRevision is older than the compaction point.
   */
  watch(prefix: string, afterRevision: number, handler: WatchHandler): Promise<Watch>;
  /** Drops history older than `revision` (the latest value of each key stays). */
  compact(revision: number): Promise<void>;
  currentRevision(): Promise<number>;
  /** The oldest revision still watchable (0 before any compaction). */
  compactRevision(): Promise<number>;
  close(): Promise<void>;
}

/** etcd's default --max-request-bytes; larger values are refused. */
export const MAX_VALUE_BYTES = 1.5 * 1024 * 1024;

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
export class NotFoundError extends StoreError {
  constructor(public readonly key: string) {
    super(`key not found: ${key}`);
  }
}
export class KeyExistsError extends StoreError {
  constructor(public readonly key: string) {
    super(`key already exists: ${key}`);
  }
}
export class ConflictError extends StoreError {
  constructor(
    public readonly key: string,
    public readonly expected: number,
    public readonly actual: number,
  ) {
    super(`conflict on ${key}: expected modRevision ${expected}, found ${actual}`);
  }
}
export class CompactedError extends StoreError {
  constructor(
    public readonly requested: number,
    public readonly compactRevision: number,
  ) {
    super(`required revision ${requested} has been compacted (compacted up to ${compactRevision})`);
  }
}
export class FutureRevisionError extends StoreError {
  constructor(public readonly requested: number, public readonly current: number) {
    super(`required revision ${requested} is a future revision (current ${current})`);
  }
}
export class ValueTooLargeError extends StoreError {
  /** `bytes` is unknown (undefined) when the datastore itself refused the write. */
  constructor(public readonly key: string, public readonly bytes?: number) {
    super(`value for ${key} is ${bytes === undefined ? 'too large' : `${bytes} bytes`}; the limit is ${MAX_VALUE_BYTES} bytes (1.5 MiB) per write, key included`);
  }
}
export class UnavailableError extends StoreError {}
export class CorruptStoreError extends StoreError {}
export class InvalidContinueError extends StoreError {}

/** Room left in a write request for the envelope around key and value (etcd counts the whole request). */
export const REQUEST_OVERHEAD_BYTES = 512;

/** Every backend refuses the same sizes, so behaviour does not depend on the datastore. */
export function checkValueSize(key: string, value: string): void {
  const room = MAX_VALUE_BYTES - REQUEST_OVERHEAD_BYTES - Buffer.byteLength(key);
  // A string's UTF-8 size is at most 3 bytes per UTF-16 unit: skip the count when it cannot exceed.
  if (value.length * 3 <= room) return;
  const bytes = Buffer.byteLength(value);
  if (bytes > room) throw new ValueTooLargeError(key, bytes);
}

/** The smallest key greater than every key with this prefix (etcd's range_end for a prefix). */
export function prefixEnd(prefix: string): string {
  return prefix.length === 0 ? '\u{10FFFF}' : prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

interface ContinueToken {
  rev: number;
  start: string;
}

export function encodeContinue(rev: number, start: string): string {
  return Buffer.from(JSON.stringify({ rev, start } satisfies ContinueToken)).toString('base64url');
}

export function decodeContinue(token: string, prefix: string): ContinueToken {
  let t: unknown;
  try {
    t = JSON.parse(Buffer.from(token, 'base64url').toString());
  } catch {
    throw new InvalidContinueError('continue token is not valid');
  }
  const c = t as ContinueToken;
  if (typeof c?.rev !== 'number' || typeof c.start !== 'string' || !c.start.startsWith(prefix)) {
    throw new InvalidContinueError('continue token is not valid for this list');
  }
  return c;
}
