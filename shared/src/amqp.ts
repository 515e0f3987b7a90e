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
  const conn = await connect(amqpUrl, {
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
