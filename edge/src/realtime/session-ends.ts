/**
 * Closes this edge's sockets of sessions ended anywhere: user-svc publishes
 * parley.user.v1.SessionsEnded on Redis in the MULTI that deletes them
 * (logout or logout-all through any edge, a reused refresh token), so a
 * socket on another edge than the one that took the logout no longer keeps
 * receiving its rooms' events until its next call or its token's expiry.
 *
 * Pub/sub keeps nothing for a subscriber that is away: each time the
 * subscription is (re)established, the sessions of the open sockets are
 * looked up in Redis and the sockets of those gone are closed, so a notice
 * missed while Redis was unreachable is made up for on reconnect.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { SessionsEndedSchema } from "@parley/proto/user/v1/user_pb.js";
import type { Logger } from "@parley/shared/logger.js";
import type { Redis } from "@parley/shared/redis.js";
import { sessionKey, sessionsEndedChannel } from "@parley/shared/sessions.js";

export interface SessionEnds {
  close(): Promise<void>;
}

/** Session keys per MGET during the audit: one round trip per this many sessions. */
const AUDIT_CHUNK = 500;

export function watchSessionEnds(opts: {
  /** Duplicated for the subscriber; the audit's lookups run on it as it is. */
  redis: Redis;
  prefix: string;
  logger: Logger;
  /** The sessions of this edge's authenticated sockets. */
  openSessions(): Iterable<string>;
  /** Closes the sockets of these sessions. */
  end(sessionIds: readonly string[]): void;
}): SessionEnds {
  const { redis, prefix, logger } = opts;
  const channel = sessionsEndedChannel(prefix);

  async function audit(): Promise<void> {
    const ids = [...new Set(opts.openSessions())];
    for (let i = 0; i < ids.length; i += AUDIT_CHUNK) {
      const chunk = ids.slice(i, i + AUDIT_CHUNK);
      const owners = await redis.mget(chunk.map((id) => sessionKey(prefix, id)));
      const ended = chunk.filter((_, j) => owners[j] === null);
      if (ended.length > 0) {
        logger.info({ sessions: ended.length }, "closing sockets of sessions that ended while unsubscribed");
        opts.end(ended);
      }
    }
  }

  // Subscribed by hand on every "ready" (not ioredis's autoResubscribe) so that the audit follows each confirmation.
  const conn = redis.duplicate({ autoResubscribe: false, connectionName: `${prefix}edge:sessions-ended` });
  conn.on("ready", () => {
    conn.subscribe(channel).then(
      () => audit().catch((err: unknown) => logger.warn({ err }, "could not check the open sockets' sessions")),
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
    try {
      const notice = fromBinary(SessionsEndedSchema, payload);
      opts.end(notice.sessionIds);
    } catch (err) {
      logger.warn({ err }, "dropping an undecodable SessionsEnded notice");
    }
  });

  return {
    async close() {
      conn.disconnect();
    },
  };
}
