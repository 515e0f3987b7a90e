/**
 * Issuing one-time codes: the store (storage/otp-store.ts) keeps them and
 * counts sends; this turns its "wait N seconds" into OTP_RATE_LIMITED and
 * queues the mail that carries a code.
 */
import type { OtpPurpose } from "@parley/proto/user/v1/user_pb.js";
import { enqueueEvent } from "@parley/shared/outbox.js";
import { otpRateLimited } from "../errors.js";
import type { OtpStore } from "../storage/otp-store.js";
import type { UserRow } from "../storage/schema.js";
import type { Tx } from "../storage/users.js";

/** A new code for (user, purpose) in place of any pending one; OTP_RATE_LIMITED past the account's hourly cap. */
export async function issueOtp(otp: OtpStore, userId: string, purpose: OtpPurpose): Promise<string> {
  const issued = await otp.issue(userId, purpose);
  if ("retryAfter" in issued) throw otpRateLimited(issued.retryAfter);
  return issued.otp;
}

/** A decoy in place of a verified account's verify_email code; OTP_RATE_LIMITED when a new account's code would be. */
export async function issueDecoyOtp(otp: OtpStore, userId: string): Promise<void> {
  const wait = await otp.issueDecoy(userId);
  if (wait !== undefined) throw otpRateLimited(wait);
}

/** Counts a ResendOtp call for `email`; OTP_RATE_LIMITED past the per-email cap. */
export async function countResend(otp: OtpStore, email: string): Promise<void> {
  const wait = await otp.countResend(email);
  if (wait !== undefined) throw otpRateLimited(wait);
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
