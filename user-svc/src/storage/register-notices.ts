/**
 * The "someone tried to register with your email" notices already sent, one
 * key per email for REGISTER_NOTICE_INTERVAL (see domain/register-existing.ts).
 */
import type { Redis } from "ioredis";

function noticeKey(prefix: string, email: string): string {
  return `${prefix}register-notice:${email}`;
}

/** Takes the one notice of the interval for `email`; false when it was already sent. */
export async function claimRegisterNotice(
  redis: Redis,
  opts: { prefix: string; email: string; seconds: number },
): Promise<boolean> {
  return (await redis.set(noticeKey(opts.prefix, opts.email), "1", "EX", opts.seconds, "NX")) === "OK";
}
