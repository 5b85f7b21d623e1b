// Container probes, as kubelet's prober:
//   - startup, liveness and readiness probes of kinds httpGet, tcpSocket and
//     exec, with initialDelaySeconds, periodSeconds, timeoutSeconds,
//     successThreshold and failureThreshold;
//   - readiness starts at failure, liveness at success, startup unknown
//     (not passed; failureThreshold failures in a row restart the container);
//     liveness and readiness wait until the startup probe has succeeded;
//   - a result flips only after threshold consecutive outcomes;
//   - failures are reported with upstream's messages (for the Unhealthy event).
// ProbeCounter is pure; runProbe does one check; ProbeWorker runs one probe
// of one container on a timer.
import http from 'node:http';
import net from 'node:net';

export type Obj = Record<string, any>;
export type ProbeKind = 'startup' | 'liveness' | 'readiness';

export interface ProbeOutcome {
  ok: boolean;
  /** Why it failed, as upstream words it (e.g. "HTTP probe failed with statuscode: 503"). */
  message?: string;
}

/** Thresholds and counters for one probe (pure). */
export class ProbeCounter {
  private successes = 0;
  private failures = 0;
  result: boolean;

  constructor(
    readonly kind: ProbeKind,
    private readonly successThreshold: number,
    private readonly failureThreshold: number,
  ) {
    this.result = kind === 'liveness';
  }

  static of(kind: ProbeKind, probe: Obj): ProbeCounter {
    return new ProbeCounter(kind, kind === 'readiness' ? Math.max(1, probe.successThreshold ?? 1) : 1, Math.max(1, probe.failureThreshold ?? 3));
  }

  /** Records one outcome; returns true if the probe's result changed. */
  record(ok: boolean): boolean {
    if (ok) {
      this.failures = 0;
      this.successes++;
      if (!this.result && this.successes >= this.successThreshold) {
        this.result = true;
        return true;
      }
    } else {
      this.successes = 0;
      this.failures++;
      if (this.failures >= this.failureThreshold) {
        // Startup probes begin "unknown": their failure counts although the result was never true.
        if (this.result || this.kind === 'startup') {
          this.result = false;
          this.failures = 0;
          return true;
        }
      }
    }
    return false;
  }

  /** Back to the initial state (a container restart). */
  reset(): void {
    this.successes = 0;
    this.failures = 0;
    this.result = this.kind === 'liveness';
  }
}

export interface ProbeTarget {
  podIP: string;
  /** The container spec (named ports are resolved against its ports). */
  container: Obj;
  /** Runs a command in the container: exit code and combined output. */
  exec(argv: string[], timeoutMs: number): Promise<{ code: number; output: string }>;
}

/** A port given as a number or a container port name. */
export function resolvePort(port: number | string | undefined, container: Obj): number | undefined {
  if (typeof port === 'number') return port;
  if (typeof port === 'string' && /^\d+$/.test(port)) return Number(port);
  const p = (container.ports ?? []).find((x: Obj) => x.name === port);
  return p?.containerPort;
}

const dialError = (host: string, port: number, err: NodeJS.ErrnoException): string => {
  if (err.code === 'ECONNREFUSED') return `dial tcp ${host}:${port}: connect: connection refused`;
  if (err.code === 'ETIMEDOUT' || err.message === 'timeout') return `dial tcp ${host}:${port}: i/o timeout`;
  if (err.code === 'EHOSTUNREACH') return `dial tcp ${host}:${port}: connect: no route to host`;
  return `dial tcp ${host}:${port}: ${err.message}`;
};

