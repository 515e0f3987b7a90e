/**
 * Publishes room events on a Redis pub/sub channel that every chat-svc
 * instance subscribes to (see fanout.ts), so an event committed through any
 * instance reaches the streams of all of them. Publishing is best effort
 * after COMMIT: durable events are already in the room's event log, and a
 * stream that misses one sees the gap in event_seq and fills it with
 * ListEvents. Ephemeral events (typing, read markers, presence, room access)
 * are only ever published.
 */
import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { BinaryReader, BinaryWriter } from "@bufbuild/protobuf/wire";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { type RoomEvent, RoomEventSchema, StreamEventsResponseSchema } from "@parley/proto/chat/v1/chat_pb.js";
import { bufferView } from "@parley/shared/buffer-view.js";
import type { Logger } from "@parley/shared/logger.js";
import { embedded } from "@parley/shared/pre-encoded.js";
import type { Redis } from "@parley/shared/redis.js";

/**
 * Each message on the channel is the publishing instance's id, then a run of
 * length-delimited binary RoomEvents (a varint length, then the event), in
 * publishing order: one PUBLISH carries everything committed in one turn of
 * the event loop, e.g. a whole send batch. The publishing instance hands its
 * own events to its streams directly (no round trip through Redis on the way
 * to its edges) and skips them when Redis echoes them back. ("v3": v2 had no
 * instance id, v1 one event per message.)
 */
export function roomEventsChannel(prefix: string): string {
  return `${prefix}room-events.v3`;
}

/** At most this many events in one channel message. */
const MAX_EVENTS_PER_MESSAGE = 1_000;

export function encodeEventRun(origin: string, payloads: readonly Uint8Array[]): Buffer {
  const writer = new BinaryWriter();
  writer.string(origin);
  for (const p of payloads) writer.bytes(p);
  return bufferView(writer.finish());
}

/** The publishing instance's id, read without decoding the events. */
export function originOfEventRun(message: Uint8Array): string {
  return new BinaryReader(message).string();
}

/** The binary RoomEvents of a channel message, as views into it: nothing is decoded. */
export function eventRunPayloads(message: Uint8Array): Uint8Array[] {
  const reader = new BinaryReader(message);
  reader.string();
  const payloads: Uint8Array[] = [];
  while (reader.pos < reader.len) payloads.push(reader.bytes());
  return payloads;
}

/**
 * A StreamEventsResponse carrying these binary RoomEvents, built from their
 * bytes: a repeated message field is each element's bytes behind its tag and
 * length, so events encoded once at commit (or received from another
 * instance) reach every stream without being decoded or encoded again.
 */
export function encodeStreamEvents(payloads: readonly Uint8Array[]): Uint8Array {
  return embedded(StreamEventsResponseSchema.field.events, payloads);
}

/** The kinds that are delivered live only: they carry event_seq 0 and are never stored. */
export type EphemeralKind = Extract<RoomEvent["kind"], { case: "typing" | "readMarker" | "presence" | "roomAccess" }>;

/** The kinds that are appended to the room's event log. */
export type DurableKind = Exclude<RoomEvent["kind"], EphemeralKind | { case: undefined }>;

export function encodeRoomEvent(event: RoomEvent): Buffer {
  return bufferView(toBinary(RoomEventSchema, event));
}

/** An event as it is published: its bytes, for the channel and for this instance's own streams alike. */
export interface PublishedEvent {
  payload: Uint8Array;
}

export function publishable(event: RoomEvent): PublishedEvent {
  return { payload: encodeRoomEvent(event) };
}

/** An ephemeral kind as plain fields, e.g. `{ case: "typing", value: { userId, username } }`. */
export type EphemeralInit = Extract<
  NonNullable<MessageInitShape<typeof RoomEventSchema>["kind"]>,
  { case: "typing" | "readMarker" | "presence" | "roomAccess" }
>;

export function ephemeralEvent(roomId: string, kind: EphemeralInit): RoomEvent {
  return create(RoomEventSchema, { roomId, eventSeq: 0n, occurredAt: timestampNow(), kind });
}

export interface RoomEventPublisher {
  /** Queues events, published in the order given; never throws and never waits for Redis. */
  publish(events: readonly PublishedEvent[]): void;
  /** Publishes what is queued and waits for publishes in flight. */
  close(): Promise<void>;
}

export function createRoomEventPublisher(opts: {
  redis: Redis;
  prefix: string;
  logger: Logger;
  /** This instance's id on the channel. */
  origin: string;
  /** This instance's own streams, handed every run's bytes as it is published. */
  local?: (payloads: readonly Uint8Array[]) => void;
}): RoomEventPublisher {
  const { redis, logger, origin } = opts;
  const channel = roomEventsChannel(opts.prefix);
  let pending: Uint8Array[] = [];
  let scheduled = false;
  const inFlight = new Set<Promise<void>>();

  // Everything committed in the same turn of the event loop shares one
  // channel message instead of a PUBLISH each.
  function flush(): void {
    scheduled = false;
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    const pipeline = redis.pipeline();
    for (let i = 0; i < batch.length; i += MAX_EVENTS_PER_MESSAGE) {
      pipeline.publish(channel, encodeEventRun(origin, batch.slice(i, i + MAX_EVENTS_PER_MESSAGE)));
    }
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
    opts.local?.(batch);
  }

  return {
    publish(events) {
      if (events.length === 0) return;
      for (const e of events) pending.push(e.payload);
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
