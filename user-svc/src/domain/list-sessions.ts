/** ListSessions: the caller's live sessions, marking the one the call was made with. */
import type { Identity } from "@parley/shared/auth.js";
import { listSessions, type SessionInfo } from "../storage/sessions.js";
import type { DomainDeps } from "./deps.js";

export interface CallerSession extends SessionInfo {
  /** The session the call was made with. */
  current: boolean;
}

export async function listMySessions(domain: DomainDeps, caller: Identity): Promise<CallerSession[]> {
  const sessions = await listSessions(domain.redis, { prefix: domain.redisKeyPrefix, userId: caller.userId });
  return sessions.map((s) => ({ ...s, current: s.id === caller.sessionId }));
}
