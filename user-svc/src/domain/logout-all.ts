/** LogoutAll: ends every session of the caller, the calling one included. */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { LogoutAllResponseSchema } from "@parley/proto/user/v1/user_pb.js";
import { revokeAllSessions } from "../storage/sessions.js";
import { authenticateCaller } from "./caller.js";
import type { DomainDeps } from "./deps.js";

export async function logoutAll(
  domain: DomainDeps,
  headers: Headers,
): Promise<MessageInitShape<typeof LogoutAllResponseSchema>> {
  const caller = await authenticateCaller(domain, headers);
  const sessionsEnded = await revokeAllSessions(domain.redis, { prefix: domain.redisKeyPrefix, userId: caller.userId });
  return { sessionsEnded };
}
