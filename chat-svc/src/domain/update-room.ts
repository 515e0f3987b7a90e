import type { Identity } from "@parley/shared/auth.js";
import { blankField } from "../errors.js";
import { roomToProto } from "../mapping.js";
import { advanceEventLog, storeEvents } from "../storage/event-log.js";
import { listMembers } from "../storage/rooms.js";
import type { MemberAddPolicy } from "../storage/schema.js";
import { loadRoomForMember, requireGroupRoom, requireRole } from "./access.js";
import { type DomainDeps, inRoomTransaction, type RoomView } from "./deps.js";

/**
 * Renames a room, sets its topic or who may add members (owners and
 * admins). A change appends
 * one room_updated event carrying the room without its members (membership
 * travels as member_changed events); a request that changes nothing appends
 * none.
 */
export async function updateRoom(
  deps: DomainDeps,
  caller: Identity,
  input: {
    roomId: string;
    name?: string | undefined;
    topic?: string | undefined;
    memberAddPolicy?: MemberAddPolicy | undefined;
  },
): Promise<RoomView> {
  const name = input.name?.trim();
  if (name === "") throw blankField("name");
  const topic = input.topic?.trim();
  return inRoomTransaction(deps, async (tx, logged) => {
    const access = await loadRoomForMember(tx, caller.userId, input.roomId, { lock: true });
    requireGroupRoom(access.room);
    requireRole(access, ["owner", "admin"], "update the room");
    const changes = {
      ...(name !== undefined && name !== access.room.name ? { name } : {}),
      ...(topic !== undefined && topic !== access.room.topic ? { topic } : {}),
      ...(input.memberAddPolicy !== undefined && input.memberAddPolicy !== access.room.memberAddPolicy
        ? { memberAddPolicy: input.memberAddPolicy }
        : {}),
    };
    let room = access.room;
    if (Object.keys(changes).length > 0) {
      room = await advanceEventLog(tx, room.id, 1, changes);
      logged.push(
        ...(await storeEvents(tx, room.id, room.headEventSeq, [{ case: "roomUpdated", value: roomToProto(room) }])),
      );
    }
    return { room, members: await listMembers(tx, room.id) };
  });
}
