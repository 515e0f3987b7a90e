/**
 * Pending notifications and the digests that mail them. The consumer adds
 * notifications to a user+room's open digest; the scheduler claims due
 * digests one at a time with FOR UPDATE SKIP LOCKED, so any number of worker
 * instances share the work and never mail the same digest twice.
 */
import { and, count, eq, inArray, lt, lte, sql } from "drizzle-orm";
import type { Db, Tx } from "./db.js";
import { type DigestStatus, digests, type NotificationStatus, notifications } from "./schema.js";

export interface NewNotification {
  userId: string;
  messageId: string;
  roomId: string;
  roomName: string;
  seq: bigint;
  senderUsername: string;
  text: string;
  mentioned: boolean;
  direct: boolean;
}

export interface PendingNotification extends NewNotification {
  createdAt: Date;
}

export interface DueDigest {
  id: string;
  userId: string;
  roomId: string;
  attempts: number;
}

/**
 * The user's open digest for the room, opened now (due one window from now,
 * by the database's clock) if there is none. Blocks while a scheduler is
 * mailing the open one, and then opens the next.
 */
export async function openDigest(tx: Tx, userId: string, roomId: string, windowSeconds: number): Promise<string> {
  const [row] = await tx
    .insert(digests)
    .values({ userId, roomId, dueAt: sql`now() + make_interval(secs => ${windowSeconds})` })
    .onConflictDoUpdate({
      target: [digests.userId, digests.roomId],
      targetWhere: sql`${digests.status} = 'open'`,
      // A no-op update, so that the existing row is returned.
      set: { userId: sql`excluded.user_id` },
    })
    .returning({ id: digests.id });
  if (!row) throw new Error("opening a digest returned no row");
  return row.id;
}

/** False when the user already has (or had) a notification for the message. */
export async function addNotification(tx: Tx, digestId: string, n: NewNotification): Promise<boolean> {
  const rows = await tx
    .insert(notifications)
    .values({ ...n, digestId })
    .onConflictDoNothing()
    .returning({ id: notifications.messageId });
  return rows.length > 0;
}

/** room.read: whatever the user has now read needs no mail. */
export async function cancelReadNotifications(tx: Tx, userId: string, roomId: string, lastReadSeq: bigint) {
  await tx
    .update(notifications)
    .set({ status: "cancelled" })
    .where(
      and(
        eq(notifications.userId, userId),
        eq(notifications.roomId, roomId),
        eq(notifications.status, "pending"),
        lte(notifications.seq, lastReadSeq),
      ),
    );
}

/** message.deleted: nobody gets mail about it any more. */
export async function cancelMessageNotifications(tx: Tx, messageId: string) {
  await tx
    .update(notifications)
    .set({ status: "cancelled" })
    .where(and(eq(notifications.messageId, messageId), eq(notifications.status, "pending")));
}

/** Locks the most overdue open digest that no one else holds, or returns undefined. */
export async function claimDueDigest(tx: Tx): Promise<DueDigest | undefined> {
  const [row] = await tx
    .select({ id: digests.id, userId: digests.userId, roomId: digests.roomId, attempts: digests.attempts })
    .from(digests)
    .where(and(eq(digests.status, "open"), lte(digests.dueAt, sql`now()`)))
    .orderBy(digests.dueAt)
    .limit(1)
    .for("update", { skipLocked: true });
  return row;
}

/** The digest's pending notifications in room order, locked against a concurrent room.read or deletion. */
export async function pendingNotifications(tx: Tx, digestId: string): Promise<PendingNotification[]> {
  return tx
    .select({
      userId: notifications.userId,
      messageId: notifications.messageId,
      roomId: notifications.roomId,
      roomName: notifications.roomName,
      seq: notifications.seq,
      senderUsername: notifications.senderUsername,
      text: notifications.text,
      mentioned: notifications.mentioned,
      direct: notifications.direct,
      createdAt: notifications.createdAt,
    })
    .from(notifications)
    .where(and(eq(notifications.digestId, digestId), eq(notifications.status, "pending")))
    .orderBy(notifications.seq)
    .for("update");
}

export async function settleNotifications(
  tx: Tx,
  userId: string,
  messageIds: readonly string[],
  status: NotificationStatus,
): Promise<void> {
  if (messageIds.length === 0) return;
  await tx
    .update(notifications)
    .set({ status })
    .where(and(eq(notifications.userId, userId), inArray(notifications.messageId, [...messageIds])));
}

export async function finishDigest(
  tx: Tx,
  digestId: string,
  status: Exclude<DigestStatus, "open">,
  lastError?: string,
): Promise<void> {
  await tx
    .update(digests)
    .set({ status, finishedAt: sql`now()`, ...(lastError === undefined ? {} : { lastError }) })
    .where(eq(digests.id, digestId));
}

/** A transient failure: try again after `delayMs`. */
export async function postponeDigest(tx: Tx, digestId: string, delayMs: number, lastError: string): Promise<void> {
  await tx
    .update(digests)
    .set({
      attempts: sql`${digests.attempts} + 1`,
      dueAt: sql`now() + make_interval(secs => ${delayMs / 1000})`,
      lastError,
    })
    .where(eq(digests.id, digestId));
}

export async function countOpenDigests(db: Db): Promise<number> {
  const [row] = await db.select({ n: count() }).from(digests).where(eq(digests.status, "open"));
  return row?.n ?? 0;
}

/** Drops digests (and their notifications) finished more than `days` ago. */
export async function pruneFinishedDigests(db: Db, days: number): Promise<number> {
  const rows = await db
    .delete(digests)
    .where(lt(digests.finishedAt, sql`now() - make_interval(days => ${days})`))
    .returning({ id: digests.id });
  return rows.length;
}
