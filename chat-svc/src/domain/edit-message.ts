import type { Identity } from "@parley/shared/auth.js";
import { blankField, messageDeleted, messageNotFound, notYourMessage } from "../errors.js";
import { messageToProto } from "../mapping.js";
import { appendEvents } from "../storage/event-log.js";
import { findMessageInRoom, reactionsOf, updateMessageText } from "../storage/messages.js";
import { loadRoomForMember } from "./access.js";
import type { MessageView } from "./deps.js";
import { type DomainDeps, inRoomTransaction } from "./deps.js";
import { parseMentions } from "./mentions.js";
import { requireWritable } from "./user-directory.js";

/**
 * Replaces the text of one's own message (mentions are parsed again) and
 * sets edited_at; appends message_edited with the whole message. The same
 * text again changes nothing. Counts against the caller's edit budget.
 * Refused in a read-only direct room (the other member is deactivated).
 */
export async function editMessage(
  deps: DomainDeps,
  caller: Identity,
  input: { roomId: string; messageId: string; text: string },
): Promise<MessageView> {
  if (input.text.trim() === "") throw blankField("text");
  await deps.budgets.charge("edit", caller.userId);
  return inRoomTransaction(deps, async (tx, logged) => {
    const { room } = await loadRoomForMember(tx, caller.userId, input.roomId, { lock: true });
    await requireWritable(tx, room, caller.userId);
    const message = await findMessageInRoom(tx, room.id, input.messageId);
    if (!message) throw messageNotFound(input.messageId);
    if (message.senderId !== caller.userId) throw notYourMessage(message.id);
    if (message.deletedAt) throw messageDeleted(message.id);
    const reactions = (await reactionsOf(tx, [message.id])).get(message.id) ?? [];
    if (message.text === input.text) return { row: message, reactions };
    const row = await updateMessageText(tx, message.id, {
      text: input.text,
      mentions: parseMentions(input.text),
      editedAt: new Date(),
    });
    const kind = { case: "messageEdited" as const, value: messageToProto(row, reactions) };
    logged.push(...(await appendEvents(tx, room.id, [kind])).events);
    return { row, reactions };
  });
}
