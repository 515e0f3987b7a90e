import {
  type ConfigOf,
  common,
  int,
  invalid,
  loadConfig,
  oneOf,
  optionalStr,
  type Parser,
  port,
  str,
  url,
} from "@parley/shared/config.js";
import { DEFAULT_RETRY_DELAYS_MS, formatDelay } from "@parley/shared/topology.js";

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** A comma-separated list of durations such as "10s,1m,10m" (units ms, s, m, h), in milliseconds. */
export function durations(defaultMs: readonly number[]): Parser<readonly number[]> {
  return (raw) => {
    if (raw === undefined || raw.trim() === "") return defaultMs;
    const parts = raw.split(",").map((p) => p.trim());
    const values = parts.map((p) => {
      const m = /^(\d{1,9})(ms|s|m|h)$/.exec(p);
      return m ? Number(m[1]) * (UNITS[m[2] as string] ?? 0) : Number.NaN;
    });
    if (values.some((v) => !(v > 0))) {
      throw invalid(`must be one of <a list of durations such as 10s,1m,10m> (got "${raw}")`);
    }
    return values;
  };
}

export const configSpec = {
  ...common,
  PORT: port(3003),
  HOST: str({ default: "0.0.0.0" }),
  RABBITMQ_URL: url({ default: "amqp://guest:guest@127.0.0.1:5672", protocols: ["amqp", "amqps"] }),
  AMQP_NAMESPACE: str({ default: "parley" }),
  DATABASE_URL: url({
    default: "postgres://postgres@127.0.0.1:5432/parley_mail",
    protocols: ["postgres", "postgresql"],
  }),
  /** Signs unsubscribe links (a key derived from it, never the secret itself); the same secret as the other components. */
  JWT_SECRET: str({ minLength: 32 }),
  /** Unset: no SMTP at all, mail goes to the dev mailbox in MAILBOX_DIR. */
  SMTP_HOST: optionalStr(),
  SMTP_PORT: port(587),
  /** "auto": implicit TLS on port 465, otherwise STARTTLS when the server offers it. */
  SMTP_SECURE: oneOf(["auto", "true", "false"], "auto"),
  SMTP_USER: optionalStr(),
  SMTP_PASSWORD: optionalStr(),
  /** Size of the SMTP connection pool. */
  SMTP_MAX_CONNECTIONS: int({ default: 5, min: 1, max: 100 }),
  FROM_EMAIL: str({ default: "Parley <noreply@parley.local>" }),
  /** Where the web app is; links in mails point here. */
  PUBLIC_URL: url({ default: "http://localhost:3000", protocols: ["http", "https"] }),
  /** The worker's own unsubscribe endpoint as users reach it; `?token=…` is appended. */
  UNSUBSCRIBE_URL: url({ default: "http://localhost:3003/unsubscribe", protocols: ["http", "https"] }),
  /** Relative to the working directory. */
  MAILBOX_DIR: str({ default: "./.mailbox" }),
  /** Seconds a user+room digest collects unread messages before it is mailed. */
  NOTIFY_DIGEST_WINDOW: int({ default: 300, min: 1, max: 86_400 }),
  /** Waits before each retry of an event that failed transiently; after the last, it is dead-lettered. */
  MAIL_RETRY_DELAYS: durations(DEFAULT_RETRY_DELAYS_MS),
  /** Deliveries the worker handles at once. */
  MAIL_PREFETCH: int({ default: 16, min: 1, max: 1000 }),
  /**
   * Days the ids of handled events are kept, so that a redelivery is
   * recognised and not handled twice; 0 keeps them forever. Redeliveries come
   * within minutes (retries, a dropped channel), or when an operator replays
   * dead letters: keep them longer than such a replay could come.
   */
  PROCESSED_EVENTS_KEEP_DAYS: int({ default: 30, min: 0, max: 36_500 }),
};

export type Config = ConfigOf<typeof configSpec>;

export function readConfig(): Config {
  return loadConfig(configSpec, process.env);
}

export function describeDelays(ms: readonly number[]): string {
  return ms.map(formatDelay).join(",");
}
