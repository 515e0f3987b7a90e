import type { Identity } from "@parley/shared/auth.js";
import { pageMessages, reactionsOf } from "../storage/messages.js";
import { loadRoomForMember } from "./access.js";
import type { DomainDeps, MessageView } from "./deps.js";

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

export interface MessagePage {
  /** Ascending seq, each as it is now (edited, deleted, reactions). */
  messages: MessageView[];
  headSeq: bigint;
  /** Whether more messages exist beyond this page in the direction of paging. */
  hasMore: boolean;
}

/**
 * A page of history. With `afterSeq` (0 included: from the first message)
 * it pages forward, oldest first from there, as a client catching up or
 * reading a room from its start does; otherwise it pages backward from
 * `beforeSeq`, or from the newest message.
 */
export async function listMessages(
  { db }: DomainDeps,
  caller: Identity,
  input: { roomId: string; beforeSeq: bigint; afterSeq: bigint | undefined; limit: number },
): Promise<MessagePage> {
  const limit = Math.min(input.limit === 0 ? DEFAULT_PAGE_SIZE : input.limit, MAX_PAGE_SIZE);
  // One snapshot, so headSeq, messages and reactions agree.
  return db.transaction(
    async (tx) => {
      const { room } = await loadRoomForMember(tx, caller.userId, input.roomId);
      const range = { afterSeq: input.afterSeq ?? 0n, beforeSeq: input.beforeSeq };
      const page = await pageMessages(tx, room.id, range, input.afterSeq === undefined ? "newest" : "oldest", limit);
      const reactions = await reactionsOf(
        tx,
        page.messages.map((m) => m.id),
      );
      return {
        messages: page.messages.map((row) => ({ row, reactions: reactions.get(row.id) ?? [] })),
        headSeq: room.headSeq,
        hasMore: page.hasMore,
      };
    },
    { isolationLevel: "repeatable read", accessMode: "read only" },
  );
}
