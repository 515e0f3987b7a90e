import { create } from "@bufbuild/protobuf";
import { MessageDeletedSchema } from "@parley/proto/chat/v1/chat_pb.js";
import type { Identity } from "@parley/shared/auth.js";
import { enqueueEvent } from "@parley/shared/outbox.js";
import { messageNotFound, notYourMessage } from "../errors.js";
import { appendEvents } from "../storage/event-log.js";
import { findMessageInRoom, softDeleteMessage } from "../storage/messages.js";
import { loadRoomForMember } from "./access.js";
import type { MessageView } from "./deps.js";
import { type DomainDeps, inRoomTransaction } from "./deps.js";

/**
 * Soft-deletes a message: one's own, or any for owners and admins. The
 * message keeps its seq and stays listed, with no text, mentions or
 * reactions and `deleted` set. Appends message_deleted and writes the
 * message.deleted domain event; deleting a deleted message changes nothing.
 * Counts against the caller's edit budget.
 */
export async function deleteMessage(
  deps: DomainDeps,
  caller: Identity,
  input: { roomId: string; messageId: string },
): Promise<MessageView> {
  await deps.budgets.charge("edit", caller.userId);
  return inRoomTransaction(deps, async (tx, logged) => {
    const access = await loadRoomForMember(tx, caller.userId, input.roomId, { lock: true });
    const message = await findMessageInRoom(tx, access.room.id, input.messageId);
    if (!message) throw messageNotFound(input.messageId);
    const moderator = access.role === "owner" || access.role === "admin";
    if (message.senderId !== caller.userId && !moderator) throw notYourMessage(message.id);
    if (message.deletedAt) return { row: message, reactions: [] };
    const row = await softDeleteMessage(tx, message.id, new Date());
    const kind = {
      case: "messageDeleted" as const,
      value: create(MessageDeletedSchema, { messageId: row.id, seq: row.seq, deletedBy: caller.userId }),
    };
    logged.push(...(await appendEvents(tx, row.roomId, [kind])).events);
    await enqueueEvent(tx, "message.deleted", { roomId: row.roomId, messageId: row.id, seq: row.seq });
    return { row, reactions: [] };
  });
}
