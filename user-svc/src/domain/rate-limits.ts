/**
 * Per client address and per account rate limits on the calls an attacker
 * would hammer (guessing passwords or codes, mail bombing), counted in Redis
 * so that every user-svc instance shares them. rate-limiter-flexible's
 * RateLimiterRedis increments and expires a counter in one Lua call, so
 * concurrent calls cannot slip past a limit. An IPv6 client is counted by
 * its /64 (see ip-address.ts).
 */
import { rateLimited } from "@parley/shared/errors.js";
import type { Redis } from "ioredis";
import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { RateLimit } from "../config.js";
import { ipBucket } from "./ip-address.js";

export type LimitedOperation = "register" | "login" | "verify_otp" | "resend_otp";

export type RateLimitSettings = Record<LimitedOperation, { perIp: RateLimit; perAccount: RateLimit }>;

export interface RateLimits {
  /**
   * Counts one call by `ip` (in its ipBucket) about `account` (a normalised email or username,
   * whether or not an account has it); throws RATE_LIMITED with
   * retryAfterSeconds when either bucket is over its limit.
   */
  consume(operation: LimitedOperation, key: { ip: string; account: string }): Promise<void>;
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
      const results = await Promise.allSettled([ip.consume(ipBucket(key.ip)), account.consume(key.account)]);
      let waitMs = 0;
      for (const r of results) {
        if (r.status === "fulfilled") continue;
        // The library rejects with a RateLimiterRes when over the limit, with an Error when Redis fails.
        if (!(r.reason instanceof RateLimiterRes)) throw r.reason;
        waitMs = Math.max(waitMs, r.reason.msBeforeNext);
      }
      if (waitMs > 0 || results.some((r) => r.status === "rejected")) {
        throw rateLimited(Math.max(1, Math.ceil(waitMs / 1000)));
      }
    },
  };
}
