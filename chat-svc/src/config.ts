/**
 * chat-svc configuration: the only module that reads the environment.
 */
import { type ConfigOf, common, loadConfig, port, str, url } from "@parley/shared/config.js";

export const configSpec = {
  PORT: port(50052),
  HOST: str({ default: "0.0.0.0" }),
  ...common,
  DATABASE_URL: url({
    default: "postgres://postgres@127.0.0.1:5432/parley_chat",
    protocols: ["postgres", "postgresql"],
  }),
  REDIS_URL: url({ default: "redis://127.0.0.1:6379", protocols: ["redis", "rediss"] }),
  RABBITMQ_URL: url({ default: "amqp://guest:guest@127.0.0.1:5672", protocols: ["amqp", "amqps"] }),
  // No default: a guessable signing key must never reach production by omission.
  JWT_SECRET: str({ minLength: 32 }),
  AMQP_NAMESPACE: str({ default: "parley" }),
  REDIS_KEY_PREFIX: str({ default: "parley:" }),
};

export type Config = ConfigOf<typeof configSpec>;

export function readConfig(env: Record<string, string | undefined> = process.env): Config {
  return loadConfig(configSpec, env);
}
