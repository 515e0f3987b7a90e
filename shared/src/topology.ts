/**
 * RabbitMQ topology, declared (idempotently) by every component on each
 * connection, so a publisher never publishes into an exchange whose consumer
 * queues do not exist yet. Names carry a namespace (AMQP_NAMESPACE, default
 * "parley") so that test runs and side-by-side deployments never share queues.
 */
import type { Channel } from "amqplib";

export const MAIL_ROUTING_KEYS = ["user.otp.send", "user.registered", "message.sent"] as const;

export interface Topology {
  namespace: string;
  /** Topic exchange every domain event is published to. */
  exchange: string;
  /** Where rejected and expired deliveries go, keyed by their queue's name. */
  deadLetterExchange: string;
  mailQueue: string;
  mailDeadQueue: string;
}

export function topology(namespace: string): Topology {
  return {
    namespace,
    exchange: `${namespace}.events`,
    deadLetterExchange: `${namespace}.events.dead`,
    mailQueue: `${namespace}.mail-worker`,
    mailDeadQueue: `${namespace}.mail-worker.dead`,
  };
}

export async function declareTopology(ch: Channel, t: Topology): Promise<void> {
  await ch.assertExchange(t.exchange, "topic", { durable: true });
  await ch.assertExchange(t.deadLetterExchange, "topic", { durable: true });
  await ch.assertQueue(t.mailQueue, {
    durable: true,
    arguments: {
      "x-queue-type": "quorum",
      "x-dead-letter-exchange": t.deadLetterExchange,
      "x-dead-letter-routing-key": t.mailQueue,
    },
  });
  for (const key of MAIL_ROUTING_KEYS) await ch.bindQueue(t.mailQueue, t.exchange, key);
  await ch.assertQueue(t.mailDeadQueue, { durable: true, arguments: { "x-queue-type": "quorum" } });
  await ch.bindQueue(t.mailDeadQueue, t.deadLetterExchange, t.mailQueue);
}

/** Removes everything declareTopology made (tests clean up with this). */
export async function deleteTopology(ch: Channel, t: Topology): Promise<void> {
  await ch.deleteQueue(t.mailQueue);
  await ch.deleteQueue(t.mailDeadQueue);
  await ch.deleteExchange(t.exchange);
  await ch.deleteExchange(t.deadLetterExchange);
}
