/**
 * The AMQP side of the worker: consumes the mail queue with manual acks and
 * bounded prefetch on a confirm channel, decodes each delivery, hands it to
 * the domain, and settles it by the outcome:
 *  - ack;
 *  - retry: a copy goes to the next retry queue (it comes back after that
 *    step's delay) with the attempt count; past the last step, to the last
 *    one again, until it has been failing for `retryForMs`, and then to the
 *    dead-letter queue;
 *  - dead-letter: a copy goes to the dead-letter queue with the reason.
 * A copy is acknowledged by the original only once the broker confirmed it,
 * so a failure at any point leaves the delivery unacked, and the broker
 * hands it out again. The channel is reopened whenever it or the connection
 * is lost.
 */

import { randomUUID } from "node:crypto";
import type { RecoveringChannelModel } from "@parley/shared/amqp.js";
import { createBackoff } from "@parley/shared/backoff.js";
import { boundedStep } from "@parley/shared/bounded-step.js";
import type { Logger } from "@parley/shared/logger.js";
import { counter } from "@parley/shared/metrics.js";
import { createStopSignal } from "@parley/shared/stop-signal.js";
import { HEADERS, type Topology } from "@parley/shared/topology.js";
import type { ConfirmChannel, ConsumeMessage, Message, Options } from "amqplib";
import type { MailEvent, Outcome } from "./domain/mail-event.js";
import { decodeDelivery, routingKeyOf } from "./event-decoder.js";

/**
 * A delivery handed out this often without being settled killed or stalled
 * its consumer each time (a "poison" message): it is dead-lettered unhandled,
 * so it cannot block the queue. Quorum queues count the deliveries.
 */
export const MAX_UNSETTLED_DELIVERIES = 10;

const MAX_REASON_CHARS = 1_000;

/** How long close() waits for the broker's answer to a cancel or a channel close. */
const BROKER_STEP_MS = 500;

/** How long close() waits for the deliveries in flight to be mailed and settled, by default. */
export const DRAIN_MS = 8_000;
const deliveries = counter({
  name: "parley_mail_deliveries_total",
  help: "Deliveries the mail worker took from its queue (redeliveries included)",
});
const settled = counter<"outcome">({
  name: "parley_mail_deliveries_settled_total",
  help: "Deliveries settled, by how: ack, retry (a copy to a retry queue), dead_letter, or requeued (the copy could not be published)",
  labelNames: ["outcome"],
});
const settledAck = settled.labels("ack");
const settledRetry = settled.labels("retry");
const settledDead = settled.labels("dead_letter");
const settledRequeued = settled.labels("requeued");

export interface ConsumerOptions {
  amqp: RecoveringChannelModel;
  topology: Topology;
  logger: Logger;
  handle: (event: MailEvent, log: Logger) => Promise<Outcome>;
  /** Deliveries in flight at once. */
  prefetch: number;
  /** How long after its first failure an event that keeps failing transiently is still retried. */
  retryForMs: number;
}

export interface ConsumerStats {
  /** Being handled right now. */
  inFlight: number;
  acked: number;
  deadLettered: number;
  /** Sent to a retry queue. */
  retried: number;
  /** Mails sent (and recorded) while handling events. */
  mailsSent: number;
  /** Deliveries handed back unsettled because their copy could not be published. */
  settleFailures: number;
}

export interface Consumer {
  /** True while a consumer is registered with the broker. */
  consuming(): boolean;
  /** Deliveries settled since start, by how. */
  stats(): ConsumerStats;
  /**
   * Stops taking deliveries, lets the in-flight ones finish (for at most
   * `drainMs`, DRAIN_MS by default), closes the channel.
   */
  close(opts?: { drainMs?: number }): Promise<void>;
}

