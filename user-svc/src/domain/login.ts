/**
 * Login: checks the password and emails a code (login for verified accounts,
 * verify_email for accounts that never confirmed their email). The password
 * alone never yields a token.
 */
import { OtpPurpose } from "@parley/proto/user/v1/user_pb.js";
import { invalidCredentials } from "../errors.js";
import { findUserByEmail, findUserByUsernameKey, lockUserById, touchPendingUser } from "../storage/users.js";
import type { ClientInfo } from "./client-info.js";
import type { UserDomain } from "./context.js";
import { normalizeEmail, usernameKey } from "./identity.js";
import { enqueueOtpMail } from "./otp.js";
import { verifyPassword } from "./passwords.js";
import { startResendCooldown } from "./resend-cooldown.js";

export interface LoginInput {
  identifier: { kind: "email" | "username"; value: string };
  password: string;
  client: ClientInfo;
}

export async function login(domain: UserDomain, input: LoginInput): Promise<{ otpExpiresIn: number }> {
  const { kind, value } = input.identifier;
  const normalized = kind === "email" ? normalizeEmail(value) : usernameKey(value);
  // Keyed by what was typed (normalised), not by the account it names: keying
  // by account would let an attacker learn that an email and a username belong
  // together by exhausting one and probing the other.
  await domain.rateLimits.consume("login", { ip: input.client.ip, account: `${kind}:${normalized}` });
  const found =
    kind === "email"
      ? await findUserByEmail(domain.db, normalized)
      : await findUserByUsernameKey(domain.db, normalized);
  // Unknown account and wrong password take the same path, time and answer.
  const ok = await verifyPassword(found?.passwordHash, input.password);
  if (!found || !ok) throw invalidCredentials();

  const email = await domain.db.transaction(async (tx) => {
    const user = await lockUserById(tx, found.id);
    // Replaced by a takeover between the check and here: its password is gone too.
    if (!user || user.passwordHash !== found.passwordHash) throw invalidCredentials();
    const purpose = user.verifiedAt ? OtpPurpose.LOGIN : OtpPurpose.VERIFY_EMAIL;
    // A fresh verify_email code renews an unverified account's hold on its username.
    if (!user.verifiedAt) await touchPendingUser(tx, user.id);
    const otp = await domain.otp.issue(user.id, purpose);
    await enqueueOtpMail(tx, user, otp, purpose, domain.otpTtlSeconds);
    return user.email;
  });
  await startResendCooldown(domain.redis, {
    prefix: domain.redisKeyPrefix,
    email,
    seconds: domain.otpResendCooldownSeconds,
  });
  return { otpExpiresIn: domain.otpTtlSeconds };
}