function httpProbe(p: Obj, t: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
  const port = resolvePort(p.port, t.container);
  const host: string = p.host || t.podIP;
  const path: string = p.path ? (p.path.startsWith('/') ? p.path : `/${p.path}`) : '/';
  const scheme = String(p.scheme ?? 'HTTP').toLowerCase();
  if (!port) return Promise.resolve({ ok: false, message: `unable to resolve port ${p.port}` });
  if (scheme !== 'http') return Promise.resolve({ ok: false, message: `unsupported probe scheme ${p.scheme}` });
  const url = `http://${host}:${port}${path}`;
  const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.33', Accept: '*/*' };
  for (const h of p.httpHeaders ?? []) if (h?.name) headers[h.name] = h.value ?? '';
  return new Promise((resolve) => {
    const req = http.get({ host, port, path, headers, agent: false, timeout: timeoutMs }, (res) => {
      const code = res.statusCode ?? 0;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body = (body + d).slice(0, 10 * 1024)));
      res.on('end', () => {
        if (code >= 200 && code < 400) resolve({ ok: true });
        else resolve({ ok: false, message: `HTTP probe failed with statuscode: ${code}` });
      });
      res.on('error', (e) => resolve({ ok: false, message: `Get "${url}": ${e.message}` }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) =>
      resolve({
        ok: false,
        message:
          e.code === 'ETIMEDOUT'
            ? `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`
            : `Get "${url}": ${dialError(host, port, e)}`,
      }),
    );
  });
}

function tcpProbe(p: Obj, t: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
  const port = resolvePort(p.port, t.container);
  const host: string = p.host || t.podIP;
  if (!port) return Promise.resolve({ ok: false, message: `unable to resolve port ${p.port}` });
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const timer = setTimeout(() => sock.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })), timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ ok: true });
    });
    sock.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ ok: false, message: dialError(host, port, e) });
    });
  });
}

async function execProbe(p: Obj, t: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
  const argv: string[] = p.command ?? [];
  if (!argv.length) return { ok: false, message: 'exec probe has no command' };
  try {
    const r = await t.exec(argv, timeoutMs);
    if (r.code === 0) return { ok: true };
    return { ok: false, message: r.output.trim() || `command ${JSON.stringify(argv.join(' '))} exited with ${r.code}` };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}

/** One check of a probe. */
export function runProbe(probe: Obj, t: ProbeTarget): Promise<ProbeOutcome> {
  const timeoutMs = Math.max(1, probe.timeoutSeconds ?? 1) * 1000;
  if (probe.httpGet) return httpProbe(probe.httpGet, t, timeoutMs);
  if (probe.tcpSocket) return tcpProbe(probe.tcpSocket, t, timeoutMs);
  if (probe.exec) return execProbe(probe.exec, t, timeoutMs);
  if (probe.grpc) return tcpProbe({ port: probe.grpc.port }, t, timeoutMs);
  return Promise.resolve({ ok: false, message: 'probe has no handler' });
}

const KIND_LABEL: Record<ProbeKind, string> = { startup: 'Startup', liveness: 'Liveness', readiness: 'Readiness' };

export interface ProbeWorkerOptions {
  kind: ProbeKind;
  probe: Obj;
  target: ProbeTarget;
  /** Called when the result flips. */
  onChange(result: boolean): void;
  /** Called with each failed check (for the Unhealthy event), e.g. "Readiness probe failed: ...". */
  onFailure(message: string): void;
  /** Only probe while this says so (liveness/readiness wait for startup). */
  enabled?(): boolean;
}

/** Runs one probe of one container on its period until stopped. */
export class ProbeWorker {
  readonly counter: ProbeCounter;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly o: ProbeWorkerOptions) {
    this.counter = ProbeCounter.of(o.kind, o.probe);
  }

  get result(): boolean {
    return this.counter.result;
  }

  start(): void {
    const delay = Math.max(0, this.o.probe.initialDelaySeconds ?? 0) * 1000;
    this.schedule(delay);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    const period = Math.max(1, this.o.probe.periodSeconds ?? 10) * 1000;
    if (this.o.enabled && !this.o.enabled()) return this.schedule(Math.min(period, 1000));
    const r = await runProbe(this.o.probe, this.o.target);
    if (this.stopped) return;
    if (!r.ok) this.o.onFailure(`${KIND_LABEL[this.o.kind]} probe failed: ${r.message ?? ''}`.trim());
    if (this.counter.record(r.ok)) this.o.onChange(this.counter.result);
    this.schedule(period);
  }
}

/** kubelet's container restart back-off: 10 s doubling to 5 min; reset after 10 min of running. */
export class Backoff {
  private readonly entries = new Map<string, { delayMs: number; lastMs: number }>();

  constructor(
    private readonly initialMs = 10_000,
    private readonly maxMs = 300_000,
  ) {}

  /**
   * Milliseconds still to wait at `now` before `key`, which last ended at
   * `endedMs`, may restart (0: go), as upstream's IsInBackOffSince.
   */
  remaining(key: string, endedMs: number, now: number): number {
    const e = this.entries.get(key);
    if (!e || endedMs - e.lastMs > 2 * this.maxMs) return 0;
    return Math.max(0, endedMs + e.delayMs - now);
  }

  /** Records a restart at `now`, growing the delay (reset after a long quiet period). */
  next(key: string, now: number): void {
    const e = this.entries.get(key);
    if (!e || now - e.lastMs > 2 * this.maxMs) this.entries.set(key, { delayMs: this.initialMs, lastMs: now });
    else this.entries.set(key, { delayMs: Math.min(e.delayMs * 2, this.maxMs), lastMs: now });
  }

  /** The current delay of `key` (for the back-off message). */
  delay(key: string): number {
    return this.entries.get(key)?.delayMs ?? 0;
  }

  forget(prefix: string): void {
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}
