import { MemberChanged_Change } from "@parley/proto/chat/v1/chat_pb.js";
import type { Identity } from "@parley/shared/auth.js";
import { memberChanged } from "../mapping.js";
import { appendEvents } from "../storage/event-log.js";
import { listMembers } from "../storage/rooms.js";
import { loadRoomForMember, requireGroupRoom, requireMayAddMembers } from "./access.js";
import { type DomainDeps, inRoomTransaction, type RoomView } from "./deps.js";
import { admitMembers, checkNewMembers } from "./membership.js";
import { announceRoomAdded } from "./room-access.js";

/**
 * Adds existing users to a group room, as the room's member_add_policy
 * allows (owners and admins, or every member). Users who already are members
 * are left as they are; each new member appends one member_changed (joined)
 * event.
 */
export async function addMembers(
  deps: DomainDeps,
  caller: Identity,
  input: { roomId: string; userIds: readonly string[] },
): Promise<RoomView> {
  const userIds = [...new Set(input.userIds.map((id) => id.toLowerCase()))];
  // Checked before the budget is spent or user-svc is asked (never while the
  // room is locked); checked again under the lock, where it counts.
  const before = await loadRoomForMember(deps.db, caller.userId, input.roomId);
  requireGroupRoom(before.room);
  requireMayAddMembers(before);
  await checkNewMembers(
    deps,
    caller.userId,
    userIds.filter((id) => id !== caller.userId),
  );
  let newcomers: string[] = [];
  const view = await inRoomTransaction(deps, async (tx, logged) => {
    const access = await loadRoomForMember(tx, caller.userId, input.roomId, { lock: true });
    requireMayAddMembers(access);
    const added = await admitMembers(
      tx,
      access.room,
      userIds.map((userId) => ({ userId, role: "member" as const })),
    );
    let room = access.room;
    if (added.length > 0) {
      // In request order, so events and member order agree.
      const addedIds = new Set(added.map((m) => m.userId));
      newcomers = userIds.filter((id) => addedIds.has(id));
      const appended = await appendEvents(
        tx,
        room.id,
        newcomers.map((id) => memberChanged(id, MemberChanged_Change.JOINED, "member", caller.userId)),
      );
      room = appended.room;
      logged.push(...appended.events);
    }
    return { room, members: await listMembers(tx, room.id) };
  });
  announceRoomAdded(deps, view.room, newcomers);
  return view;
}
