/**
 * user-svc configuration: the only module that reads the environment.
 */
import {
  type ConfigOf,
  common,
  int,
  invalid,
  loadConfig,
  migrations,
  type Parser,
  port,
  str,
  url,
} from "@parley/shared/config.js";

const DAY = 24 * 60 * 60;

/** At most `points` calls per `durationSeconds` fixed window. */
export interface RateLimit {
  points: number;
  durationSeconds: number;
}

/**
 * Rate limits, each "<calls>/<seconds>" (e.g. "20/600" = 20 calls per 10 min).
 * Per IP counts the client address the edge forwards (`x-client-ip`), else the
 * TCP peer; per account counts the normalised email or username asked about,
 * whether or not an account has it.
 *
 * | variable                              | default  | why                                                       |
 * |---------------------------------------|----------|-----------------------------------------------------------|
 * | RATE_LIMIT_REGISTER_PER_IP            | 10/3600  | sign-ups from one address; each costs an argon2 hash+mail |
 * | RATE_LIMIT_REGISTER_PER_ACCOUNT       | 5/3600   | retries of one email's registration                       |
 * | RATE_LIMIT_LOGIN_PER_IP               | 20/600   | password guessing from one address                        |
 * | RATE_LIMIT_LOGIN_PER_ACCOUNT          | 10/600   | password guessing against one account from many addresses |
 * | RATE_LIMIT_VERIFY_OTP_PER_IP          | 30/600   | code guessing from one address                            |
 * | RATE_LIMIT_VERIFY_OTP_PER_ACCOUNT     | 10/600   | code guessing against one account (codes also burn at 5)  |
 * | RATE_LIMIT_RESEND_OTP_PER_IP          | 10/600   | mail bombing from one address                             |
 * | RATE_LIMIT_RESEND_OTP_PER_ACCOUNT     | 5/600    | mail bombing one inbox (also a 60 s cooldown, 10 codes/h) |
 */
export const rateLimitDefaults = {
  RATE_LIMIT_REGISTER_PER_IP: "10/3600",
  RATE_LIMIT_REGISTER_PER_ACCOUNT: "5/3600",
  RATE_LIMIT_LOGIN_PER_IP: "20/600",
  RATE_LIMIT_LOGIN_PER_ACCOUNT: "10/600",
  RATE_LIMIT_VERIFY_OTP_PER_IP: "30/600",
  RATE_LIMIT_VERIFY_OTP_PER_ACCOUNT: "10/600",
  RATE_LIMIT_RESEND_OTP_PER_IP: "10/600",
  RATE_LIMIT_RESEND_OTP_PER_ACCOUNT: "5/600",
} as const;

type RateLimitVar = keyof typeof rateLimitDefaults;

function rateLimitSpec(): Record<RateLimitVar, Parser<RateLimit>> {
  const spec = {} as Record<RateLimitVar, Parser<RateLimit>>;
  for (const [name, fallback] of Object.entries(rateLimitDefaults) as [RateLimitVar, string][]) {
    spec[name] = rateLimit(fallback);
  }
  return spec;
}

export type Config = ConfigOf<typeof configSpec>;

const RATE = /^\s*(\d{1,9})\s*\/\s*(\d{1,9})\s*$/;

function rateLimit(fallback: string): Parser<RateLimit> {
  return (value) => {
    const raw = value?.trim() ? value : fallback;
    const match = RATE.exec(raw);
    const points = Number(match?.[1]);
    const durationSeconds = Number(match?.[2]);
    if (!(points >= 1 && durationSeconds >= 1)) {
      throw invalid(`must be "<calls>/<seconds>" with both at least 1, e.g. "20/600" (got "${raw}")`);
    }
    return { points, durationSeconds };
  };
}

export const configSpec = {
  PORT: port(50051),
  HOST: str({ default: "0.0.0.0" }),
  // HTTP /metrics, /livez and /readyz (shared/ops-server.ts), on HOST.
  METRICS_PORT: port(9101),
  ...common,
  DATABASE_URL: url({
    default: "postgres://postgres@127.0.0.1:5432/parley_user",
    protocols: ["postgres", "postgresql"],
  }),
  ...migrations,
  REDIS_URL: url({ default: "redis://127.0.0.1:6379", protocols: ["redis", "rediss"] }),
  RABBITMQ_URL: url({ default: "amqp://guest:guest@127.0.0.1:5672", protocols: ["amqp", "amqps"] }),
  // No default: a guessable signing key must never reach production by omission.
  JWT_SECRET: str({ minLength: 32 }),
  OTP_EXPIRY: int({ default: 300, min: 30, max: 3600 }),
  // Seconds an account must wait between two codes before ResendOtp sends another.
  OTP_RESEND_COOLDOWN: int({ default: 60, min: 1, max: 3600 }),
  ACCESS_TOKEN_TTL: int({ default: 900, min: 30, max: DAY }),
  // At most one "someone tried to register with your email" mail per account
  // in this many seconds (register-existing.ts); the attempts are answered alike all the same.
  REGISTER_NOTICE_INTERVAL: int({ default: DAY, min: 60, max: 30 * DAY }),
  // A session (and its refresh token) ends this long after it was last refreshed.
  SESSION_TTL: int({ default: 30 * DAY, min: 60, max: 365 * DAY }),
  AMQP_NAMESPACE: str({ default: "parley" }),
  REDIS_KEY_PREFIX: str({ default: "parley:" }),
  ...rateLimitSpec(),
};

export function readConfig(env: Record<string, string | undefined> = process.env): Config {
  return loadConfig(configSpec, env);
}
