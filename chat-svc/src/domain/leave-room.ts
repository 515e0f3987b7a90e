import { MemberChanged_Change } from "@parley/proto/chat/v1/chat_pb.js";
import type { Identity } from "@parley/shared/auth.js";
import { memberChanged } from "../mapping.js";
import type { DurableKind } from "../room-events.js";
import { appendEvents } from "../storage/event-log.js";
import { setMemberRole, successorOf } from "../storage/rooms.js";
import { loadRoomForMember, requireGroupRoom } from "./access.js";
import { type DomainDeps, inRoomTransaction } from "./deps.js";
import { dismissMember } from "./membership.js";
import { announceRoomRemoved } from "./room-access.js";

/**
 * The caller leaves a group room (a direct room cannot be left). An owner
 * who leaves hands ownership to the longest-standing admin, or failing one
 * the longest-standing member; only a room its owner leaves empty is left
 * without an owner, and its next joiner becomes the owner (join-room.ts).
 * Appends member_changed (left), then member_changed (role → owner) for the
 * successor when there is one.
 */
export async function leaveRoom(deps: DomainDeps, caller: Identity, roomId: string): Promise<void> {
  const left = await inRoomTransaction(deps, async (tx, logged) => {
    const access = await loadRoomForMember(tx, caller.userId, roomId, { lock: true });
    requireGroupRoom(access.room);
    const { room } = access;
    await dismissMember(tx, room.id, caller.userId);
    const kinds: DurableKind[] = [memberChanged(caller.userId, MemberChanged_Change.LEFT, access.role, caller.userId)];
    if (access.role === "owner") {
      const successor = await successorOf(tx, room.id, caller.userId);
      if (successor) {
        await setMemberRole(tx, room.id, successor.userId, "owner");
        kinds.push(memberChanged(successor.userId, MemberChanged_Change.ROLE, "owner", caller.userId));
      }
    }
    logged.push(...(await appendEvents(tx, room.id, kinds)).events);
    return room.id;
  });
  announceRoomRemoved(deps, left, caller.userId, MemberChanged_Change.LEFT);
}
