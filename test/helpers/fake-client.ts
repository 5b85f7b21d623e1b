// An in-memory stand-in for ApiClient with what the Informer uses (listAll and
// watch), for tests of code that runs informers: lists come from `objects`,
// watch events from `emit` / `send`.
import type { KObject, WatchEvent } from '../../src/client/rest.js';

/** `group/plural` or `plural` -> plural. */
const plural = (resource: string) => resource.slice(resource.indexOf('/') + 1);

export class FakeClient {
  /** Listed objects, by plural (`endpointslices`, not `discovery.k8s.io/endpointslices`). */
  readonly objects = new Map<string, KObject[]>();
  /** The resources listed, as the client was asked for them. */
  readonly listed: string[] = [];
  private readonly watchers = new Map<string, Array<(ev: WatchEvent) => void>>();

  /** `objects` by resource (`plural` or `group/plural`); lists answer with `resourceVersion`, which `send` bumps. */
  constructor(
    objects: Record<string, KObject[]> = {},
    private resourceVersion = 1,
  ) {
    for (const [k, v] of Object.entries(objects)) this.objects.set(plural(k), v);
  }

  async listAll(resource: string) {
    this.listed.push(resource);
    return { metadata: { resourceVersion: String(this.resourceVersion) }, items: this.objects.get(plural(resource)) ?? [] };
  }

  async watch(resource: string) {
    const queue: WatchEvent[] = [];
    let wake: (() => void) | undefined;
    let closed = false;
    let resolveDone!: (e: Error | undefined) => void;
    const done = new Promise<Error | undefined>((r) => (resolveDone = r));
    const push = (ev: WatchEvent) => {
      queue.push(ev);
      wake?.();
    };
    const key = plural(resource);
    if (!this.watchers.has(key)) this.watchers.set(key, []);
    this.watchers.get(key)!.push(push);
    return {
      done,
      close: () => {
        closed = true;
        wake?.();
        resolveDone(undefined);
      },
      async *[Symbol.asyncIterator]() {
        while (!closed) {
          if (queue.length) {
            yield queue.shift()!;
            continue;
          }
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
        }
      },
    };
  }

  /** Delivers an event, as is, to the watches of a resource. */
  emit(resource: string, ev: WatchEvent) {
    for (const w of this.watchers.get(plural(resource)) ?? []) w(ev);
  }

  /** Delivers an event for `object`, first giving it the next resourceVersion. */
  send(resource: string, type: WatchEvent['type'], object: KObject) {
    object.metadata!.resourceVersion = String(++this.resourceVersion);
    this.emit(resource, { type, object });
  }
}
