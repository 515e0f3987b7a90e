import { type ConfigOf, common, loadConfig, oneOf, optionalStr, port, str, url } from "@parley/shared/config.js";

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
  /** Unset: no SMTP at all, mail goes to the dev mailbox in MAILBOX_DIR. */
  SMTP_HOST: optionalStr(),
  SMTP_PORT: port(587),
  /** "auto": implicit TLS on port 465, otherwise STARTTLS when the server offers it. */
  SMTP_SECURE: oneOf(["auto", "true", "false"], "auto"),
  SMTP_USER: optionalStr(),
  SMTP_PASSWORD: optionalStr(),
  FROM_EMAIL: str({ default: "Parley <noreply@parley.local>" }),
  /** Where the web app is; links in mails point here. */
  PUBLIC_URL: url({ default: "http://localhost:3000", protocols: ["http", "https"] }),
  /** Relative to the working directory. */
  MAILBOX_DIR: str({ default: "./.mailbox" }),
};

export type Config = ConfigOf<typeof configSpec>;

export function readConfig(): Config {
  return loadConfig(configSpec, process.env);
}
