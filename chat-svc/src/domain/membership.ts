/**
 * Every change of who is in a room goes through here: it counts the change
 * in the room's membership version and publishes room.members in the same
 * transaction, so consumers that keep their own copy of a room's members
 * (the mail worker, to know whom a message concerns) see every change, in
 * order, exactly as committed.
 */
import { enqueueEvent } from "@parley/shared/outbox.js";
import type { Queryable } from "../storage/db.js";
import { bumpMembersVersion, addMembers as insertMembers, removeMember } from "../storage/rooms.js";
import type { MemberRole, MemberRow } from "../storage/schema.js";

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

/** Adds members; returns those who were not members yet (the others keep their role, and nothing changes for them). */
export async function admitMembers(
  tx: Queryable,
  roomId: string,
  members: readonly { userId: string; role: MemberRole }[],
): Promise<MemberRow[]> {
  const added = await insertMembers(tx, roomId, members);
  if (added.length > 0) await membersChanged(tx, roomId, { joined: added.map((m) => m.userId), left: [] });
  return added;
}

/** Removes a member; a user who is not one changes nothing. */
export async function dismissMember(tx: Queryable, roomId: string, userId: string): Promise<void> {
  if (await removeMember(tx, roomId, userId)) await membersChanged(tx, roomId, { joined: [], left: [userId] });
}
