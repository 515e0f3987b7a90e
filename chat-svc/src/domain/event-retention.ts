/**
 * Event log retention (EVENT_RETENTION_DAYS). Events older than the
 * retention are deleted room by room, and each room records the first seq
 * it still keeps (rooms.min_event_seq), so ListEvents can tell a client
 * asking for what is gone that the log was truncated. Every instance runs
 * the cleaner; runs that overlap only repeat each other's work.
 */
import type { Logger } from "@parley/shared/logger.js";
import type { Db } from "../storage/db.js";
import { roomsWithEventsBefore, truncateLog } from "../storage/event-log.js";

const ROOMS_PER_ROUND = 500;

/** Deletes every room's events older than `cutoff` (and any older-seq events before them). */
export async function purgeEventsBefore(db: Db, cutoff: Date): Promise<{ rooms: number; events: number }> {
  let rooms = 0;
  let events = 0;
  for (;;) {
    const due = await roomsWithEventsBefore(db, cutoff, ROOMS_PER_ROUND);
    // One short transaction per room: it holds that room's lock only briefly
    // and never two rooms' locks at once.
    for (const { roomId, upTo } of due) {
      events += await db.transaction((tx) => truncateLog(tx, roomId, upTo));
      rooms++;
    }
    if (due.length < ROOMS_PER_ROUND) return { rooms, events };
  }
}

export interface EventCleaner {
  /** Purges what is older than the retention as of `now`. */
  runOnce(now?: Date): Promise<{ rooms: number; events: number }>;
  close(): Promise<void>;
}

export function startEventCleaner(opts: {
  db: Db;
  retentionMs: number;
  intervalMs: number;
  logger: Logger;
}): EventCleaner {
  const { db, retentionMs, logger } = opts;
  let running: Promise<unknown> | undefined;
  const runOnce = (now = new Date()) => purgeEventsBefore(db, new Date(now.getTime() - retentionMs));
  const timer =
    retentionMs > 0
      ? setInterval(() => {
          if (running) return;
          running = runOnce()
            .then((r) => {
              if (r.events > 0) logger.info(r, "purged expired room events");
            })
            .catch((err: unknown) => logger.warn({ err }, "room event purge failed; will retry"))
            .finally(() => {
              running = undefined;
            });
        }, opts.intervalMs)
      : undefined;
  timer?.unref();
  return {
    runOnce,
    async close() {
      if (timer) clearInterval(timer);
      await running;
    },
  };
}
