import type { Identity } from "@parley/shared/auth.js";
import { touchSession } from "../storage/sessions.js";
import type { DomainDeps } from "./deps.js";

/**
 * The signed-in caller: a verified access token whose session is live (the
 * same check every service makes), and the session's lastUsedAt kept current.
 */
export async function authenticateCaller(domain: DomainDeps, headers: Headers): Promise<Identity> {
  const identity = await domain.authenticator.authenticate(headers);
  await touchSession(domain.redis, { prefix: domain.redisKeyPrefix, sessionId: identity.sessionId });
  return identity;
}
