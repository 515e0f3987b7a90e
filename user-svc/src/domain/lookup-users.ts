/**
 * LookupUsers: which of some ids are users, for services that keep their own
 * copy of the directory (chat-svc) and are asked about an id their copy
 * lacks. An unverified account is nobody yet: it is left out like an unknown id.
 */
import { type DirectoryEntry, findVerifiedUsers } from "../storage/directory.js";
import type { UserDomain } from "./context.js";

export function lookupUsers(domain: Pick<UserDomain, "db">, userIds: readonly string[]): Promise<DirectoryEntry[]> {
  // PostgreSQL folds uuids to lower case; so do the callers' copies.
  return findVerifiedUsers(domain.db, [...new Set(userIds.map((id) => id.toLowerCase()))]);
}
