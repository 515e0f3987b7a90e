/**
 * RabbitMQ topology, declared (idempotently) by every component on each
 * connection, so a publisher never publishes into an exchange whose consumer
 * queues do not exist yet. Names carry a namespace (AMQP_NAMESPACE, default
 * "parley") so that test runs and side-by-side deployments never share queues.
 *
 *   <ns>.events (topic) ──routing keys──► <ns>.mail-worker (quorum)
 *        the worker, on a transient failure: copy ──► <ns>.mail-worker.retry.<delay> (quorum, TTL)
 *        ──expires──► default exchange ──► <ns>.mail-worker (again)
 *        the worker, on a permanent failure or after the last retry: copy ──► <ns>.mail-worker.dead
 *   <ns>.events.dead (topic): the main queue's own dead-letter route, kept as a safety net
 *        (the worker never rejects; it copies, waits for the confirm, then acks).
 *   <ns>.events ──user.registered, .updated, .deactivated, .reactivated──► <ns>.chat-svc.users (quorum): chat-svc's user directory
 *        an event it can never apply ──rejected──► <ns>.events.dead ──► <ns>.chat-svc.users.dead
 */
import type { Channel } from "amqplib";

/** Every routing key the mail worker consumes: mail events, and the state it needs to decide who gets mail. */
export const MAIL_ROUTING_KEYS = [
  "user.otp.send",
  "user.registered",
  "user.registration.attempted",
  "user.updated",
  "user.deactivated",
  "user.reactivated",
  "user.online",
  "message.sent",
  "message.deleted",
  "room.read",
  "room.members",
] as const;

/** The events chat-svc keeps its user directory from. */
export const CHAT_USERS_ROUTING_KEYS = [
  "user.registered",
  "user.updated",
  "user.deactivated",
  "user.reactivated",
] as const;

/** 10 s, 1 min, 10 min: a short blip is retried soon, a long outage is not hammered. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [10_000, 60_000, 600_000];

/** Headers the worker puts on the copies it publishes to the retry and dead-letter queues. */
export const HEADERS = {
  /** Failed attempts so far (on retry copies). */
  attempt: "x-parley-attempt",
  /** The event's routing key; a copy travels through the default exchange, which loses it. */
  originalRoutingKey: "x-parley-original-routing-key",
  /** Why the event was dead-lettered, or why the last attempt failed. */
  reason: "x-parley-reason",
  /** When it was dead-lettered (ISO 8601). */
  failedAt: "x-parley-failed-at",
  /** When its first attempt failed (epoch milliseconds, on retry copies). */
  firstFailedAt: "x-parley-first-failed-at",
} as const;

export interface RetryQueue {
  name: string;
  delayMs: number;
}

export interface Topology {
  namespace: string;
  /** Topic exchange every domain event is published to. */
  exchange: string;
  /** Where deliveries the main queue itself drops (never the worker) go, keyed by the queue's name. */
  deadLetterExchange: string;
  mailQueue: string;
  mailDeadQueue: string;
  /** One per retry step, in order; the step's messages wait out its delay there. */
  mailRetryQueues: readonly RetryQueue[];
  /** chat-svc's user directory feed, and where the events it can never apply go. */
  chatUsersQueue: string;
  chatUsersDeadQueue: string;
}

export interface TopologyOptions {
  /** The wait before each retry; its length is the number of retries. Default DEFAULT_RETRY_DELAYS_MS. */
  retryDelaysMs?: readonly number[];
}

/** "10s", "1m", "250ms": names a retry queue after its delay, so changing a delay never clashes with a declared TTL. */
export function formatDelay(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0 && ms > 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}

export function topology(namespace: string, opts: TopologyOptions = {}): Topology {
  const delays = opts.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  for (const d of delays) {
    if (!Number.isInteger(d) || d <= 0) throw new Error(`retry delays must be positive integers (got ${d})`);
  }
  const mailQueue = `${namespace}.mail-worker`;
  return {
    namespace,
    exchange: `${namespace}.events`,
    deadLetterExchange: `${namespace}.events.dead`,
    mailQueue,
    mailDeadQueue: `${namespace}.mail-worker.dead`,
    mailRetryQueues: delays.map((delayMs) => ({ name: `${mailQueue}.retry.${formatDelay(delayMs)}`, delayMs })),
    chatUsersQueue: `${namespace}.chat-svc.users`,
    chatUsersDeadQueue: `${namespace}.chat-svc.users.dead`,
  };
}

export async function declareTopology(ch: Channel, t: Topology): Promise<void> {
  await ch.assertExchange(t.exchange, "topic", { durable: true });
  await ch.assertExchange(t.deadLetterExchange, "topic", { durable: true });
  // Arguments unchanged since the first release: a queue's arguments can never change once declared.
  await declareQueueWithDeadLetters(ch, t, t.mailQueue, t.mailDeadQueue, MAIL_ROUTING_KEYS);
  await declareQueueWithDeadLetters(ch, t, t.chatUsersQueue, t.chatUsersDeadQueue, CHAT_USERS_ROUTING_KEYS);
  for (const retry of t.mailRetryQueues) {
    await ch.assertQueue(retry.name, {
      durable: true,
      arguments: {
        "x-queue-type": "quorum",
        "x-message-ttl": retry.delayMs,
        // Expired messages go back to the main queue through the default exchange.
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": t.mailQueue,
        // Quorum queues dead-letter at most once unless asked; a retry must never vanish in transit.
        // at-least-once requires reject-publish (there is no length limit, so it never rejects).
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
      },
    });
  }
}

/**
 * A consumer's durable queue bound to `keys`; what it rejects goes through
 * the dead-letter exchange to `deadQueue`.
 */
async function declareQueueWithDeadLetters(
  ch: Channel,
  t: Topology,
  queue: string,
  deadQueue: string,
  keys: readonly string[],
): Promise<void> {
  await ch.assertQueue(queue, {
    durable: true,
    arguments: {
      "x-queue-type": "quorum",
      "x-dead-letter-exchange": t.deadLetterExchange,
      "x-dead-letter-routing-key": queue,
    },
  });
  for (const key of keys) await ch.bindQueue(queue, t.exchange, key);
  await ch.assertQueue(deadQueue, { durable: true, arguments: { "x-queue-type": "quorum" } });
  await ch.bindQueue(deadQueue, t.deadLetterExchange, queue);
}

/** Removes everything declareTopology made (tests clean up with this). */
export async function deleteTopology(ch: Channel, t: Topology): Promise<void> {
  await ch.deleteQueue(t.mailQueue);
  await ch.deleteQueue(t.mailDeadQueue);
  for (const retry of t.mailRetryQueues) await ch.deleteQueue(retry.name);
  await ch.deleteQueue(t.chatUsersQueue);
  await ch.deleteQueue(t.chatUsersDeadQueue);
  await ch.deleteExchange(t.exchange);
  await ch.deleteExchange(t.deadLetterExchange);
}
