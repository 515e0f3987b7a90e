/** What other services may learn of accounts: the verified ones, by id. */
import { and, inArray, isNotNull } from "drizzle-orm";
import { users } from "./schema.js";
import type { Executor } from "./users.js";

export interface DirectoryEntry {
  id: string;
  username: string;
  updatedAt: Date;
}

export function findVerifiedUsers(db: Executor, ids: readonly string[]): Promise<DirectoryEntry[]> {
  return db
    .select({ id: users.id, username: users.username, updatedAt: users.updatedAt })
    .from(users)
    .where(and(inArray(users.id, [...ids]), isNotNull(users.verifiedAt)));
}
