import { create } from "@bufbuild/protobuf";
import { ReactionChangedSchema } from "@parley/proto/chat/v1/chat_pb.js";
import type { Identity } from "@parley/shared/auth.js";
import { messageDeleted, messageNotFound, tooManyOwnReactions, tooManyReactions } from "../errors.js";
import { appendEvents } from "../storage/event-log.js";
import { deleteReaction, findMessageInRoom, insertReaction, reactionsOf, reactionTally } from "../storage/messages.js";
import { loadRoomForMember } from "./access.js";
import type { MessageView } from "./deps.js";
import { type DomainDeps, inRoomTransaction } from "./deps.js";
import { reactionKey, storedReactionKey } from "./reaction-emoji.js";
import { requireWritable } from "./user-directory.js";

/**
 * Adds (`added`) or removes the caller's reaction with `emoji` (one emoji or
 * a :shortcode:, reaction-emoji.ts). Idempotent: only an actual change
 * appends a reaction_changed event. Deleted messages take no new reactions.
 * A message takes at most `reactionLimits.perMessage` different reactions,
 * at most `perUser` of them from one user; both are counted under the
 * room's lock, which every reaction change to the room takes, so two
 * reactions arriving together cannot both take the last place. Neither
 * adding nor removing is allowed in a read-only direct room (the other
 * member is deactivated).
 */
export async function setReaction(
  deps: DomainDeps,
  caller: Identity,
  input: { roomId: string; messageId: string; emoji: string; added: boolean },
): Promise<MessageView> {
  const emoji = input.added ? reactionKey(input.emoji) : storedReactionKey(input.emoji);
  await deps.budgets.charge("react", caller.userId);
  return inRoomTransaction(deps, async (tx, logged) => {
    const { room } = await loadRoomForMember(tx, caller.userId, input.roomId, { lock: true });
    await requireWritable(tx, room, caller.userId);
    const message = await findMessageInRoom(tx, room.id, input.messageId);
    if (!message) throw messageNotFound(input.messageId);
    if (input.added && message.deletedAt) throw messageDeleted(message.id);
    if (input.added) {
      const { perMessage, perUser } = deps.reactionLimits;
      const tally = await reactionTally(tx, message.id, caller.userId, emoji);
      // Reacting again as one already has changes nothing, and so is never over a cap.
      if (!tally.emojiPresent && tally.emojis >= perMessage) throw tooManyReactions(message.id, perMessage);
      if (!tally.emojiMine && tally.mine >= perUser) throw tooManyOwnReactions(message.id, perUser);
    }
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
