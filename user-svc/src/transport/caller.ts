import type { Identity } from "@parley/shared/auth.js";
import type { DomainDeps } from "../domain/deps.js";
import { touchSession } from "../storage/sessions.js";

/**
 * Reads the signed-in caller of a call: a verified access token whose session
 * is live (the same check every service makes), and the session's lastUsedAt
 * kept current for ListSessions.
 */
export function callerReader(
  domain: Pick<DomainDeps, "authenticator" | "redis" | "redisKeyPrefix">,
): (headers: Headers) => Promise<Identity> {
  return async (headers) => {
    const identity = await domain.authenticator.authenticate(headers);
    await touchSession(domain.redis, { prefix: domain.redisKeyPrefix, sessionId: identity.sessionId });
    return identity;
  };
}
