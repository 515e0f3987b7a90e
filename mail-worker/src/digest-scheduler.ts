/**
 * Mails due digests: a few loops, each claiming one due digest at a time
 * (FOR UPDATE SKIP LOCKED, so instances and loops never share one) until
 * none is due, then polling. Stopping lets each loop finish the digest it
 * holds. Old records (finished digests, ids of long-handled events) are
 * pruned now and then.
 */
import { type Backoff, createBackoff } from "@parley/shared/backoff.js";
import type { Logger } from "@parley/shared/logger.js";
import { createStopSignal } from "@parley/shared/stop-signal.js";
import type { DigestResult } from "./domain/send-digest.js";

export interface SchedulerStats {
  digestsSent: number;
  digestsCancelled: number;
  digestsPostponed: number;
  digestsFailed: number;
}

export interface DigestScheduler {
  stats(): SchedulerStats;
  /** Finishes the digests being mailed, then stops. */
  close(): Promise<void>;
}

const statOf: Record<Exclude<DigestResult, "idle">, keyof SchedulerStats> = {
  sent: "digestsSent",
  cancelled: "digestsCancelled",
  postponed: "digestsPostponed",
  failed: "digestsFailed",
};

export function startDigestScheduler(opts: {
  sendDue: () => Promise<DigestResult>;
  /** Housekeeping, hourly by default: how many records of each kind went. */
  prune: () => Promise<Record<string, number>>;
  logger: Logger;
  /** How often to look for due digests when none was due. */
  pollMs: number;
  /** Digests mailed at once. */
  concurrency: number;
  pruneEveryMs?: number;
}): DigestScheduler {
  const { logger } = opts;
  const counts: SchedulerStats = { digestsSent: 0, digestsCancelled: 0, digestsPostponed: 0, digestsFailed: 0 };
  const stop = createStopSignal();

  // After a failure: twice the poll interval at first, doubling up to 64 times it, at most 30 s.
  const maxMs = Math.min(30_000, 64 * opts.pollMs);
  const steps = { firstMs: Math.min(2 * opts.pollMs, maxMs), maxMs };

  async function loop(backoff: Backoff): Promise<void> {
    while (!stop.stopped) {
      let result: DigestResult;
      try {
        result = await opts.sendDue();
        backoff.succeed();
      } catch (err) {
        const wait = backoff.fail();
        const { failures } = backoff;
        if (failures === 1 || failures % 20 === 0) logger.error({ err, failures }, "mailing a digest failed");
        await stop.sleep(wait);
        continue;
      }
      if (result === "idle") await stop.sleep(opts.pollMs);
      else counts[statOf[result]]++;
    }
  }

  async function pruneLoop(): Promise<void> {
    const every = opts.pruneEveryMs ?? 3_600_000;
    while (!stop.stopped) {
      try {
        const pruned = await opts.prune();
        if (Object.values(pruned).some((n) => n > 0)) logger.info({ pruned }, "pruned old records");
      } catch (err) {
        logger.warn({ err }, "pruning old records failed");
      }
      await stop.sleep(every);
    }
  }

  const loops = [...Array.from({ length: opts.concurrency }, () => loop(createBackoff(stop, steps))), pruneLoop()];

  return {
    stats: () => ({ ...counts }),
    async close() {
      stop.stop();
      await Promise.all(loops);
    },
  };
}
