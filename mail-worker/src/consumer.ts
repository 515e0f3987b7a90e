/**
 * The AMQP side of the worker: consumes the mail queue with manual acks and
 * bounded prefetch, decodes each delivery, hands it to the domain, and
 * settles it by the outcome: ack; nack without requeue (the queue
 * dead-letters it); or, for a transient failure, nack with requeue after a
 * delay growing with the delivery count. The channel is reopened whenever
 * it or the connection is lost.
 */
import type { RecoveringChannelModel } from "@parley/shared/amqp.js";
import type { Logger } from "@parley/shared/logger.js";
import type { Channel, ConsumeMessage } from "amqplib";
import type { MailEvent, Outcome } from "./domain/mail-event.js";
import { decodeDelivery } from "./event-decoder.js";

export interface ConsumerOptions {
  amqp: RecoveringChannelModel;
  queue: string;
  logger: Logger;
  handle: (event: MailEvent, log: Logger) => Promise<Outcome>;
  /** Deliveries in flight at once. */
  prefetch: number;
  /** First requeue delay after a transient failure; doubles per redelivery, up to maxRetryDelayMs. */
  retryDelayMs: number;
  maxRetryDelayMs: number;
}

export interface ConsumerStats {
  /** Being handled right now. */
  inFlight: number;
  acked: number;
  deadLettered: number;
  requeued: number;
}

export interface Consumer {
  /** True while a consumer is registered with the broker. */
  consuming(): boolean;
  /** Deliveries settled since start, by how. */
  stats(): ConsumerStats;
  /** Stops taking deliveries, lets the in-flight ones finish, closes the channel. */
  close(): Promise<void>;
}

export function startConsumer(opts: ConsumerOptions): Consumer {
  const { amqp, queue, logger } = opts;
  let stopping = false;
  let active: { ch: Channel; tag: string } | undefined;
  const inFlight = new Set<Promise<void>>();
  const counts = { acked: 0, deadLettered: 0, requeued: 0 };
  // Wakes every pending wait (retry delays, reopen backoff) at shutdown.
  const wakers = new Set<() => void>();

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      wakers.add(done);
    });
  }

  async function open(): Promise<void> {
    for (let attempt = 0; !stopping; attempt++) {
      let ch: Channel | undefined;
      try {
        ch = await amqp.createChannel(); // waits while the connection is down
        const opened = ch;
        opened.on("error", (err: Error) => logger.warn({ err: err.message }, "mail channel error"));
        opened.on("close", () => lost(opened, "mail channel closed"));
        await opened.prefetch(opts.prefetch);
        const { consumerTag } = await opened.consume(queue, (msg) => deliver(opened, msg), { noAck: false });
        if (stopping) {
          await opened.close().catch(() => {});
          return;
        }
        active = { ch: opened, tag: consumerTag };
        logger.info({ queue, prefetch: opts.prefetch }, "consuming");
        return;
      } catch (err) {
        await ch?.close().catch(() => {});
        if (stopping) return;
        logger.warn({ err, attempt }, "could not start consuming; retrying");
        await sleep(Math.min(10_000, 250 * 2 ** Math.min(attempt, 6)));
      }
    }
  }

  function lost(ch: Channel, why: string): void {
    if (active?.ch !== ch) return;
    active = undefined;
    if (stopping) return;
    logger.warn(`${why}; reopening`);
    void open();
  }

  function deliver(ch: Channel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // The broker cancelled us (e.g. the queue was deleted); consume anew on a fresh channel.
      lost(ch, "consumer cancelled by the broker");
      ch.close().catch(() => {});
      return;
    }
    const task = settle(ch, msg).finally(() => inFlight.delete(task));
    inFlight.add(task);
  }

  async function settle(ch: Channel, msg: ConsumeMessage): Promise<void> {
    const routingKey = msg.fields.routingKey;
    const eventId: unknown = msg.properties.messageId;
    const log = logger.child({ eventId, routingKey });
    let outcome: Outcome;
    const decoded = decodeDelivery(msg);
    if (!decoded.ok) {
      outcome = { action: "dead-letter", reason: decoded.reason };
    } else {
      try {
        outcome = await opts.handle(decoded.event, log);
      } catch (err) {
        log.error({ err }, "handling the event failed unexpectedly");
        outcome = { action: "retry", reason: err instanceof Error ? err.message : String(err) };
      }
    }
    // A channel lost meanwhile cannot settle anything: the broker redelivers the
    // message, and the ledger keeps what was already sent from being sent again.
    const onChannel = (fn: () => void) => {
      try {
        fn();
      } catch (err) {
        log.warn({ err }, "channel gone before the delivery was settled; the broker will redeliver it");
      }
    };
    switch (outcome.action) {
      case "ack":
        log.info({ result: outcome.result, mails: outcome.mails }, "event handled");
        onChannel(() => ch.ack(msg));
        counts.acked++;
        return;
      case "dead-letter":
        log.error({ reason: outcome.reason }, "dead-lettering the event");
        onChannel(() => ch.nack(msg, false, false));
        counts.deadLettered++;
        return;
      case "retry": {
        // Quorum queues count deliveries; absent on a first delivery.
        const count = Number(msg.properties.headers?.["x-delivery-count"] ?? 0);
        const delay = Math.min(opts.maxRetryDelayMs, opts.retryDelayMs * 2 ** Math.min(count, 10));
        log.warn(
          { reason: outcome.reason, deliveryCount: count, delayMs: delay },
          "requeueing the event after a delay",
        );
        // Held (unacked) meanwhile, so it is not redelivered at once; shutdown cuts the wait short.
        if (!stopping) await sleep(delay);
        onChannel(() => ch.nack(msg, false, true));
        counts.requeued++;
        return;
      }
    }
  }

  void open();

  return {
    consuming: () => active !== undefined,
    stats: () => ({ inFlight: inFlight.size, ...counts }),
    async close() {
      stopping = true;
      for (const wake of [...wakers]) wake();
      const current = active;
      if (current) {
        await current.ch.cancel(current.tag).catch(() => {});
      }
      await Promise.allSettled([...inFlight]);
      active = undefined;
      if (current) await current.ch.close().catch(() => {});
    },
  };
}