export function startConsumer(opts: ConsumerOptions): Consumer {
  const { amqp, topology, logger } = opts;
  const queue = topology.mailQueue;
  const stop = createStopSignal();
  let active: { ch: ConfirmChannel; tag: string } | undefined;
  const inFlight = new Set<Promise<void>>();
  const counts = { acked: 0, deadLettered: 0, retried: 0, mailsSent: 0, settleFailures: 0 };

  async function open(): Promise<void> {
    const backoff = createBackoff(stop, { firstMs: 250, maxMs: 10_000 });
    while (!stop.stopped) {
      let ch: ConfirmChannel | undefined;
      try {
        ch = await amqp.createConfirmChannel(); // waits while the connection is down
        const opened = ch;
        let closed = false;
        opened.on("error", (err: Error) => logger.warn({ err: err.message }, "mail channel error"));
        opened.on("close", () => {
          closed = true;
          lost(opened, "mail channel closed");
        });
        await opened.prefetch(opts.prefetch);
        const { consumerTag } = await opened.consume(queue, (msg) => deliver(opened, msg), { noAck: false });
        if (stop.stopped) {
          await opened.close().catch(() => {});
          return;
        }
        // Closed in the same burst of frames that confirmed the consumer: lost() saw no active channel.
        if (closed) throw new Error("the channel closed as consuming started");
        active = { ch: opened, tag: consumerTag };
        logger.info({ queue, prefetch: opts.prefetch }, "consuming");
        return;
      } catch (err) {
        await ch?.close().catch(() => {});
        if (stop.stopped) return;
        logger.warn({ err, attempt: backoff.failures }, "could not start consuming; retrying");
        await backoff.wait();
      }
    }
  }

  function lost(ch: ConfirmChannel, why: string): void {
    if (active?.ch !== ch) return;
    active = undefined;
    if (stop.stopped) return;
    logger.warn(`${why}; reopening`);
    void open();
  }

  function deliver(ch: ConfirmChannel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // The broker cancelled us (e.g. the queue was deleted); consume anew on a fresh channel.
      lost(ch, "consumer cancelled by the broker");
      ch.close().catch(() => {});
      return;
    }
    deliveries.inc();
    const task = settle(ch, msg).finally(() => inFlight.delete(task));
    inFlight.add(task);
  }

  async function decide(msg: ConsumeMessage, log: Logger): Promise<Outcome> {
    const deliveries = Number(msg.properties.headers?.["x-delivery-count"] ?? 0);
    if (deliveries >= MAX_UNSETTLED_DELIVERIES) {
      return {
        action: "dead-letter",
        reason: `delivered ${deliveries + 1} times without being settled: handling it keeps killing or stalling the worker`,
      };
    }
    const decoded = decodeDelivery(msg);
    if (!decoded.ok) return { action: "dead-letter", reason: decoded.reason };
    try {
      return await opts.handle(decoded.event, log);
    } catch (err) {
      log.error({ err }, "handling the event failed unexpectedly");
      return { action: "retry", reason: err instanceof Error ? err.message : String(err) };
    }
  }

  async function settle(ch: ConfirmChannel, msg: ConsumeMessage): Promise<void> {
    const routingKey = routingKeyOf(msg);
    const eventId: unknown = msg.properties.messageId;
    const log = logger.child({ eventId, routingKey });
    const outcome = await decide(msg, log);
    if (outcome.action === "ack" && outcome.mails > 0) counts.mailsSent += outcome.mails;
    try {
      switch (outcome.action) {
        case "ack":
          log.info({ result: outcome.result, mails: outcome.mails }, "event handled");
          ch.ack(msg);
          counts.acked++;
          settledAck.inc();
          return;
        case "dead-letter":
          await deadLetter(ch, msg, outcome.reason, log);
          return;
        case "retry": {
          const attempt = attemptOf(msg);
          const now = Date.now();
          const firstFailedAt = firstFailureOf(msg) ?? now;
          const ladder = topology.mailRetryQueues;
          const step = ladder[Math.min(attempt, ladder.length - 1)];
          // An outage (SMTP, the worker's database) outlasting the ladder is
          // waited out rather than dead-lettered: events after a dead-lettered
          // room.members would wait on it forever, and replaying dead letters
          // is a person's job.
          if (!step || (attempt >= ladder.length && now - firstFailedAt >= opts.retryForMs)) {
            const over = Math.round((now - firstFailedAt) / 1000);
            await deadLetter(ch, msg, `gave up after ${attempt + 1} attempts over ${over} s: ${outcome.reason}`, log);
            return;
          }
          await publishCopy(ch, step.name, msg, {
            [HEADERS.attempt]: attempt + 1,
            [HEADERS.firstFailedAt]: firstFailedAt,
            [HEADERS.reason]: truncate(outcome.reason),
          });
          ch.ack(msg);
          counts.retried++;
          settledRetry.inc();
          log.warn(
            { reason: outcome.reason, attempt: attempt + 1, delayMs: step.delayMs },
            "event failed; retrying after a delay",
          );
          return;
        }
      }
    } catch (err) {
      // Nothing acknowledged: the delivery stays with the broker, which hands it out again
      // (at once if the channel is gone; otherwise after this nack, a moment from now).
      counts.settleFailures++;
      settledRequeued.inc();
      log.warn({ err, action: outcome.action }, "could not settle the delivery; it will be redelivered");
      if (!stop.stopped) await stop.sleep(1_000);
      try {
        ch.nack(msg, false, true);
      } catch {
        // The channel is gone; the broker requeued the delivery already.
      }
    }
  }

  async function deadLetter(ch: ConfirmChannel, msg: ConsumeMessage, reason: string, log: Logger): Promise<void> {
    await publishCopy(ch, topology.mailDeadQueue, msg, {
      [HEADERS.reason]: truncate(reason),
      [HEADERS.failedAt]: new Date().toISOString(),
    });
    ch.ack(msg);
    counts.deadLettered++;
    settledDead.inc();
    log.error({ reason }, "event dead-lettered");
  }

  void open();

  return {
    consuming: () => active !== undefined,
    stats: () => ({ inFlight: inFlight.size, ...counts }),
    // Bounded where it waits on the broker, which may have gone silent, and
    // on the mails in flight: abandoned ones were never acknowledged, and
    // the broker hands them out again.
    async close({ drainMs = DRAIN_MS } = {}) {
      stop.stop();
      const current = active;
      if (current) {
        await boundedStep(logger, "cancelling the mail consumer", BROKER_STEP_MS, current.ch.cancel(current.tag));
      }
      // No longer consuming (GET /healthz says so) while the deliveries in flight finish on the channel.
      active = undefined;
      await boundedStep(logger, `${inFlight.size} deliveries in flight`, drainMs, Promise.allSettled([...inFlight]));
      if (current) await boundedStep(logger, "closing the mail channel", BROKER_STEP_MS, current.ch.close());
    },
  };
}

