/**
 * Capped exponential backoff for the background loops that retry forever
 * (the outbox relay, the edge's event stream and session check, the mail
 * worker's consumer and digest scheduler). The n-th failure in a row waits
 * `firstMs · 2^(n-1)`, at most `maxMs`; a success starts over. The wait
 * ends early when the loop's stop signal fires.
 *
 * Hand-written rather than a library: p-retry gives up at once on a
 * TypeError (a driver bug must not end a relay), cockatiel's retry waits out
 * its delay after an abort (and 4.x needs Node 22), exponential-backoff
 * cannot be aborted; and these loops are not "retry one call until it
 * works": the event stream backs off after streams that ended, too.
 */
import type { StopSignal } from "./stop-signal.js";

export interface BackoffOptions {
  /** The wait after the first failure in a row. */
  firstMs: number;
  /** No wait is longer. */
  maxMs: number;
  /**
   * Each wait drawn from the upper half of its step ("equal jitter"), so
   * that many clients cut off together (every edge when chat-svc restarts)
   * do not come back in lockstep. Off: exactly the step.
   */
  jitter?: boolean;
}

export interface Backoff {
  /** Failures in a row: since the start or the last success. */
  readonly failures: number;
  /** Counts a failure and returns the wait it earns. */
  fail(): number;
  /** Counts a failure and waits what it earns, or until the loop is stopped. */
  wait(): Promise<void>;
  /** A success: the next failure waits `firstMs` again. */
  succeed(): void;
}

/** A wait drawn from the upper half of `ms` ("equal jitter"). */
export function jittered(ms: number): number {
  return ms / 2 + Math.random() * (ms / 2);
}

export function createBackoff(stop: StopSignal, opts: BackoffOptions): Backoff {
  const { firstMs, maxMs } = opts;
  if (!(firstMs > 0 && maxMs >= firstMs))
    throw new RangeError(`backoff needs 0 < firstMs ≤ maxMs, got ${firstMs}, ${maxMs}`);
  // Past this many doublings every step is maxMs; stopping there keeps 2^n finite.
  const lastDoubling = Math.ceil(Math.log2(maxMs / firstMs));
  let failures = 0;
  const fail = () => {
    failures++;
    const step = Math.min(maxMs, firstMs * 2 ** Math.min(failures - 1, lastDoubling));
    return opts.jitter ? jittered(step) : step;
  };
  return {
    get failures() {
      return failures;
    },
    fail,
    wait: () => stop.sleep(fail()),
    succeed() {
      failures = 0;
    },
  };
}
