/**
 * Usernames held for a registration that was answered as new although its
 * email already has a verified account (see domain/register.ts). A pending
 * account holds its username in its row; such a registration has no row, so
 * it holds the name here, for as long as a pending row would: the caller who
 * picked the name cannot tell the two apart by trying it from another email.
 * One hold per email: registering again with another name moves it, as it
 * renames a pending row.
 */
import type { Redis } from "ioredis";

export interface UsernameHolds {
  /** The email holding `usernameKey`, or null. */
  holder(usernameKey: string): Promise<string | null>;
  /** Holds `usernameKey` for `email` for `seconds`, releasing the name the email held before. */
  hold(email: string, usernameKey: string, seconds: number): Promise<void>;
  /** Renews the email's hold (its decoy code was resent, as a pending row's code renews the row's). */
  renew(email: string, seconds: number): Promise<void>;
}

// KEYS: the email's hold, the name's hold. ARGV: prefix of name holds, email, name key, seconds.
const HOLD = `
local previous = redis.call('GET', KEYS[1])
if previous and previous ~= ARGV[3] and redis.call('GET', ARGV[1] .. previous) == ARGV[2] then
  redis.call('DEL', ARGV[1] .. previous)
end
redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[4])
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[4])`;

// KEYS: the email's hold. ARGV: prefix of name holds, email, seconds.
const RENEW = `
local name = redis.call('GET', KEYS[1])
if not name then return 0 end
if redis.call('GET', ARGV[1] .. name) ~= ARGV[2] then return 0 end
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', ARGV[1] .. name, ARGV[3])
return 1`;

export function createUsernameHolds(redis: Redis, prefix: string): UsernameHolds {
  const namePrefix = `${prefix}username-hold:`;
  const emailKey = (email: string) => `${prefix}username-hold-of:${email}`;
  return {
    holder: (usernameKey) => redis.get(namePrefix + usernameKey),
    async hold(email, usernameKey, seconds) {
      await redis.eval(HOLD, 2, emailKey(email), namePrefix + usernameKey, namePrefix, email, usernameKey, seconds);
    },
    async renew(email, seconds) {
      await redis.eval(RENEW, 1, emailKey(email), namePrefix, email, seconds);
    },
  };
}
