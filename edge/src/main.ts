import { listenOrClose } from "@parley/shared/component.js";
import { createLogger } from "@parley/shared/logger.js";
import { runMain } from "@parley/shared/main.js";
import { build } from "./app.js";
import { loadEdgeConfig } from "./config.js";

await runMain("edge", async () => {
  const config = loadEdgeConfig();
  const logger = createLogger("edge", config.LOG_LEVEL);
  const app = await build({ config, logger });
  const port = await listenOrClose(app, { host: config.HOST, port: config.PORT });
  logger.info(
    `edge listening on http://${config.HOST}:${port} (web app /, REST /api with its reference at /api/docs, Connect /parley.*, WebSocket /ws, /metrics, /livez, /readyz)`,
  );
  return { logger, drainMs: config.SHUTDOWN_DRAIN_MS, drain: app.drain, close: app.close };
});
