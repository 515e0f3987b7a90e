/**
 * Whether chat-svc can write sends, for its gRPC health (NOT_SERVING while it
 * cannot, so a balancer or an operator sees the outage rather than a service
 * that answers every send with `unavailable`). Lost when a send batch fails
 * because the database cannot be reached; found again when a batch gets
 * through, or a probe does: with no sends arriving, nothing else would tell.
 */
import type { Logger } from "@parley/shared/logger.js";
import type { Sql } from "@parley/shared/postgres.js";
import type { WriteHealth } from "./domain/send-message.js";

/** How often the database is probed while sends cannot be written. */
export const PROBE_INTERVAL_MS = 500;

export interface DatabaseHealth extends WriteHealth {
  readonly serving: boolean;
  /** Stops probing; no change is reported after. */
  close(): void;
}

export function watchDatabaseHealth(opts: {
  sql: Sql;
  logger: Logger;
  onChange(serving: boolean): void;
  probeIntervalMs?: number;
}): DatabaseHealth {
  const { sql, logger } = opts;
  const interval = opts.probeIntervalMs ?? PROBE_INTERVAL_MS;
  let serving = true;
  let closed = false;
  let probing = false;
  let timer: NodeJS.Timeout | undefined;

  const set = (now: boolean) => {
    if (closed || now === serving) return;
    serving = now;
    if (now) logger.info("the database answers again; sends are written");
    opts.onChange(now);
  };

  // One probe at a time, until the database answers (or a batch got through meanwhile).
  const probe = async () => {
    try {
      await sql`select 1`;
      set(true);
    } catch {
      // Still down: the next probe will tell.
    }
    if (closed || serving) probing = false;
    else timer = setTimeout(probe, interval);
  };

  return {
    get serving() {
      return serving;
    },
    lost(err) {
      if (!serving || closed) return;
      logger.warn({ err }, "the database cannot be reached; sends answer unavailable until it can");
      set(false);
      if (probing) return;
      probing = true;
      timer = setTimeout(probe, interval);
    },
    confirmed: () => set(true),
    close() {
      closed = true;
      clearTimeout(timer);
    },
  };
}
