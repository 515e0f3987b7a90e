/**
 * Closes this edge's sockets of sessions ended anywhere: user-svc publishes
 * parley.user.v1.SessionsEnded on Redis in the MULTI (or script) that deletes
 * them, whether the logout, logout-all or refresh-token reuse came through
 * this edge or another, so this is the one way a socket learns that its
 * session is over before its next call.
 *
 * Pub/sub keeps nothing for a subscriber that is away: each time the
 * subscription is (re)established, the sessions of the open sockets are
 * looked up and the sockets of those gone are closed, so a notice missed
 * while Redis was unreachable is made up for on reconnect. A lookup that
 * fails (Redis is often still shaky right after it came back) is retried
 * until one succeeds: otherwise the missed notices would wait for the next
 * reconnect, which may never come.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { SessionsEndedSchema } from "@parley/proto/user/v1/user_pb.js";
import { createBackoff } from "@parley/shared/backoff.js";
import type { Logger } from "@parley/shared/logger.js";
import type { Redis } from "@parley/shared/redis.js";
import { type Authenticator, sessionsEndedChannel } from "@parley/shared/sessions.js";
import { createStopSignal, type StopSignal } from "@parley/shared/stop-signal.js";
import type { RealtimeGateway } from "./gateway.js";

export interface SessionEnds {
  close(): Promise<void>;
}

export function watchSessionEnds(opts: {
  /** Duplicated for the subscriber. */
  redis: Redis;
  prefix: string;
  authenticator: Pick<Authenticator, "endedSessions">;
  gateway: Pick<RealtimeGateway, "openSessions" | "endSessions">;
  logger: Logger;
  /** The first wait before a failed lookup is tried again; it doubles up to 30 s. */
  retryMs?: number;
}): SessionEnds {
  const { prefix, gateway, logger } = opts;
  const stop = createStopSignal();
  const backoff = createBackoff(stop, { firstMs: opts.retryMs ?? 500, maxMs: 30_000 });

  async function audit(): Promise<void> {
    const ended = await opts.authenticator.endedSessions([...new Set(gateway.openSessions())]);
    if (ended.length === 0) return;
    logger.info({ sessions: ended.length }, "closing sockets of sessions that ended while unsubscribed");
    gateway.endSessions(ended);
  }

  /** The running chain of checks: the next (re)subscription stops it and starts its own; close() stops it. */
  let chain: StopSignal | undefined;

  async function auditUntilDone(): Promise<void> {
    chain?.stop();
    if (stop.stopped) return;
    const mine = createStopSignal();
    chain = mine;
    backoff.succeed();
    while (!mine.stopped) {
      try {
        await audit();
        return;
      } catch (err) {
        // A newer chain (or none, after close) has taken over: this one's failure retries nothing.
        if (mine.stopped) return;
        const wait = backoff.fail();
        logger.warn({ err, attempt: backoff.failures, retryInMs: wait }, "could not check the open sockets' sessions");
        await mine.sleep(wait);
      }
    }
  }

  // Subscribed by hand on every "ready" (not ioredis's autoResubscribe) so that the audit follows each confirmation.
  const conn = opts.redis.duplicate({ autoResubscribe: false, connectionName: `${prefix}edge:sessions-ended` });
  conn.on("ready", () => {
    conn.subscribe(sessionsEndedChannel(prefix)).then(
      () => auditUntilDone(),
      (err: unknown) => {
        logger.warn({ err }, "could not subscribe to ended sessions; reconnecting");
        conn.disconnect(true);
      },
    );
  });
  conn.on("error", () => {
    // ioredis keeps reconnecting; the main connection reports Redis trouble.
  });
  conn.on("messageBuffer", (_channel: Buffer, payload: Buffer) => {
    let notice: ReturnType<typeof fromBinary<typeof SessionsEndedSchema>>;
    try {
      notice = fromBinary(SessionsEndedSchema, payload);
    } catch (err) {
      logger.warn({ err }, "dropping an undecodable SessionsEnded notice");
      return;
    }
    gateway.endSessions(notice.sessionIds);
  });

  return {
    async close() {
      stop.stop();
      chain?.stop();
      conn.disconnect();
    },
  };
}
