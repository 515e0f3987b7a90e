import type { Identity } from "@parley/shared/auth.js";
import { blankField } from "../errors.js";
import { insertRoom, listMembers } from "../storage/rooms.js";
import type { MemberAddPolicy, Visibility } from "../storage/schema.js";
import type { DomainDeps, RoomView } from "./deps.js";
import { admitMembers, checkNewMembers } from "./membership.js";
import { announceRoomAdded } from "./room-access.js";

/**
 * Creates a group room owned by the caller, with `memberIds` as its other
 * members (each an existing user, counted against the caller's budget of
 * member adds). The room's event log starts empty: creation is the state a
 * client loads, not an event in it.
 */
export async function createRoom(
  deps: DomainDeps,
  caller: Identity,
  input: {
    name: string;
    visibility: Visibility;
    memberIds: readonly string[];
    topic: string;
    memberAddPolicy: MemberAddPolicy;
  },
): Promise<RoomView> {
  const name = input.name.trim();
  if (name === "") throw blankField("name");
  // PostgreSQL folds uuids to lower case; fold first so "A…" and "a…" are one member.
  const others = new Set(input.memberIds.map((id) => id.toLowerCase()));
  others.delete(caller.userId);
  await checkNewMembers(deps, caller.userId, [...others]);
  const view = await deps.db.transaction(async (tx) => {
    const room = await insertRoom(tx, {
      name,
      visibility: input.visibility,
      topic: input.topic.trim(),
      createdBy: caller.userId,
      memberAddPolicy: input.memberAddPolicy,
    });
    await admitMembers(tx, room, [
      { userId: caller.userId, role: "owner" },
      ...[...others].map((userId) => ({ userId, role: "member" as const })),
    ]);
    return { room, members: await listMembers(tx, room.id) };
  });
  announceRoomAdded(
    deps,
    view.room,
    view.members.map((m) => m.userId),
  );
  return view;
}
