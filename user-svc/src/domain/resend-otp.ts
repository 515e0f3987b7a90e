/**
 * ResendOtp: mails a fresh code in place of a pending one (a registration or
 * login in progress). It never starts a flow: with no usable code pending (no
 * account, nothing pending, or a code burnt by wrong guesses) it answers the
 * same as when it sends, and sends nothing. So it can neither tell which
 * emails have accounts nor turn a mailbox alone into a login; and the new
 * code inherits the old one's used guesses, so resending does not add any.
 *
 * Every call, whatever the email, passes the same gates in the same order:
 * rate limits (RATE_LIMITED), the per-email cooldown (OTP_RESEND_COOLDOWN),
 * the per-email hourly resend cap (OTP_RATE_LIMITED), all keyed by the
 * normalised email, account or not, and decided before the account is even
 * looked up. It then answers, and only afterwards looks for the account and
 * its pending code (see background.ts): done before the answer, that work
 * would delay it for real accounts only. A real send also counts toward the account's hourly code cap
 * shared with Register and Login; past that cap nothing is sent.
 */
import { OtpPurpose } from "@parley/proto/user/v1/user_pb.js";
import { otpResendCooldown } from "../errors.js";
import { claimResendSlot } from "../storage/resend-cooldown.js";
import { findUserByEmail, lockUserById, touchPendingUser } from "../storage/users.js";
import type { ClientInfo } from "./client-info.js";
import type { DomainDeps } from "./deps.js";
import { normalizeEmail } from "./identity.js";
import { countResend, enqueueOtpMail } from "./otp.js";
import { enforceRateLimit } from "./rate-limits.js";

export interface ResendOtpInput {
  email: string;
  purpose: OtpPurpose;
  client: ClientInfo;
}

/** What every ResendOtp caller is told, whatever the email: how long a code lives and when to ask again. */
export interface ResendAnswer {
  otpExpiresIn: number;
  retryAfter: number;
}

export async function resendOtp(domain: DomainDeps, input: ResendOtpInput): Promise<ResendAnswer> {
  const email = normalizeEmail(input.email);
  await enforceRateLimit(domain, "resend_otp", { ip: input.client.ip, account: email });
  const cooldown = { prefix: domain.redisKeyPrefix, email, seconds: domain.otpResendCooldownSeconds };
  const wait = await claimResendSlot(domain.redis, cooldown);
  if (wait !== undefined) throw otpResendCooldown(wait);
  await countResend(domain.otp, email);
  domain.background.start("resend_otp", () => reissuePendingCode(domain, email, input.purpose));
  return { otpExpiresIn: domain.otpTtlSeconds, retryAfter: domain.otpResendCooldownSeconds };
}

/** Mails a fresh code in place of the account's pending one; does nothing for an unknown email or no usable code. */
async function reissuePendingCode(domain: DomainDeps, email: string, requested: OtpPurpose): Promise<void> {
  const found = await findUserByEmail(domain.db, email);
  if (!found) return;
  await domain.db.transaction(async (tx) => {
    const user = await lockUserById(tx, found.id);
    // A deactivated account cannot use a code: mailing one would only mislead its owner.
    if (!user || user.deactivatedAt) return;
    const purpose =
      requested !== OtpPurpose.UNSPECIFIED ? requested : user.verifiedAt ? OtpPurpose.LOGIN : OtpPurpose.VERIFY_EMAIL;
    let reissued = await domain.otp.reissue(user.id, purpose);
    // As verify-otp.ts: without a purpose, a verified account's decoy is renewed as a new account's code would be.
    if (reissued === undefined && requested === OtpPurpose.UNSPECIFIED && user.verifiedAt) {
      reissued = await domain.otp.reissue(user.id, OtpPurpose.VERIFY_EMAIL);
    }
    if (reissued === undefined) return;
    if (reissued.kind === "decoy") {
      // Nothing to mail; the name it holds is renewed as a pending account's would be.
      await domain.usernameHolds.renew(user.email, domain.otpTtlSeconds);
      return;
    }
    // The new verify_email code is usable for OTP_EXPIRY: the pending
    // account must hold its username that long too (see register.ts).
    if (purpose === OtpPurpose.VERIFY_EMAIL && !user.verifiedAt) await touchPendingUser(tx, user.id);
    await enqueueOtpMail(tx, user, reissued.otp, purpose, domain.otpTtlSeconds);
  });
}
