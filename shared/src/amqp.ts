import type { Socket } from "node:net";
import { type ChannelModel, connect, type RecoveringChannelModel } from "amqplib";
import { boundedStep } from "./bounded-step.js";
import type { Logger } from "./logger.js";
import { declareTopology, type Topology } from "./topology.js";

export type { RecoveringChannelModel };

/**
 * How long one connection attempt may take, from the TCP connect through
 * the AMQP handshake, and then the topology's declaration: a broker that
 * accepts connections and never answers (a hung one, or one starting up)
 * must not hold the reconnect loop for good.
 */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Seconds between heartbeats unless the URL asks otherwise: a connection
 * whose broker has gone silent is given up after about two of them, not
 * after the broker's default of 60 s each.
 */
const HEARTBEAT_S = 10;

/** How long close() waits for the broker's close-ok before it drops the socket. */
export const AMQP_CLOSE_TIMEOUT_MS = 500;

/** The socket under each recovering connection's current model, for closeAmqp. */
const sockets = new WeakMap<RecoveringChannelModel, Socket>();

function socketOf(model: ChannelModel): Socket | undefined {
  return (model as unknown as { connection?: { stream?: Socket } }).connection?.stream;
}

function withHeartbeat(amqpUrl: string): string {
  try {
    const url = new URL(amqpUrl);
    if (!url.searchParams.has("heartbeat")) url.searchParams.set("heartbeat", String(HEARTBEAT_S));
    return url.toString();
  } catch {
    // amqplib reports the malformed URL itself.
    return amqpUrl;
  }
}

/**
 * A connection that reconnects forever with backoff and declares the
 * topology on every (re)connect. It resolves at once: a component starts
 * while RabbitMQ is away, and work that needs the broker waits for it.
 *
 * Logged once per change of state (lost or unreachable, restored), as one
 * line without a stack; the retries in between at debug. Every error amqplib
 * emits has a listener, the model's own too while the topology is being
 * declared: amqplib attaches its recovery listeners only after that, and a
 * socket error in between was thrown as an unhandled "error" event and ended
 * the process.
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
  const conn = await connect(withHeartbeat(amqpUrl), {
    ...socketOptions,
    // Batches are written whole; Nagle's delay would only hold back the last packet of each.
    noDelay: true,
    timeout: CONNECT_TIMEOUT_MS,
    recovery: {
      waitForConnect: false,
      initialDelay: 200,
      maxDelay: 5_000,
      setup: async (model: ChannelModel) => {
        model.on("error", (err: Error) =>
          logger.debug({ err: err.message }, "RabbitMQ connection error while declaring"),
        );
        const declared = (async () => {
          const ch = await model.createChannel();
          ch.on("error", (err: Error) => logger.debug({ err: err.message }, "RabbitMQ channel error while declaring"));
          await declareTopology(ch, topology);
          await ch.close();
        })();
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            // amqplib closes a model whose setup failed and waits for the
            // broker's close-ok: on a silent broker, forever.
            socketOf(model)?.destroy();
            reject(new Error(`declaring the topology took over ${CONNECT_TIMEOUT_MS} ms`));
          }, CONNECT_TIMEOUT_MS);
        });
        try {
          await Promise.race([declared, timedOut]);
        } finally {
          clearTimeout(timer);
        }
      },
    },
  });
  let lost = false;
  conn.on("connect", (model: ChannelModel) => {
    const socket = socketOf(model);
    if (socket) sockets.set(conn, socket);
    logger.info(lost ? "RabbitMQ connection restored" : "connected to RabbitMQ");
    lost = false;
  });
  conn.on("disconnect", (err: Error) => {
    sockets.delete(conn);
    lost = true;
    logger.warn({ err: err?.message }, "RabbitMQ connection lost; reconnecting");
  });
  conn.on("reconnect-scheduled", ({ attempt, delay }: { attempt: number; delay: number }) =>
    logger.debug({ attempt, delay }, "RabbitMQ reconnect scheduled"),
  );
  // Also emitted just before "disconnect" for the same failure, which says it.
  conn.on("error", (err: Error) => logger.debug({ err: err.message }, "RabbitMQ connection error"));
  // Includes a failed topology declaration (e.g. a queue declared earlier with other arguments), which retries forever.
  // Logged as a warning for the first attempt that fails in a row; the retries after it at debug.
  conn.on("connect-failed", (err: Error) => {
    if (lost) logger.debug({ err: err.message }, "could not connect to RabbitMQ");
    else logger.warn({ err: err.message }, "could not connect to RabbitMQ; retrying");
    lost = true;
  });
  return conn;
}

/** Whether the connection is up right now (its topology declared). */
export function isAmqpConnected(conn: RecoveringChannelModel): boolean {
  return sockets.has(conn);
}

/**
 * Closes the connection, waiting at most AMQP_CLOSE_TIMEOUT_MS for a broker
 * that has gone silent: then its socket is dropped (the broker's side ends
 * with the TCP connection).
 */
export async function closeAmqp(conn: RecoveringChannelModel, logger: Logger): Promise<void> {
  const socket = sockets.get(conn);
  const closed = await boundedStep(logger, "closing the RabbitMQ connection", AMQP_CLOSE_TIMEOUT_MS, conn.close());
  if (!closed) socket?.destroy();
}
