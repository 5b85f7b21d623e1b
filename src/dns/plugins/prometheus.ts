// prometheus [ADDRESS]: serves /metrics (default :9153) in the Prometheus text
// format, and counts requests and responses the way CoreDNS's metrics plugin
// does. The registry lives in ctx.shared so other plugins (cache, forward) add
// their own metrics to it, and it survives reloads.

import { directiveError } from '../corefile.js';
import { registerPlugin } from '../registry.js';
import { SHARED, requestInfo, respondedBy, serveHttp } from '../server.js';
import { rcodeName, typeName } from '../wire.js';
import type { Plugin } from '../types.js';

type Labels = Record<string, string>;

const NEEDS_ESCAPE = /[\\"\n]/;
const escapeValue = (v: string): string => (NEEDS_ESCAPE.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v);

function labelKey(l: Labels): string {
  const keys = Object.keys(l).sort();
  let out = '';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    out += `${i ? ',' : ''}${k}="${escapeValue(String(l[k]))}"`;
  }
  return out;
}

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly kind: 'counter' | 'gauge' | 'histogram',
  ) {}
  abstract render(): string[];
}

export class Counter extends Metric {
  readonly values = new Map<string, number>();
  constructor(name: string, help: string, kind: 'counter' | 'gauge' = 'counter') {
    super(name, help, kind);
  }
  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  set(labels: Labels, v: number): void {
    this.values.set(labelKey(labels), v);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  render(): string[] {
    return [...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${v}`);
  }
}

export class Gauge extends Counter {
  constructor(name: string, help: string) {
    super(name, help, 'gauge');
  }
}

export class Histogram extends Metric {
  readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    name: string,
    help: string,
    readonly buckets: number[],
  ) {
    super(name, help, 'histogram');
  }
  observe(labels: Labels, v: number): void {
    const k = labelKey(labels);
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]!) s.counts[i]!++;
    s.sum += v;
    s.count++;
  }
  render(): string[] {
    const out: string[] = [];
    for (const [k, s] of this.series) {
      const pre = k ? k + ',' : '';
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket{${pre}le="${b}"} ${s.counts[i]}`));
      out.push(`${this.name}_bucket{${pre}le="+Inf"} ${s.count}`);
      out.push(`${this.name}_sum${k ? `{${k}}` : ''} ${s.sum}`);
      out.push(`${this.name}_count${k ? `{${k}}` : ''} ${s.count}`);
    }
    return out;
  }
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();
  counter(name: string, help: string): Counter {
    return this.getOr(name, () => new Counter(name, help)) as Counter;
  }
  gauge(name: string, help: string): Gauge {
    return this.getOr(name, () => new Gauge(name, help)) as Gauge;
  }
  histogram(name: string, help: string, buckets: number[]): Histogram {
    return this.getOr(name, () => new Histogram(name, help, buckets)) as Histogram;
  }
  private getOr(name: string, make: () => Metric): Metric {
    let m = this.metrics.get(name);
    if (!m) this.metrics.set(name, (m = make()));
    return m;
  }
  render(): string {
    const lines: string[] = [];
    for (const m of this.metrics.values()) {
      lines.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.kind}`, ...m.render());
    }
    return lines.join('\n') + '\n';
  }
}

/** The server's metrics registry (created on first use). */
export function metricsOf(shared: Map<string, unknown>): MetricsRegistry {
  let r = shared.get(SHARED.metrics) as MetricsRegistry | undefined;
  if (!r) shared.set(SHARED.metrics, (r = new MetricsRegistry()));
  return r;
}

const DURATION_BUCKETS = [0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192];
const SIZE_BUCKETS = [0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16e3, 32e3, 48e3, 64e3];

function familyOf(addr: string): string {
  return addr.includes(':') && !addr.startsWith('::ffff:') ? '2' : '1';
}

const KNOWN_TYPES = new Set(['A', 'AAAA', 'NS', 'PTR', 'SOA', 'CNAME', 'MX', 'TXT', 'SRV', 'HTTPS', 'SVCB', 'NAPTR', 'DS', 'DNSKEY', 'ANY', 'IXFR', 'AXFR', 'HINFO', 'CAA']);

export interface PrometheusPlugin extends Plugin {
  /** The port /metrics listens on (after start). */
  address(): { port: number };
  registry: MetricsRegistry;
}

registerPlugin('prometheus', async (d, ctx): Promise<PrometheusPlugin> => {
  if (d.args.length > 1) throw directiveError(d, 'prometheus: too many arguments');
  if (d.block.length) throw directiveError(d, `prometheus: unknown property '${d.block[0]![0]}'`);
  const addr = d.args[0] ?? 'localhost:9153';
  const reg = metricsOf(ctx.shared);
  const requests = reg.counter('coredns_dns_requests_total', 'Counter of DNS requests made per zone, protocol and family.');
  const responses = reg.counter('coredns_dns_responses_total', 'Counter of response status codes.');
  const duration = reg.histogram('coredns_dns_request_duration_seconds', 'Histogram of the time (in seconds) each request took per zone.', DURATION_BUCKETS);
  const reqSize = reg.histogram('coredns_dns_request_size_bytes', 'Size of the EDNS0 UDP buffer in bytes (64K for TCP) per zone and protocol.', SIZE_BUCKETS);
  const enabled = reg.gauge('coredns_plugin_enabled', 'A metric that indicates whether a plugin is enabled on per server and zone basis.');
  reg.gauge('coredns_build_info', 'A metric with a constant \'1\' value labeled by version, revision, and goversion from which CoreDNS was built.').set(
    { version: '1.11.1', revision: 'k8ts', goversion: `node${process.versions.node}` },
    1,
  );
  let handle: { port: number; release(): Promise<void> } | undefined;
  const srvPort = ctx.port;
  const plugin: PrometheusPlugin = {
    name: 'prometheus',
    registry: reg,
    address: () => ({ port: handle?.port ?? 0 }),
    async start() {
      const list = (ctx.shared.get(SHARED.plugins) as (() => Plugin[]) | undefined)?.() ?? [];
      for (const z of ctx.zones) for (const p of new Set(list.map((x) => x.name))) enabled.set({ server: `dns://:${srvPort}`, zone: z, name: p }, 1);
    },
    handler: (next) => async (req) => {
      const info = requestInfo(req);
      const server = info?.server ?? `dns://:${srvPort}`;
      const t = typeName(req.question.type);
      const type = KNOWN_TYPES.has(t) ? t : 'other';
      requests.inc({ server, zone: req.zone, view: '', proto: req.client.protocol, family: familyOf(req.client.address), type });
      reqSize.observe({ server, zone: req.zone, view: '', proto: req.client.protocol }, info?.size ?? 0);
      try {
        const resp = await next(req);
        responses.inc({ server, zone: req.zone, view: '', rcode: rcodeName(resp.rcode), plugin: respondedBy(resp) });
        return resp;
      } catch (e) {
        responses.inc({ server, zone: req.zone, view: '', rcode: 'SERVFAIL', plugin: '' });
        throw e;
      } finally {
        if (info) duration.observe({ server, zone: req.zone, view: '', type }, Number(process.hrtime.bigint() - info.start) / 1e9);
      }
    },
  };
  handle = await serveHttp(ctx.shared, addr, 9153, '/metrics', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(reg.render());
  });
  ctx.onShutdown(() => handle?.release());
  return plugin;
});
