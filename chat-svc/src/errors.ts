/**
 * chat-svc's error catalogue: every error a caller can see, with its code and
 * stable reason.
 */
import { appError, Code } from "@parley/shared/errors.js";

/** Also what a non-member of a private room gets: a room's existence is not disclosed. */
export function roomNotFound(roomId: string) {
  return appError(Code.NotFound, "ROOM_NOT_FOUND", "room not found", { roomId });
}

/** Only for public rooms, whose existence anyone may learn by joining. */
export function notAMember(roomId: string) {
  return appError(Code.PermissionDenied, "NOT_A_MEMBER", "join the room first", { roomId });
}

/** The stream fell too far behind; the caller reconnects and resyncs from its last seq. */
export function streamOverflow(limit: number) {
  return appError(
    Code.ResourceExhausted,
    "STREAM_OVERFLOW",
    `the event stream fell more than ${limit} events behind; reconnect and resync`,
  );
}

/** Events may have been missed (Redis connection lost, or this instance is stopping). */
export function eventFeedInterrupted(why: string) {
  return appError(Code.Unavailable, "EVENT_FEED_INTERRUPTED", `the event stream was interrupted: ${why}; reconnect`);
}

/** A rule protovalidate cannot express, reported in the same shape as its violations. */
export function blankField(field: string) {
  const message = "must not be blank";
  return appError(Code.InvalidArgument, "INVALID_ARGUMENT", `${field}: ${message}`, { [field]: message });
}
