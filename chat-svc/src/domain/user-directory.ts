/**
 * Which users exist, as far as rooms are concerned: chat-svc's own copy of
 * the verified accounts (known_users), kept from user.registered and
 * user.updated (user-events.ts), so that a room never admits an id nobody
 * owns. Both events mean a verified account: user-svc publishes
 * user.registered at an account's first verification, and user.updated only
 * for a signed-in user, who has verified. user.deactivated and
 * user.reactivated mark who an operator deactivated: such a user keeps their
 * rooms and messages but cannot be added to a room or messaged directly,
 * and a direct room with them is read-only. Each actual change is told to
 * every room they are in, as a member_changed event (DEACTIVATED or
 * REACTIVATED) committed with it, so clients follow it live.
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
import { MemberChanged_Change } from "@parley/proto/chat/v1/chat_pb.js";
import { peerDeactivated, usersDeactivated, usersNotFound } from "../errors.js";
import { memberChanged } from "../mapping.js";
import type { Queryable } from "../storage/db.js";
import { appendEvents } from "../storage/event-log.js";
import {
  deactivatedPeer,
  findKnownUsers,
  type KnownUser,
  recordKnownUser,
  recordKnownUsers,
} from "../storage/known-users.js";
import { lockRoomsOfMember } from "../storage/rooms.js";
import type { RoomRow } from "../storage/schema.js";
import { type DomainDeps, inRoomTransaction } from "./deps.js";

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

/**
 * Applies a user event: harmless when repeated or older than what is
 * recorded. When it actually (de)activates the user, every room they are in
 * gets a member_changed event in the same transaction: a repeated or
 * overtaken event writes none.
 */
export async function recordUser(deps: Pick<DomainDeps, "db" | "events">, user: KnownUser): Promise<void> {
  // Profile changes never touch the flag: no lock, no rooms.
  if (!user.status) return recordKnownUsers(deps.db, [user]);
  await inRoomTransaction(deps, async (tx, logged) => {
    const { wasDeactivated, deactivated } = await recordKnownUser(tx, user);
    if (wasDeactivated === deactivated) return;
    const userId = user.userId.toLowerCase();
    const change = deactivated ? MemberChanged_Change.DEACTIVATED : MemberChanged_Change.REACTIVATED;
    // Nobody in particular did it: an operator, through user-svc.
    for (const { roomId, role } of await lockRoomsOfMember(tx, userId)) {
      logged.push(...(await appendEvents(tx, roomId, [memberChanged(userId, change, role, "")])).events);
    }
  });
}

/**
 * Refuses writing to a direct room whose other member is deactivated (the
 * conversation is read-only); group rooms are not asked about. Call with the
 * room's lock held, which a (de)activation takes too, so the answer holds
 * until the caller commits.
 */
export async function requireWritable(q: Queryable, room: RoomRow, callerId: string): Promise<void> {
  if (room.kind !== "direct") return;
  const peer = await deactivatedPeer(q, room.id, callerId);
  if (peer !== undefined) throw peerDeactivated(room.id, peer);
}
