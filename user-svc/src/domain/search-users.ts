/** SearchUsers: verified, active users by username prefix (any case), for starting a chat. */
import type { UserRow } from "../storage/schema.js";
import { searchVerifiedByUsernamePrefix } from "../storage/users.js";
import type { DomainDeps } from "./deps.js";
import { usernameKey } from "./identity.js";

export const DEFAULT_SEARCH_LIMIT = 20;
export const MAX_SEARCH_LIMIT = 50;

export function searchUsers(domain: DomainDeps, input: { prefix: string; limit: number }): Promise<UserRow[]> {
  const limit = Math.min(input.limit || DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT);
  return searchVerifiedByUsernamePrefix(domain.db, usernameKey(input.prefix), limit);
}
