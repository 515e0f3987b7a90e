/**
 * message.sent: queues a notification for each member who should hear of
 * the message, in their open digest for the room. No mail is sent here; the
 * digest scheduler mails it when the window ends. Marked processed in the
 * same transaction, so a redelivery queues nothing twice.
 *
 * The members are the worker's copy (room.members), which must have caught
 * up with the membership the message was sent under: until it has, the event
 * is retried. A copy that has moved on since counts its members now, so
 * someone who left in the meantime hears nothing more from the room.
 */
import type { Logger } from "@parley/shared/logger.js";
import type { Db } from "../storage/db.js";
import { addNotifications, openDigests } from "../storage/digests.js";
import { isProcessed, lockEvent, markProcessed } from "../storage/ledger.js";
import { listenersOf, membershipVersion } from "../storage/membership.js";
import { deletedAmong } from "../storage/state.js";
import { type EventOf, InvalidEvent, type Outcome, requireUuid } from "./mail-event.js";
import { excerpt } from "./message-notification.js";
import { isMentioned, skipReason } from "./notify-policy.js";

export async function queueNotifications(
  deps: { db: Db; windowSeconds: number },
  event: EventOf<"message.sent">,
  log: Logger,
): Promise<Outcome> {
  const e = event.payload;
  const roomId = requireUuid(e.roomId, "room_id");
  const messageId = requireUuid(e.messageId, "message_id");
  if (e.seq <= 0n) throw new InvalidEvent(`seq must be positive (got ${e.seq})`);
  const senderId = e.senderId.toLowerCase();

  return deps.db.transaction(async (tx): Promise<Outcome> => {
    await lockEvent(tx, event.id);
    if (await isProcessed(tx, event.id)) return { action: "ack", result: "duplicate", mails: 0 };
    const version = await membershipVersion(tx, roomId);
    if (version < e.membersVersion) {
      return {
        action: "retry",
        reason: `the members of room ${roomId} are known up to change ${version}, the message was sent under ${e.membersVersion}`,
      };
    }
    let queued = 0;
    if (!(await deletedAmong(tx, [messageId])).has(messageId)) {
      // In user order: concurrent messages to the same members lock their digests in the same order.
      const { known, unknown } = await listenersOf(tx, roomId, senderId);
      // Someone who registered before this projection existed has no known address yet.
      if (unknown.length > 0) log.warn({ unknown }, "no email known for some recipients; skipped");
      const text = excerpt(e.text);
      const wanted = known.flatMap((r) => {
        const facts = { seq: e.seq, mentioned: isMentioned(r.username, e.mentions), direct: e.direct };
        const skip = skipReason(r, facts, { online: r.online, lastReadSeq: r.lastReadSeq }, "queue");
        if (skip) log.debug({ userId: r.userId, skip }, "no notification");
        return skip ? [] : [{ userId: r.userId, facts }];
      });
      // Two statements per 1,000 members, however many the room has.
      const digestIds = await openDigests(
        tx,
        wanted.map((w) => w.userId),
        roomId,
        deps.windowSeconds,
      );
      queued = await addNotifications(
        tx,
        wanted.map((w) => {
          const digestId = digestIds.get(w.userId);
          if (!digestId) throw new Error(`no digest was opened for ${w.userId}`);
          return {
            userId: w.userId,
            digestId,
            messageId,
            roomId,
            roomName: e.roomName,
            senderUsername: e.senderUsername,
            text,
            ...w.facts,
          };
        }),
      );
    }
    await markProcessed(tx, event.id, event.routingKey);
    return { action: "ack", result: queued > 0 ? "queued" : "nothing-to-send", mails: 0 };
  });
}
