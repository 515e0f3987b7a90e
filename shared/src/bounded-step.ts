/**
 * Shutdown steps that wait on a server (a broker's close-ok, a query's
 * answer, a consumer's cancel-ok) wait forever when that server has gone
 * silent. Each such step is awaited for a bounded time; past it, what was
 * abandoned is logged and shutdown goes on, so a component always stops
 * within a few seconds whatever is down.
 */
import type { Logger } from "./logger.js";

/**
 * Awaits `step` for at most `ms`. Resolves true if it finished (a failure is
 * logged at debug: a close that fails on a dead connection has nothing left
 * to close), false if it was abandoned (logged at warn, naming `what`).
 */
export async function boundedStep(logger: Logger, what: string, ms: number, step: Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const abandoned = new Promise<"abandoned">((resolve) => {
    timer = setTimeout(() => resolve("abandoned"), ms);
  });
  try {
    const outcome = await Promise.race([step.then(() => "done" as const), abandoned]);
    if (outcome === "abandoned") {
      logger.warn({ step: what, waitedMs: ms }, `shutdown: abandoned ${what} after ${ms} ms`);
      return false;
    }
    return true;
  } catch (err) {
    logger.debug({ step: what, err: err instanceof Error ? err.message : String(err) }, `shutdown: ${what} failed`);
    return true;
  } finally {
    clearTimeout(timer);
  }
}
