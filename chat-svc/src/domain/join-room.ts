import type { Identity } from "@parley/shared/auth.js";
import { addMembers, memberIds } from "../storage/rooms.js";
import { loadRoomToJoin } from "./access.js";
import type { DomainDeps, RoomView } from "./deps.js";

/** Adds the caller to a public room; joining a room one is in already changes nothing. */
export async function joinRoom({ db }: DomainDeps, caller: Identity, roomId: string): Promise<RoomView> {
  return db.transaction(async (tx) => {
    const { room, role } = await loadRoomToJoin(tx, caller.userId, roomId);
    if (role === null) await addMembers(tx, room.id, [{ userId: caller.userId, role: "member" }]);
    return { room, memberIds: await memberIds(tx, room.id) };
  });
}
