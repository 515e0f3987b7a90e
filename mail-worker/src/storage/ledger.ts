/**
 * What has been mailed for which event. All functions run inside the
 * event's transaction, which holds the event's lock (lockEvent).
 */
import { eq, sql } from "drizzle-orm";
import type { Tx } from "./db.js";
import { processedEvents, sentMails } from "./schema.js";

/**
 * Serialises handlers of the same event until the transaction ends: a
 * redelivery that overtakes a still-running handler (its channel died) waits
 * and then sees the event as processed, instead of mailing a second time.
 */
export async function lockEvent(tx: Tx, eventId: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${eventId}, 0))`);
}

export async function isProcessed(tx: Tx, eventId: string): Promise<boolean> {
  const rows = await tx
    .select({ id: processedEvents.eventId })
    .from(processedEvents)
    .where(eq(processedEvents.eventId, eventId));
  return rows.length > 0;
}

export async function sentRecipients(tx: Tx, eventId: string): Promise<Set<string>> {
  const rows = await tx
    .select({ recipientId: sentMails.recipientId })
    .from(sentMails)
    .where(eq(sentMails.eventId, eventId));
  return new Set(rows.map((r) => r.recipientId));
}

export async function markSent(tx: Tx, eventId: string, recipientId: string): Promise<void> {
  await tx.insert(sentMails).values({ eventId, recipientId }).onConflictDoNothing();
}

/** The event is done: its per-recipient rows are no longer needed. */
export async function markProcessed(tx: Tx, eventId: string, routingKey: string): Promise<void> {
  await tx.insert(processedEvents).values({ eventId, routingKey }).onConflictDoNothing();
  await tx.delete(sentMails).where(eq(sentMails.eventId, eventId));
}
