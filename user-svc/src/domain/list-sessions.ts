/** ListSessions: the caller's live sessions, marking the one the call was made with. */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ListSessionsResponseSchema } from "@parley/proto/user/v1/user_pb.js";
import { listSessions } from "../storage/sessions.js";
import { authenticateCaller } from "./caller.js";
import type { DomainDeps } from "./deps.js";

export async function listMySessions(
  domain: DomainDeps,
  headers: Headers,
): Promise<MessageInitShape<typeof ListSessionsResponseSchema>> {
  const caller = await authenticateCaller(domain, headers);
  const sessions = await listSessions(domain.redis, { prefix: domain.redisKeyPrefix, userId: caller.userId });
  return {
    sessions: sessions.map((s) => ({
      id: s.id,
      createdAt: timestampFromDate(s.createdAt),
      lastUsedAt: timestampFromDate(s.lastUsedAt),
      userAgent: s.userAgent,
      ip: s.ip,
      current: s.id === caller.sessionId,
    })),
  };
}
