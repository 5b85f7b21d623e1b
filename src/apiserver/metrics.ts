// /metrics in Prometheus text format, with upstream's metric names.

const BUCKETS = [0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60];

interface Sample {
  verb: string;
  group: string;
  version: string;
  resource: string;
  subresource: string;
  scope: string;
  code: number;
  seconds: number;
}

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (l: Record<string, string | number>) =>
  '{' + Object.entries(l).map(([k, v]) => `${k}="${esc(String(v))}"`).join(',') + '}';

export class Metrics {
  private counts = new Map<string, number>();
  private hist = new Map<string, { buckets: number[]; sum: number; count: number }>();
  private extra: Array<() => string> = [];

  observeRequest(s: Sample): void {
    const base = { verb: s.verb, group: s.group, version: s.version, resource: s.resource, subresource: s.subresource, scope: s.scope, component: 'apiserver' };
    const ck = labels({ ...base, code: s.code });
    this.counts.set(ck, (this.counts.get(ck) ?? 0) + 1);
    if (s.verb === 'WATCH') return; // long-running: not a latency sample, as upstream
    const hk = labels(base);
    let h = this.hist.get(hk);
    if (!h) this.hist.set(hk, (h = { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < BUCKETS.length; i++) if (s.seconds <= BUCKETS[i]) h.buckets[i]++;
    h.sum += s.seconds;
    h.count++;
  }

  /** Adds a section produced at scrape time (e.g. gauges). */
  addCollector(fn: () => string): void {
    this.extra.push(fn);
  }

  render(_deps?: unknown): string {
    const out: string[] = [];
    out.push('# HELP apiserver_request_total Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.');
    out.push('# TYPE apiserver_request_total counter');
    for (const [k, v] of this.counts) out.push(`apiserver_request_total${k} ${v}`);
    out.push('# HELP apiserver_request_duration_seconds Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.');
    out.push('# TYPE apiserver_request_duration_seconds histogram');
    for (const [k, h] of this.hist) {
      const inner = k.slice(1, -1);
      BUCKETS.forEach((b, i) => out.push(`apiserver_request_duration_seconds_bucket{${inner},le="${b}"} ${h.buckets[i]}`));
      out.push(`apiserver_request_duration_seconds_bucket{${inner},le="+Inf"} ${h.count}`);
      out.push(`apiserver_request_duration_seconds_sum${k} ${h.sum}`);
      out.push(`apiserver_request_duration_seconds_count${k} ${h.count}`);
    }
    for (const f of this.extra) out.push(f());
    return out.join('\n') + '\n';
  }
}
