// Poll with a deadline: the only way tests wait for something to happen.

export interface PollOptions {
  /** Give up after this many milliseconds (default 10 s). */
  timeoutMs?: number;
  /** Pause between attempts (default 25 ms, doubling up to 500 ms). */
  intervalMs?: number;
  /** Described in the timeout error. */
  what?: string | (() => string);
}

/**
 * Calls `fn` until it returns a value other than undefined/false, or the
 * deadline passes (then it throws, with the last error or value seen).
 */
export async function poll<T>(fn: () => T | Promise<T>, opts: PollOptions = {}): Promise<Exclude<T, false | undefined>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let interval = opts.intervalMs ?? 25;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as Exclude<T, false | undefined>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${opts.timeoutMs ?? 10_000} ms waiting for ${(typeof opts.what === 'function' ? opts.what() : opts.what) ?? 'condition'} (last: ${detail})`);
    }
    await new Promise((r) => setTimeout(r, Math.min(interval, Math.max(1, deadline - Date.now()))));
    interval = Math.min(interval * 2, 500);
  }
}
