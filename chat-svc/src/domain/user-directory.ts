/**
 * Which users exist, as far as rooms are concerned: chat-svc's own copy of
 * the verified accounts (known_users), kept from user.registered and
 * user.updated (user-events.ts), so that a room never admits an id nobody
 * owns. Both events mean a verified account: user-svc publishes
 * user.registered at an account's first verification, and user.updated only
 * for a signed-in user, who has verified. user.deactivated and
 * user.reactivated mark who an operator deactivated: such a user keeps their
 * rooms and messages but cannot be added to a room or messaged directly.
 *
 * An id the copy lacks is asked of user-svc (LookupUsers) before it is
 * refused, and what user-svc finds is recorded. That one path covers every
 * way the copy can fall behind: users verified before chat-svc's queue
 * existed, an event still on its way (a room made with someone a moment
 * after they verified), or one lost to an operator's purge. Unknown ids cost
 * a call to user-svc each time, which the per-minute budget on naming users
 * bounds; if user-svc cannot answer, the call fails `unavailable` rather than
 * refusing a user who may well exist.
 */
import { usersDeactivated, usersNotFound } from "../errors.js";
import { findKnownUsers, type KnownUser, recordKnownUsers } from "../storage/known-users.js";
import type { DomainDeps } from "./deps.js";

/**
 * Throws USER_NOT_FOUND naming every id (lower case) that belongs to no
 * verified user, else USER_DEACTIVATED naming the deactivated ones.
 */
export async function requireKnownUsers(
  deps: Pick<DomainDeps, "db" | "users">,
  userIds: readonly string[],
): Promise<void> {
  if (userIds.length === 0) return;
  const known = await findKnownUsers(deps.db, userIds);
  const missing = userIds.filter((id) => !known.has(id));
  if (missing.length > 0) {
    const found = await deps.users.lookup(missing);
    await recordKnownUsers(deps.db, found);
    for (const u of found) known.set(u.userId, u.status?.deactivated ?? false);
    const unknown = missing.filter((id) => !known.has(id));
    if (unknown.length > 0) throw usersNotFound(unknown);
  }
  const deactivated = userIds.filter((id) => known.get(id) === true);
  if (deactivated.length > 0) throw usersDeactivated(deactivated);
}

/** Applies a user event: harmless when repeated or older than what is recorded. */
export function recordUser(deps: Pick<DomainDeps, "db">, user: KnownUser): Promise<void> {
  return recordKnownUsers(deps.db, [user]);
}
