/** Logout: ends the session the caller's token belongs to, in every service at once. */

import { revokeSessions } from "../storage/sessions.js";
import { authenticateCaller } from "./caller.js";
import type { DomainDeps } from "./deps.js";

export async function logout(domain: DomainDeps, headers: Headers): Promise<Record<string, never>> {
  const caller = await authenticateCaller(domain, headers);
  await revokeSessions(domain.redis, {
    prefix: domain.redisKeyPrefix,
    userId: caller.userId,
    sessionIds: [caller.sessionId],
  });
  return {};
}
