/**
 * How many users each caller may name per minute in calls that make members
 * (CreateRoom, AddMembers, OpenDirectRoom), counted in Redis so every
 * chat-svc instance shares the count. rate-limiter-flexible increments and
 * expires the counter in one Lua call, so concurrent calls cannot slip past it.
 */
import type { Redis } from "@parley/shared/redis.js";
import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";

export interface MemberAddBudget {
  /** Spends `count` of the user's minute; the seconds to wait when that is over the limit, else undefined. */
  spend(userId: string, count: number): Promise<number | undefined>;
}

export function createMemberAddBudget(opts: { redis: Redis; prefix: string; perMinute: number }): MemberAddBudget {
  const limiter = new RateLimiterRedis({
    storeClient: opts.redis,
    keyPrefix: `${opts.prefix}rate:member_adds`,
    points: opts.perMinute,
    duration: 60,
  });
  return {
    async spend(userId, count) {
      try {
        await limiter.consume(userId, count);
        return undefined;
      } catch (err) {
        // The library rejects with a RateLimiterRes when over the limit, with an Error when Redis fails.
        if (!(err instanceof RateLimiterRes)) throw err;
        return Math.max(1, Math.ceil(err.msBeforeNext / 1000));
      }
    },
  };
}
