/** Logout: ends the session the caller's token belongs to, in every service at once. */
import type { Identity } from "@parley/shared/auth.js";
import { revokeSessions } from "../storage/sessions.js";
import type { DomainDeps } from "./deps.js";

export async function logout(domain: DomainDeps, caller: Identity): Promise<void> {
  await revokeSessions(domain.redis, {
    prefix: domain.redisKeyPrefix,
    userId: caller.userId,
    sessionIds: [caller.sessionId],
  });
}
