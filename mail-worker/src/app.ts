/**
 * Builds the mail worker from its dependencies: the consumer, the digest
 * scheduler and the HTTP surface. main.ts listens; tests listen on port 0.
 */
import { isAmqpConnected, type RecoveringChannelModel } from "@parley/shared/amqp.js";
import { boundedStep } from "@parley/shared/bounded-step.js";
import type { Component } from "@parley/shared/component.js";
import { within } from "@parley/shared/deadline.js";
import { createDependencyHealth, watchAmqp, watchDatabase } from "@parley/shared/dependency-health.js";
import type { Logger } from "@parley/shared/logger.js";
import type { Sql } from "@parley/shared/postgres.js";
import { type Topology, topology } from "@parley/shared/topology.js";
import type { Config } from "./config.js";
import { type ConsumerStats, DRAIN_MS, startConsumer } from "./consumer.js";
import { type SchedulerStats, startDigestScheduler } from "./digest-scheduler.js";
import type { DomainDeps } from "./domain/deps.js";
import { processEvent } from "./domain/process-event.js";
import { sendDueDigest } from "./domain/send-digest.js";
import { unsubscribe, unsubscribeTokens } from "./domain/unsubscribe.js";
import { createHttpServer } from "./http-server.js";
import type { MailTransport } from "./mailer.js";
import { createRoomOrder } from "./room-order.js";
import { createDb } from "./storage/db.js";
import { countOpenDigests, measureOpenDigests, pruneFinishedDigests } from "./storage/digests.js";
import { pruneProcessedEvents } from "./storage/ledger.js";
import { renderUnsubscribePage } from "./templates/render.js";

/** How long close() waits for mails in flight while RabbitMQ or PostgreSQL is down: they cannot be settled. */
const DRAIN_WITH_DEPENDENCY_DOWN_MS = 1_000;

/** Finished digests are kept this long (for inspection), then pruned. */
const KEEP_FINISHED_DIGESTS_DAYS = 7;

export type AppConfig = Pick<
  Config,
  | "AMQP_NAMESPACE"
  | "PUBLIC_URL"
  | "UNSUBSCRIBE_URL"
  | "JWT_SECRET"
  | "NOTIFY_DIGEST_WINDOW"
  | "MAIL_RETRY_DELAYS"
  | "MAIL_RETRY_FOR"
  | "MAIL_PREFETCH"
  | "PROCESSED_EVENTS_KEEP_DAYS"
>;

/** The topology the worker consumes, with its retry steps; main.ts connects with the same one. */
export function workerTopology(config: Pick<Config, "AMQP_NAMESPACE" | "MAIL_RETRY_DELAYS">): Topology {
  return topology(config.AMQP_NAMESPACE, { retryDelaysMs: config.MAIL_RETRY_DELAYS });
}

export interface AppDeps {
  config: AppConfig;
  logger: Logger;
  /** Migrated already (prepareDatabase). */
  sql: Sql;
  /** Connected with connectAmqp(workerTopology(config)), which declares the queues used here. */
  amqp: RecoveringChannelModel;
  transport: MailTransport;
  /** How often the digest scheduler looks for due digests when none was due. Default: a fifth of the window, 100 ms to 1 s. */
  digestPollMs?: number;
  /** Digests mailed at once by this instance. */
  digestConcurrency?: number;
}

export interface App extends Component {
  /** The queue consumed. */
  queue: string;
  /** Deliveries settled and digests mailed so far (also in GET /healthz). */
  stats(): ConsumerStats & SchedulerStats;
  /** Shutdown has begun: /readyz answers 503 from now on (the worker goes on consuming until close()). */
  drain(): void;
  /** Stops consuming and scheduling, waits for in-flight work, closes the channel and the HTTP server. The deps stay open. */
  close(): Promise<void>;
}

