import type { Identity } from "@parley/shared/auth.js";
import { enqueueEvent } from "@parley/shared/outbox.js";
import { blankField } from "../errors.js";
import { findByClientMessageId, insertMessage } from "../storage/messages.js";
import { memberIds, releaseSeq, takeNextSeq } from "../storage/rooms.js";
import type { MessageRow } from "../storage/schema.js";
import { loadRoomForMember } from "./access.js";
import type { DomainDeps } from "./deps.js";

/**
 * Stores a message with the room's next seq and its message.sent event in one
 * transaction, then announces it to every chat-svc instance's streams.
 *
 * A send with a `clientMessageId` the sender already used in the room returns
 * the stored message unchanged: no new seq, no second event.
 */
export async function sendMessage(
  { db, events }: DomainDeps,
  caller: Identity,
  input: { roomId: string; text: string; clientMessageId: string },
): Promise<MessageRow> {
  if (input.text.trim() === "") throw blankField("text");
  const clientMessageId = input.clientMessageId === "" ? null : input.clientMessageId;

  const { message, created } = await db.transaction(async (tx) => {
    const { room } = await loadRoomForMember(tx, caller.userId, input.roomId);
    if (clientMessageId !== null) {
      // The common retry: the first attempt committed long ago.
      const existing = await findByClientMessageId(tx, room.id, caller.userId, clientMessageId);
      if (existing) return { message: existing, created: false };
    }
    // Read before taking the seq, to hold the room's row lock for less time.
    const members = await memberIds(tx, room.id);
    const { seq, name } = await takeNextSeq(tx, room.id);
    const inserted = await insertMessage(tx, {
      roomId: room.id,
      seq,
      senderId: caller.userId,
      senderUsername: caller.username,
      text: input.text,
      clientMessageId,
    });
    if (!inserted) {
      // A concurrent retry with the same clientMessageId committed while we
      // waited for the row lock. We still hold the lock, so nobody has taken a
      // seq after ours: give it back and answer with the winner's message.
      await releaseSeq(tx, room.id);
      const winner =
        clientMessageId === null ? undefined : await findByClientMessageId(tx, room.id, caller.userId, clientMessageId);
      if (!winner) throw new Error("message insert conflicted but no message with its client id exists");
      return { message: winner, created: false };
    }
    await enqueueEvent(tx, "message.sent", {
      roomId: room.id,
      roomName: name,
      messageId: inserted.id,
      seq,
      senderId: caller.userId,
      senderUsername: caller.username,
      text: inserted.text,
      recipientIds: members.filter((id) => id !== caller.userId),
    });
    return { message: inserted, created: true };
  });

  if (created) events.messageCreated(message);
  return message;
}
