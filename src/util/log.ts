// Structured logging: one line per event, logfmt, always with the component.
//   time=2026-11-23T15:30:00.000Z level=info component=storage msg="opened" path=/var/lib/k8ts/state.db
// K8TS_LOG_LEVEL (debug|info|warn|error, default info) sets the threshold.

export type Level = 'debug' | 'info' | 'warn' | 'error';
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let threshold: number = order[(process.env.K8TS_LOG_LEVEL as Level) ?? 'info'] ?? order.info;
let sink: (line: string) => void = (line) => process.stderr.write(line + '\n');

export function setLogLevel(level: Level): void {
  threshold = order[level];
}

/** Redirects log lines (tests use this to capture them). Returns the previous sink. */
export function setLogSink(fn: (line: string) => void): (line: string) => void {
  const prev = sink;
  sink = fn;
  return prev;
}

function fmtValue(v: unknown): string {
  let s: string;
  if (v instanceof Error) s = v.message;
  else if (typeof v === 'string') s = v;
  else if (v === undefined) s = '';
  else s = JSON.stringify(v) ?? String(v);
  return /^[A-Za-z0-9_.:/@+\-,]+$/.test(s) ? s : JSON.stringify(s);
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(component: string): Logger;
}

export function logger(component: string): Logger {
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (order[level] < threshold) return;
    let line = `time=${new Date().toISOString()} level=${level} component=${component} msg=${fmtValue(msg)}`;
    if (fields) for (const [k, v] of Object.entries(fields)) if (v !== undefined) line += ` ${k}=${fmtValue(v)}`;
    sink(line);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (c) => logger(`${component}/${c}`),
  };
}