export async function build(deps: AppDeps): Promise<App> {
  const { config, logger, transport } = deps;
  const topo = workerTopology(config);
  const db = createDb(deps.sql);
  measureOpenDigests(db);
  const ctx = { publicUrl: config.PUBLIC_URL.replace(/\/+$/, "") };
  const tokens = unsubscribeTokens(config.JWT_SECRET);
  const unsubscribeUrl = (userId: string) => {
    const url = new URL(config.UNSUBSCRIBE_URL);
    url.searchParams.set("token", tokens.sign(userId));
    return url.toString();
  };

  const domain: DomainDeps = {
    db,
    transport,
    ctx,
    windowSeconds: config.NOTIFY_DIGEST_WINDOW,
    retryDelaysMs: config.MAIL_RETRY_DELAYS,
    unsubscribeUrl,
  };

  const inRoomOrder = createRoomOrder();
  const consumer = startConsumer({
    amqp: deps.amqp,
    topology: topo,
    logger,
    prefetch: config.MAIL_PREFETCH,
    retryForMs: config.MAIL_RETRY_FOR,
    handle: (event, log) => inRoomOrder(event, () => processEvent(domain, event, log)),
  });
  const scheduler = startDigestScheduler({
    sendDue: () => sendDueDigest(domain, logger),
    prune: async () => ({
      digests: await pruneFinishedDigests(db, KEEP_FINISHED_DIGESTS_DAYS),
      processedEvents: await pruneProcessedEvents(db, config.PROCESSED_EVENTS_KEEP_DAYS),
    }),
    logger,
    pollMs: deps.digestPollMs ?? Math.min(1_000, Math.max(100, (config.NOTIFY_DIGEST_WINDOW * 1000) / 5)),
    concurrency: deps.digestConcurrency ?? 4,
  });
  const stats = () => {
    const c = consumer.stats();
    const s = scheduler.stats();
    return { ...c, ...s, mailsSent: c.mailsSent + s.digestsSent };
  };

  const openDigests = async (): Promise<number | null> =>
    (await within(countOpenDigests(db), 1_000).catch(() => undefined)) ?? null;
  // What the worker needs to do its work (see dependency-health.ts): not the SMTP server.
  const dependencies = createDependencyHealth({ logger, needs: ["rabbitmq", "postgres"] });
  watchAmqp(dependencies, deps.amqp, isAmqpConnected(deps.amqp));
  watchDatabase(dependencies, deps.sql);

  let draining = false;
  const http = createHttpServer({
    mailbox: transport.mailbox,
    ready: () => consumer.consuming() && dependencies.serving && !draining,
    health: async () => ({
      // Healthy: consuming, with the database it checks every event against.
      healthy: consumer.consuming() && dependencies.serving,
      status: !dependencies.serving ? "dependency down" : consumer.consuming() ? "ok" : "not consuming",
      consuming: consumer.consuming(),
      dependencies: dependencies.report(),
      transport: transport.description,
      ...stats(),
      // Null when the database does not answer (at once, or within a second: a probe must not hang).
      openDigests: dependencies.report().postgres === "up" ? await openDigests() : null,
    }),
    isUnsubscribeToken: (token) => tokens.verify(token) !== undefined,
    async unsubscribe(token) {
      const userId = tokens.verify(token);
      if (!userId) return false;
      const known = await unsubscribe(db, userId);
      logger.info({ userId, known }, "unsubscribed from notification mail");
      // An unknown user gets no notification mail anyway: the link did what it promised.
      return true;
    },
    unsubscribePage: (page) => renderUnsubscribePage(page, ctx.publicUrl),
    logger,
  });
  let closing: Promise<void> | undefined;
  return {
    listen: http.listen,
    queue: topo.mailQueue,
    stats,
    drain() {
      draining = true;
    },
    close() {
      closing ??= (async () => {
        // Work in flight is waited for (a while) only if what it waits on is there to answer.
        const drainMs = dependencies.serving ? DRAIN_MS : DRAIN_WITH_DEPENDENCY_DOWN_MS;
        dependencies.close();
        await Promise.all([
          consumer.close({ drainMs }),
          // A digest being mailed waits on PostgreSQL and SMTP: bounded like the consumer's mails in flight.
          boundedStep(logger, "digests being mailed", drainMs, scheduler.close()),
        ]);
        await http.close();
      })();
      return closing;
    },
  };
}
