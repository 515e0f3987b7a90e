/** Queries on rooms and their members. */
import { and, asc, desc, eq, sql } from "drizzle-orm";
import type { Queryable } from "./db.js";
import { type MemberRole, type RoomRow, roomMembers, rooms, type Visibility } from "./schema.js";

export interface RoomWithRole {
  room: RoomRow;
  /** The user's role in the room, or null when they are not a member. */
  role: MemberRole | null;
}

/** The room and the user's membership in one round trip. */
export async function findRoomWithRole(
  q: Queryable,
  roomId: string,
  userId: string,
): Promise<RoomWithRole | undefined> {
  const [row] = await q
    .select({ room: rooms, role: roomMembers.role })
    .from(rooms)
    .leftJoin(roomMembers, and(eq(roomMembers.roomId, rooms.id), eq(roomMembers.userId, userId)))
    .where(eq(rooms.id, roomId));
  return row;
}

export async function insertRoom(
  q: Queryable,
  values: { name: string; visibility: Visibility; createdBy: string },
): Promise<RoomRow> {
  const [room] = await q.insert(rooms).values(values).returning();
  if (!room) throw new Error("insert into rooms returned no row");
  return room;
}

/** Adds members; someone who already is one keeps their role. */
export async function addMembers(
  q: Queryable,
  roomId: string,
  members: readonly { userId: string; role: MemberRole }[],
): Promise<void> {
  if (members.length === 0) return;
  await q
    .insert(roomMembers)
    .values(members.map((m) => ({ roomId, ...m })))
    .onConflictDoNothing();
}

/** Member ids in the order they joined, the owner first among those who joined together (at creation). */
export async function memberIds(q: Queryable, roomId: string): Promise<string[]> {
  const rows = await q
    .select({ userId: roomMembers.userId })
    .from(roomMembers)
    .where(eq(roomMembers.roomId, roomId))
    .orderBy(asc(roomMembers.joinedAt), desc(sql`${roomMembers.role} = 'owner'`), asc(roomMembers.userId));
  return rows.map((r) => r.userId);
}

/**
 * Takes the next seq of a room. The row lock this takes is held until the
 * transaction ends, so concurrent senders to one room queue here and commit
 * in seq order: seqs are gapless as long as a taken seq is always used or
 * given back (`releaseSeq`).
 */
export async function takeNextSeq(q: Queryable, roomId: string): Promise<{ seq: bigint; name: string }> {
  const [row] = await q
    .update(rooms)
    .set({ headSeq: sql`${rooms.headSeq} + 1` })
    .where(eq(rooms.id, roomId))
    .returning({ seq: rooms.headSeq, name: rooms.name });
  if (!row) throw new Error(`room ${roomId} vanished while sending`);
  return row;
}

/** Gives back the seq just taken by `takeNextSeq` in this transaction (which still holds the row lock). */
export async function releaseSeq(q: Queryable, roomId: string): Promise<void> {
  await q
    .update(rooms)
    .set({ headSeq: sql`${rooms.headSeq} - 1` })
    .where(eq(rooms.id, roomId));
}
