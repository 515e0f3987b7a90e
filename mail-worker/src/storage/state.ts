/**
 * What the worker must know at sending time besides addresses: who is online,
 * how far each member has read each room, and which messages are gone.
 * Every write is idempotent and order-independent, so these events need no
 * ledger: a redelivered or overtaken event changes nothing.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import { at, type Tx } from "./db.js";
import { deletedMessages, presence, roomReads } from "./schema.js";

/** Applies a presence transition unless a later one was applied already. */
export async function setPresence(tx: Tx, userId: string, online: boolean, changedAt: Date): Promise<void> {
  await tx
    .insert(presence)
    .values({ userId, online, changedAt })
    .onConflictDoUpdate({
      target: presence.userId,
      set: { online, changedAt },
      setWhere: sql`${presence.changedAt} <= ${at(changedAt)}`,
    });
}

export async function onlineUsers(tx: Tx, userIds: readonly string[]): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  const rows = await tx
    .select({ userId: presence.userId })
    .from(presence)
    .where(and(inArray(presence.userId, [...userIds]), eq(presence.online, true)));
  return new Set(rows.map((r) => r.userId));
}

/** Moves the marker forward only. */
export async function advanceReadMarker(tx: Tx, userId: string, roomId: string, lastReadSeq: bigint): Promise<void> {
  await tx
    .insert(roomReads)
    .values({ userId, roomId, lastReadSeq })
    .onConflictDoUpdate({
      target: [roomReads.userId, roomReads.roomId],
      set: { lastReadSeq: sql`greatest(${roomReads.lastReadSeq}, excluded.last_read_seq)` },
    });
}

/** Each user's marker in the room; users who never read it are absent. */
export async function readMarkers(tx: Tx, roomId: string, userIds: readonly string[]): Promise<Map<string, bigint>> {
  if (userIds.length === 0) return new Map();
  const rows = await tx
    .select({ userId: roomReads.userId, lastReadSeq: roomReads.lastReadSeq })
    .from(roomReads)
    .where(and(eq(roomReads.roomId, roomId), inArray(roomReads.userId, [...userIds])));
  return new Map(rows.map((r) => [r.userId, r.lastReadSeq]));
}

export async function markDeleted(tx: Tx, messageId: string, roomId: string): Promise<void> {
  await tx.insert(deletedMessages).values({ messageId, roomId }).onConflictDoNothing();
}

export async function deletedAmong(tx: Tx, messageIds: readonly string[]): Promise<Set<string>> {
  if (messageIds.length === 0) return new Set();
  const rows = await tx
    .select({ id: deletedMessages.messageId })
    .from(deletedMessages)
    .where(inArray(deletedMessages.messageId, [...messageIds]));
  return new Set(rows.map((r) => r.id));
}
