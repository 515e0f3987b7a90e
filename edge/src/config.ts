import { type ConfigOf, common, int, loadConfig, optionalStr, port, str, url } from "@parley/shared/config.js";

export const configSpec = {
  ...common,
  PORT: port(3000),
  HOST: str({ default: "0.0.0.0" }),
  USER_SVC_URL: url({ default: "http://127.0.0.1:50051", protocols: ["http", "https"] }),
  CHAT_SVC_URL: url({ default: "http://127.0.0.1:50052", protocols: ["http", "https"] }),
  // Only to mint the edge's own service token; user tokens are verified by the services.
  JWT_SECRET: str({ minLength: 32 }),
  WS_MAX_BUFFERED_BYTES: int({ default: 1024 * 1024, min: 1024 }),
  // Comma-separated browser origins allowed to call the edge; unset allows any origin outside production.
  CORS_ORIGINS: optionalStr(),
};

export type EdgeConfig = ConfigOf<typeof configSpec>;

export function loadEdgeConfig(env: Record<string, string | undefined> = process.env): EdgeConfig {
  return loadConfig(configSpec, env);
}
