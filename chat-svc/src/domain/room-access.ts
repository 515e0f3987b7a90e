/**
 * Tells users of the rooms they gained or lost, for their own sockets
 * (edge/src/realtime/user-feed.ts): one ephemeral RoomAccess event per user,
 * published after the change committed. Room creation and a new direct room
 * log no event, and a member's leaving reaches no subscription of theirs
 * once they have left, so without this a client learns of either only by
 * asking for its room list again.
 */
import { MemberChanged_Change } from "@parley/proto/chat/v1/chat_pb.js";
import { roomToProto } from "../mapping.js";
import { ephemeralEvent, publishable } from "../room-events.js";
import type { RoomRow } from "../storage/schema.js";
import type { DomainDeps } from "./deps.js";

/** `userIds` are now members of `room`, as it is after the change. */
export function announceRoomAdded({ events }: DomainDeps, room: RoomRow, userIds: readonly string[]): void {
  if (userIds.length === 0) return;
  // Without members: a big room's member list is not worth sending to each newcomer.
  const proto = roomToProto(room);
  events.publish(
    userIds.map((userId) =>
      publishable(
        ephemeralEvent(room.id, {
          case: "roomAccess",
          value: { userId, change: MemberChanged_Change.JOINED, room: proto },
        }),
      ),
    ),
  );
}

/** `userId` is no longer a member of the room. */
export function announceRoomRemoved(
  { events }: DomainDeps,
  roomId: string,
  userId: string,
  change: MemberChanged_Change.LEFT | MemberChanged_Change.REMOVED,
): void {
  events.publish([publishable(ephemeralEvent(roomId, { case: "roomAccess", value: { userId, change } }))]);
}
