/**
 * user-svc's error catalogue. Each reason is part of the API: clients branch
 * on it, so a reason is never renamed or reused for something else.
 */
import { appError, Code, inAbout } from "@parley/shared/errors.js";

export type WeakPasswordRule = "common" | "matches_identity" | "repetitive";

const WEAK_BECAUSE: Record<WeakPasswordRule, string> = {
  common: "it is one of the most used passwords",
  matches_identity: "it contains the username or the name in the email address",
  repetitive: "it repeats a short pattern",
};

export function weakPassword(rule: WeakPasswordRule) {
  return appError(
    Code.InvalidArgument,
    "WEAK_PASSWORD",
    `password: the password is too easy to guess (${WEAK_BECAUSE[rule]})`,
    { password: rule },
  );
}

export function usernameTaken() {
  return appError(Code.AlreadyExists, "USERNAME_TAKEN", "username: this username is taken");
}

/** One message for an unknown account and a wrong password, so neither is distinguishable. */
export function invalidCredentials() {
  return appError(Code.Unauthenticated, "INVALID_CREDENTIALS", "the account or password is incorrect");
}

export function otpInvalid(remainingAttempts: number) {
  return appError(Code.InvalidArgument, "OTP_INVALID", "otp: the code is incorrect", {
    remainingAttempts: String(remainingAttempts),
  });
}

/** Also the answer for an unknown email, so VerifyOtp does not reveal which emails have accounts. */
export function otpExpired() {
  return appError(Code.FailedPrecondition, "OTP_EXPIRED", "no code is pending for this account; request a new one");
}

export function otpLocked() {
  return appError(Code.ResourceExhausted, "OTP_LOCKED", "too many incorrect codes; request a new one");
}

export function otpRateLimited(retryAfterSeconds: number) {
  return appError(
    Code.ResourceExhausted,
    "OTP_RATE_LIMITED",
    `too many codes requested; try again ${inAbout(retryAfterSeconds)}`,
    {
      retryAfterSeconds: String(retryAfterSeconds),
    },
  );
}

export function userNotFound(message = "the account no longer exists") {
  return appError(Code.NotFound, "USER_NOT_FOUND", message);
}

/** A call presented a service token (the edge's) that does not verify: expired, or signed with another JWT_SECRET. */
export function serviceTokenInvalid() {
  return appError(Code.Unauthenticated, "SERVICE_TOKEN_INVALID", "the service token is invalid or has expired");
}

/** Same shape as proto validation's errors (shared/validation.ts): the field is named in the message and metadata. */
function fieldInvalid(field: string, message: string) {
  return appError(Code.InvalidArgument, "INVALID_ARGUMENT", `${field}: ${message}`, { [field]: message });
}

export function avatarUrlScheme() {
  return fieldInvalid("avatar_url", "must be an https URL, or empty for no avatar");
}

export function invalidDisplayName(message: string) {
  return fieldInvalid("display_name", message);
}

export function otpResendCooldown(retryAfterSeconds: number) {
  return appError(
    Code.ResourceExhausted,
    "OTP_RESEND_COOLDOWN",
    `a code was sent moments ago; ask again ${inAbout(retryAfterSeconds)}`,
    {
      retryAfterSeconds: String(retryAfterSeconds),
    },
  );
}

/** Unknown, expired or revoked: the client must sign in again. */
export function refreshTokenInvalid() {
  return appError(Code.Unauthenticated, "REFRESH_TOKEN_INVALID", "the refresh token is not valid; sign in again");
}

/** An already-rotated token came back: someone holds a copy, so the whole session was ended. */
export function refreshTokenReused() {
  return appError(
    Code.Unauthenticated,
    "REFRESH_TOKEN_REUSED",
    "the refresh token was already used; the session has been ended, sign in again",
  );
}

/**
 * An operator deactivated the account. PERMISSION_DENIED, not
 * FAILED_PRECONDITION: the caller proved who they are (a right password, code
 * or refresh token) and is refused anyway, by a decision only an operator can
 * undo; nothing the client can fix and retry (REST 403).
 */
export function accountDeactivated() {
  return appError(
    Code.PermissionDenied,
    "ACCOUNT_DEACTIVATED",
    "this account has been deactivated; an administrator can reactivate it",
  );
}
