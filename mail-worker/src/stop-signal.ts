/**
 * Shutdown for a long-running loop: sleeps that end early when it stops, so
 * close() never waits out a backoff.
 */
export interface StopSignal {
  readonly stopped: boolean;
  /** Resolves after `ms`, or at once when stopped (also for a wait begun after stop()). */
  sleep(ms: number): Promise<void>;
  stop(): void;
}

export function createStopSignal(): StopSignal {
  let stopped = false;
  const wakers = new Set<() => void>();
  return {
    get stopped() {
      return stopped;
    },
    sleep(ms) {
      if (stopped) return Promise.resolve();
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
      stopped = true;
      for (const wake of [...wakers]) wake();
    },
  };
}
