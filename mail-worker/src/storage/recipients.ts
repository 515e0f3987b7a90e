/**
 * The recipient directory: addresses, names and notification preferences,
 * projected from user events. Each write carries when its event occurred;
 * an older event arriving after a newer one changes nothing.
 */

import type { NotificationLevelName } from "@parley/shared/notification-levels.js";
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import { at, type Db, type Tx } from "./db.js";
import { recipients } from "./schema.js";

export interface Recipient {
  userId: string;
  email: string;
  username: string;
}

export interface RecipientPreferences extends Recipient {
  notificationLevel: NotificationLevelName;
  unsubscribed: boolean;
  deactivated: boolean;
}

const newer = (occurredAt: Date) =>
  sql`${recipients.profileAt} is null or ${recipients.profileAt} <= ${at(occurredAt)}`;

/** user.registered: the address and name; preferences stay as they are. */
export async function upsertRecipient(tx: Tx, r: Recipient, occurredAt: Date): Promise<void> {
  await tx
    .insert(recipients)
    .values({ ...r, profileAt: occurredAt })
    .onConflictDoUpdate({
      target: recipients.userId,
      set: { email: r.email, username: r.username, profileAt: occurredAt, updatedAt: sql`now()` },
      setWhere: newer(occurredAt),
    });
}

/**
 * user.updated: address, name and notification level. A level that differs
 * from the one last seen is the user choosing again in Parley, so it lifts an
 * earlier unsubscribe; any other profile change leaves the unsubscribe alone.
 */
export async function applyProfile(
  tx: Tx,
  r: Recipient & { notificationLevel: NotificationLevelName },
  occurredAt: Date,
): Promise<void> {
  await tx
    .insert(recipients)
    .values({ ...r, profileAt: occurredAt })
    .onConflictDoUpdate({
      target: recipients.userId,
      set: {
        email: r.email,
        username: r.username,
        notificationLevel: r.notificationLevel,
        unsubscribedAt: sql`case when ${recipients.notificationLevel} <> ${r.notificationLevel}
          and ${recipients.unsubscribedAt} < ${at(occurredAt)} then null else ${recipients.unsubscribedAt} end`,
        profileAt: occurredAt,
        updatedAt: sql`now()`,
      },
      setWhere: newer(occurredAt),
    });
}

/**
 * user.deactivated / user.reactivated, versioned by their own clock
 * (status_at), so a profile event never undoes one. A user not known yet gets
 * a row with the event's address; its profile_at stays unset, so
 * user.registered and user.updated still apply in full.
 */
export async function applyAccountStatus(tx: Tx, r: Recipient, deactivated: boolean, occurredAt: Date): Promise<void> {
  await tx
    .insert(recipients)
    .values({ ...r, deactivated, statusAt: occurredAt })
    .onConflictDoUpdate({
      target: recipients.userId,
      set: { deactivated, statusAt: occurredAt, updatedAt: sql`now()` },
      setWhere: sql`${recipients.statusAt} is null or ${recipients.statusAt} <= ${at(occurredAt)}`,
    });
}

export async function findRecipients(tx: Tx, userIds: readonly string[]): Promise<RecipientPreferences[]> {
  if (userIds.length === 0) return [];
  const rows = await tx
    .select({
      userId: recipients.userId,
      email: recipients.email,
      username: recipients.username,
      notificationLevel: recipients.notificationLevel,
      unsubscribedAt: recipients.unsubscribedAt,
      deactivated: recipients.deactivated,
    })
    .from(recipients)
    .where(inArray(recipients.userId, [...userIds]));
  return rows.map(({ unsubscribedAt, ...r }) => ({ ...r, unsubscribed: unsubscribedAt !== null }));
}

/** Returns false for a user the worker does not know. Unsubscribing twice keeps the first time. */
export async function markUnsubscribed(db: Db, userId: string): Promise<boolean> {
  await db
    .update(recipients)
    .set({ unsubscribedAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(eq(recipients.userId, userId), isNull(recipients.unsubscribedAt)));
  const rows = await db.select({ id: recipients.userId }).from(recipients).where(eq(recipients.userId, userId));
  return rows.length > 0;
}
