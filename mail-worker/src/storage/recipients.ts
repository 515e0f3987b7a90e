import { inArray, sql } from "drizzle-orm";
import type { Tx } from "./db.js";
import { recipients } from "./schema.js";

export interface Recipient {
  userId: string;
  email: string;
  username: string;
}

export async function upsertRecipient(tx: Tx, r: Recipient): Promise<void> {
  await tx
    .insert(recipients)
    .values(r)
    .onConflictDoUpdate({
      target: recipients.userId,
      set: { email: r.email, username: r.username, updatedAt: sql`now()` },
    });
}

export async function findRecipients(tx: Tx, userIds: readonly string[]): Promise<Recipient[]> {
  if (userIds.length === 0) return [];
  return tx
    .select({ userId: recipients.userId, email: recipients.email, username: recipients.username })
    .from(recipients)
    .where(inArray(recipients.userId, [...userIds]));
}
