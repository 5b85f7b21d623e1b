// A timer that can be cut short: for loops that wait between retries and must
// stop at once when their component stops. (Not for tests: they poll.)

export interface CancellableSleep {
  promise: Promise<void>;
  /** Resolves the sleep now. */
  cancel(): void;
}

export function cancellableSleep(ms: number): CancellableSleep {
  let cancel = () => {};
  const promise = new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    cancel = () => {
      clearTimeout(t);
      resolve();
    };
  });
  return { promise, cancel };
}
