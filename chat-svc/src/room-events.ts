/**
 * Publishes committed room events on a Redis pub/sub channel that every
 * chat-svc instance subscribes to (see fanout.ts), so a message sent through
 * any instance reaches the streams of all of them. Publishing is best effort
 * after COMMIT: the message is already durable, and a stream that misses an
 * event sees the gap in seq and resyncs with ListMessages.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { RoomEventSchema } from "@parley/proto/chat/v1/chat_pb.js";
import type { Logger } from "@parley/shared/logger.js";
import type { Redis } from "@parley/shared/redis.js";
import { messageToProto } from "./mapping.js";
import type { MessageRow } from "./storage/schema.js";

export function roomEventsChannel(prefix: string): string {
  return `${prefix}room-events`;
}

export interface RoomEventPublisher {
  /** Queues the event; never throws and never waits for Redis. */
  messageCreated(message: MessageRow): void;
  /** Publishes what is queued and waits for publishes in flight. */
  close(): Promise<void>;
}

export function createRoomEventPublisher(opts: { redis: Redis; prefix: string; logger: Logger }): RoomEventPublisher {
  const { redis, logger } = opts;
  const channel = roomEventsChannel(opts.prefix);
  let pending: Buffer[] = [];
  let scheduled = false;
  const inFlight = new Set<Promise<void>>();

  // Sends that commit in the same turn of the event loop share one pipeline
  // (one write, one round trip) instead of a round trip each.
  function flush(): void {
    scheduled = false;
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    const pipeline = redis.pipeline();
    for (const payload of batch) pipeline.publish(channel, payload);
    const done = pipeline.exec().then(
      (results) => {
        const failed = results?.filter(([err]) => err) ?? [];
        if (failed.length > 0) {
          logger.warn({ err: failed[0]?.[0], failed: failed.length }, "could not publish room events to Redis");
        }
      },
      (err: unknown) => logger.warn({ err, events: batch.length }, "could not publish room events to Redis"),
    );
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
  }

  return {
    messageCreated(message) {
      const event = create(RoomEventSchema, {
        roomId: message.roomId,
        kind: { case: "messageCreated", value: messageToProto(message) },
      });
      pending.push(Buffer.from(toBinary(RoomEventSchema, event)));
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    async close() {
      flush();
      await Promise.all(inFlight);
    },
  };
}
