// The scheduler's cache, as upstream's internal/cache: one NodeInfo per node
// with running sums over the pods on it, updated incrementally from informer
// events and from "assumed" pods (bound by this scheduler but not yet seen
// bound), plus the node order that scheduling cycles walk. Nothing here does
// I/O; scheduler.ts feeds it.
import { NodeInfo, type Obj, compareNodeNames, isActive, podInfo } from './core.js';

interface PodEntry {
  node: string;
  assumed: boolean;
}

export class SchedulerCache {
  private readonly infos = new Map<string, NodeInfo>();
  /** pod key -> where it is counted. */
  private readonly podsAt = new Map<string, PodEntry>();
  private ordered: NodeInfo[] | undefined;

  private infoFor(name: string): NodeInfo {
    let ni = this.infos.get(name);
    if (!ni) {
      ni = new NodeInfo(name);
      this.infos.set(name, ni);
    }
    return ni;
  }

  // ---------- nodes ----------

  setNode(node: Obj): void {
    const name = String(node.metadata?.name);
    const ni = this.infoFor(name);
    const isNew = !ni.node;
    ni.setNode(node);
    if (isNew) this.ordered = undefined;
  }

  removeNode(name: string): void {
    const ni = this.infos.get(name);
    if (!ni) return;
    ni.node = undefined;
    // Pods still counted there (their deletions are on the way) keep the info; it leaves the order.
    if (!ni.pods.size) this.infos.delete(name);
    this.ordered = undefined;
  }

  /** The known nodes, sorted by name (rebuilt only when nodes come or go). */
  nodeList(): NodeInfo[] {
    if (!this.ordered) {
      this.ordered = [...this.infos.values()].filter((ni) => ni.node).sort((a, b) => compareNodeNames(a.name, b.name));
    }
    return this.ordered;
  }

  // ---------- pods ----------

  /** A pod as the informer sees it: counted on its node while bound and active. */
  setPod(key: string, pod: Obj): void {
    const node: string | undefined = pod.spec?.nodeName;
    if (!node || !isActive(pod)) {
      // Unbound: keep an assumption we made (the informer has not seen the binding yet).
      const cur = this.podsAt.get(key);
      if (cur && !cur.assumed) this.removePod(key);
      if (cur?.assumed && !isActive(pod)) this.removePod(key);
      return;
    }
    this.place(key, pod, node, false);
  }

  /** Counts a pod on the node this scheduler is binding it to. */
  assume(key: string, pod: Obj, node: string): void {
    this.place(key, pod, node, true);
  }

  isAssumed(key: string): boolean {
    return this.podsAt.get(key)?.assumed === true;
  }

  /** Drops an assumption (the binding failed). */
  forget(key: string): void {
    if (this.podsAt.get(key)?.assumed) this.removePod(key);
  }

  removePod(key: string): void {
    const cur = this.podsAt.get(key);
    if (!cur) return;
    this.podsAt.delete(key);
    const ni = this.infos.get(cur.node);
    if (!ni) return;
    ni.removePod(key);
    if (!ni.node && !ni.pods.size) this.infos.delete(cur.node);
  }

  private place(key: string, pod: Obj, node: string, assumed: boolean): void {
    const cur = this.podsAt.get(key);
    if (cur && cur.node !== node) this.removePod(key);
    this.infoFor(node).addPod(key, podInfo(pod));
    this.podsAt.set(key, { node, assumed });
  }

  /** Node name -> pod objects counted there (for inspection and tests). */
  podsOnNodes(): Map<string, Obj[]> {
    const m = new Map<string, Obj[]>();
    for (const ni of this.infos.values()) if (ni.pods.size) m.set(ni.name, [...ni.pods.values()].map((p) => p.pod));
    return m;
  }
}
