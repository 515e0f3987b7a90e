/**
 * The edge's one ChatService.StreamEvents call, shared by every socket. It
 * reconnects with backoff whenever the stream ends or fails; each time a
 * stream opens, every subscription catches up from its cursor, because events
 * committed while no stream was open were never delivered.
 */
import type { RoomEvent } from "@parley/proto/chat/v1/chat_pb.js";
import { createBackoff, jittered } from "@parley/shared/backoff.js";
import type { Logger } from "@parley/shared/logger.js";
import { createStopSignal } from "@parley/shared/stop-signal.js";
import type { ChatClient } from "../clients.js";
import type { ServiceTokenSource } from "../service-token.js";

export interface EventStream {
  /** True while a stream is believed open. */
  readonly connected: boolean;
  close(): Promise<void>;
}

export interface EventStreamOptions {
  chat: ChatClient;
  serviceToken: ServiceTokenSource;
  logger: Logger;
  onEvent(event: RoomEvent): void;
  /** A stream has opened: events may have been missed before it. */
  onOpen(): void;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * chat-svc answers a new stream with a `ready` response at once; from a
   * server that does not (grpc-js sends no headers before the first message),
   * a call that has neither failed nor answered for this long counts as open.
   */
  settleMs?: number;
}

/** A stream that lived this long was healthy: the next failure starts the backoff over. */
const HEALTHY_STREAM_MS = 5_000;

export function startEventStream(opts: EventStreamOptions): EventStream {
  const { chat, logger } = opts;
  const maxBackoff = opts.maxBackoffMs ?? 3_000;
  const minBackoff = Math.min(opts.minBackoffMs ?? 100, maxBackoff);
  const settleMs = opts.settleMs ?? 500;
  const stop = createStopSignal();
  let connected = false;

  const opened = () => {
    if (connected || stop.stopped) return;
    connected = true;
    logger.info("chat-svc event stream open");
    opts.onOpen();
  };

  /** Whether the last call delivered events or stayed up long enough to count as healthy. */
  let lastWasHealthy = false;

  async function runOnce(): Promise<void> {
    lastWasHealthy = false;
    const token = await opts.serviceToken.get();
    const started = Date.now();
    let received = false;
    /** Counted open by the settle timer before chat-svc said so. */
    let guessed = false;
    const guess = () => {
      if (!connected) guessed = true;
      opened();
    };
    const settle = setTimeout(guess, settleMs);
    try {
      const stream = chat.streamEvents(
        {},
        {
          headers: { authorization: `Bearer ${token}` },
          signal: stop.signal,
          timeoutMs: 0,
          // A trailers-only response (an immediate error) is not an open stream.
          onHeader: (header) => {
            if (!header.has("grpc-status")) opened();
          },
        },
      );
      for await (const res of stream) {
        // The first response says the stream is registered (`ready`); any response proves it is open.
        if (!received && guessed && connected) {
          // The catch-up run on the guess may have read the logs before the
          // stream was registered: what committed in between reached no one.
          opts.onOpen();
        } else opened();
        received = true;
        for (const event of res.events) opts.onEvent(event);
      }
    } finally {
      clearTimeout(settle);
      connected = false;
      lastWasHealthy = received || Date.now() - started >= HEALTHY_STREAM_MS;
    }
  }

  // Jittered: when chat-svc restarts, every edge reconnects at once.
  // Each failed attempt in a row doubles the wait, from twice minBackoff.
  const backoff = createBackoff(stop, {
    firstMs: Math.min(2 * minBackoff, maxBackoff),
    maxMs: maxBackoff,
    jitter: true,
  });
  const loop = (async () => {
    while (!stop.stopped) {
      try {
        await runOnce();
        if (!stop.stopped) logger.warn("chat-svc event stream ended; reconnecting");
      } catch (err) {
        if (stop.stopped) break;
        // Once per outage at warn; every retry after that at debug.
        const level = backoff.failures === 0 ? "warn" : "debug";
        logger[level](
          { err: err instanceof Error ? err.message : String(err) },
          "chat-svc event stream failed; reconnecting",
        );
      }
      if (stop.stopped) break;
      if (lastWasHealthy) {
        // A stream that was up ended: reconnect soon, and back off anew from there.
        backoff.succeed();
        await stop.sleep(jittered(minBackoff));
      } else await backoff.wait();
    }
  })();

  return {
    get connected() {
      return connected;
    },
    async close() {
      stop.stop();
      await loop;
    },
  };
}
