/**
 * The worker's copy of who is in which room, kept from room.members. Changes
 * are applied strictly in version order (see domain/track-membership.ts), so
 * the stored version says exactly how current a room's member list is.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Tx } from "./db.js";
import { roomMembers, roomMembership } from "./schema.js";

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

/**
 * The room's applied version (0 for a room never seen) and its members as of
 * that version: one statement, so both come from one snapshot without a lock.
 */
export async function readMembership(tx: Tx, roomId: string): Promise<{ version: bigint; members: string[] }> {
  const rows = await tx
    .select({ version: roomMembership.version, userId: roomMembers.userId })
    .from(roomMembership)
    .leftJoin(roomMembers, eq(roomMembers.roomId, roomMembership.roomId))
    .where(eq(roomMembership.roomId, roomId));
  return {
    version: rows[0]?.version ?? 0n,
    members: rows.flatMap((r) => (r.userId === null ? [] : [r.userId])),
  };
}
