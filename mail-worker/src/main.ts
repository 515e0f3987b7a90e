import { closeAmqp, connectAmqp } from "@parley/shared/amqp.js";
import { listenOrClose } from "@parley/shared/component.js";
import { createLogger } from "@parley/shared/logger.js";
import { runMain } from "@parley/shared/main.js";
import { closePostgres, connectPostgres } from "@parley/shared/postgres.js";
import { measurePool } from "@parley/shared/postgres-metrics.js";
import { build, workerTopology } from "./app.js";
import { describeDelays, readConfig } from "./config.js";
import { createMailTransport } from "./mailer.js";
import { prepareDatabase } from "./storage/migrate.js";

const NAME = "mail-worker";

runMain(NAME, async () => {
  const config = readConfig();
  const logger = createLogger(NAME, config.LOG_LEVEL);
  if (config.MIGRATE_ON_START) await prepareDatabase(config.DATABASE_URL);
  const sql = connectPostgres(config.DATABASE_URL, { appName: NAME });
  measurePool(sql);
  const amqp = await connectAmqp(config.RABBITMQ_URL, workerTopology(config), logger);
  const transport = await createMailTransport(config, logger);
  // Never in production: readConfig refuses to start there without SMTP_HOST.
  if (transport.mailbox) {
    logger.warn(
      { mailbox: transport.mailbox.dir },
      "SMTP_HOST is not set: no mail leaves this machine, it is written to the dev mailbox",
    );
  }
  const app = await build({ config, logger, sql, amqp, transport });
  const httpPort = await listenOrClose(app, { host: config.HOST, port: config.PORT });
  const host = config.HOST.includes(":") ? `[${config.HOST}]` : config.HOST;
  const where = transport.mailbox
    ? `mailbox ${transport.mailbox.dir} (GET http://${host}:${httpPort}/mailbox)`
    : transport.description;
  logger.info(
    `${NAME} consuming ${app.queue} (retries after ${describeDelays(config.MAIL_RETRY_DELAYS)}); ` +
      `digests every ${config.NOTIFY_DIGEST_WINDOW} s; HTTP on ${host}:${httpPort}; ${where}`,
  );
  return {
    logger,
    drainMs: config.SHUTDOWN_DRAIN_MS,
    drain: app.drain,
    async close() {
      await app.close();
      await transport.close();
      await closeAmqp(amqp, logger);
      await closePostgres(sql, logger);
    },
  };
});
