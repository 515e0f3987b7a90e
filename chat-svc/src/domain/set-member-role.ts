import { MemberChanged_Change } from "@parley/proto/chat/v1/chat_pb.js";
import type { Identity } from "@parley/shared/auth.js";
import { memberNotFound, ownerProtected } from "../errors.js";
import { memberChanged } from "../mapping.js";
import { appendEvents } from "../storage/event-log.js";
import { findMember, setMemberRole as updateRole } from "../storage/rooms.js";
import { loadRoomForMember, requireGroupRoom, requireRole } from "./access.js";
import { type DomainDeps, inRoomTransaction } from "./deps.js";

/**
 * The owner makes a member an admin or an admin a member. Setting the role
 * a member already has changes nothing and appends no event.
 */
export async function setMemberRole(
  deps: DomainDeps,
  caller: Identity,
  input: { roomId: string; userId: string; role: "admin" | "member" },
): Promise<void> {
  const userId = input.userId.toLowerCase();
  await inRoomTransaction(deps, async (tx, logged) => {
    const access = await loadRoomForMember(tx, caller.userId, input.roomId, { lock: true });
    requireGroupRoom(access.room);
    requireRole(access, ["owner"], "change roles");
    const target = await findMember(tx, access.room.id, userId);
    if (!target) throw memberNotFound(access.room.id, userId);
    if (target.role === "owner") throw ownerProtected(access.room.id);
    if (target.role === input.role) return;
    await updateRole(tx, access.room.id, userId, input.role);
    const kind = memberChanged(userId, MemberChanged_Change.ROLE, input.role, caller.userId);
    logged.push(...(await appendEvents(tx, access.room.id, [kind])).events);
  });
}
