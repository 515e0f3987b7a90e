/**
 * Which users exist, as far as rooms are concerned: chat-svc's own copy of
 * the verified accounts (known_users), kept from user.registered and
 * user.updated (user-events.ts), so that a room never admits an id nobody
 * owns. Both events mean a verified account: user-svc publishes
 * user.registered at an account's first verification, and user.updated only
 * for a signed-in user, who has verified.
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
import { usersNotFound } from "../errors.js";
import { findKnownUserIds, type KnownUser, recordKnownUsers } from "../storage/known-users.js";
import type { DomainDeps } from "./deps.js";

/** Throws USER_NOT_FOUND naming every id (lower case) that belongs to no verified user. */
export async function requireKnownUsers(
  deps: Pick<DomainDeps, "db" | "users">,
  userIds: readonly string[],
): Promise<void> {
  if (userIds.length === 0) return;
  const known = await findKnownUserIds(deps.db, userIds);
  const missing = userIds.filter((id) => !known.has(id));
  if (missing.length === 0) return;
  const found = await deps.users.lookup(missing);
  await recordKnownUsers(deps.db, found);
  const foundIds = new Set(found.map((u) => u.userId));
  const unknown = missing.filter((id) => !foundIds.has(id));
  if (unknown.length > 0) throw usersNotFound(unknown);
}

/** Applies a user event: harmless when repeated or older than what is recorded. */
export function recordUser(deps: Pick<DomainDeps, "db">, user: KnownUser): Promise<void> {
  return recordKnownUsers(deps.db, [user]);
}
