/**
 * The AMQP side of the user directory: consumes `<ns>.chat-svc.users`
 * (user.registered, user.updated, user.deactivated, user.reactivated) with manual acks and bounded prefetch, and
 * records each user (domain/user-directory.ts). Recording is idempotent and
 * order-independent (a row only moves forward in time), so unlike the mail
 * worker this needs no ledger of handled events. A failure to record (the
 * database away) is retried in place with backoff while the delivery stays
 * unacked, so an outage delays the directory and loses nothing and the
 * broker never counts a redelivery; an event that can never be recorded is
 * rejected into `<ns>.chat-svc.users.dead`. The channel is reopened whenever
 * it or the connection is lost.
 */
import { fromBinary } from "@bufbuild/protobuf";
import {
  UserDeactivatedSchema,
  UserReactivatedSchema,
  UserRegisteredSchema,
  UserUpdatedSchema,
} from "@parley/proto/events/v1/events_pb.js";
import type { RecoveringChannelModel } from "@parley/shared/amqp.js";
import { createBackoff } from "@parley/shared/backoff.js";
import { boundedStep } from "@parley/shared/bounded-step.js";
import { occurredAtOf } from "@parley/shared/events.js";
import type { Logger } from "@parley/shared/logger.js";
import { createStopSignal } from "@parley/shared/stop-signal.js";
import type { Topology } from "@parley/shared/topology.js";
import type { Channel, ConsumeMessage } from "amqplib";
import type { KnownUser } from "./storage/known-users.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface UserEventConsumer {
  /** True while a consumer is registered with the broker. */
  consuming(): boolean;
  /** Stops taking deliveries, lets the ones being recorded finish, closes the channel. */
  close(): Promise<void>;
}

/** The user an event is about, or why it can never be recorded. */
export function decodeUserEvent(msg: ConsumeMessage): { user: KnownUser } | { invalid: string } {
  const key = msg.fields.routingKey;
  let payload: { userId: string; username: string };
  try {
    if (key === "user.registered") payload = fromBinary(UserRegisteredSchema, msg.content);
    else if (key === "user.updated") payload = fromBinary(UserUpdatedSchema, msg.content);
    else if (key === "user.deactivated") payload = fromBinary(UserDeactivatedSchema, msg.content);
    else if (key === "user.reactivated") payload = fromBinary(UserReactivatedSchema, msg.content);
    else return { invalid: `the user directory handles no routing key "${key}"` };
  } catch (err) {
    return { invalid: `malformed ${key} body: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (!UUID.test(payload.userId)) return { invalid: `user_id ${JSON.stringify(payload.userId)} is not a UUID` };
  if (payload.username === "") return { invalid: "username is empty" };
  // Without a publisher timestamp the event counts as happening now.
  const changedAt = occurredAtOf(msg) ?? new Date();
  const user: KnownUser = { userId: payload.userId.toLowerCase(), username: payload.username, changedAt };
  if (key === "user.deactivated" || key === "user.reactivated") {
    user.status = { deactivated: key === "user.deactivated", changedAt };
  }
  return { user };
}

/** 250 ms doubling to 10 s, for reopening the channel and for each delivery's retries. */
const BACKOFF = { firstMs: 250, maxMs: 10_000 };

export function startUserEventConsumer(opts: {
  amqp: RecoveringChannelModel;
  topology: Topology;
  logger: Logger;
  record: (user: KnownUser) => Promise<void>;
  prefetch?: number;
}): UserEventConsumer {
  const { amqp, logger } = opts;
  const queue = opts.topology.chatUsersQueue;
  const stop = createStopSignal();
  const inFlight = new Set<Promise<void>>();
  let active: { ch: Channel; tag: string } | undefined;

  async function handle(ch: Channel, msg: ConsumeMessage): Promise<void> {
    const decoded = decodeUserEvent(msg);
    if ("invalid" in decoded) {
      logger.error({ reason: decoded.invalid, eventId: msg.properties.messageId }, "user event dead-lettered");
      ch.nack(msg, false, false);
      return;
    }
    const backoff = createBackoff(stop, BACKOFF);
    for (;;) {
      try {
        await opts.record(decoded.user);
        ch.ack(msg);
        return;
      } catch (err) {
        // Left unacked: the broker hands it out again once the channel goes.
        if (stop.stopped) return;
        logger.warn(
          { err, attempt: backoff.failures, userId: decoded.user.userId },
          "could not record a user; retrying",
        );
        await backoff.wait();
      }
    }
  }

  async function run(): Promise<void> {
    const backoff = createBackoff(stop, BACKOFF);
    while (!stop.stopped) {
      let ch: Channel | undefined;
      try {
        ch = await amqp.createChannel(); // waits while the connection is down
        const opened = ch;
        const closed = new Promise<void>((resolve) => opened.once("close", () => resolve()));
        opened.on("error", (err: Error) => logger.warn({ err: err.message }, "user events channel error"));
        await opened.prefetch(opts.prefetch ?? 32);
        const { consumerTag } = await opened.consume(queue, (msg) => {
          if (!msg) return; // cancelled by the broker; the channel closes and is reopened below
          const task = handle(opened, msg)
            .catch((err: unknown) => logger.warn({ err }, "could not settle a user event"))
            .finally(() => inFlight.delete(task));
          inFlight.add(task);
        });
        if (stop.stopped) {
          await opened.close().catch(() => {});
          return;
        }
        active = { ch: opened, tag: consumerTag };
        backoff.succeed();
        logger.info({ queue }, "consuming user events");
        await Promise.race([
          closed,
          new Promise((resolve) => stop.signal.addEventListener("abort", resolve, { once: true })),
        ]);
        active = undefined;
        if (stop.stopped) return;
        logger.warn("user events channel closed; reopening");
      } catch (err) {
        await ch?.close().catch(() => {});
        if (stop.stopped) return;
        logger.warn({ err, attempt: backoff.failures }, "could not consume user events; retrying");
      }
      await backoff.wait();
    }
  }

  void run();

  return {
    consuming: () => active !== undefined,
    async close() {
      const current = active;
      stop.stop();
      // The broker may have gone silent: its answers are waited for a moment only.
      if (current)
        await boundedStep(logger, "cancelling the user events consumer", 500, current.ch.cancel(current.tag));
      active = undefined;
      await Promise.allSettled([...inFlight]);
      if (current) await boundedStep(logger, "closing the user events channel", 500, current.ch.close());
      // Not awaiting the loop: it may be waiting for a connection that the
      // caller closes next, and it closes whatever channel it gets after this.
    },
  };
}
