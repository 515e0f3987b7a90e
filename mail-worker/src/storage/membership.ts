/**
 * The worker's copy of who is in which room, kept from room.members. Changes
 * are applied strictly in version order (see domain/track-membership.ts), so
 * the stored version says exactly how current a room's member list is.
 */
import { and, eq, inArray, ne, sql } from "drizzle-orm";
import type { Tx } from "./db.js";
import type { RecipientPreferences } from "./recipients.js";
import { presence, recipients, roomMembers, roomMembership, roomReads } from "./schema.js";

/**
 * The version applied so far (0 for a room never seen), with the room's row
 * locked until the transaction ends: concurrent changes of one room, on
 * any worker instance, take turns.
 */
export async function lockMembership(tx: Tx, roomId: string): Promise<bigint> {
  await tx.insert(roomMembership).values({ roomId, version: 0n }).onConflictDoNothing();
  const [row] = await tx
    .select({ version: roomMembership.version })
    .from(roomMembership)
    .where(eq(roomMembership.roomId, roomId))
    .for("update");
  if (!row) throw new Error(`room ${roomId} vanished from the membership table`);
  return row.version;
}

export async function applyMembershipChange(
  tx: Tx,
  change: { roomId: string; version: bigint; joined: readonly string[]; left: readonly string[] },
): Promise<void> {
  const { roomId } = change;
  if (change.joined.length > 0) {
    await tx
      .insert(roomMembers)
      .values(change.joined.map((userId) => ({ roomId, userId })))
      .onConflictDoNothing();
  }
  if (change.left.length > 0) {
    await tx
      .delete(roomMembers)
      .where(and(eq(roomMembers.roomId, roomId), inArray(roomMembers.userId, [...change.left])));
  }
  await tx
    .update(roomMembership)
    .set({ version: sql`${change.version.toString()}::bigint` })
    .where(eq(roomMembership.roomId, roomId));
}

/** The room's applied version (0 for a room never seen). */
export async function membershipVersion(tx: Tx, roomId: string): Promise<bigint> {
  const [row] = await tx
    .select({ version: roomMembership.version })
    .from(roomMembership)
    .where(eq(roomMembership.roomId, roomId));
  return row?.version ?? 0n;
}

/** A member, with what decides whether they hear of a message in the room. */
export interface Listener extends RecipientPreferences {
  online: boolean;
  /** Undefined: never read the room. */
  lastReadSeq: bigint | undefined;
}

/**
 * The room's members but one (the sender), in user order, each with their
 * address and preferences, presence and read marker in the room, in one
 * statement; `unknown`: members with no address known yet.
 */
export async function listenersOf(
  tx: Tx,
  roomId: string,
  exceptUserId: string,
): Promise<{ known: Listener[]; unknown: string[] }> {
  const rows = await tx
    .select({
      userId: roomMembers.userId,
      email: recipients.email,
      username: recipients.username,
      notificationLevel: recipients.notificationLevel,
      unsubscribedAt: recipients.unsubscribedAt,
      deactivated: recipients.deactivated,
      online: presence.online,
      lastReadSeq: roomReads.lastReadSeq,
    })
    .from(roomMembers)
    .leftJoin(recipients, eq(recipients.userId, roomMembers.userId))
    .leftJoin(presence, eq(presence.userId, roomMembers.userId))
    .leftJoin(roomReads, and(eq(roomReads.userId, roomMembers.userId), eq(roomReads.roomId, roomMembers.roomId)))
    .where(and(eq(roomMembers.roomId, roomId), ne(roomMembers.userId, exceptUserId)))
    .orderBy(roomMembers.userId);
  const known: Listener[] = [];
  const unknown: string[] = [];
  for (const r of rows) {
    if (r.email === null || r.username === null || r.notificationLevel === null) {
      unknown.push(r.userId);
      continue;
    }
    known.push({
      userId: r.userId,
      email: r.email,
      username: r.username,
      notificationLevel: r.notificationLevel,
      unsubscribed: r.unsubscribedAt !== null,
      deactivated: r.deactivated === true,
      online: r.online === true,
      lastReadSeq: r.lastReadSeq ?? undefined,
    });
  }
  return { known, unknown };
}
