import { MemberChanged_Change } from "@parley/proto/chat/v1/chat_pb.js";
import type { Identity } from "@parley/shared/auth.js";
import { memberChanged } from "../mapping.js";
import { appendEvents } from "../storage/event-log.js";
import { hasOwner, listMembers } from "../storage/rooms.js";
import { loadRoomToJoin } from "./access.js";
import { type DomainDeps, inRoomTransaction, type RoomView } from "./deps.js";
import { admitMembers } from "./membership.js";
import { announceRoomAdded } from "./room-access.js";

/**
 * Adds the caller to a public room; joining a room one is in already changes
 * nothing. Whoever joins a room its owner has left empty becomes its owner,
 * so that no room stays without someone who can manage it.
 */
export async function joinRoom(deps: DomainDeps, caller: Identity, roomId: string): Promise<RoomView> {
  let joined = false;
  const view = await inRoomTransaction(deps, async (tx, logged) => {
    const found = await loadRoomToJoin(tx, caller.userId, roomId);
    let room = found.room;
    if (found.role === null) {
      const role = (await hasOwner(tx, room.id)) ? "member" : "owner";
      // Read under the room's lock, the role cannot have changed since, so
      // this always adds the caller; the check only keeps the log from ever
      // saying JOINED for an insert that added no one.
      const added = await admitMembers(tx, room, [{ userId: caller.userId, role }]);
      if (added.length > 0) {
        const appended = await appendEvents(tx, room.id, [
          memberChanged(caller.userId, MemberChanged_Change.JOINED, role, caller.userId),
        ]);
        room = appended.room;
        logged.push(...appended.events);
        joined = true;
      }
    }
    return { room, members: await listMembers(tx, room.id) };
  });
  if (joined) announceRoomAdded(deps, view.room, [caller.userId]);
  return view;
}
