/** Queries on messages and their reactions (inserts of new messages are in send-batch.ts). */
import { and, asc, desc, eq, gt, inArray, lt, type SQL, sql } from "drizzle-orm";
import type { Queryable } from "./db.js";
import { type MessageRow, messageReactions, messages } from "./schema.js";

/** Reactions of one message: one entry per emoji, emojis and users in the order they first reacted. */
export interface ReactionSummary {
  emoji: string;
  userIds: string[];
}

export async function findMessageInRoom(
  q: Queryable,
  roomId: string,
  messageId: string,
): Promise<MessageRow | undefined> {
  const [row] = await q
    .select()
    .from(messages)
    .where(and(eq(messages.id, messageId), eq(messages.roomId, roomId)));
  return row;
}

export async function findMessagesByIds(q: Queryable, ids: readonly string[]): Promise<MessageRow[]> {
  if (ids.length === 0) return [];
  return q
    .select()
    .from(messages)
    .where(inArray(messages.id, [...ids]));
}

export async function updateMessageText(
  q: Queryable,
  messageId: string,
  values: { text: string; mentions: string[]; editedAt: Date },
): Promise<MessageRow> {
  const [row] = await q.update(messages).set(values).where(eq(messages.id, messageId)).returning();
  if (!row) throw new Error(`message ${messageId} vanished while editing`);
  return row;
}

/** Clears what a deleted message said (text, mentions, reactions) and marks it deleted; it keeps its seq. */
export async function softDeleteMessage(q: Queryable, messageId: string, at: Date): Promise<MessageRow> {
  await q.delete(messageReactions).where(eq(messageReactions.messageId, messageId));
  const [row] = await q
    .update(messages)
    .set({ text: "", mentions: [], deletedAt: at })
    .where(eq(messages.id, messageId))
    .returning();
  if (!row) throw new Error(`message ${messageId} vanished while deleting`);
  return row;
}

/** Adds a reaction; false when the user had already reacted with that emoji. */
export async function insertReaction(q: Queryable, messageId: string, emoji: string, userId: string): Promise<boolean> {
  const rows = await q
    .insert(messageReactions)
    .values({ messageId, emoji, userId })
    .onConflictDoNothing()
    .returning({ userId: messageReactions.userId });
  return rows.length > 0;
}

/** What a new reaction to a message would add to: its reactions so far, as counted against their caps. */
export interface ReactionTally {
  /** Different emoji on the message. */
  emojis: number;
  /** Different emoji `userId` has put on it. */
  mine: number;
  /** Whether `emoji` is already on it: by anyone, and by `userId`. */
  emojiPresent: boolean;
  emojiMine: boolean;
}

export async function reactionTally(
  q: Queryable,
  messageId: string,
  userId: string,
  emoji: string,
): Promise<ReactionTally> {
  const [row] = await q
    .select({
      emojis: sql<number>`count(distinct ${messageReactions.emoji})::int`,
      mine: sql<number>`(count(*) filter (where ${messageReactions.userId} = ${userId}))::int`,
      emojiPresent: sql<boolean>`coalesce(bool_or(${messageReactions.emoji} = ${emoji}), false)`,
      emojiMine: sql<boolean>`coalesce(bool_or(${messageReactions.emoji} = ${emoji} and ${messageReactions.userId} = ${userId}), false)`,
    })
    .from(messageReactions)
    .where(eq(messageReactions.messageId, messageId));
  return row ?? { emojis: 0, mine: 0, emojiPresent: false, emojiMine: false };
}

/** Removes a reaction; false when there was none. */
export async function deleteReaction(q: Queryable, messageId: string, emoji: string, userId: string): Promise<boolean> {
  const rows = await q
    .delete(messageReactions)
    .where(
      and(
        eq(messageReactions.messageId, messageId),
        eq(messageReactions.emoji, emoji),
        eq(messageReactions.userId, userId),
      ),
    )
    .returning({ userId: messageReactions.userId });
  return rows.length > 0;
}

/** Each message's reactions: one entry per emoji, emojis and users in the order they first reacted. */
export async function reactionsOf(
  q: Queryable,
  messageIds: readonly string[],
): Promise<Map<string, ReactionSummary[]>> {
  const byMessage = new Map<string, ReactionSummary[]>();
  if (messageIds.length === 0) return byMessage;
  const rows = await q
    .select()
    .from(messageReactions)
    .where(inArray(messageReactions.messageId, [...messageIds]))
    .orderBy(asc(messageReactions.createdAt), asc(messageReactions.userId));
  for (const row of rows) {
    let list = byMessage.get(row.messageId);
    if (!list) {
      list = [];
      byMessage.set(row.messageId, list);
    }
    let entry = list.find((r) => r.emoji === row.emoji);
    if (!entry) {
      entry = { emoji: row.emoji, userIds: [] };
      list.push(entry);
    }
    entry.userIds.push(row.userId);
  }
  return byMessage;
}

export interface SeqRange {
  /** Exclusive lower bound (0: none). */
  afterSeq: bigint;
  /** Exclusive upper bound (0: none). */
  beforeSeq: bigint;
}

/**
 * Up to `limit` messages in `range`, taken from the oldest end or the newest
 * end, always returned in ascending seq, and whether more lie beyond them in
 * that direction.
 */
export async function pageMessages(
  q: Queryable,
  roomId: string,
  range: SeqRange,
  from: "oldest" | "newest",
  limit: number,
): Promise<{ messages: MessageRow[]; hasMore: boolean }> {
  const conditions: SQL[] = [eq(messages.roomId, roomId)];
  if (range.afterSeq > 0n) conditions.push(gt(messages.seq, range.afterSeq));
  if (range.beforeSeq > 0n) conditions.push(lt(messages.seq, range.beforeSeq));
  // One extra row tells whether there is more without a count.
  const rows = await q
    .select()
    .from(messages)
    .where(and(...conditions))
    .orderBy(from === "oldest" ? asc(messages.seq) : desc(messages.seq))
    .limit(limit + 1);
  const hasMore = rows.length > limit;
  const page = rows.slice(0, limit);
  if (from === "newest") page.reverse();
  return { messages: page, hasMore };
}
