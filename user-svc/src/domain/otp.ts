/**
 * One-time passwords in Redis. Only an HMAC of each code is stored (keyed by
 * a key derived from JWT_SECRET and bound to the user and purpose), so a
 * Redis dump does not hand out working codes. Every guess reserves one of
 * MAX_ATTEMPTS atomically BEFORE it is compared, so concurrent guesses cannot
 * exceed the limit; a correct code is consumed with a compare-and-delete, so
 * two concurrent verifications cannot both succeed.
 *
 * A decoy is a verify_email entry that no code matches (its digest is of
 * random bytes, not of a code), given to an account that is already verified
 * when someone registers its email again (see register.ts): guesses at it,
 * resends and expiry then answer exactly as for a new registration's code,
 * with its own send counter, so nobody learns the email has an account and
 * the holder's own hourly code budget is untouched.
 */
import { createHmac, randomBytes, randomInt, timingSafeEqual } from "node:crypto";
import { OtpPurpose } from "@parley/proto/user/v1/user_pb.js";
import { enqueueEvent } from "@parley/shared/outbox.js";
import type { Redis } from "ioredis";
import { otpRateLimited } from "../errors.js";
import type { UserRow } from "../storage/schema.js";
import type { Tx } from "../storage/users.js";
import { SECONDS_LEFT } from "./seconds-left.js";

export const MAX_ATTEMPTS = 5;
// Codes sent per account per window, whatever the purpose. Bounds both the
// mail a stranger can trigger at someone's inbox (Register on an unverified
// email) and the total guesses (MAX_SENDS × MAX_ATTEMPTS per window).
export const MAX_SENDS = 10;
export const SEND_WINDOW_SECONDS = 60 * 60;

// ResendOtp calls per email per window, counted for every email so that an
// unknown one hits the cap when a real account with one code already sent
// would (see domain/resend-otp.ts).
export const MAX_RESENDS = MAX_SENDS - 1;

export function otpKey(prefix: string, userId: string, purpose: OtpPurpose): string {
  return `${prefix}otp:${userId}:${OtpPurpose[purpose].toLowerCase()}`;
}

function sendsKey(prefix: string, userId: string): string {
  return `${prefix}otp-sends:${userId}`;
}

function decoySendsKey(prefix: string, userId: string): string {
  return `${prefix}otp-sends-decoy:${userId}`;
}

// KEYS: otp hash, send counter, decoy send counter. ARGV: digest, ttl, max
// sends, window, "decoy" or "". Returns {1, 0} when stored, {0, seconds until
// allowed} when rate limited.
const ISSUE = `${SECONDS_LEFT}
local counter = KEYS[2]
if ARGV[5] == 'decoy' then counter = KEYS[3] end
local sends = redis.call('INCR', counter)
if sends == 1 then redis.call('EXPIRE', counter, ARGV[4]) end
if sends > tonumber(ARGV[3]) then return {0, seconds_left(counter)} end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'digest', ARGV[1], 'attempts', 0)
if ARGV[5] == 'decoy' then redis.call('HSET', KEYS[1], 'decoy', 1) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {1, 0}`;

// KEYS: otp hash, send counter, decoy send counter. ARGV: digest, ttl, max
// sends, window. Replaces a pending code, keeping its attempt count: a resend
// must not hand out fresh guesses (only a password check does). Returns
// {1, 0} when replaced, {2, 0} when a decoy was renewed as a code would have
// been (its unguessable digest kept), {0, 0} when not: no usable code is
// pending (none, expired or burnt), or the account's hourly cap is reached
// (ResendOtp has answered by then, alike for every email, so there is no one
// to tell).
const REISSUE = `
if redis.call('HEXISTS', KEYS[1], 'digest') == 0 then return {0, 0} end
local decoy = redis.call('HEXISTS', KEYS[1], 'decoy') == 1
local counter = KEYS[2]
if decoy then counter = KEYS[3] end
local sends = redis.call('INCR', counter)
if sends == 1 then redis.call('EXPIRE', counter, ARGV[4]) end
if sends > tonumber(ARGV[3]) then return {0, 0} end
redis.call('EXPIRE', KEYS[1], ARGV[2])
if decoy then return {2, 0} end
redis.call('HSET', KEYS[1], 'digest', ARGV[1])
return {1, 0}`;

// KEYS: counter. ARGV: max, window. Returns 0 when counted, else seconds until allowed.
const COUNT = `${SECONDS_LEFT}
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then return seconds_left(KEYS[1]) end
return 0`;

// KEYS: otp hash. ARGV: max attempts. Reserves an attempt and hands back the
// digest to compare against; refuses once the attempts are used up.
const RESERVE_ATTEMPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
if redis.call('HEXISTS', KEYS[1], 'digest') == 0 then return {'locked'} end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if attempts > tonumber(ARGV[1]) then return {'locked'} end
return {'pending', redis.call('HGET', KEYS[1], 'digest'), attempts}`;

// KEYS: otp hash. ARGV: the digest that matched. Deletes only that code: a
// concurrent winner (or a newer code) makes this return 0.
const CONSUME = `
if redis.call('HGET', KEYS[1], 'digest') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

// KEYS: otp hash. ARGV: the digest that was guessed at. Burns the code but
// keeps a marker until it would have expired, so later tries say "locked".
const LOCK = `
if redis.call('HGET', KEYS[1], 'digest') == ARGV[1] then
  redis.call('HDEL', KEYS[1], 'digest')
  redis.call('HSET', KEYS[1], 'locked', 1)
end
return 0`;

