// Shared helpers for benchmarks: result lines on stdout, progress on stderr,
// percentiles, and cleanup that also runs when the run is interrupted.
//
// A result line is one JSON object on stdout (see ARCHITECTURE.md, "Benchmarks").
// `ratio` is always value / baseline_value, so for a "higher is better" metric
// (a rate) 0.5 means half the baseline's speed, and for a "lower is better"
// metric (a latency) 2 means twice the baseline's time. `target` applies to
// `ratio` when there is one, else to `value`, in the direction `better` gives.

export interface BenchOptions {
  /** Tiny counts: checks that the code runs, measures nothing meaningful. */
  small: boolean;
}

export interface Result {
  bench: string;
  metric: string;
  unit: string;
  value: number;
  better: 'higher' | 'lower';
  backend?: string;
  baseline?: string;
  baseline_value?: number;
  target?: number;
  /** Anything else worth recording (sample count, sizes, ...). */
  extra?: Record<string, string | number | boolean>;
}

/** Rounds to a precision that suits the magnitude (3 significant digits below 100). */
export function round(x: number): number {
  if (!Number.isFinite(x)) return x;
  const a = Math.abs(x);
  if (a >= 100) return Math.round(x);
  if (a >= 1) return Math.round(x * 100) / 100;
  return Number(x.toPrecision(3));
}

/** Prints one result line to stdout. */
export function emit(r: Result): void {
  const line: Record<string, unknown> = { bench: r.bench, metric: r.metric };
  if (r.backend !== undefined) line.backend = r.backend;
  line.unit = r.unit;
  line.value = round(r.value);
  if (r.baseline !== undefined && r.baseline_value !== undefined) {
    line.baseline = r.baseline;
    line.baseline_value = round(r.baseline_value);
    line.ratio = r.baseline_value > 0 ? round(r.value / r.baseline_value) : null;
  }
  if (r.target !== undefined) line.target = r.target;
  line.better = r.better;
  if (r.extra) for (const [k, v] of Object.entries(r.extra)) if (!(k in line)) line[k] = v;
  process.stdout.write(JSON.stringify(line) + '\n');
}

/** Progress and diagnostics: stderr only, so stdout stays machine-readable. */
export function log(bench: string, msg: string): void {
  process.stderr.write(`[bench ${bench}] ${msg}\n`);
}

/** The p-th percentile (0..100) by nearest rank; NaN for no samples. */
export function percentile(samples: ArrayLike<number>, p: number): number {
  const n = samples.length;
  if (n === 0) return NaN;
  const sorted = Float64Array.from(samples).sort();
  const rank = Math.ceil((p / 100) * n);
  return sorted[Math.min(n - 1, Math.max(0, rank - 1))];
}

export function median(samples: ArrayLike<number>): number {
  return percentile(samples, 50);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** True when BENCH_SMALL is set to something other than "" or "0". */
export function smallFromEnv(): boolean {
  const v = process.env.BENCH_SMALL;
  return v !== undefined && v !== '' && v !== '0';
}

// Cleanup that must happen even if the run is interrupted (SIGINT/SIGTERM):
// stopping servers a bench started and removing its temporary files.
const cleanups = new Set<() => Promise<void> | void>();
let signalsHooked = false;

async function runCleanups(): Promise<void> {
  for (const fn of [...cleanups].reverse()) {
    cleanups.delete(fn);
    try {
      await fn();
    } catch (err) {
      process.stderr.write(`[bench] cleanup failed: ${(err as Error).message}\n`);
    }
  }
}

function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      process.stderr.write(`[bench] ${sig}: cleaning up\n`);
      void runCleanups().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
    });
  }
}

/**
 * Registers `fn` to run on interruption; returns a function that runs it now
 * and unregisters it. It runs at most once: every call (the signal handler's
 * and the one in a `finally`) gets the same promise, so a `finally` reached
 * while a signal's cleanup is under way waits for it to end.
 */
export function deferCleanup(fn: () => Promise<void> | void): () => Promise<void> {
  hookSignals();
  let running: Promise<void> | undefined;
  const once = (): Promise<void> =>
    (running ??= (async () => {
      cleanups.delete(once);
      await fn();
    })());
  cleanups.add(once);
  return once;
}

/** Deterministic pseudo-random hex, so every run stores and sends the same bytes. */
export function hex(seed: number, len: number): string {
  let out = '';
  let x = (seed * 2654435761) >>> 0 || 1;
  while (out.length < len) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out += x.toString(16).padStart(8, '0');
  }
  return out.slice(0, len);
}
