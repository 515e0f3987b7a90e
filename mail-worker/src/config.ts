import {
  ConfigError,
  type ConfigOf,
  common,
  int,
  invalid,
  loadConfig,
  migrations,
  oneOf,
  optionalStr,
  type Parser,
  port,
  str,
  url,
} from "@parley/shared/config.js";
import { DEFAULT_RETRY_DELAYS_MS, formatDelay } from "@parley/shared/topology.js";
import addressparser from "nodemailer/lib/addressparser";

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** "10s" → 10000 (units ms, s, m, h); NaN when it is not one. */
function parseDuration(text: string): number {
  const m = /^(\d{1,9})(ms|s|m|h)$/.exec(text.trim());
  return m ? Number(m[1]) * (UNITS[m[2] as string] ?? 0) : Number.NaN;
}

/** A comma-separated list of durations such as "10s,1m,10m" (units ms, s, m, h), in milliseconds. */
export function durations(defaultMs: readonly number[]): Parser<readonly number[]> {
  return (raw) => {
    if (raw === undefined || raw.trim() === "") return defaultMs;
    const values = raw.split(",").map(parseDuration);
    if (values.some((v) => !(v > 0))) {
      throw invalid(`must be one of <a list of durations such as 10s,1m,10m> (got "${raw}")`);
    }
    return values;
  };
}

/** One duration such as "24h" (units ms, s, m, h), in milliseconds. */
export function duration(defaultMs: number): Parser<number> {
  return (raw) => {
    if (raw === undefined || raw.trim() === "") return defaultMs;
    const value = parseDuration(raw);
    if (!(value > 0)) throw invalid(`must be a duration such as 30m or 24h (got "${raw}")`);
    return value;
  };
}

// Deliberately loose (SMTP servers differ on the finer points of RFC 5321), but strict enough to
// refuse what nodemailer would send as an empty or domain-less sender: "Parley", "<noreply>", "x@".
const MAILBOX = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:".]+(\.[^\s@<>()[\]\\,;:".]+)*$/;

/**
 * One sender address, "noreply@example.com" or "Name <noreply@example.com>",
 * judged by nodemailer's own parser because that is how every mail will read
 * it: without an address it sends no From and `MAIL FROM:<>`, a bare name in
 * angle brackets makes the server refuse every mail, and of a list it
 * silently keeps the first. Found at start-up rather than one lost mail at a time.
 */
export function senderAddress(defaultValue: string): Parser<string> {
  return (raw) => {
    const value = raw === undefined || raw.trim() === "" ? defaultValue : raw;
    const parsed = addressparser(value);
    const address = parsed.length === 1 ? parsed[0]?.address : undefined;
    if (address === undefined || !MAILBOX.test(address)) {
      throw invalid(
        `must be one email address, such as noreply@example.com or "Parley <noreply@example.com>" (got "${value}")`,
      );
    }
    return value;
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
  ...migrations,
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
  FROM_EMAIL: senderAddress("Parley <noreply@parley.local>"),
  /** Where the web app is; links in mails point here. */
  PUBLIC_URL: url({ default: "http://localhost:3000", protocols: ["http", "https"] }),
  /** The worker's own unsubscribe endpoint as users reach it; `?token=…` is appended. */
  UNSUBSCRIBE_URL: url({ default: "http://localhost:3003/unsubscribe", protocols: ["http", "https"] }),
  /** Relative to the working directory. */
  MAILBOX_DIR: str({ default: "./.mailbox" }),
  /** Seconds a user+room digest collects unread messages before it is mailed. */
  NOTIFY_DIGEST_WINDOW: int({ default: 300, min: 1, max: 86_400 }),
  /** Waits before each retry of an event that failed transiently; the last is repeated (see MAIL_RETRY_FOR). */
  MAIL_RETRY_DELAYS: durations(DEFAULT_RETRY_DELAYS_MS),
  /**
   * How long an event that keeps failing transiently (SMTP down, the
   * worker's database unreachable, a membership change not arrived yet) is
   * retried, from its first failure, before it is dead-lettered: an outage
   * shorter than this loses nothing and needs no one to replay dead letters.
   */
  MAIL_RETRY_FOR: duration(24 * 3_600_000),
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

/**
 * Rules between variables, which no single variable's parser can see; each
 * problem reads "NAME <message>" like the parsers' own.
 */
function crossProblems(env: Record<string, string | undefined>): string[] {
  const set = (name: string) => (env[name] ?? "").trim() !== "";
  const problems: string[] = [];
  // nodemailer authenticates only with both: a user alone fails every send (EAUTH), a password
  // alone is silently not used, and a server that requires authentication then refuses every mail.
  if (set("SMTP_USER") && !set("SMTP_PASSWORD")) problems.push("SMTP_PASSWORD is required when SMTP_USER is set");
  if (set("SMTP_PASSWORD") && !set("SMTP_USER")) problems.push("SMTP_USER is required when SMTP_PASSWORD is set");
  if (env.NODE_ENV === "production" && !set("SMTP_HOST")) {
    problems.push(
      "SMTP_HOST is required when NODE_ENV is production: without it no mail is sent, and every mail " +
        "(sign-in codes included) is kept in the dev mailbox, readable by anyone at GET /mailbox",
    );
  }
  return problems;
}

/** The environment as the worker runs with it; throws ConfigError naming every problem at once. */
export function readConfig(env: Record<string, string | undefined> = process.env): Config {
  const problems = crossProblems(env);
  let config: Config;
  try {
    config = loadConfig(configSpec, env);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError([...err.problems, ...problems]);
    throw err;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

export function describeDelays(ms: readonly number[]): string {
  return ms.map(formatDelay).join(",");
}
