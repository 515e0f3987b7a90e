/**
 * Shutdown steps that wait on a server (a broker's close-ok, a query's
 * answer, a consumer's cancel-ok) wait forever when that server has gone
 * silent. Each such step is awaited for a bounded time; past it, what was
 * abandoned is logged and shutdown goes on, so a component always stops
 * within a few seconds whatever is down.
 */
import { within } from "./deadline.js";
import type { Logger } from "./logger.js";

/**
 * Awaits `step` for at most `ms`. Resolves true if it finished (a failure is
 * logged at debug: a close that fails on a dead connection has nothing left
 * to close), false if it was abandoned (logged at warn, naming `what`).
 */
export async function boundedStep(logger: Logger, what: string, ms: number, step: Promise<unknown>): Promise<boolean> {
  try {
    if (
      (await within(
        step.then(() => "done" as const),
        ms,
      )) === undefined
    ) {
      logger.warn({ step: what, waitedMs: ms }, `shutdown: abandoned ${what} after ${ms} ms`);
      return false;
    }
    return true;
  } catch (err) {
    logger.debug({ step: what, err: err instanceof Error ? err.message : String(err) }, `shutdown: ${what} failed`);
    return true;
  }
}
