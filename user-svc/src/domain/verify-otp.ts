/**
 * VerifyOtp: exchanges a pending code for a session, an access token and the
 * session's first refresh token. The
 * first successful verify_email code marks the email verified and announces
 * the new account (user.registered) in the same transaction.
 */
import { OtpPurpose } from "@parley/proto/user/v1/user_pb.js";
import { enqueueEvent } from "@parley/shared/outbox.js";
import { accountDeactivated, otpExpired, otpInvalid, otpLocked } from "../errors.js";
import type { UserRow } from "../storage/schema.js";
import { createSession, revokeSessions } from "../storage/sessions.js";
import { findUserByEmail, findUserById, markVerified } from "../storage/users.js";
import type { ClientInfo } from "./client-info.js";
import { isDeactivated } from "./deactivation.js";
import type { DomainDeps } from "./deps.js";
import { normalizeEmail } from "./identity.js";
import { enforceRateLimit } from "./rate-limits.js";
import { type SessionTokens, sessionTokens } from "./session-tokens.js";

export interface VerifyOtpInput {
  email: string;
  otp: string;
  purpose: OtpPurpose;
  client: ClientInfo;
}

/** A new session's tokens and the account they are for. */
export interface SignedIn extends SessionTokens {
  user: UserRow;
}

export async function verifyOtp(domain: DomainDeps, input: VerifyOtpInput): Promise<SignedIn> {
  const email = normalizeEmail(input.email);
  await enforceRateLimit(domain, "verify_otp", { ip: input.client.ip, account: email });
  const found = await findUserByEmail(domain.db, email);
  if (!found) throw otpExpired();
  const purpose =
    input.purpose !== OtpPurpose.UNSPECIFIED
      ? input.purpose
      : found.verifiedAt
        ? OtpPurpose.LOGIN
        : OtpPurpose.VERIFY_EMAIL;

  let result = await domain.otp.check(found.id, purpose, input.otp);
  // A verified account's verify_email entry can only be a decoy (register-existing.ts): a code
  // asked for without a purpose after registering must meet it as it would a new account's code.
  if (result.status === "missing" && input.purpose === OtpPurpose.UNSPECIFIED && found.verifiedAt) {
    result = await domain.otp.check(found.id, OtpPurpose.VERIFY_EMAIL, input.otp);
  }
  switch (result.status) {
    case "ok":
      break;
    case "missing":
      throw otpExpired();
    case "locked":
      throw otpLocked();
    case "invalid":
      throw otpInvalid(result.remainingAttempts);
  }

  // Only after the code matched: to anyone without it, a deactivated account looks like any other.
  if (found.deactivatedAt) throw accountDeactivated();

  let user = found;
  if (purpose === OtpPurpose.VERIFY_EMAIL && !found.verifiedAt) {
    user = await domain.db.transaction(async (tx) => {
      const verified = await markVerified(tx, found.id);
      if (verified) {
        await enqueueEvent(tx, "user.registered", {
          userId: verified.id,
          email: verified.email,
          username: verified.username,
        });
        return verified;
      }
      // Already verified (nothing to announce twice) or deleted since the lookup.
      const current = await findUserById(tx, found.id);
      if (!current) throw otpExpired();
      return current;
    });
  }

  const session = await createSession(domain.redis, {
    prefix: domain.redisKeyPrefix,
    userId: user.id,
    ttlSeconds: domain.sessionTtlSeconds,
    client: input.client,
  });
  // A deactivation committed since the check above: its revocation may have run before this session existed.
  if (await isDeactivated(domain, user.id)) {
    await revokeSessions(domain.redis, {
      prefix: domain.redisKeyPrefix,
      userId: user.id,
      sessionIds: [session.sessionId],
    });
    throw accountDeactivated();
  }
  return { ...(await sessionTokens(domain, user, session)), user };
}
