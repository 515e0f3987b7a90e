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

/** Takes the right to send now and starts the cooldown; returns the seconds to wait instead when it is running. */
export async function claimResendSlot(
  redis: Redis,
  opts: { prefix: string; email: string; seconds: number },
): Promise<number | undefined> {
  const key = cooldownKey(opts.prefix, opts.email);
  const claimed = await redis.set(key, "1", "EX", opts.seconds, "NX");
  if (claimed === "OK") return undefined;
  // Rounded up: TTL's whole seconds round down, and a client told to come back while 0.9 s remain is refused again.
  return Math.max(1, Math.ceil((await redis.pttl(key)) / 1000));
}
