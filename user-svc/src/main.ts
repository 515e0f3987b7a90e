import { fileURLToPath } from "node:url";
import { openServiceInfrastructure } from "@parley/shared/infrastructure.js";
import { createLogger } from "@parley/shared/logger.js";
import { runMain } from "@parley/shared/main.js";
import { topology } from "@parley/shared/topology.js";
import { startApp } from "./app.js";
import { readConfig } from "./config.js";

const NAME = "user-svc";

await runMain(NAME, async () => {
  const config = readConfig();
  const logger = createLogger(NAME, config.LOG_LEVEL);
  const infra = await openServiceInfrastructure({
    name: NAME,
    databaseUrl: config.DATABASE_URL,
    migrationsFolder: fileURLToPath(new URL("../drizzle", import.meta.url)),
    redisUrl: config.REDIS_URL,
    amqpUrl: config.RABBITMQ_URL,
    topology: topology(config.AMQP_NAMESPACE),
    logger,
  });
  let app: Awaited<ReturnType<typeof startApp>>;
  try {
    app = await startApp({ config, sql: infra.sql, redis: infra.redis, logger });
  } catch (err) {
    await infra.close();
    throw err;
  }
  logger.info(`${NAME} gRPC listening on ${config.HOST}:${app.port}`);
  return {
    logger,
    async close() {
      await app.close();
      await infra.close();
    },
  };
});
