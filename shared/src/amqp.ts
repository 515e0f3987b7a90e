import { type ChannelModel, connect, type RecoveringChannelModel } from "amqplib";
import type { Logger } from "./logger.js";
import { declareTopology, type Topology } from "./topology.js";

export type { RecoveringChannelModel };

/**
 * A connection that reconnects forever with backoff and declares the
 * topology on every (re)connect. It resolves at once: a component starts
 * while RabbitMQ is away, and work that needs the broker waits for it.
 */
export async function connectAmqp(
  amqpUrl: string,
  topology: Topology,
  logger: Logger,
): Promise<RecoveringChannelModel> {
  // Handed on to net.connect. The outbox relay corks the socket while it
  // publishes a batch (outbox-relay.ts); amqplib stops writing into a socket once
  // its buffer passes the high-water mark (16 KiB by default) and sends the
  // rest a write per publish after the uncork.
  const socketOptions: { writableHighWaterMark: number } = { writableHighWaterMark: 4 * 1024 * 1024 };
  const conn = await connect(amqpUrl, {
    ...socketOptions,
    // Batches are written whole; Nagle's delay would only hold back the last packet of each.
    noDelay: true,
    recovery: {
      waitForConnect: false,
      initialDelay: 200,
      maxDelay: 5_000,
      setup: async (model: ChannelModel) => {
        const ch = await model.createChannel();
        await declareTopology(ch, topology);
        await ch.close();
      },
    },
  });
  conn.on("connect", () => logger.info("connected to RabbitMQ"));
  conn.on("disconnect", (err: Error) => logger.warn({ err: err?.message }, "RabbitMQ connection lost; reconnecting"));
  conn.on("reconnect-scheduled", ({ attempt, delay }: { attempt: number; delay: number }) =>
    logger.debug({ attempt, delay }, "RabbitMQ reconnect scheduled"),
  );
  conn.on("error", (err: Error) => logger.warn({ err: err.message }, "RabbitMQ connection error"));
  // Includes a failed topology declaration (e.g. a queue declared earlier with other arguments), which retries forever.
  conn.on("connect-failed", (err: Error) => logger.warn({ err: err.message }, "could not connect to RabbitMQ"));
  return conn;
}
