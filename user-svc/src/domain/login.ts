/**
 * Login: checks the password and emails a login code. The password alone
 * never yields a token. An account whose email was never verified is answered
 * as an unknown one (its owner registers again, which mails a new code):
 * otherwise registering an email with a password of one's choosing, then
 * logging in with it, would tell a new email (the pending account takes that
 * password) from one that has an account (it does not); see register.ts.
 */
import { OtpPurpose } from "@parley/proto/user/v1/user_pb.js";
import { accountDeactivated, invalidCredentials } from "../errors.js";
import { startResendCooldown } from "../storage/resend-cooldown.js";
import { findUserByEmail, findUserByUsernameKey, lockUserById } from "../storage/users.js";
import type { ClientInfo } from "./client-info.js";
import type { DomainDeps } from "./deps.js";
import { normalizeEmail, usernameKey } from "./identity.js";
import { enqueueOtpMail, issueOtp } from "./otp.js";
import { verifyPassword } from "./passwords.js";
import { enforceRateLimit } from "./rate-limits.js";

export interface LoginInput {
  identifier: { kind: "email" | "username"; value: string };
  password: string;
  client: ClientInfo;
}

export async function login(domain: DomainDeps, input: LoginInput): Promise<{ otpExpiresIn: number }> {
  const { kind, value } = input.identifier;
  const normalized = kind === "email" ? normalizeEmail(value) : usernameKey(value);
  // Keyed by what was typed (normalised), not by the account it names: keying
  // by account would let an attacker learn that an email and a username belong
  // together by exhausting one and probing the other.
  await enforceRateLimit(domain, "login", { ip: input.client.ip, account: `${kind}:${normalized}` });
  const found =
    kind === "email"
      ? await findUserByEmail(domain.db, normalized)
      : await findUserByUsernameKey(domain.db, normalized);
  // Unknown, unverified and wrong password take the same path, time and answer.
  const ok = await verifyPassword(found?.passwordHash, input.password);
  if (!found?.verifiedAt || !ok) throw invalidCredentials();
  // Only to someone who knows the password, so it tells an outsider nothing.
  if (found.deactivatedAt) throw accountDeactivated();

  const email = await domain.db.transaction(async (tx) => {
    const user = await lockUserById(tx, found.id);
    if (!user || user.passwordHash !== found.passwordHash) throw invalidCredentials();
    if (user.deactivatedAt) throw accountDeactivated();
    const otp = await issueOtp(domain.otp, user.id, OtpPurpose.LOGIN);
    await enqueueOtpMail(tx, user, otp, OtpPurpose.LOGIN, domain.otpTtlSeconds);
    return user.email;
  });
  await startResendCooldown(domain.redis, {
    prefix: domain.redisKeyPrefix,
    email,
    seconds: domain.otpResendCooldownSeconds,
  });
  return { otpExpiresIn: domain.otpTtlSeconds };
}
