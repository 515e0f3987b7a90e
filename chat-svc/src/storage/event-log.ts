/**
 * The per-room event log. An event's seq is taken by advancing
 * rooms.head_event_seq, which takes the room's row lock until the
 * transaction ends: events of one room are therefore numbered without gaps
 * and committed in seq order, so any snapshot sees a contiguous prefix.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { TimestampSchema, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { RoomEventSchema } from "@parley/proto/chat/v1/chat_pb.js";
import { bufferView } from "@parley/shared/buffer-view.js";
import { and, asc, eq, gt, lt, max, sql } from "drizzle-orm";
import { type DurableKind, encodeRoomEvent, type PublishedEvent } from "../room-events.js";
import type { Queryable } from "./db.js";
import { type RoomRow, roomEvents, rooms } from "./schema.js";

/** A RoomEvent's bytes, and the room and seq it is stored under. */
export interface LoggedEvent extends PublishedEvent {
  roomId: string;
  eventSeq: bigint;
  occurredAt: Date;
  payload: Buffer;
}

export function buildEvent(roomId: string, eventSeq: bigint, occurredAt: Date, kind: DurableKind): LoggedEvent {
  const event = create(RoomEventSchema, { roomId, eventSeq, occurredAt: timestampFromDate(occurredAt), kind });
  return { roomId, eventSeq, occurredAt, payload: encodeRoomEvent(event) };
}

const EVENT = RoomEventSchema.field;

/**
 * A messageCreated event around the message's binary encoding, written as
 * toBinary writes the event (fields in number order) without encoding the
 * message a second time: the send path already holds its bytes for the
 * sender's answer.
 */
export function messageCreatedEvent(
  roomId: string,
  eventSeq: bigint,
  occurredAt: Date,
  message: Uint8Array,
): LoggedEvent {
  const writer = new BinaryWriter();
  // Zero values are left out, as toBinary leaves them out.
  if (roomId !== "") writer.tag(EVENT.roomId.number, WireType.LengthDelimited).string(roomId);
  writer.tag(EVENT.messageCreated.number, WireType.LengthDelimited).bytes(message);
  if (eventSeq !== 0n) writer.tag(EVENT.eventSeq.number, WireType.Varint).int64(eventSeq);
  writer
    .tag(EVENT.occurredAt.number, WireType.LengthDelimited)
    .bytes(toBinary(TimestampSchema, timestampFromDate(occurredAt)));
  return { roomId, eventSeq, occurredAt, payload: bufferView(writer.finish()) };
}

/**
 * Reserves the next `n` event seqs of the room (head_event_seq - n + 1 ..
 * head_event_seq of the returned row), changing `fields` of the room in the
 * same update.
 */
export async function advanceEventLog(
  q: Queryable,
  roomId: string,
  n: number,
  fields: Partial<Pick<RoomRow, "name" | "topic" | "memberAddPolicy">> = {},
): Promise<RoomRow> {
  const [room] = await q
    .update(rooms)
    .set({ ...fields, headEventSeq: sql`${rooms.headEventSeq} + ${n}` })
    .where(eq(rooms.id, roomId))
    .returning();
  if (!room) throw new Error(`room ${roomId} vanished while appending events`);
  return room;
}

/** Stores events numbered from `firstSeq` (already reserved with advanceEventLog). */
export async function storeEvents(
  q: Queryable,
  roomId: string,
  firstSeq: bigint,
  kinds: readonly DurableKind[],
): Promise<LoggedEvent[]> {
  if (kinds.length === 0) return [];
  const now = new Date();
  const events = kinds.map((kind, i) => buildEvent(roomId, firstSeq + BigInt(i), now, kind));
  await q
    .insert(roomEvents)
    .values(events.map(({ roomId, eventSeq, occurredAt, payload }) => ({ roomId, eventSeq, occurredAt, payload })));
  return events;
}

/** Reserves seqs for and stores `kinds`, in order; returns the room as it is after the advance. */
export async function appendEvents(
  q: Queryable,
  roomId: string,
  kinds: readonly DurableKind[],
): Promise<{ room: RoomRow; events: LoggedEvent[] }> {
  const room = await advanceEventLog(q, roomId, kinds.length);
  const events = await storeEvents(q, roomId, room.headEventSeq - BigInt(kinds.length) + 1n, kinds);
  return { room, events };
}

/** Up to `limit` + 1 stored events after `afterSeq`, ascending. */
export async function pageEvents(q: Queryable, roomId: string, afterSeq: bigint, limit: number): Promise<Buffer[]> {
  const rows = await q
    .select({ payload: roomEvents.payload })
    .from(roomEvents)
    .where(and(eq(roomEvents.roomId, roomId), gt(roomEvents.eventSeq, afterSeq)))
    .orderBy(asc(roomEvents.eventSeq))
    .limit(limit + 1);
  return rows.map((r) => r.payload);
}

/** For each room with events older than `cutoff`: the newest such event's seq. */
export async function roomsWithEventsBefore(
  q: Queryable,
  cutoff: Date,
  limit: number,
): Promise<{ roomId: string; upTo: bigint }[]> {
  const rows = await q
    .select({ roomId: roomEvents.roomId, upTo: max(roomEvents.eventSeq) })
    .from(roomEvents)
    .where(lt(roomEvents.occurredAt, cutoff))
    .groupBy(roomEvents.roomId)
    .limit(limit);
  return rows.flatMap((r) => (r.upTo === null ? [] : [{ roomId: r.roomId, upTo: r.upTo }]));
}

/**
 * Deletes a room's events up to and including `upTo` and records that the
 * log now starts after it. Everything up to a seq goes, not just what is
 * older than the cutoff, so the log that remains never has a hole.
 */
export async function truncateLog(q: Queryable, roomId: string, upTo: bigint): Promise<number> {
  await q
    .update(rooms)
    .set({ minEventSeq: sql`greatest(${rooms.minEventSeq}, ${(upTo + 1n).toString()}::bigint)` })
    .where(eq(rooms.id, roomId));
  // Counted, not returned: a first purge can delete a great many rows.
  const deleted = await q
    .delete(roomEvents)
    .where(and(eq(roomEvents.roomId, roomId), sql`${roomEvents.eventSeq} <= ${upTo.toString()}::bigint`));
  return deleted.count;
}
