/**
 * The pause between two codes sent to one email address. Every send (Register,
 * Login, ResendOtp) starts it; ResendOtp claims it whether or not the email has
 * an account or a pending code, so the answers look the same for all emails.
 * It is per email rather than per email and purpose: an account only ever has
 * codes of one purpose in use (verify_email until verified, login after), and
 * a per-purpose key would let "unspecified" and explicit purposes tell real
 * accounts from unknown emails.
 */
import type { Redis } from "ioredis";
import { SECONDS_LEFT } from "./seconds-left.js";

function cooldownKey(prefix: string, email: string): string {
  return `${prefix}otp-resend-cooldown:${email}`;
}

/** Starts (or restarts) the cooldown after a code went out. */
export async function startResendCooldown(
  redis: Redis,
  opts: { prefix: string; email: string; seconds: number },
): Promise<void> {
  await redis.set(cooldownKey(opts.prefix, opts.email), "1", "EX", opts.seconds);
}

// KEYS: the cooldown. ARGV: its length (s). 0 when the slot was taken, else the seconds to wait.
const CLAIM = `${SECONDS_LEFT}
if redis.call('SET', KEYS[1], '1', 'EX', ARGV[1], 'NX') then return 0 end
return seconds_left(KEYS[1])`;

/** Takes the right to send now and starts the cooldown; returns the seconds to wait instead when it is running. */
export async function claimResendSlot(
  redis: Redis,
  opts: { prefix: string; email: string; seconds: number },
): Promise<number | undefined> {
  const wait = (await redis.eval(CLAIM, 1, cooldownKey(opts.prefix, opts.email), opts.seconds)) as number;
  return wait === 0 ? undefined : wait;
}
