/**
 * Which events are done. Every function but the pruning runs inside the
 * event's own transaction, which holds the event's lock (lockEvent).
 */
import { eq, sql } from "drizzle-orm";
import type { Db, Tx } from "./db.js";
import { processedEvents } from "./schema.js";

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

export async function markProcessed(tx: Tx, eventId: string, routingKey: string): Promise<void> {
  await tx.insert(processedEvents).values({ eventId, routingKey }).onConflictDoNothing();
}

const PRUNE_CHUNK = 10_000;

/**
 * Forgets events handled more than `days` days ago (0: keeps them all), in
 * chunks (short transactions however large the backlog); returns how many.
 */
export async function pruneProcessedEvents(db: Db, days: number): Promise<number> {
  if (days <= 0) return 0;
  let pruned = 0;
  for (;;) {
    const rows = await db.execute<{ n: number }>(sql`
      with gone as (
        delete from processed_events where ctid = any(array(
          select ctid from processed_events
          where processed_at < now() - make_interval(days => ${days})
          limit ${PRUNE_CHUNK}))
        returning 1)
      select count(*)::int as n from gone`);
    const n = rows[0]?.n ?? 0;
    pruned += n;
    if (n < PRUNE_CHUNK) return pruned;
  }
}
