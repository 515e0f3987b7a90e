/**
 * VerifyOtp: exchanges a pending code for a session and an access token. The
 * first successful verify_email code marks the email verified and announces
 * the new account (user.registered) in the same transaction.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { OtpPurpose, type VerifyOtpResponseSchema } from "@parley/proto/user/v1/user_pb.js";
import { enqueueEvent } from "@parley/shared/outbox.js";
import { otpExpired, otpInvalid, otpLocked } from "../errors.js";
import { findUserByEmail, findUserById, markVerified } from "../storage/users.js";
import type { UserDomain } from "./context.js";
import { normalizeEmail } from "./identity.js";
import { createSession } from "./sessions.js";
import { userMessage } from "./user-message.js";

export interface VerifyOtpInput {
  email: string;
  otp: string;
  purpose: OtpPurpose;
}

export async function verifyOtp(
  domain: UserDomain,
  input: VerifyOtpInput,
): Promise<MessageInitShape<typeof VerifyOtpResponseSchema>> {
  const found = await findUserByEmail(domain.db, normalizeEmail(input.email));
  if (!found) throw otpExpired();
  const purpose =
    input.purpose !== OtpPurpose.UNSPECIFIED
      ? input.purpose
      : found.verifiedAt
        ? OtpPurpose.LOGIN
        : OtpPurpose.VERIFY_EMAIL;

  const result = await domain.otp.check(found.id, purpose, input.otp);
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

  const sessionId = await createSession(domain.redis, {
    prefix: domain.redisKeyPrefix,
    userId: user.id,
    ttlSeconds: domain.sessionTtlSeconds,
  });
  const accessToken = await domain.tokens.issueAccess(
    { userId: user.id, sessionId, username: user.username },
    domain.accessTokenTtlSeconds,
  );
  return { accessToken, expiresIn: domain.accessTokenTtlSeconds, user: userMessage(user) };
}
