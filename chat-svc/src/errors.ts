/**
 * chat-svc's error catalogue: every error a caller can see, with its code and
 * stable reason.
 */
import { appError, Code, inAbout } from "@parley/shared/errors.js";

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
  return invalidField(field, "must not be blank");
}

/** The caller's role in the room does not allow the action. */
export function insufficientRole(action: string, roomId: string) {
  return appError(
    Code.PermissionDenied,
    "INSUFFICIENT_ROLE",
    `your role in this room does not allow you to ${action}`,
    {
      roomId,
    },
  );
}

/** A direct room always has exactly its two users; it cannot be joined, left, renamed or managed. */
export function directRoom(roomId: string) {
  return appError(
    Code.FailedPrecondition,
    "DIRECT_ROOM",
    "a direct room always has exactly its two users and cannot be changed",
    { roomId },
  );
}

export function memberNotFound(roomId: string, userId: string) {
  return appError(Code.NotFound, "MEMBER_NOT_FOUND", "that user is not a member of this room", { roomId, userId });
}

/** The owner is never removed or demoted by others; ownership moves only when the owner leaves. */
export function ownerProtected(roomId: string) {
  return appError(
    Code.PermissionDenied,
    "OWNER_PROTECTED",
    "the room's owner cannot be removed or given another role",
    {
      roomId,
    },
  );
}

export function messageNotFound(messageId: string) {
  return appError(Code.NotFound, "MESSAGE_NOT_FOUND", "message not found", { messageId });
}

/** A reply must point at a message of the same room. */
export function parentNotFound(parentId: string) {
  return appError(Code.InvalidArgument, "PARENT_NOT_FOUND", "parent_id: no such message in this room", {
    parent_id: "no such message in this room",
    parentId,
  });
}

export function notYourMessage(messageId: string) {
  return appError(Code.PermissionDenied, "NOT_YOUR_MESSAGE", "you can only do that to your own messages", {
    messageId,
  });
}

/** Deleted messages keep their place in history but can no longer be edited or reacted to. */
export function messageDeleted(messageId: string) {
  return appError(Code.FailedPrecondition, "MESSAGE_DELETED", "the message has been deleted", { messageId });
}

/** A request field that names something the caller cannot use, in the shape of a validation error. */
export function invalidField(field: string, message: string) {
  return appError(Code.InvalidArgument, "INVALID_ARGUMENT", `${field}: ${message}`, { [field]: message });
}

/** Users the directory does not know (never registered, or not verified yet); the message names them. */
export function usersNotFound(userIds: readonly string[]) {
  const list = userIds.join(", ");
  return appError(Code.NotFound, "USER_NOT_FOUND", `no such user: ${list}`, { userIds: list });
}

/**
 * Users an operator deactivated: they stay in the rooms they are in, but
 * nobody can add them to a room or open a direct room with them (as
 * Mattermost does). FAILED_PRECONDITION: the user exists, but not in a
 * state that allows it, until an operator reactivates them.
 */
export function usersDeactivated(userIds: readonly string[]) {
  const list = userIds.join(", ");
  return appError(Code.FailedPrecondition, "USER_DEACTIVATED", `deactivated user: ${list}`, { userIds: list });
}

/**
 * A direct room whose other member an operator deactivated is read-only:
 * its history stays readable, but nothing new is written to it (messages,
 * edits, reactions) until they are reactivated. Same reason as
 * usersDeactivated: the cause, and its cure, are the same.
 */
export function peerDeactivated(roomId: string, userId: string) {
  return appError(
    Code.FailedPrecondition,
    "USER_DEACTIVATED",
    "this conversation is read-only: the other user's account is deactivated",
    { roomId, userIds: userId },
  );
}

/** user-svc could not be asked about users the directory lacks; nothing was changed, so the call can be retried. */
export function userDirectoryUnavailable() {
  return appError(Code.Unavailable, "USER_DIRECTORY_UNAVAILABLE", "users cannot be checked right now; try again");
}

/** The caller named more users than MEMBER_ADDS_PER_MINUTE allows; the edge answers 429 + Retry-After. */
export function memberAddsLimited(retryAfterSeconds: number) {
  return appError(
    Code.ResourceExhausted,
    "MEMBER_ADDS_LIMITED",
    `too many users added; try again ${inAbout(retryAfterSeconds)}`,
    {
      retryAfterSeconds: String(retryAfterSeconds),
    },
  );
}

/** A message takes at most this many different reactions; more people may still add one of them. */
export function tooManyReactions(messageId: string, limit: number) {
  return appError(
    Code.FailedPrecondition,
    "TOO_MANY_REACTIONS",
    `the message already has ${limit} different reactions; add one of those instead`,
    { messageId, limit: String(limit) },
  );
}

/** One user puts at most this many different reactions on one message. */
export function tooManyOwnReactions(messageId: string, limit: number) {
  return appError(
    Code.FailedPrecondition,
    "TOO_MANY_OWN_REACTIONS",
    `you already reacted to this message with ${limit} different reactions; remove one first`,
    { messageId, limit: String(limit) },
  );
}
