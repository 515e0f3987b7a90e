/**
 * Work a call starts but does not answer after. ResendOtp needs it: what it
 * does for an existing account (a row lock, Redis, a durable commit) takes
 * longer than the nothing it does for an unknown email, and a reply sent after
 * that work would tell the two apart by its timing.
 *
 * A task starts on a later turn of the event loop than the reply, so none of
 * it runs ahead of the answer. It cannot fail the call it came from, so its
 * error is logged and never thrown (an unhandled rejection would end the
 * process). drain() is awaited on shutdown before the connections close, so a
 * graceful stop loses no task; what a task must not lose in a crash it commits
 * itself (a mail goes through the outbox).
 */
import type { Logger } from "@parley/shared/logger.js";

export interface Background {
  /** Runs `task` after the current call has answered; `name` labels its failures in the log. */
  start(name: string, task: () => Promise<void>): void;
  /** Resolves once every task started so far, and any they start meanwhile, has settled. */
  drain(): Promise<void>;
}

export function createBackground(logger: Logger): Background {
  const running = new Set<Promise<void>>();
  return {
    start(name, task) {
      const run = new Promise<void>((resolve) => setImmediate(resolve))
        .then(task)
        .catch((err: unknown) => logger.error({ err, task: name }, "background task failed"))
        .finally(() => running.delete(run));
      running.add(run);
    },
    async drain() {
      while (running.size > 0) await Promise.all(running);
    },
  };
}
