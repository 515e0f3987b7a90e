import type { RecoveringChannelModel } from "@parley/shared/amqp.js";
import type { Logger } from "@parley/shared/logger.js";
import type { Sql } from "@parley/shared/postgres.js";
import { topology } from "@parley/shared/topology.js";
import type { Config } from "./config.js";
import { type ConsumerStats, startConsumer } from "./consumer.js";
import { processEvent } from "./domain/process-event.js";
import { startHttpServer } from "./http-server.js";
import type { MailTransport } from "./mailer.js";
import { createDb } from "./storage/db.js";

export interface AppDeps {
  config: Pick<Config, "HOST" | "PORT" | "AMQP_NAMESPACE" | "PUBLIC_URL">;
  logger: Logger;
  /** Migrated already (prepareDatabase). */
  sql: Sql;
  /** Connected with connectAmqp, which declares the queue consumed here. */
  amqp: RecoveringChannelModel;
  transport: MailTransport;
  /** Tuning; tests shorten the retry delays. */
  prefetch?: number;
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
}

export interface App {
  httpPort: number;
  /** The queue consumed. */
  queue: string;
  /** Deliveries settled so far, by how (also in GET /healthz). */
  stats(): ConsumerStats;
  /** Stops consuming, waits for in-flight events, closes the channel and the HTTP server. The deps stay open. */
  close(): Promise<void>;
}

export async function startApp(deps: AppDeps): Promise<App> {
  const { config, logger, transport } = deps;
  const queue = topology(config.AMQP_NAMESPACE).mailQueue;
  const db = createDb(deps.sql);
  const ctx = { publicUrl: config.PUBLIC_URL.replace(/\/+$/, "") };
  const consumer = startConsumer({
    amqp: deps.amqp,
    queue,
    logger,
    prefetch: deps.prefetch ?? 16,
    retryDelayMs: deps.retryDelayMs ?? 2_000,
    maxRetryDelayMs: deps.maxRetryDelayMs ?? 60_000,
    handle: (event, log) => processEvent({ db, transport, ctx }, event, log),
  });
  let http: Awaited<ReturnType<typeof startHttpServer>>;
  try {
    http = await startHttpServer({
      host: config.HOST,
      port: config.PORT,
      mailbox: transport.mailbox,
      health: () => ({ consuming: consumer.consuming(), transport: transport.description, ...consumer.stats() }),
      logger,
    });
  } catch (err) {
    await consumer.close();
    throw err;
  }
  return {
    httpPort: http.port,
    queue,
    stats: consumer.stats,
    async close() {
      await consumer.close();
      await http.close();
    },
  };
}
