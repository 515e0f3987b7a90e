/** Queries on `known_users`, chat-svc's copy of the user directory. */
import { and, eq, inArray, ne, sql } from "drizzle-orm";
import type { Queryable } from "./db.js";
import { knownUsers, roomMembers } from "./schema.js";

export interface KnownUser {
  userId: string;
  username: string;
  /** When user-svc last changed the account. */
  changedAt: Date;
  /**
   * Whether an operator deactivated it, and as of when
   * (user.deactivated/user.reactivated, or a lookup); absent: this source
   * does not say (user.registered, user.updated), and what is stored stays.
   */
  status?: { deactivated: boolean; changedAt: Date };
}

/**
 * Inserts or refreshes users. A row only moves forward in time: an entry
 * older than what is stored (a redelivered or overtaken event) changes
 * nothing, so applying the same users twice or out of order is harmless.
 * The name and the deactivation each move on their own clock, so a profile
 * change never undoes a (re)activation that happened before or after it.
 */
export async function recordKnownUsers(q: Queryable, users: readonly KnownUser[]): Promise<void> {
  if (users.length === 0) return;
  await upsertKnownUsers(q, users);
}

/**
 * Records one user as recordKnownUsers does, holding the row's lock until
 * the transaction ends; says whether the user is deactivated before and
 * after, so the caller can tell an actual (de)activation from a repeated or
 * overtaken event. A user not stored before counts as active before.
 */
export async function recordKnownUser(
  q: Queryable,
  user: KnownUser,
): Promise<{ wasDeactivated: boolean; deactivated: boolean }> {
  const userId = user.userId.toLowerCase();
  // Locked first, so that two events about one user apply one after the other and each sees the other's outcome.
  const [before] = await q
    .select({ deactivated: knownUsers.deactivated })
    .from(knownUsers)
    .where(eq(knownUsers.userId, userId))
    .for("update");
  const [after] = await upsertKnownUsers(q, [user]);
  return { wasDeactivated: before?.deactivated ?? false, deactivated: after?.deactivated ?? false };
}

function upsertKnownUsers(q: Queryable, users: readonly KnownUser[]) {
  const stored = knownUsers;
  return q
    .insert(knownUsers)
    .values(
      users.map((u) => ({
        userId: u.userId.toLowerCase(),
        username: u.username,
        changedAt: u.changedAt,
        deactivated: u.status?.deactivated ?? false,
        statusChangedAt: u.status?.changedAt ?? null,
      })),
    )
    .onConflictDoUpdate({
      target: knownUsers.userId,
      set: {
        username: sql`case when ${stored.changedAt} <= excluded.changed_at then excluded.username else ${stored.username} end`,
        changedAt: sql`greatest(${stored.changedAt}, excluded.changed_at)`,
        deactivated: sql`case when excluded.status_changed_at is not null
          and (${stored.statusChangedAt} is null or ${stored.statusChangedAt} <= excluded.status_changed_at)
          then excluded.deactivated else ${stored.deactivated} end`,
        statusChangedAt: sql`greatest(${stored.statusChangedAt}, excluded.status_changed_at)`,
      },
    })
    .returning({ deactivated: knownUsers.deactivated });
}

/** Which of `userIds` (lower case) are known, each with whether it is deactivated. */
export async function findKnownUsers(q: Queryable, userIds: readonly string[]): Promise<Map<string, boolean>> {
  if (userIds.length === 0) return new Map();
  const rows = await q
    .select({ userId: knownUsers.userId, deactivated: knownUsers.deactivated })
    .from(knownUsers)
    .where(inArray(knownUsers.userId, [...userIds]));
  return new Map(rows.map((r) => [r.userId, r.deactivated]));
}

/** Which of `userIds` are deactivated, as far as the copy knows. */
export async function deactivatedAmong(q: Queryable, userIds: readonly string[]): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  const rows = await q
    .select({ userId: knownUsers.userId })
    .from(knownUsers)
    .where(and(inArray(knownUsers.userId, [...userIds]), eq(knownUsers.deactivated, true)));
  return new Set(rows.map((r) => r.userId));
}

/**
 * The other member of `roomId` than `userId` who is deactivated, if any: in
 * a direct room, the peer whose deactivation makes the conversation read-only.
 */
export async function deactivatedPeer(q: Queryable, roomId: string, userId: string): Promise<string | undefined> {
  const [row] = await q
    .select({ userId: roomMembers.userId })
    .from(roomMembers)
    .innerJoin(knownUsers, eq(knownUsers.userId, roomMembers.userId))
    .where(and(eq(roomMembers.roomId, roomId), ne(roomMembers.userId, userId), eq(knownUsers.deactivated, true)))
    .limit(1);
  return row?.userId;
}
