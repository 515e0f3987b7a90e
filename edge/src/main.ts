import { createLogger } from "@parley/shared/logger.js";
import { runMain } from "@parley/shared/main.js";
import { startApp } from "./app.js";
import { loadEdgeConfig } from "./config.js";

await runMain("edge", async () => {
  const config = loadEdgeConfig();
  const logger = createLogger("edge", config.LOG_LEVEL);
  const app = await startApp({ config, logger });
  logger.info(
    `edge listening on http://${config.HOST}:${app.port} (web app /, REST /api, Connect /parley.*, WebSocket /ws)`,
  );
  return { logger, close: app.close };
});
