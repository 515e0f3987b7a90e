import { create } from "@bufbuild/protobuf";
import { ReactionChangedSchema } from "@parley/proto/chat/v1/chat_pb.js";
import type { Identity } from "@parley/shared/auth.js";
import { blankField, messageDeleted, messageNotFound } from "../errors.js";
import { appendEvents } from "../storage/event-log.js";
import { deleteReaction, findMessageInRoom, insertReaction, reactionsOf } from "../storage/messages.js";
import { loadRoomForMember } from "./access.js";
import type { MessageView } from "./deps.js";
import { type DomainDeps, inRoomTransaction } from "./deps.js";

/**
 * Adds (`added`) or removes the caller's reaction with `emoji`. Idempotent:
 * only an actual change appends a reaction_changed event. Deleted messages
 * take no new reactions.
 */
export async function setReaction(
  deps: DomainDeps,
  caller: Identity,
  input: { roomId: string; messageId: string; emoji: string; added: boolean },
): Promise<MessageView> {
  const emoji = input.emoji.trim();
  if (emoji === "") throw blankField("emoji");
  return inRoomTransaction(deps, async (tx, logged) => {
    const { room } = await loadRoomForMember(tx, caller.userId, input.roomId, { lock: true });
    const message = await findMessageInRoom(tx, room.id, input.messageId);
    if (!message) throw messageNotFound(input.messageId);
    if (input.added && message.deletedAt) throw messageDeleted(message.id);
    const changed = input.added
      ? await insertReaction(tx, message.id, emoji, caller.userId)
      : await deleteReaction(tx, message.id, emoji, caller.userId);
    if (changed) {
      const kind = {
        case: "reactionChanged" as const,
        value: create(ReactionChangedSchema, {
          messageId: message.id,
          emoji,
          userId: caller.userId,
          added: input.added,
        }),
      };
      logged.push(...(await appendEvents(tx, room.id, [kind])).events);
    }
    return { row: message, reactions: (await reactionsOf(tx, [message.id])).get(message.id) ?? [] };
  });
}
