/**
 * Shutdown for a long-running loop: sleeps that end early when it stops, so
 * close() never waits out a backoff or a poll interval.
 */
export interface StopSignal {
  readonly stopped: boolean;
  /** Aborted by stop(), for calls that take an AbortSignal (a streaming RPC, a timed wait). */
  readonly signal: AbortSignal;
  /** Resolves after `ms`, or at once when stopped (also for a wait begun after stop()). */
  sleep(ms: number): Promise<void>;
  stop(): void;
}

export function createStopSignal(): StopSignal {
  const controller = new AbortController();
  // A set of wakers rather than one abort listener per sleep: a loop that
  // sleeps in many places at once (the mail consumer, one per delivery)
  // would pass Node's listener-leak warning on the AbortSignal.
  const wakers = new Set<() => void>();
  return {
    get stopped() {
      return controller.signal.aborted;
    },
    signal: controller.signal,
    sleep(ms) {
      if (controller.signal.aborted) return Promise.resolve();
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          wakers.delete(done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        wakers.add(done);
      });
    },
    stop() {
      controller.abort();
      for (const wake of [...wakers]) wake();
    },
  };
}
