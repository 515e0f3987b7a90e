/** SearchUsers: verified users by username prefix (any case), for starting a chat. */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { SearchUsersResponseSchema } from "@parley/proto/user/v1/user_pb.js";
import { searchVerifiedByUsernamePrefix } from "../storage/users.js";
import { authenticateCaller } from "./caller.js";
import type { DomainDeps } from "./deps.js";
import { usernameKey } from "./identity.js";
import { publicProfileMessage } from "./user-message.js";

export const DEFAULT_SEARCH_LIMIT = 20;
export const MAX_SEARCH_LIMIT = 50;

export async function searchUsers(
  domain: DomainDeps,
  headers: Headers,
  input: { prefix: string; limit: number },
): Promise<MessageInitShape<typeof SearchUsersResponseSchema>> {
  await authenticateCaller(domain, headers);
  const limit = Math.min(input.limit || DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT);
  const rows = await searchVerifiedByUsernamePrefix(domain.db, usernameKey(input.prefix), limit);
  return { users: rows.map(publicProfileMessage) };
}
