/**
 * One Redis subscriber connection per process, fanned out in-process to every
 * open StreamEvents call. Each stream has its own bounded queue, so a slow
 * reader never holds up the others: one that falls `queueLimit` events behind
 * is dropped at once (its queue freed) and its stream ends with
 * STREAM_OVERFLOW, telling the edge to reconnect and resync.
 *
 * Losing the Redis connection may lose events, so it ends every stream with
 * EVENT_FEED_INTERRUPTED, and new streams are refused until the channel is
 * subscribed again: an open stream always means a live feed.
 */

import type { ConnectError } from "@connectrpc/connect";
import { type DependencyHealth, watchRedis } from "@parley/shared/dependency-health.js";
import type { Logger } from "@parley/shared/logger.js";
import { duplicateRedis, type Redis } from "@parley/shared/redis.js";
import { eventFeedInterrupted, streamOverflow } from "./errors.js";
import { eventRunPayloads, originOfEventRun } from "./room-events.js";

export interface Fanout {
  /** Number of open subscriptions. */
  readonly size: number;
  /** Whether the channel is subscribed, so that `subscribe` is accepted. */
  readonly live: boolean;
  /**
   * Registers a subscription at once (throws ConnectError if the feed is not
   * live) and returns every event (a binary RoomEvent: a stream passes the
   * bytes on without decoding them) published from now on until `signal`
   * aborts, in runs of at most MAX_RUN: what queued while the reader was
   * busy comes out together. The generator throws (ConnectError) when the
   * feed is lost.
   */
  subscribe(signal: AbortSignal): AsyncGenerator<Uint8Array[], void, undefined>;
  /** This instance's own events, published on the channel by it: delivered here without waiting for the echo. */
  deliverLocal(events: readonly Uint8Array[]): void;
  /** Ends every subscription and closes the subscriber connection. */
  close(): Promise<void>;
}

/** Most events in one StreamEvents response. */
const MAX_RUN = 256;

interface Subscriber {
  queue: Uint8Array[];
  failure: ConnectError | undefined;
  wake: (() => void) | undefined;
}

export function startFanout(opts: {
  /** Duplicated for the subscriber: a connection in subscribe mode can run nothing else. */
  redis: Redis;
  /** Told of the subscriber connection's state: without it, no stream can be served. */
  health?: DependencyHealth;
  channel: string;
  /** This instance's id on the channel: its own messages there were delivered by deliverLocal. */
  origin: string;
  logger: Logger;
  queueLimit: number;
}): Fanout {
  const { channel, logger, queueLimit } = opts;
  const subscribers = new Set<Subscriber>();
  let live = false;
  let closed = false;

  function fail(sub: Subscriber, err: ConnectError): void {
    subscribers.delete(sub);
    sub.failure = err;
    sub.queue = [];
    sub.wake?.();
  }

  function failAll(err: ConnectError): void {
    for (const sub of [...subscribers]) fail(sub, err);
  }

  // Resubscribed by hand on every "ready" rather than by ioredis's
  // autoResubscribe, so that `live` turns true only once Redis confirms.
  const conn = duplicateRedis(opts.redis, logger, { autoResubscribe: false, connectionName: "chat-svc:room-events" });
  if (opts.health) watchRedis(opts.health, conn, "chat-svc:room-events");
  conn.on("ready", () => {
    conn.subscribe(channel).then(
      () => {
        live = true;
        logger.debug({ channel }, "subscribed to room events");
      },
      (err: unknown) => {
        logger.warn({ err }, "could not subscribe to room events; reconnecting");
        conn.disconnect(true);
      },
    );
  });
  conn.on("close", () => {
    if (!live) return;
    live = false;
    if (!closed) logger.warn("lost the room events subscription; ending open streams");
    failAll(eventFeedInterrupted("lost the connection to Redis"));
  });
  conn.on("messageBuffer", (_channel: Buffer, payload: Buffer) => {
    // Nobody to hand events to (an instance no edge streams from).
    if (subscribers.size === 0) return;
    let events: Uint8Array[];
    try {
      if (originOfEventRun(payload) === opts.origin) return;
      events = eventRunPayloads(payload);
    } catch (err) {
      logger.warn({ err }, "dropping undecodable room events");
      return;
    }
    dispatch(events);
  });

  function dispatch(events: readonly Uint8Array[]): void {
    for (const sub of subscribers) {
      if (sub.queue.length + events.length > queueLimit) {
        fail(sub, streamOverflow(queueLimit));
        continue;
      }
      for (const event of events) sub.queue.push(event);
      sub.wake?.();
    }
  }

  // Registration happens in `subscribe` itself, not on the first pull of the
  // generator, so that a caller can tell its client "ready" knowing that
  // nothing published from then on can be missed.
  function subscribe(signal: AbortSignal): AsyncGenerator<Uint8Array[], void, undefined> {
    if (closed) throw eventFeedInterrupted("this chat-svc instance is stopping");
    if (!live) throw eventFeedInterrupted("not connected to Redis");
    const sub: Subscriber = { queue: [], failure: undefined, wake: undefined };
    const onAbort = () => {
      // Also frees a subscription whose generator is never pulled.
      subscribers.delete(sub);
      sub.wake?.();
    };
    subscribers.add(sub);
    signal.addEventListener("abort", onAbort, { once: true });
    return drain(sub, signal, onAbort);
  }

  async function* drain(
    sub: Subscriber,
    signal: AbortSignal,
    onAbort: () => void,
  ): AsyncGenerator<Uint8Array[], void, undefined> {
    try {
      while (!signal.aborted) {
        if (sub.failure) throw sub.failure;
        if (sub.queue.length === 0) {
          await new Promise<void>((resolve) => {
            sub.wake = resolve;
          });
          sub.wake = undefined;
          continue;
        }
        // Swapping the whole queue out keeps each take O(1).
        const batch = sub.queue;
        sub.queue = [];
        for (let at = 0; at < batch.length; at += MAX_RUN) {
          if (sub.failure || signal.aborted) break;
          yield batch.length <= MAX_RUN ? batch : batch.slice(at, at + MAX_RUN);
        }
      }
    } finally {
      subscribers.delete(sub);
      signal.removeEventListener("abort", onAbort);
    }
  }

  return {
    get size() {
      return subscribers.size;
    },
    get live() {
      return live;
    },
    subscribe,
    deliverLocal(events) {
      if (subscribers.size > 0) dispatch(events);
    },
    async close() {
      closed = true;
      failAll(eventFeedInterrupted("this chat-svc instance is stopping"));
      live = false;
      // Nothing to flush on a subscriber; quit could wait on a Redis that is away.
      conn.disconnect();
    },
  };
}
