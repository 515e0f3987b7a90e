/** What other services may learn of accounts: the verified ones, by id. */
import { and, inArray, isNotNull, sql } from "drizzle-orm";
import { users } from "./schema.js";
import type { Executor } from "./users.js";

export interface DirectoryEntry {
  id: string;
  username: string;
  updatedAt: Date;
  deactivated: boolean;
}

export function findVerifiedUsers(db: Executor, ids: readonly string[]): Promise<DirectoryEntry[]> {
  return db
    .select({
      id: users.id,
      username: users.username,
      updatedAt: users.updatedAt,
      deactivated: sql<boolean>`${users.deactivatedAt} is not null`,
    })
    .from(users)
    .where(and(inArray(users.id, [...ids]), isNotNull(users.verifiedAt)));
}
