/**
 * The entry point both gRPC services share: config, logger, infrastructure
 * (database created and migrated, Redis, RabbitMQ, outbox relay), then the
 * app is built and listens, and the ops listener (/metrics, /livez, /readyz)
 * on METRICS_PORT; closing in the reverse order, the ops listener last so
 * that /readyz answers 503 until the end.
 */
import { fileURLToPath } from "node:url";
import { type Component, listenOrClose } from "./component.js";
import { openServiceInfrastructure, type ServiceInfrastructure } from "./infrastructure.js";
import { createLogger, type Logger } from "./logger.js";
import { runMain } from "./main.js";
import { createOpsServer } from "./ops-server.js";
import { topology } from "./topology.js";

export interface ServiceConfig {
  readonly HOST: string;
  readonly PORT: number;
  readonly METRICS_PORT: number;
  readonly SHUTDOWN_DRAIN_MS: number;
  readonly LOG_LEVEL: string;
  readonly DATABASE_URL: string;
  readonly MIGRATE_ON_START: boolean;
  readonly REDIS_URL: string;
  readonly RABBITMQ_URL: string;
  readonly AMQP_NAMESPACE: string;
}

/** A gRPC service's app: ready while its health reports SERVING; drain() turns that off for good. */
export interface GrpcApp extends Component {
  ready(): boolean;
  drain(): void;
}

export function runGrpcService<C extends ServiceConfig>(opts: {
  name: string;
  readConfig: () => C;
  /** The committed drizzle migrations, e.g. new URL("../drizzle", import.meta.url). */
  migrations: URL;
  build(deps: { config: C; logger: Logger; infra: ServiceInfrastructure }): Promise<GrpcApp>;
}): Promise<void> {
  const { name } = opts;
  return runMain(name, async () => {
    const config = opts.readConfig();
    const logger = createLogger(name, config.LOG_LEVEL);
    const infra = await openServiceInfrastructure({
      name,
      databaseUrl: config.DATABASE_URL,
      // Off: `npm run migrate` (the migration Job) has migrated the database.
      migrationsFolder: config.MIGRATE_ON_START ? fileURLToPath(opts.migrations) : undefined,
      redisUrl: config.REDIS_URL,
      amqpUrl: config.RABBITMQ_URL,
      // A publisher declares the exchanges and the worker's queue (so nothing it
      // publishes before the worker's first start is lost) but not the retry
      // queues: those are the worker's, named after its MAIL_RETRY_DELAYS.
      topology: topology(config.AMQP_NAMESPACE, { retryDelaysMs: [] }),
      logger,
    });
    let app: GrpcApp;
    let port: number;
    const ops = createOpsServer({ ready: () => app.ready(), logger });
    let opsPort: number;
    try {
      app = await opts.build({ config, logger, infra });
      port = await listenOrClose(app, { host: config.HOST, port: config.PORT });
      try {
        opsPort = await ops.listen({ host: config.HOST, port: config.METRICS_PORT });
      } catch (err) {
        await app.close();
        throw err;
      }
    } catch (err) {
      await infra.close();
      throw err;
    }
    logger.info(`${name} gRPC listening on ${config.HOST}:${port}; /metrics, /livez, /readyz on HTTP port ${opsPort}`);
    return {
      logger,
      drainMs: config.SHUTDOWN_DRAIN_MS,
      drain: () => app.drain(),
      async close() {
        await app.close();
        await infra.close();
        await ops.close();
      },
    };
  });
}
