/** Queries on `known_users`, chat-svc's copy of the user directory. */
import { inArray, sql } from "drizzle-orm";
import type { Queryable } from "./db.js";
import { knownUsers } from "./schema.js";

export interface KnownUser {
  userId: string;
  username: string;
  /** When user-svc last changed the account. */
  changedAt: Date;
}

/**
 * Inserts or refreshes users. A row only moves forward in time: an entry
 * older than what is stored (a redelivered or overtaken event) changes
 * nothing, so applying the same users twice or out of order is harmless.
 */
export async function recordKnownUsers(q: Queryable, users: readonly KnownUser[]): Promise<void> {
  if (users.length === 0) return;
  await q
    .insert(knownUsers)
    .values(users.map((u) => ({ userId: u.userId.toLowerCase(), username: u.username, changedAt: u.changedAt })))
    .onConflictDoUpdate({
      target: knownUsers.userId,
      set: { username: sql`excluded.username`, changedAt: sql`excluded.changed_at` },
      setWhere: sql`${knownUsers.changedAt} <= excluded.changed_at`,
    });
}

/** Which of `userIds` (lower case) are known. */
export async function findKnownUserIds(q: Queryable, userIds: readonly string[]): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  const rows = await q
    .select({ userId: knownUsers.userId })
    .from(knownUsers)
    .where(inArray(knownUsers.userId, [...userIds]));
  return new Set(rows.map((r) => r.userId));
}
