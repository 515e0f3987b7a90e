import { MemberChanged_Change } from "@parley/proto/chat/v1/chat_pb.js";
import type { Identity } from "@parley/shared/auth.js";
import { memberChanged } from "../mapping.js";
import { appendEvents } from "../storage/event-log.js";
import { listMembers } from "../storage/rooms.js";
import { loadRoomForMember, requireGroupRoom, requireRole } from "./access.js";
import { type DomainDeps, inRoomTransaction, type RoomView } from "./deps.js";
import { admitMembers } from "./membership.js";

/**
 * Adds users to a group room: in a private room owners and admins may, in a
 * public one any member (anyone could join it anyway). Users who already are
 * members are left as they are; each new member appends one member_changed
 * (joined) event.
 */
export async function addMembers(
  deps: DomainDeps,
  caller: Identity,
  input: { roomId: string; userIds: readonly string[] },
): Promise<RoomView> {
  return inRoomTransaction(deps, async (tx, logged) => {
    const access = await loadRoomForMember(tx, caller.userId, input.roomId, { lock: true });
    requireGroupRoom(access.room);
    if (access.room.visibility === "private") requireRole(access, ["owner", "admin"], "add members");
    const userIds = [...new Set(input.userIds.map((id) => id.toLowerCase()))];
    const added = await admitMembers(
      tx,
      access.room,
      userIds.map((userId) => ({ userId, role: "member" as const })),
    );
    let room = access.room;
    if (added.length > 0) {
      // In request order, so events and member order agree.
      const addedIds = new Set(added.map((m) => m.userId));
      const appended = await appendEvents(
        tx,
        room.id,
        userIds
          .filter((id) => addedIds.has(id))
          .map((id) => memberChanged(id, MemberChanged_Change.JOINED, "member", caller.userId)),
      );
      room = appended.room;
      logged.push(...appended.events);
    }
    return { room, members: await listMembers(tx, room.id) };
  });
}