export type OtpCheck =
  | { status: "ok" }
  | { status: "missing" }
  | { status: "locked" }
  | { status: "invalid"; remainingAttempts: number };

/** What a resend did: mailable code, a decoy renewed (nothing to mail), or nothing. */
export type Reissued = { kind: "code"; otp: string } | { kind: "decoy" } | undefined;

export interface OtpStore {
  /** Replaces any pending code for (user, purpose) with a new one and returns it. */
  issue(userId: string, purpose: OtpPurpose): Promise<string>;
  /**
   * Puts a decoy in place of the account's verify_email code (see the module
   * comment); throws OTP_RATE_LIMITED when issue would for a new account.
   */
  issueDecoy(userId: string): Promise<void>;
  /**
   * Replaces the pending code for (user, purpose) with a new one, keeping the
   * guesses already used, or renews a decoy; undefined when no usable code is
   * pending or the hourly cap is reached. Not an error past the cap:
   * ResendOtp, its caller, has already answered, and answers every email alike.
   */
  reissue(userId: string, purpose: OtpPurpose): Promise<Reissued>;
  /** Counts a ResendOtp call for `email`; throws OTP_RATE_LIMITED past MAX_RESENDS per window. */
  countResend(email: string): Promise<void>;
  check(userId: string, purpose: OtpPurpose, code: string): Promise<OtpCheck>;
}

export function createOtpStore(opts: { redis: Redis; prefix: string; secret: string; ttlSeconds: number }): OtpStore {
  const { redis, prefix, ttlSeconds } = opts;
  // A key of its own, so an OTP digest is never an HMAC under the JWT key.
  const key = createHmac("sha256", opts.secret).update("parley-otp-v1").digest();
  const digest = (userId: string, purpose: OtpPurpose, code: string) =>
    createHmac("sha256", key).update(`${userId}\0${purpose}\0${code}`).digest("hex");

  const newCode = () => randomInt(0, 1_000_000).toString().padStart(6, "0");

  /** Runs ISSUE or REISSUE: [stored, retryAfterSeconds]. */
  const store = async (script: string, userId: string, purpose: OtpPurpose, storedDigest: string, mode = "") =>
    (await redis.eval(
      script,
      3,
      otpKey(prefix, userId, purpose),
      sendsKey(prefix, userId),
      decoySendsKey(prefix, userId),
      storedDigest,
      ttlSeconds,
      MAX_SENDS,
      SEND_WINDOW_SECONDS,
      mode,
    )) as [number, number];

  return {
    async issue(userId, purpose) {
      const code = newCode();
      const [stored, retryAfter] = await store(ISSUE, userId, purpose, digest(userId, purpose, code));
      if (stored !== 1) throw otpRateLimited(retryAfter);
      return code;
    },

    async issueDecoy(userId) {
      // Of 32 random bytes, not of a six-digit code: no guess can match it.
      const unguessable = createHmac("sha256", key).update(randomBytes(32)).digest("hex");
      const [stored, retryAfter] = await store(ISSUE, userId, OtpPurpose.VERIFY_EMAIL, unguessable, "decoy");
      if (stored !== 1) throw otpRateLimited(retryAfter);
    },

    async reissue(userId, purpose) {
      const code = newCode();
      const [stored] = await store(REISSUE, userId, purpose, digest(userId, purpose, code));
      if (stored === 1) return { kind: "code", otp: code };
      return stored === 2 ? { kind: "decoy" } : undefined;
    },

    async countResend(email) {
      const key = `${prefix}otp-resends:${email}`;
      const retryAfter = (await redis.eval(COUNT, 1, key, MAX_RESENDS, SEND_WINDOW_SECONDS)) as number;
      if (retryAfter > 0) throw otpRateLimited(retryAfter);
    },

    async check(userId, purpose, code) {
      const k = otpKey(prefix, userId, purpose);
      const reply = (await redis.eval(RESERVE_ATTEMPT, 1, k, MAX_ATTEMPTS)) as [string, string?, number?];
      if (reply[0] === "missing") return { status: "missing" };
      if (reply[0] !== "pending") return { status: "locked" };
      const stored = reply[1] ?? "";
      const attempts = reply[2] ?? MAX_ATTEMPTS;
      const expected = Buffer.from(stored, "hex");
      const given = Buffer.from(digest(userId, purpose, code), "hex");
      if (expected.length === given.length && timingSafeEqual(expected, given)) {
        const consumed = (await redis.eval(CONSUME, 1, k, stored)) as number;
        // Lost the race to a concurrent verification (or a newer code): this code is spent.
        return consumed === 1 ? { status: "ok" } : { status: "missing" };
      }
      if (attempts >= MAX_ATTEMPTS) {
        await redis.eval(LOCK, 1, k, stored);
        return { status: "locked" };
      }
      return { status: "invalid", remainingAttempts: MAX_ATTEMPTS - attempts };
    },
  };
}

/** Queues the mail carrying `otp` in the caller's transaction (outbox). */
export async function enqueueOtpMail(
  tx: Tx,
  user: Pick<UserRow, "id" | "email" | "username">,
  otp: string,
  purpose: OtpPurpose,
  expiresIn: number,
): Promise<void> {
  await enqueueEvent(tx, "user.otp.send", {
    userId: user.id,
    email: user.email,
    username: user.username,
    otp,
    purpose,
    expiresIn,
  });
}
