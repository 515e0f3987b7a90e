/**
 * Token buckets in Redis (what they count is domain/action-budgets.ts's
 * business). A bucket is one key holding its theoretical arrival time
 * (GCRA): a bucket of `burst` tokens refilled at `ratePerSecond` is full
 * while that time is in the past, and each token taken pushes it one
 * interval further; a take that would push it more than `burst` intervals
 * ahead of now is refused. The key expires when the bucket would be full
 * again, so idle users leave nothing behind.
 *
 * One script call takes from any number of buckets: a whole batch of sends,
 * whoever sent them, costs one round trip, and rate-limiter-flexible's
 * one-call-per-key limiters (user-svc's) would cost one command each.
 * Times are Redis's own clock, so chat-svc instances need not agree on one.
 */
import type { Redis } from "@parley/shared/redis.js";

// KEYS: the buckets. ARGV: per bucket, its interval (ms per token), burst and
// tokens wanted. Returns per bucket: tokens granted (the first ones wanted,
// up to what the bucket holds), then ms until one more would be (0: all granted).
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local out = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[3 * i - 2])
  local burst = tonumber(ARGV[3 * i - 1])
  local wanted = tonumber(ARGV[3 * i])
  local tat = math.max(tonumber(redis.call('GET', key) or 0), now)
  local granted = math.max(0, math.min(wanted, math.floor((now + burst * interval - tat) / interval)))
  if granted > 0 then
    tat = tat + granted * interval
    redis.call('SET', key, string.format('%.17g', tat), 'PX', math.ceil(tat - now))
  end
  out[2 * i - 1] = granted
  out[2 * i] = 0
  if granted < wanted then out[2 * i] = math.ceil(tat + interval - burst * interval - now) end
end
return out
`;

export interface BucketTake {
  /** The bucket's name, unique within the key prefix. */
  bucket: string;
  ratePerSecond: number;
  burst: number;
  /** Tokens wanted. */
  wanted: number;
}

export interface BucketGrant {
  /** Tokens taken: `wanted` or fewer. */
  granted: number;
  /** When not all were granted: milliseconds until the bucket holds one more. */
  retryAfterMs: number;
}

export interface BudgetStore {
  /** Takes from every bucket in one round trip; one grant per take, in order. */
  take(takes: readonly BucketTake[]): Promise<BucketGrant[]>;
}

export function createBudgetStore(opts: { redis: Redis; prefix: string }): BudgetStore {
  const { redis, prefix } = opts;
  return {
    async take(takes) {
      if (takes.length === 0) return [];
      const keys = takes.map((t) => `${prefix}budget:${t.bucket}`);
      const args = takes.flatMap((t) => [1000 / t.ratePerSecond, t.burst, t.wanted]);
      const reply = (await redis.eval(TAKE, keys.length, ...keys, ...args)) as number[];
      return takes.map((_, i) => ({ granted: reply[2 * i] ?? 0, retryAfterMs: reply[2 * i + 1] ?? 0 }));
    },
  };
}
