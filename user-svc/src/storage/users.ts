/**
 * Queries on `users`. Callers pass the database or a transaction; emails and
 * username keys arrive already normalised (domain/identity.ts).
 */

import type { NotificationLevelName } from "@parley/shared/notification-levels.js";
import { and, eq, getTableColumns, isNotNull, isNull, like, or, sql } from "drizzle-orm";
import type { PostgresJsDatabase } from "drizzle-orm/postgres-js";
import type * as schema from "./schema.js";
import { type UserRow, users } from "./schema.js";

export type Db = PostgresJsDatabase<typeof schema>;
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
export type Executor = Db | Tx;

export async function findUserById(db: Executor, id: string): Promise<UserRow | undefined> {
  const [row] = await db.select().from(users).where(eq(users.id, id));
  return row;
}

export async function findUserByEmail(db: Executor, email: string): Promise<UserRow | undefined> {
  const [row] = await db.select().from(users).where(eq(users.email, email));
  return row;
}

export async function findUserByUsernameKey(db: Executor, key: string): Promise<UserRow | undefined> {
  const [row] = await db.select().from(users).where(eq(users.usernameKey, key));
  return row;
}

export async function lockUserById(tx: Tx, id: string): Promise<UserRow | undefined> {
  const [row] = await tx.select().from(users).where(eq(users.id, id)).for("update");
  return row;
}

export interface ClaimRow extends UserRow {
  /** Unverified and untouched for longer than a code lives: nobody can still verify it. */
  stale: boolean;
}

/** Locks the accounts holding this email or username key (at most two rows). */
export function lockClaims(tx: Tx, email: string, key: string, staleAfterSeconds: number): Promise<ClaimRow[]> {
  return tx
    .select({
      ...getTableColumns(users),
      stale: sql<boolean>`(${users.verifiedAt} is null and ${users.updatedAt} < now() - make_interval(secs => ${staleAfterSeconds}::int))`,
    })
    .from(users)
    .where(or(eq(users.email, email), eq(users.usernameKey, key)))
    .for("update");
}

export async function deleteUnverifiedUser(tx: Tx, id: string): Promise<void> {
  await tx.delete(users).where(and(eq(users.id, id), isNull(users.verifiedAt)));
}

export interface NewCredentials {
  email: string;
  username: string;
  usernameKey: string;
  passwordHash: string;
}

export async function insertUser(tx: Tx, values: NewCredentials): Promise<UserRow> {
  const [row] = await tx.insert(users).values(values).returning();
  if (!row) throw new Error("insert returned no row");
  return row;
}

/** Rewrites a pending (unverified) account with a retried registration's details. */
export async function replacePendingUser(
  tx: Tx,
  id: string,
  values: Omit<NewCredentials, "email">,
): Promise<UserRow | undefined> {
  const [row] = await tx
    .update(users)
    .set({ ...values, updatedAt: sql`now()` })
    .where(and(eq(users.id, id), isNull(users.verifiedAt)))
    .returning();
  return row;
}

/** Marks a pending account's claim as fresh (a new verify_email code went out). */
export async function touchPendingUser(tx: Tx, id: string): Promise<void> {
  await tx
    .update(users)
    .set({ updatedAt: sql`now()` })
    .where(and(eq(users.id, id), isNull(users.verifiedAt)));
}

/** Sets verified_at if it is not set yet; returns the row only when this call verified it. */
export async function markVerified(tx: Tx, id: string): Promise<UserRow | undefined> {
  const [row] = await tx
    .update(users)
    .set({ verifiedAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(eq(users.id, id), isNull(users.verifiedAt)))
    .returning();
  return row;
}

export interface ProfileChanges {
  displayName?: string;
  avatarUrl?: string;
  bio?: string;
  statusText?: string;
  notificationLevel?: NotificationLevelName;
}

/** Sets only the given profile fields; the row as it is afterwards, or undefined if it is gone. */
export async function updateProfile(tx: Tx, id: string, changes: ProfileChanges): Promise<UserRow | undefined> {
  const [row] = await tx
    .update(users)
    .set({ ...changes, updatedAt: sql`now()` })
    .where(eq(users.id, id))
    .returning();
  return row;
}

export async function findVerifiedUserById(db: Executor, id: string): Promise<UserRow | undefined> {
  const [row] = await db
    .select()
    .from(users)
    .where(and(eq(users.id, id), isNotNull(users.verifiedAt)));
  return row;
}

/**
 * Verified, active users whose username key starts with `keyPrefix` (already
 * lower case), in username order: a deactivated account is nobody to start a
 * chat with. LIKE's wildcards are escaped (`_` is legal in
 * usernames), and the byte-wise ordering matches users_username_key_prefix_idx.
 */
export function searchVerifiedByUsernamePrefix(db: Executor, keyPrefix: string, limit: number): Promise<UserRow[]> {
  const pattern = `${keyPrefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return db
    .select()
    .from(users)
    .where(and(like(users.usernameKey, pattern), isNotNull(users.verifiedAt), isNull(users.deactivatedAt)))
    .orderBy(sql`${users.usernameKey} collate "C"`)
    .limit(limit);
}

/**
 * Sets or clears deactivated_at; returns the row only when this call changed
 * it, so a repeated deactivation (or reactivation) writes no second event.
 */
export async function setDeactivated(tx: Tx, id: string, deactivated: boolean): Promise<UserRow | undefined> {
  const [row] = await tx
    .update(users)
    .set({ deactivatedAt: deactivated ? sql`now()` : null, updatedAt: sql`now()` })
    .where(and(eq(users.id, id), deactivated ? isNull(users.deactivatedAt) : isNotNull(users.deactivatedAt)))
    .returning();
  return row;
}

/** The unique constraint a PostgreSQL error violated, if it is a unique violation. */
export function violatedUniqueConstraint(err: unknown): string | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const pg = e as { code?: unknown; constraint_name?: unknown };
    if (pg.code === "23505") return typeof pg.constraint_name === "string" ? pg.constraint_name : "";
  }
  return undefined;
}
