import type { Identity } from "@parley/shared/auth.js";
import { ephemeralEvent, publishable } from "../room-events.js";
import { loadRoomForMember } from "./access.js";
import type { DomainDeps } from "./deps.js";

/** At most one typing event per user and room in this window, across all instances. */
export const TYPING_THROTTLE_MS = 2_000;

export function typingKey(prefix: string, roomId: string, userId: string): string {
  return `${prefix}typing:${roomId}:${userId}`;
}

/**
 * Tells the room the caller is typing (ephemeral). Calls within
 * TYPING_THROTTLE_MS of the last one that went out are accepted and dropped:
 * a Redis key set with NX and a TTL is the throttle, so it holds across
 * instances. Returns whether an event went out.
 */
export async function sendTyping(
  { db, redis, keyPrefix, events }: DomainDeps,
  caller: Identity,
  roomId: string,
): Promise<boolean> {
  const { room } = await loadRoomForMember(db, caller.userId, roomId);
  const first = await redis.set(typingKey(keyPrefix, room.id, caller.userId), "1", "PX", TYPING_THROTTLE_MS, "NX");
  if (first !== "OK") return false;
  const event = ephemeralEvent(room.id, {
    case: "typing",
    value: { userId: caller.userId, username: caller.username },
  });
  events.publish([publishable(event)]);
  return true;
}
