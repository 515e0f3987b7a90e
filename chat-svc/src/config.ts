/**
 * chat-svc configuration: the only module that reads the environment.
 */
import { type ConfigOf, common, int, loadConfig, migrations, port, str, url } from "@parley/shared/config.js";

export const configSpec = {
  PORT: port(50052),
  HOST: str({ default: "0.0.0.0" }),
  // HTTP /metrics, /livez and /readyz (shared/ops-server.ts), on HOST.
  METRICS_PORT: port(9102),
  ...common,
  DATABASE_URL: url({
    default: "postgres://postgres@127.0.0.1:5432/parley_chat",
    protocols: ["postgres", "postgresql"],
  }),
  ...migrations,
  REDIS_URL: url({ default: "redis://127.0.0.1:6379", protocols: ["redis", "rediss"] }),
  RABBITMQ_URL: url({ default: "amqp://guest:guest@127.0.0.1:5672", protocols: ["amqp", "amqps"] }),
  // No default: a guessable signing key must never reach production by omission.
  JWT_SECRET: str({ minLength: 32 }),
  AMQP_NAMESPACE: str({ default: "parley" }),
  REDIS_KEY_PREFIX: str({ default: "parley:" }),
  // How long room events are kept for ListEvents; 0 keeps them forever.
  EVENT_RETENTION_DAYS: int({ default: 0, min: 0, max: 36_500 }),
  // How often each instance purges events older than the retention.
  EVENT_CLEANUP_INTERVAL_SECONDS: int({ default: 3_600, min: 1 }),
  // How long a socket counts as live without being re-announced by its edge
  // (the edge re-announces every 30 s, so three announcements may be missed).
  PRESENCE_TTL_SECONDS: int({ default: 90, min: 1 }),
  // Sends written in one transaction at most.
  SEND_BATCH_MAX: int({ default: 256, min: 1, max: 5_000 }),
  // Lanes writing batches side by side, rooms split between them by id (each
  // holds a database connection). One lane gives the largest batches, and
  // the least CPU per message, on a small machine.
  SEND_BATCH_CONCURRENCY: int({ default: 1, min: 1, max: 64 }),
  // How long a batch waits for more sends; 0: only for the current event loop turn.
  SEND_BATCH_LINGER_MS: int({ default: 0, min: 0, max: 100 }),
  // Asked about users the directory has not heard of (see domain/user-directory.ts).
  USER_SVC_URL: url({ default: "http://127.0.0.1:50051", protocols: ["http", "https"] }),
  // Users one caller may name per minute in CreateRoom, AddMembers and
  // OpenDirectRoom together; at least 100, what one call may name.
  MEMBER_ADDS_PER_MINUTE: int({ default: 300, min: 100, max: 100_000 }),
  // Each user's budget per action, whichever door and instance a call
  // reaches (domain/action-budgets.ts): actions a second, sustained, and at
  // once. Sends match the edge's per-socket pace (WS_SEND_RATE, _BURST), so
  // a user's sockets together send as fast as one may; the bench sends 12 a
  // second per user at its top ingest step.
  USER_SEND_RATE: int({ default: 20, min: 1, max: 1_000_000 }),
  USER_SEND_BURST: int({ default: 40, min: 1, max: 1_000_000 }),
  // Edits and deletions.
  USER_EDIT_RATE: int({ default: 10, min: 1, max: 1_000_000 }),
  USER_EDIT_BURST: int({ default: 30, min: 1, max: 1_000_000 }),
  // Adding and removing reactions.
  USER_REACT_RATE: int({ default: 10, min: 1, max: 1_000_000 }),
  USER_REACT_BURST: int({ default: 30, min: 1, max: 1_000_000 }),
  // Read markers: a client coming back may mark many rooms read at once.
  USER_READ_RATE: int({ default: 20, min: 1, max: 1_000_000 }),
  USER_READ_BURST: int({ default: 100, min: 1, max: 1_000_000 }),
  // Different reactions on one message, and by one user on one message.
  MAX_REACTIONS_PER_MESSAGE: int({ default: 20, min: 1, max: 1_000 }),
  MAX_REACTIONS_PER_USER: int({ default: 10, min: 1, max: 1_000 }),
};

export type Config = ConfigOf<typeof configSpec>;

export function readConfig(env: Record<string, string | undefined> = process.env): Config {
  return loadConfig(configSpec, env);
}
