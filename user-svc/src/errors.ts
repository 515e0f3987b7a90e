/**
 * user-svc's error catalogue. Each reason is part of the API: clients branch
 * on it, so a reason is never renamed or reused for something else.
 */
import { appError, Code } from "@parley/shared/errors.js";

export type WeakPasswordRule = "common" | "matches_identity" | "repetitive";

export function weakPassword(rule: WeakPasswordRule) {
  return appError(Code.InvalidArgument, "WEAK_PASSWORD", "password: the password is too easy to guess", {
    password: rule,
  });
}

export function emailTaken() {
  return appError(Code.AlreadyExists, "EMAIL_TAKEN", "email: an account with this email already exists");
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
  return appError(Code.ResourceExhausted, "OTP_RATE_LIMITED", "too many codes requested; try again later", {
    retryAfterSeconds: String(retryAfterSeconds),
  });
}

export function userNotFound() {
  return appError(Code.NotFound, "USER_NOT_FOUND", "the account no longer exists");
}
