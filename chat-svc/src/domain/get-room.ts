import type { Identity } from "@parley/shared/auth.js";
import { listMembers } from "../storage/rooms.js";
import { loadRoomForMember } from "./access.js";
import type { DomainDeps, RoomView } from "./deps.js";

export async function getRoom({ db }: DomainDeps, caller: Identity, roomId: string): Promise<RoomView> {
  // One snapshot, so the heads and the members describe the same moment.
  return db.transaction(
    async (tx) => {
      const { room } = await loadRoomForMember(tx, caller.userId, roomId);
      return { room, members: await listMembers(tx, room.id) };
    },
    { isolationLevel: "repeatable read", accessMode: "read only" },
  );
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
