/** Queries on rooms and their members. */
import { and, asc, desc, eq, inArray, lt, sql } from "drizzle-orm";
import type { Queryable } from "./db.js";
import {
  type MemberAddPolicy,
  type MemberRole,
  type MemberRow,
  type MessageRow,
  messages,
  type RoomKind,
  type RoomRow,
  roomMembers,
  rooms,
  type Visibility,
} from "./schema.js";

export interface RoomWithRole {
  room: RoomRow;
  /** The user's role in the room, or null when they are not a member. */
  role: MemberRole | null;
}

/**
 * The room and the user's role in it. With `lock`, the room's row lock is
 * taken first (the lock every change of the room, its members or its event
 * log takes), so what is read cannot change before the transaction ends.
 */
export async function findRoomWithRole(
  q: Queryable,
  roomId: string,
  userId: string,
  opts: { lock?: boolean } = {},
): Promise<RoomWithRole | undefined> {
  if (opts.lock) {
    // Two statements, not one: a statement's snapshot is taken before it
    // waits for a lock, so a role read by the locking statement itself is
    // the role from before whatever change it waited for (only the locked
    // row is re-read). FOR NO KEY UPDATE, like the UPDATE that advances the
    // room's heads: it does not block the foreign key checks of concurrent inserts.
    const [room] = await q.select().from(rooms).where(eq(rooms.id, roomId)).for("no key update");
    if (!room) return undefined;
    const [member] = await q
      .select({ role: roomMembers.role })
      .from(roomMembers)
      .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, userId)));
    return { room, role: member?.role ?? null };
  }
  // Unlocked, one round trip.
  const [row] = await q
    .select({ room: rooms, role: roomMembers.role })
    .from(rooms)
    .leftJoin(roomMembers, and(eq(roomMembers.roomId, rooms.id), eq(roomMembers.userId, userId)))
    .where(eq(rooms.id, roomId));
  return row;
}

export async function insertRoom(
  q: Queryable,
  values: {
    name: string;
    visibility: Visibility;
    kind?: RoomKind;
    topic?: string;
    createdBy: string;
    memberAddPolicy?: MemberAddPolicy;
  },
): Promise<RoomRow> {
  const [room] = await q.insert(rooms).values(values).returning();
  if (!room) throw new Error("insert into rooms returned no row");
  return room;
}

/** Inserts the direct room of a pair unless it exists; undefined when it did (or a concurrent call won). */
export async function insertDirectRoom(
  q: Queryable,
  values: { directKey: string; createdBy: string },
): Promise<RoomRow | undefined> {
  const [room] = await q
    .insert(rooms)
    .values({ ...values, name: "", visibility: "private", kind: "direct" })
    .onConflictDoNothing({ target: rooms.directKey })
    .returning();
  return room;
}

export async function findDirectRoom(q: Queryable, directKey: string): Promise<RoomRow | undefined> {
  const [room] = await q.select().from(rooms).where(eq(rooms.directKey, directKey));
  return room;
}

/** Adds members; returns those who were not members yet (someone who already is one keeps their role). */
export async function addMembers(
  q: Queryable,
  roomId: string,
  members: readonly { userId: string; role: MemberRole; lastReadSeq: bigint }[],
): Promise<MemberRow[]> {
  if (members.length === 0) return [];
  return q
    .insert(roomMembers)
    .values(members.map((m) => ({ roomId, ...m })))
    .onConflictDoNothing()
    .returning();
}

/** Whether the user was a member. */
export async function removeMember(q: Queryable, roomId: string, userId: string): Promise<boolean> {
  const removed = await q
    .delete(roomMembers)
    .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, userId)))
    .returning({ userId: roomMembers.userId });
  return removed.length > 0;
}

/** Counts one more change of the room's members; returns the new version. */
export async function bumpMembersVersion(q: Queryable, roomId: string): Promise<bigint> {
  const [row] = await q
    .update(rooms)
    .set({ membersVersion: sql`${rooms.membersVersion} + 1` })
    .where(eq(rooms.id, roomId))
    .returning({ membersVersion: rooms.membersVersion });
  if (!row) throw new Error(`room ${roomId} vanished while its members changed`);
  return row.membersVersion;
}

export async function setMemberRole(q: Queryable, roomId: string, userId: string, role: MemberRole): Promise<void> {
  await q
    .update(roomMembers)
    .set({ role })
    .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, userId)));
}

export async function findMember(q: Queryable, roomId: string, userId: string): Promise<MemberRow | undefined> {
  const [row] = await q
    .select()
    .from(roomMembers)
    .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, userId)));
  return row;
}

// The order members are listed in: by joining time, the owner first among
// those who joined together (at creation).
const memberOrder = [asc(roomMembers.joinedAt), desc(sql`${roomMembers.role} = 'owner'`), asc(roomMembers.userId)];

export async function listMembers(q: Queryable, roomId: string): Promise<MemberRow[]> {
  return q
    .select()
    .from(roomMembers)
    .where(eq(roomMembers.roomId, roomId))
    .orderBy(...memberOrder);
}

/** Members of several rooms, each room's in member order. */
export async function listMembersOfRooms(q: Queryable, roomIds: readonly string[]): Promise<Map<string, MemberRow[]>> {
  const byRoom = new Map<string, MemberRow[]>(roomIds.map((id) => [id, []]));
  if (roomIds.length === 0) return byRoom;
  const rows = await q
    .select()
    .from(roomMembers)
    .where(inArray(roomMembers.roomId, [...roomIds]))
    .orderBy(...memberOrder);
  for (const row of rows) byRoom.get(row.roomId)?.push(row);
  return byRoom;
}

