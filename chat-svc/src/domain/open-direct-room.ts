import type { Identity } from "@parley/shared/auth.js";
import { invalidField } from "../errors.js";
import { findDirectRoom, insertDirectRoom, listMembers } from "../storage/rooms.js";
import type { DomainDeps, RoomView } from "./deps.js";
import { admitMembers, checkNewMembers } from "./membership.js";
import { announceRoomAdded } from "./room-access.js";

/** The unique key of the direct room of a pair: the same whoever opens it. */
export function directKey(a: string, b: string): string {
  return a < b ? `${a}:${b}` : `${b}:${a}`;
}

/**
 * The caller's direct room with another user (an existing one, counted
 * against the caller's budget of member adds), created on first use. The
 * unique key on the pair makes concurrent first calls (from either side)
 * meet in one room: the loser's insert waits for the winner's commit, then
 * does nothing and reads the winner's room. Both users are plain members;
 * nobody can join, be added, leave or be removed (see access.ts).
 */
export async function openDirectRoom(
  deps: DomainDeps,
  caller: Identity,
  userId: string,
): Promise<RoomView & { created: boolean }> {
  const other = userId.toLowerCase();
  if (other === caller.userId) throw invalidField("user_id", "must be another user than the caller");
  await checkNewMembers(deps, caller.userId, [other]);
  const key = directKey(caller.userId, other);
  const view = await deps.db.transaction(async (tx) => {
    const created = await insertDirectRoom(tx, { directKey: key, createdBy: caller.userId });
    if (created) {
      await admitMembers(tx, created, [
        { userId: caller.userId, role: "member" },
        { userId: other, role: "member" },
      ]);
      return { room: created, members: await listMembers(tx, created.id), created: true };
    }
    const room = await findDirectRoom(tx, key);
    if (!room) throw new Error(`direct room ${key} conflicted but cannot be found`);
    return { room, members: await listMembers(tx, room.id), created: false };
  });
  if (view.created) announceRoomAdded(deps, view.room, [caller.userId, other]);
  return view;
}
