/** Queries on messages. */
import { and, asc, desc, eq, gt, lt, type SQL } from "drizzle-orm";
import type { Queryable } from "./db.js";
import { type MessageRow, messages } from "./schema.js";

export async function findByClientMessageId(
  q: Queryable,
  roomId: string,
  senderId: string,
  clientMessageId: string,
): Promise<MessageRow | undefined> {
  const [row] = await q
    .select()
    .from(messages)
    .where(
      and(eq(messages.roomId, roomId), eq(messages.senderId, senderId), eq(messages.clientMessageId, clientMessageId)),
    );
  return row;
}

/** Inserts a message; undefined when its client message id is already taken (a concurrent retry won). */
export async function insertMessage(
  q: Queryable,
  values: {
    roomId: string;
    seq: bigint;
    senderId: string;
    senderUsername: string;
    text: string;
    clientMessageId: string | null;
  },
): Promise<MessageRow | undefined> {
  const [row] = await q.insert(messages).values(values).onConflictDoNothing().returning();
  return row;
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
