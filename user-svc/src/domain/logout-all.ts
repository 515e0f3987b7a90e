/** LogoutAll: ends every session of the caller, the calling one included. */
import type { Identity } from "@parley/shared/auth.js";
import { revokeAllSessions } from "../storage/sessions.js";
import type { DomainDeps } from "./deps.js";

/** Returns how many sessions were still live. */
export function logoutAll(domain: DomainDeps, caller: Identity): Promise<number> {
  return revokeAllSessions(domain.redis, { prefix: domain.redisKeyPrefix, userId: caller.userId });
}
