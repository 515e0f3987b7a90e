/**
 * Register for an email that already has a verified account. It is answered
 * exactly as a new email is (201, a user id, the code's lifetime), so that
 * Register cannot be used to learn which emails have accounts, and what the
 * caller can try next answers alike too: a decoy code in place of the real
 * one (guesses say "incorrect", then "locked", then "expired", as for a code
 * they never got; see otp.ts), and the username held as a pending account
 * would hold it (storage/username-holds.ts). The account's holder is told by
 * mail instead (user.registration.attempted, in the caller's transaction), at
 * most once per REGISTER_NOTICE_INTERVAL, so that registering cannot be used
 * to flood their inbox.
 */
import { randomUUID } from "node:crypto";
import { enqueueEvent } from "@parley/shared/outbox.js";
import type { Redis } from "ioredis";
import type { UserRow } from "../storage/schema.js";
import type { Tx } from "../storage/users.js";
import type { UserDomain } from "./context.js";

export interface Registered {
  userId: string;
  otpExpiresIn: number;
}

function noticeKey(prefix: string, email: string): string {
  return `${prefix}register-notice:${email}`;
}

/** Takes the one notice of the interval for `email`; false when it was already sent. */
async function claimNotice(redis: Redis, opts: { prefix: string; email: string; seconds: number }): Promise<boolean> {
  return (await redis.set(noticeKey(opts.prefix, opts.email), "1", "EX", opts.seconds, "NX")) === "OK";
}

export async function answerAsNew(
  tx: Tx,
  domain: UserDomain,
  account: Pick<UserRow, "id" | "email" | "username">,
  usernameKey: string,
): Promise<Registered> {
  await domain.otp.issueDecoy(account.id);
  await domain.usernameHolds.hold(account.email, usernameKey, domain.otpTtlSeconds);
  // Claimed before the commit: a transaction that then fails costs this interval's notice, never sends two.
  const notify = await claimNotice(domain.redis, {
    prefix: domain.redisKeyPrefix,
    email: account.email,
    seconds: domain.registerNoticeIntervalSeconds,
  });
  if (notify) {
    await enqueueEvent(tx, "user.registration.attempted", {
      userId: account.id,
      email: account.email,
      username: account.username,
    });
  }
  // Never stored: a pending account's id is not visible anywhere either (GetUser and search show verified users only).
  return { userId: randomUUID(), otpExpiresIn: domain.otpTtlSeconds };
}
