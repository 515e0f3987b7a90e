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
import { readMembership } from "../storage/membership.js";
import { findRecipients } from "../storage/recipients.js";
import { deletedAmong, onlineUsers, readMarkers } from "../storage/state.js";
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
    const membership = await readMembership(tx, roomId);
    if (membership.version < e.membersVersion) {
      return {
        action: "retry",
        reason: `the members of room ${roomId} are known up to change ${membership.version}, the message was sent under ${e.membersVersion}`,
      };
    }
    const valid = membership.members.filter((id) => id !== senderId);
    let queued = 0;
    if (!(await deletedAmong(tx, [messageId])).has(messageId)) {
      // In user order: concurrent messages to the same members lock their digests in the same order.
      const known = (await findRecipients(tx, valid)).sort((a, b) => (a.userId < b.userId ? -1 : 1));
      if (known.length < valid.length) {
        const knownIds = new Set(known.map((r) => r.userId));
        // Someone who registered before this projection existed has no known address yet.
        log.warn({ unknown: valid.filter((id) => !knownIds.has(id)) }, "no email known for some recipients; skipped");
      }
      const ids = known.map((r) => r.userId);
      const online = await onlineUsers(tx, ids);
      const reads = await readMarkers(tx, roomId, ids);
      const text = excerpt(e.text);
      const wanted = known.flatMap((r) => {
        const facts = { seq: e.seq, mentioned: isMentioned(r.username, e.mentions), direct: e.direct };
        const skip = skipReason(r, facts, { online: online.has(r.userId), lastReadSeq: reads.get(r.userId) });
        if (skip) log.debug({ userId: r.userId, skip }, "no notification");
        return skip ? [] : [{ userId: r.userId, facts }];
      });
      // Two statements for the whole room, however many members it has.
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
