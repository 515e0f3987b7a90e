import { Redis } from "ioredis";
import type { Logger } from "./logger.js";

export type { Redis };

/** A client that keeps reconnecting; commands queue while Redis is away. */
export function connectRedis(redisUrl: string, logger: Logger, name: string): Redis {
  const redis = new Redis(redisUrl, { connectionName: name, maxRetriesPerRequest: 3 });
  let warned = false;
  redis.on("error", (err: Error) => {
    if (!warned) logger.warn({ err: err.message }, "redis connection problem; retrying");
    warned = true;
  });
  redis.on("ready", () => {
    if (warned) logger.info("redis connection restored");
    warned = false;
  });
  return redis;
}