/** Failed attempts before this delivery (0 for an event straight from its publisher). */
function attemptOf(msg: ConsumeMessage): number {
  const n = Number(msg.properties.headers?.[HEADERS.attempt] ?? 0);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

/** When the delivery's first attempt failed (epoch ms), on a retry copy. */
function firstFailureOf(msg: ConsumeMessage): number | undefined {
  const at = Number(msg.properties.headers?.[HEADERS.firstFailedAt]);
  return Number.isFinite(at) && at > 0 ? at : undefined;
}

function truncate(text: string): string {
  return text.length <= MAX_REASON_CHARS ? text : `${text.slice(0, MAX_REASON_CHARS - 1)}…`;
}

/**
 * Publishes the delivery's body and properties, plus `extra` headers, to
 * `queue` through the default exchange, and resolves once the broker has
 * confirmed it. Published as mandatory: the broker confirms a message it
 * could not route too, so a missing queue (one deleted by hand) shows only
 * as a return, which arrives before the confirm, and fails the copy.
 */
function publishCopy(
  ch: ConfirmChannel,
  queue: string,
  msg: ConsumeMessage,
  extra: Record<string, unknown>,
): Promise<void> {
  const p = msg.properties;
  const headers: Record<string, unknown> = { ...(p.headers ?? {}) };
  // Set by the broker on each delivery; a copy starts its own count.
  delete headers["x-delivery-count"];
  headers[HEADERS.originalRoutingKey] = routingKeyOf(msg);
  const copyId = randomUUID();
  const props: Options.Publish = {
    persistent: true,
    mandatory: true,
    contentType: p.contentType,
    contentEncoding: p.contentEncoding,
    messageId: p.messageId,
    correlationId: p.correlationId,
    timestamp: p.timestamp,
    type: p.type,
    appId: p.appId,
    headers: { ...headers, ...extra, [COPY_ID]: copyId },
  };
  const returned = returnsOf(ch);
  return new Promise((resolve, reject) => {
    const done = (err: unknown) => {
      const unroutable = returned.delete(copyId);
      if (err) reject(err);
      else if (unroutable) reject(new Error(`queue ${queue} does not exist: the broker could not route the copy`));
      else resolve();
    };
    try {
      ch.publish("", queue, msg.content, props, done);
    } catch (err) {
      done(err);
    }
  });
}

/** Tells a copy's return apart from others'. */
const COPY_ID = "x-parley-copy-id";

const returnsByChannel = new WeakMap<ConfirmChannel, Set<unknown>>();

/** The copy ids the broker returned on `ch` and no confirm has claimed yet. */
function returnsOf(ch: ConfirmChannel): Set<unknown> {
  let returned = returnsByChannel.get(ch);
  if (!returned) {
    const set = new Set<unknown>();
    ch.on("return", (m: Message) => set.add(m.properties.headers?.[COPY_ID]));
    returnsByChannel.set(ch, set);
    returned = set;
  }
  return returned;
}
