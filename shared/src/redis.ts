import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "./logger.js";

export type { Redis };

/**
 * Logs a connection's trouble once per change of state (one warning when it
 * is lost, one line when it is back), not a stack per reconnect attempt. An
 * ioredis client without an "error" listener prints every failed attempt's
 * stack to stderr ("[ioredis] Unhandled error event"), so every connection
 * gets this, duplicates included: they copy the options, not the listeners.
 */
export function logRedisConnection(conn: Redis, logger: Logger, label: string): void {
  let down = false;
  conn.on("error", (err: Error) => {
    if (down) return;
    down = true;
    logger.warn({ connection: label, err: err.message }, "Redis connection lost; reconnecting");
  });
  conn.on("ready", () => {
    if (!down) return;
    down = false;
    logger.info({ connection: label }, "Redis connection restored");
  });
}

/** A client that keeps reconnecting; commands queue while Redis is away. */
export function connectRedis(redisUrl: string, logger: Logger, name: string): Redis {
  const redis = new Redis(redisUrl, { connectionName: name, maxRetriesPerRequest: 3 });
  logRedisConnection(redis, logger, name);
  return redis;
}

/** A second connection to the same Redis (a subscriber, a pipelining one), logged like the first. */
export function duplicateRedis(
  redis: Redis,
  logger: Logger,
  options: RedisOptions & { connectionName: string },
): Redis {
  const conn = redis.duplicate(options);
  logRedisConnection(conn, logger, options.connectionName);
  return conn;
}
