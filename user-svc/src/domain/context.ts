import type { TokenKeys } from "@parley/shared/auth.js";
import type { Authenticator } from "@parley/shared/sessions.js";
import type { Redis } from "ioredis";
import type { UsernameHolds } from "../storage/username-holds.js";
import type { Db } from "../storage/users.js";
import type { Background } from "./background.js";
import type { OtpStore } from "./otp.js";
import type { RateLimits } from "./rate-limits.js";

/** What the domain actions need; built once by app.ts. */
export interface UserDomain {
  db: Db;
  redis: Redis;
  otp: OtpStore;
  rateLimits: RateLimits;
  usernameHolds: UsernameHolds;
  /** Work done after the reply (see background.ts); drained by App.close. */
  background: Background;
  tokens: TokenKeys;
  authenticator: Authenticator;
  redisKeyPrefix: string;
  otpTtlSeconds: number;
  otpResendCooldownSeconds: number;
  accessTokenTtlSeconds: number;
  sessionTtlSeconds: number;
  /** At most one "someone tried to register with your email" mail per account in this many seconds. */
  registerNoticeIntervalSeconds: number;
}
