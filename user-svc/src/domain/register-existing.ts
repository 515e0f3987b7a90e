/**
 * Register for an email that already has a verified account. It is answered
 * exactly as a new email is (201, a user id, the code's lifetime), so that
 * Register cannot be used to learn which emails have accounts, and what the
 * caller can try next answers alike too: a decoy code in place of the real
 * one (guesses say "incorrect", then "locked", then "expired", as for a code
 * they never got; see storage/otp-store.ts), and the username held as a pending account
 * would hold it (storage/username-holds.ts). The account's holder is told by
 * mail instead (user.registration.attempted, in the caller's transaction), at
 * most once per REGISTER_NOTICE_INTERVAL, so that registering cannot be used
 * to flood their inbox.
 */
import { randomUUID } from "node:crypto";
import { enqueueEvent } from "@parley/shared/outbox.js";
import { claimRegisterNotice } from "../storage/register-notices.js";
import type { UserRow } from "../storage/schema.js";
import type { Tx } from "../storage/users.js";
import type { DomainDeps } from "./deps.js";
import { issueDecoyOtp } from "./otp.js";

export interface Registered {
  userId: string;
  otpExpiresIn: number;
}

export async function answerAsNew(
  tx: Tx,
  domain: DomainDeps,
  account: Pick<UserRow, "id" | "email" | "username" | "deactivatedAt">,
  usernameKey: string,
): Promise<Registered> {
  await issueDecoyOtp(domain.otp, account.id);
  await domain.usernameHolds.hold(account.email, usernameKey, domain.otpTtlSeconds);
  // Claimed before the commit: a transaction that then fails costs this interval's notice, never sends two.
  const notify = await claimRegisterNotice(domain.redis, {
    prefix: domain.redisKeyPrefix,
    email: account.email,
    seconds: domain.registerNoticeIntervalSeconds,
  });
  // A deactivated account gets no mail; the claim above is still made, so the work (and time) is the same.
  if (notify && account.deactivatedAt === null) {
    await enqueueEvent(tx, "user.registration.attempted", {
      userId: account.id,
      email: account.email,
      username: account.username,
    });
  }
  // Never stored: a pending account's id is not visible anywhere either (GetUser and search show verified users only).
  return { userId: randomUUID(), otpExpiresIn: domain.otpTtlSeconds };
}
