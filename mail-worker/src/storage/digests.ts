/**
 * Pending notifications and the digests that mail them. The consumer adds
 * notifications to a user+room's open digest; the scheduler claims due
 * digests one at a time with FOR UPDATE SKIP LOCKED, so any number of worker
 * instances share the work and never mail the same digest twice.
 */
import { within } from "@parley/shared/deadline.js";
import { gauge } from "@parley/shared/metrics.js";
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

/** Rows per statement: 10 parameters a notification stays far below PostgreSQL's 65,535. */
const ROWS_PER_STATEMENT = 1_000;

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += ROWS_PER_STATEMENT) out.push(items.slice(i, i + ROWS_PER_STATEMENT));
  return out;
}

/**
 * Each user's open digest for the room, opened now (due one window from now,
 * by the database's clock) where there is none: one statement for a whole
 * room's members, not one per member. Rows are locked in the order of
 * `userIds` (callers sort them), so concurrent messages to the same members
 * never wait for each other in a cycle. Blocks while a scheduler is mailing
 * an open one, and then opens the next.
 */
export async function openDigests(
  tx: Tx,
  userIds: readonly string[],
  roomId: string,
  windowSeconds: number,
): Promise<Map<string, string>> {
  const byUser = new Map<string, string>();
  for (const chunk of chunks(userIds)) {
    const rows = await tx
      .insert(digests)
      .values(chunk.map((userId) => ({ userId, roomId, dueAt: sql`now() + make_interval(secs => ${windowSeconds})` })))
      .onConflictDoUpdate({
        target: [digests.userId, digests.roomId],
        targetWhere: sql`${digests.status} = 'open'`,
        // A no-op update, so that the existing rows are returned.
        set: { userId: sql`excluded.user_id` },
      })
      .returning({ id: digests.id, userId: digests.userId });
    for (const r of rows) byUser.set(r.userId, r.id);
  }
  return byUser;
}

/** Adds the notifications; returns how many were new (a user already notified of the message is skipped). */
export async function addNotifications(
  tx: Tx,
  items: readonly (NewNotification & { digestId: string })[],
): Promise<number> {
  let added = 0;
  for (const chunk of chunks(items)) {
    const rows = await tx
      .insert(notifications)
      .values(chunk)
      .onConflictDoNothing()
      .returning({ id: notifications.messageId });
    added += rows.length;
  }
  return added;
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

let openDigestsSource: Db | undefined;

/** Reports the open digests of `db` on every scrape from now on (the worker's own database). */
export function measureOpenDigests(db: Db): void {
  openDigestsSource = db;
}

gauge({
  name: "parley_mail_pending_digests",
  help: "Digests of unread messages collecting or due, not yet mailed (status open)",
  async collect() {
    if (!openDigestsSource) return;
    try {
      const n = await within(countOpenDigests(openDigestsSource), 1_000);
      if (n !== undefined) this.set(n);
    } catch {
      // The database is away: the last count stays, the scrape still answers.
    }
  },
});
