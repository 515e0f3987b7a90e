import type { Identity } from "@parley/shared/auth.js";
import { deactivatedAmong } from "../storage/known-users.js";
import { onlineAmong } from "../storage/presence-store.js";
import { listMembers } from "../storage/rooms.js";
import { loadRoomForMember } from "./access.js";
import type { DomainDeps, RoomView } from "./deps.js";

/**
 * The room with its members and which of them are online now (the presence
 * store): the snapshot a client applies the room's `presence` events to.
 * Presence is not in the room's log, so a change between this read and the
 * client's subscription is seen only at the member's next change. Also
 * which members are deactivated (user-directory.ts), read in the same snapshot.
 */
export async function getRoom(
  { db, redis, keyPrefix }: DomainDeps,
  caller: Identity,
  roomId: string,
): Promise<RoomView & { online: Set<string>; deactivated: Set<string> }> {
  // One snapshot, so the heads and the members describe the same moment.
  const view = await db.transaction(
    async (tx) => {
      const { room } = await loadRoomForMember(tx, caller.userId, roomId);
      const members = await listMembers(tx, room.id);
      const deactivated = await deactivatedAmong(
        tx,
        members.map((m) => m.userId),
      );
      return { room, members, deactivated };
    },
    { isolationLevel: "repeatable read", accessMode: "read only" },
  );
  const online = await onlineAmong(
    redis,
    keyPrefix,
    view.members.map((m) => m.userId),
  );
  return { ...view, online };
}

/** The room's heads, for a member: one indexed read, no member list. */
export async function getRoomHead(
  { db }: DomainDeps,
  caller: Identity,
  roomId: string,
): Promise<{ headSeq: bigint; headEventSeq: bigint }> {
  const { room } = await loadRoomForMember(db, caller.userId, roomId);
  return { headSeq: room.headSeq, headEventSeq: room.headEventSeq };
}
