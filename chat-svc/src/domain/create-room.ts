import type { Identity } from "@parley/shared/auth.js";
import { blankField } from "../errors.js";
import { addMembers, insertRoom, memberIds } from "../storage/rooms.js";
import type { Visibility } from "../storage/schema.js";
import type { DomainDeps, RoomView } from "./deps.js";

/** Creates a room owned by the caller, with `memberIds` as its other members. */
export async function createRoom(
  { db }: DomainDeps,
  caller: Identity,
  input: { name: string; visibility: Visibility; memberIds: readonly string[] },
): Promise<RoomView> {
  const name = input.name.trim();
  if (name === "") throw blankField("name");
  return db.transaction(async (tx) => {
    const room = await insertRoom(tx, { name, visibility: input.visibility, createdBy: caller.userId });
    // PostgreSQL folds uuids to lower case; fold first so "A…" and "a…" are one member.
    const others = new Set(input.memberIds.map((id) => id.toLowerCase()));
    others.delete(caller.userId);
    await addMembers(tx, room.id, [
      { userId: caller.userId, role: "owner" },
      ...[...others].map((userId) => ({ userId, role: "member" as const })),
    ]);
    return { room, memberIds: await memberIds(tx, room.id) };
  });
}
