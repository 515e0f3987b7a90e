import { MemberChanged_Change } from "@parley/proto/chat/v1/chat_pb.js";
import type { Identity } from "@parley/shared/auth.js";
import { insufficientRole, memberNotFound, ownerProtected } from "../errors.js";
import { memberChanged } from "../mapping.js";
import { appendEvents } from "../storage/event-log.js";
import { findMember } from "../storage/rooms.js";
import { loadRoomForMember, requireGroupRoom, requireRole } from "./access.js";
import { type DomainDeps, inRoomTransaction } from "./deps.js";
import { dismissMember } from "./membership.js";
import { announceRoomRemoved } from "./room-access.js";

/**
 * Kicks a member: owners may remove anyone but themselves, admins only plain
 * members; the owner is never removed. Appends member_changed (removed).
 */
export async function removeMember(
  deps: DomainDeps,
  caller: Identity,
  input: { roomId: string; userId: string },
): Promise<void> {
  const userId = input.userId.toLowerCase();
  const roomId = await inRoomTransaction(deps, async (tx, logged) => {
    const access = await loadRoomForMember(tx, caller.userId, input.roomId, { lock: true });
    requireGroupRoom(access.room);
    requireRole(access, ["owner", "admin"], "remove members");
    const target = await findMember(tx, access.room.id, userId);
    if (!target) throw memberNotFound(access.room.id, userId);
    if (target.role === "owner") throw ownerProtected(access.room.id);
    if (access.role === "admin" && target.role === "admin") throw insufficientRole("remove an admin", access.room.id);
    await dismissMember(tx, access.room.id, userId);
    const kind = memberChanged(userId, MemberChanged_Change.REMOVED, target.role, caller.userId);
    logged.push(...(await appendEvents(tx, access.room.id, [kind])).events);
    return access.room.id;
  });
  announceRoomRemoved(deps, roomId, userId, MemberChanged_Change.REMOVED);
}
