/**
 * Who may see and use a room. Every action loads its room through here, so
 * the rules (and the rule that a private room's existence is never disclosed
 * to outsiders) live in one place.
 *
 * Actions that change a room, its members or its log load it with `lock`:
 * the room's row lock is taken before the caller's role is read, and every
 * such change takes the same lock, so a role checked here still holds when
 * the change commits.
 */
import { directRoom, insufficientRole, notAMember, roomNotFound } from "../errors.js";
import type { Queryable } from "../storage/db.js";
import { findRoomWithRole } from "../storage/rooms.js";
import type { MemberRole, RoomRow } from "../storage/schema.js";

export interface RoomAccess {
  room: RoomRow;
  role: MemberRole;
}

/** The room, if `userId` is a member; otherwise ROOM_NOT_FOUND (private or missing) or NOT_A_MEMBER (public). */
export async function loadRoomForMember(
  tx: Queryable,
  userId: string,
  roomId: string,
  opts: { lock?: boolean } = {},
): Promise<RoomAccess> {
  const found = await findRoomWithRole(tx, roomId, userId, opts);
  if (!found) throw roomNotFound(roomId);
  if (found.role === null) throw refusal(found.room);
  return { room: found.room, role: found.role };
}

/** What a non-member is told about a room: that it exists only if it is public. */
export function refusal(room: Pick<RoomRow, "id" | "visibility">) {
  return room.visibility === "public" ? notAMember(room.id) : roomNotFound(room.id);
}

/** The room, if `userId` may join it (any public room) or already belongs to it; otherwise ROOM_NOT_FOUND. */
export async function loadRoomToJoin(
  tx: Queryable,
  userId: string,
  roomId: string,
): Promise<{ room: RoomRow; role: MemberRole | null }> {
  const found = await findRoomWithRole(tx, roomId, userId, { lock: true });
  if (!found || (found.role === null && found.room.visibility !== "public")) throw roomNotFound(roomId);
  return found;
}

export function requireRole(access: RoomAccess, allowed: readonly MemberRole[], action: string): void {
  if (!allowed.includes(access.role)) throw insufficientRole(action, access.room.id);
}

/**
 * Owners and admins add members; other members only where the room's
 * member_add_policy says "members" (in a public room they can still join by
 * themselves).
 */
export function requireMayAddMembers(access: RoomAccess): void {
  if (access.room.memberAddPolicy === "members") return;
  requireRole(access, ["owner", "admin"], "add members");
}

/** Membership of a direct room is fixed: its two users, for good. */
export function requireGroupRoom(room: RoomRow): void {
  if (room.kind === "direct") throw directRoom(room.id);
}