/** Who inherits ownership when the owner leaves: the longest-standing admin, else the longest-standing member. */
export async function successorOf(q: Queryable, roomId: string, ownerId: string): Promise<MemberRow | undefined> {
  const [row] = await q
    .select()
    .from(roomMembers)
    .where(and(eq(roomMembers.roomId, roomId), sql`${roomMembers.userId} <> ${ownerId}`))
    .orderBy(desc(sql`${roomMembers.role} = 'admin'`), asc(roomMembers.joinedAt), asc(roomMembers.userId))
    .limit(1);
  return row;
}

export async function hasOwner(q: Queryable, roomId: string): Promise<boolean> {
  const [row] = await q
    .select({ userId: roomMembers.userId })
    .from(roomMembers)
    .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.role, "owner")))
    .limit(1);
  return row !== undefined;
}

export interface RoomListEntry {
  room: RoomRow;
  lastReadSeq: bigint;
  lastMessage: MessageRow | null;
}

/** The user's rooms with their newest message, most recently active (newest message, else creation) first. */
export async function listRoomsOf(q: Queryable, userId: string): Promise<RoomListEntry[]> {
  return (
    q
      .select({ room: rooms, lastReadSeq: roomMembers.lastReadSeq, lastMessage: messages })
      .from(roomMembers)
      .innerJoin(rooms, eq(rooms.id, roomMembers.roomId))
      // head_seq names the newest message; the (room_id, seq) unique index finds it.
      .leftJoin(messages, and(eq(messages.roomId, rooms.id), eq(messages.seq, rooms.headSeq)))
      .where(eq(roomMembers.userId, userId))
      .orderBy(desc(sql`coalesce(${messages.createdAt}, ${rooms.createdAt})`), asc(rooms.id))
  );
}

/**
 * Per room of `userId`'s, the messages after their read marker from others
 * that mention `username` (lower-cased, as messages store mentions); rooms
 * with none are left out. Counted room by room, each a range of
 * messages_mentions_room_seq_idx from the marker on: the work is the unread
 * messages that mention anyone, however long the rooms' histories.
 */
export async function unreadMentionCounts(
  q: Queryable,
  userId: string,
  username: string,
): Promise<Map<string, bigint>> {
  const rows = await q
    .select({
      roomId: roomMembers.roomId,
      // The outer row's columns named in full: drizzle leaves them unqualified in sql, where they would be m's.
      count: sql<string>`(
        select count(*) from ${messages} m
        where m.room_id = room_members.room_id and m.seq > room_members.last_read_seq
          and cardinality(m.mentions) > 0 and m.mentions @> array[${username.toLowerCase()}]::text[]
          and m.sender_id <> ${userId})`,
    })
    .from(roomMembers)
    .where(eq(roomMembers.userId, userId));
  return new Map(rows.filter((r) => r.count !== "0").map((r) => [r.roomId, BigInt(r.count)]));
}

/**
 * The rooms `userId` is a member of, with their role in each, in room id
 * order, with every one of those rooms' row locks taken (in that order, as
 * every transaction locking several rooms takes them). The roles are read
 * after the locks, so a member removed meanwhile is not listed.
 */
export async function lockRoomsOfMember(q: Queryable, userId: string): Promise<{ roomId: string; role: MemberRole }[]> {
  const locked = await q
    .select({ id: rooms.id })
    .from(rooms)
    .where(
      inArray(rooms.id, q.select({ id: roomMembers.roomId }).from(roomMembers).where(eq(roomMembers.userId, userId))),
    )
    .orderBy(asc(rooms.id))
    .for("no key update");
  if (locked.length === 0) return [];
  return q
    .select({ roomId: roomMembers.roomId, role: roomMembers.role })
    .from(roomMembers)
    .where(
      and(
        eq(roomMembers.userId, userId),
        inArray(
          roomMembers.roomId,
          locked.map((r) => r.id),
        ),
      ),
    )
    .orderBy(asc(roomMembers.roomId));
}

export async function roomIdsOf(q: Queryable, userId: string): Promise<string[]> {
  const rows = await q.select({ roomId: roomMembers.roomId }).from(roomMembers).where(eq(roomMembers.userId, userId));
  return rows.map((r) => r.roomId);
}

/** Public group rooms whose name starts with `prefix` (case-insensitive), by name. */
export async function listPublicRooms(q: Queryable, prefix: string, limit: number): Promise<RoomRow[]> {
  const pattern = `${prefix.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return q
    .select()
    .from(rooms)
    .where(and(eq(rooms.visibility, "public"), sql`lower(${rooms.name}) like ${pattern}`))
    .orderBy(asc(sql`lower(${rooms.name})`), asc(rooms.id))
    .limit(limit);
}

/**
 * Moves the read marker to min(seq, head_seq) if that is further than it
 * is; returns the new marker and head when it moved, undefined when not.
 */
export async function advanceReadMarker(
  q: Queryable,
  roomId: string,
  userId: string,
  seq: bigint,
): Promise<{ lastReadSeq: bigint; headSeq: bigint } | undefined> {
  const target = sql`least(${seq.toString()}::bigint, ${rooms.headSeq})`;
  const [row] = await q
    .update(roomMembers)
    .set({ lastReadSeq: target })
    .from(rooms)
    .where(
      and(
        eq(rooms.id, roomMembers.roomId),
        eq(roomMembers.roomId, roomId),
        eq(roomMembers.userId, userId),
        lt(roomMembers.lastReadSeq, target),
      ),
    )
    .returning({ lastReadSeq: roomMembers.lastReadSeq, headSeq: rooms.headSeq });
  return row;
}
