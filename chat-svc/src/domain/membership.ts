/**
 * Every change of who is in a room goes through here: it counts the change
 * in the room's membership version and publishes room.members in the same
 * transaction, so consumers that keep their own copy of a room's members
 * (the mail worker, to know whom a message concerns) see every change, in
 * order, exactly as committed.
 */
import { enqueueEvent } from "@parley/shared/outbox.js";
import { memberAddsLimited } from "../errors.js";
import type { Queryable } from "../storage/db.js";
import { bumpMembersVersion, addMembers as insertMembers, removeMember } from "../storage/rooms.js";
import type { MemberRole, MemberRow, RoomRow } from "../storage/schema.js";
import type { DomainDeps } from "./deps.js";
import { requireKnownUsers } from "./user-directory.js";

/**
 * What every call that makes others members checks before its transaction:
 * the caller's per-minute budget of users named (spent first, so made-up ids
 * reach user-svc no faster than that budget), then that every one of them
 * exists.
 * `userIds` are lower case and exclude the caller.
 */
export async function checkNewMembers(
  deps: Pick<DomainDeps, "db" | "users" | "memberAdds">,
  callerId: string,
  userIds: readonly string[],
): Promise<void> {
  if (userIds.length === 0) return;
  const wait = await deps.memberAdds.spend(callerId, userIds.length);
  if (wait !== undefined) throw memberAddsLimited(wait);
  await requireKnownUsers(deps, userIds);
}

async function membersChanged(
  tx: Queryable,
  roomId: string,
  change: { joined: readonly string[]; left: readonly string[] },
): Promise<void> {
  const version = await bumpMembersVersion(tx, roomId);
  await enqueueEvent(tx, "room.members", {
    roomId,
    version,
    joinedUserIds: [...change.joined],
    leftUserIds: [...change.left],
  });
}

/**
 * Adds members; returns those who were not members yet (the others keep
 * their role, and nothing changes for them). A new member has read up to the
 * room's head (`room` as read under its lock): what was said before they
 * joined, or while they were away, is history to them, not unread.
 */
export async function admitMembers(
  tx: Queryable,
  room: Pick<RoomRow, "id" | "headSeq">,
  members: readonly { userId: string; role: MemberRole }[],
): Promise<MemberRow[]> {
  const added = await insertMembers(
    tx,
    room.id,
    members.map((m) => ({ ...m, lastReadSeq: room.headSeq })),
  );
  if (added.length > 0) await membersChanged(tx, room.id, { joined: added.map((m) => m.userId), left: [] });
  return added;
}

/** Removes a member; a user who is not one changes nothing. */
export async function dismissMember(tx: Queryable, roomId: string, userId: string): Promise<void> {
  if (await removeMember(tx, roomId, userId)) await membersChanged(tx, roomId, { joined: [], left: [userId] });
}
