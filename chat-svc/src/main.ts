import { fileURLToPath } from "node:url";
import { openServiceInfrastructure } from "@parley/shared/infrastructure.js";
import { createLogger } from "@parley/shared/logger.js";
import { runMain } from "@parley/shared/main.js";
import { topology } from "@parley/shared/topology.js";
import { startApp } from "./app.js";
import { readConfig } from "./config.js";

await runMain("chat-svc", async () => {
  const config = readConfig();
  const logger = createLogger("chat-svc", config.LOG_LEVEL);
  const infra = await openServiceInfrastructure({
    name: "chat-svc",
    databaseUrl: config.DATABASE_URL,
    migrationsFolder: fileURLToPath(new URL("../drizzle", import.meta.url)),
    redisUrl: config.REDIS_URL,
    amqpUrl: config.RABBITMQ_URL,
    topology: topology(config.AMQP_NAMESPACE),
    logger,
  });
  let app: Awaited<ReturnType<typeof startApp>>;
  try {
    app = await startApp({ config, logger, sql: infra.sql, redis: infra.redis });
  } catch (err) {
    await infra.close();
    throw err;
  }
  logger.info({ host: config.HOST, port: app.port }, "chat-svc listening");
  return {
    logger,
    async close() {
      await app.close();
      await infra.close();
    },
  };
});
