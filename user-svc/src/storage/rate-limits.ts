/**
 * Per client address and per account rate limits on the calls an attacker
 * would hammer (guessing passwords or codes, mail bombing), counted in Redis
 * so that every user-svc instance shares them. rate-limiter-flexible's
 * RateLimiterRedis increments and expires a counter in one Lua call, so
 * concurrent calls cannot slip past a limit. Which bucket an address counts
 * in, and what a caller over the limit is told, the domain decides
 * (domain/rate-limits.ts).
 */
import type { Redis } from "ioredis";
import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { RateLimit } from "../config.js";

export type LimitedOperation = "register" | "login" | "verify_otp" | "resend_otp";

export type RateLimitSettings = Record<LimitedOperation, { perIp: RateLimit; perAccount: RateLimit }>;

export interface RateLimits {
  /**
   * Counts one call from the address bucket `ipBucket` about `account` (a normalised email or username,
   * whether or not an account has it); the seconds to wait when either bucket is over its limit, else undefined.
   */
  consume(operation: LimitedOperation, key: { ipBucket: string; account: string }): Promise<number | undefined>;
}

export function createRateLimits(opts: { redis: Redis; prefix: string; settings: RateLimitSettings }): RateLimits {
  const limiter = (operation: LimitedOperation, scope: "ip" | "account", limit: RateLimit) =>
    new RateLimiterRedis({
      storeClient: opts.redis,
      keyPrefix: `${opts.prefix}rate:${operation}:${scope}`,
      points: limit.points,
      duration: limit.durationSeconds,
    });
  const limiters = Object.fromEntries(
    Object.entries(opts.settings).map(([operation, s]) => [
      operation,
      {
        ip: limiter(operation as LimitedOperation, "ip", s.perIp),
        account: limiter(operation as LimitedOperation, "account", s.perAccount),
      },
    ]),
  ) as Record<LimitedOperation, { ip: RateLimiterRedis; account: RateLimiterRedis }>;

  return {
    async consume(operation, key) {
      const { ip, account } = limiters[operation];
      // Both buckets count every call, so spreading calls over accounts does
      // not spare the address's bucket and vice versa.
      const results = await Promise.allSettled([ip.consume(key.ipBucket), account.consume(key.account)]);
      let waitMs = 0;
      for (const r of results) {
        if (r.status === "fulfilled") continue;
        // The library rejects with a RateLimiterRes when over the limit, with an Error when Redis fails.
        if (!(r.reason instanceof RateLimiterRes)) throw r.reason;
        waitMs = Math.max(waitMs, r.reason.msBeforeNext);
      }
      if (waitMs > 0 || results.some((r) => r.status === "rejected")) return Math.max(1, Math.ceil(waitMs / 1000));
      return undefined;
    },
  };
}
