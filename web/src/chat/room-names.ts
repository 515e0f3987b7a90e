import type { RoomState } from "@parley/client";
import { RoomKind } from "@parley/proto/chat/v1/chat_pb.js";
import { handleBeside, useDisplayName, useProfile } from "../data/queries.js";
import { useMe } from "../data/use-parley.js";

export const isDirect = (room: RoomState | undefined) => room?.room?.kind === RoomKind.DIRECT;

/** The other person in a direct room (the user themself in a room with only them). */
export function useDirectPeer(room: RoomState | undefined): string | undefined {
  const me = useMe()?.id;
  if (!isDirect(room)) return undefined;
  const ids = room?.room?.memberIds ?? [];
  return ids.find((id) => id !== me) ?? ids[0];
}

/** A group room's name; a direct room is called after the other person. */
export function useRoomName(room: RoomState | undefined): string {
  const peer = useDirectPeer(room);
  const peerName = useDisplayName(peer, "Direct message");
  if (!room?.room) return "Loading…";
  return isDirect(room) ? peerName : room.room.name || "Untitled room";
}

/**
 * A direct room's other person's @username when their display name differs
 * from it: the name alone could copy someone else's.
 */
export function useDirectHandle(room: RoomState | undefined): string | undefined {
  const peer = useDirectPeer(room);
  const name = useDisplayName(peer, "");
  const username = useProfile(peer)?.username;
  return peer ? handleBeside(name, username) : undefined;
}

/** Unread messages that mention the user (or any unread in a direct room) call for attention. */
export function isMentioned(room: RoomState): boolean {
  if (room.unreadCount === 0n) return false;
  return isDirect(room) || room.unreadMentionCount > 0n;
}
