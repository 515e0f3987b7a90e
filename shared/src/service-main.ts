/**
 * The entry point both gRPC services share: config, logger, infrastructure
 * (database created and migrated, Redis, RabbitMQ, outbox relay), then the
 * app is built and listens; closing in the reverse order.
 */
import { fileURLToPath } from "node:url";
import { type Component, listenOrClose } from "./component.js";
import { openServiceInfrastructure, type ServiceInfrastructure } from "./infrastructure.js";
import { createLogger, type Logger } from "./logger.js";
import { runMain } from "./main.js";
import { topology } from "./topology.js";

export interface ServiceConfig {
  readonly HOST: string;
  readonly PORT: number;
  readonly LOG_LEVEL: string;
  readonly DATABASE_URL: string;
  readonly REDIS_URL: string;
  readonly RABBITMQ_URL: string;
  readonly AMQP_NAMESPACE: string;
}

export function runGrpcService<C extends ServiceConfig>(opts: {
  name: string;
  readConfig: () => C;
  /** The committed drizzle migrations, e.g. new URL("../drizzle", import.meta.url). */
  migrations: URL;
  build(deps: { config: C; logger: Logger; infra: ServiceInfrastructure }): Promise<Component>;
}): Promise<void> {
  const { name } = opts;
  return runMain(name, async () => {
    const config = opts.readConfig();
    const logger = createLogger(name, config.LOG_LEVEL);
    const infra = await openServiceInfrastructure({
      name,
      databaseUrl: config.DATABASE_URL,
      migrationsFolder: fileURLToPath(opts.migrations),
      redisUrl: config.REDIS_URL,
      amqpUrl: config.RABBITMQ_URL,
      // A publisher declares the exchanges and the worker's queue (so nothing it
      // publishes before the worker's first start is lost) but not the retry
      // queues: those are the worker's, named after its MAIL_RETRY_DELAYS.
      topology: topology(config.AMQP_NAMESPACE, { retryDelaysMs: [] }),
      logger,
    });
    let app: Component;
    let port: number;
    try {
      app = await opts.build({ config, logger, infra });
      port = await listenOrClose(app, { host: config.HOST, port: config.PORT });
    } catch (err) {
      await infra.close();
      throw err;
    }
    logger.info(`${name} gRPC listening on ${config.HOST}:${port}`);
    return {
      logger,
      async close() {
        await app.close();
        await infra.close();
      },
    };
  });
}
