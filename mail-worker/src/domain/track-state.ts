/**
 * The events that change who should get mail, applied to the worker's own
 * state: presence (user.online), read markers (room.read), deletions
 * (message.deleted), profiles (user.updated) and deactivations
 * (user.deactivated, user.reactivated). Each is idempotent and
 * order-independent, so it needs no ledger.
 */
import { NotificationLevel } from "@parley/proto/user/v1/user_pb.js";
import { notificationLevelName } from "@parley/shared/notification-levels.js";
import type { Db } from "../storage/db.js";
import { cancelMessageNotifications, cancelReadNotifications } from "../storage/digests.js";
import { applyAccountStatus, applyProfile } from "../storage/recipients.js";
import { advanceReadMarker, markDeleted, setPresence } from "../storage/state.js";
import { type EventOf, InvalidEvent, type Outcome, requireText, requireUuid } from "./mail-event.js";

const applied: Outcome = { action: "ack", result: "applied", mails: 0 };

/**
 * Versions writes that must not be overtaken. Without a publisher timestamp
 * the event is treated as happening now.
 */
function when(event: { occurredAt: Date | undefined }): Date {
  return event.occurredAt ?? new Date();
}

export async function trackPresence(db: Db, event: EventOf<"user.online">): Promise<Outcome> {
  const userId = requireUuid(event.payload.userId, "user_id");
  await db.transaction((tx) => setPresence(tx, userId, event.payload.online, when(event)));
  return applied;
}

/** Also cancels the notifications the user has now read. */
export async function trackRead(db: Db, event: EventOf<"room.read">): Promise<Outcome> {
  const userId = requireUuid(event.payload.userId, "user_id");
  const roomId = requireUuid(event.payload.roomId, "room_id");
  const seq = event.payload.lastReadSeq;
  if (seq < 0n) throw new InvalidEvent(`last_read_seq must not be negative (got ${seq})`);
  await db.transaction(async (tx) => {
    await advanceReadMarker(tx, userId, roomId, seq);
    await cancelReadNotifications(tx, userId, roomId, seq);
  });
  return applied;
}

export async function trackDeletion(db: Db, event: EventOf<"message.deleted">): Promise<Outcome> {
  const messageId = requireUuid(event.payload.messageId, "message_id");
  const roomId = requireUuid(event.payload.roomId, "room_id");
  await db.transaction(async (tx) => {
    await markDeleted(tx, messageId, roomId);
    await cancelMessageNotifications(tx, messageId);
  });
  return applied;
}

export async function trackProfile(db: Db, event: EventOf<"user.updated">): Promise<Outcome> {
  const e = event.payload;
  // Unset in the profile means the default.
  const level =
    e.notificationLevel === NotificationLevel.UNSPECIFIED ? "all" : notificationLevelName(e.notificationLevel);
  if (level === undefined) throw new InvalidEvent(`unknown notification_level ${e.notificationLevel}`);
  const profile = {
    userId: requireUuid(e.userId, "user_id"),
    email: requireText(e.email, "email"),
    username: requireText(e.username, "username"),
    notificationLevel: level,
  };
  await db.transaction((tx) => applyProfile(tx, profile, when(event)));
  return applied;
}

/** A deactivated account gets no mail at all (its pending digests are dropped when due) until reactivated. */
export async function trackAccountStatus(
  db: Db,
  event: EventOf<"user.deactivated"> | EventOf<"user.reactivated">,
): Promise<Outcome> {
  const e = event.payload;
  const recipient = {
    userId: requireUuid(e.userId, "user_id"),
    email: requireText(e.email, "email"),
    username: requireText(e.username, "username"),
  };
  const deactivated = event.routingKey === "user.deactivated";
  await db.transaction((tx) => applyAccountStatus(tx, recipient, deactivated, when(event)));
  return applied;
}
