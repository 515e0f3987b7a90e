/**
 * Who may see and use a room. Every action loads its room through here, so
 * the rules (and the rule that a private room's existence is never disclosed
 * to outsiders) live in one place.
 */
import { notAMember, roomNotFound } from "../errors.js";
import type { Queryable } from "../storage/db.js";
import { findRoomWithRole } from "../storage/rooms.js";
import type { MemberRole, RoomRow } from "../storage/schema.js";

export interface RoomAccess {
  room: RoomRow;
  role: MemberRole;
}

/** The room, if `userId` is a member; otherwise ROOM_NOT_FOUND (private or missing) or NOT_A_MEMBER (public). */
export async function loadRoomForMember(tx: Queryable, userId: string, roomId: string): Promise<RoomAccess> {
  const found = await findRoomWithRole(tx, roomId, userId);
  if (!found) throw roomNotFound(roomId);
  if (found.role === null) {
    throw found.room.visibility === "public" ? notAMember(roomId) : roomNotFound(roomId);
  }
  return { room: found.room, role: found.role };
}

/** The room, if `userId` may join it (any public room) or already belongs to it; otherwise ROOM_NOT_FOUND. */
export async function loadRoomToJoin(
  tx: Queryable,
  userId: string,
  roomId: string,
): Promise<{ room: RoomRow; role: MemberRole | null }> {
  const found = await findRoomWithRole(tx, roomId, userId);
  if (!found || (found.role === null && found.room.visibility !== "public")) throw roomNotFound(roomId);
  return found;
}
