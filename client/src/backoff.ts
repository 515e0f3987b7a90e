/** Reconnect and retry delays: exponential with jitter (half fixed, half random), so clients cut off together do not return together. */
export interface BackoffOptions {
  /** First delay's upper bound, ms (default 500). */
  baseMs?: number;
  /** Largest delay, ms (default 30 000). */
  maxMs?: number;
}

export interface Backoff {
  /** The delay before the next attempt; each call counts one more failure. */
  next(): number;
  reset(): void;
  readonly failures: number;
}

export function createBackoff(options: BackoffOptions = {}, random: () => number = Math.random): Backoff {
  const base = options.baseMs ?? 500;
  const max = options.maxMs ?? 30_000;
  let failures = 0;
  return {
    next() {
      const ceiling = Math.min(max, base * 2 ** Math.min(failures, 16));
      failures++;
      return Math.round(ceiling / 2 + (random() * ceiling) / 2);
    },
    reset() {
      failures = 0;
    },
    get failures() {
      return failures;
    },
  };
}
