/**
 * RefreshToken: a current refresh token buys a new access token and a new
 * refresh token, and the presented one is spent. A spent one coming back
 * means two parties hold the session's tokens; the session ends for both.
 */
import { accountDeactivated, refreshTokenInvalid, refreshTokenReused } from "../errors.js";
import { revokeSessions, rotateRefreshToken } from "../storage/sessions.js";
import { findUserById } from "../storage/users.js";
import type { DomainDeps } from "./deps.js";
import { type SessionTokens, sessionTokens } from "./session-tokens.js";

export async function refreshToken(domain: DomainDeps, input: { refreshToken: string }): Promise<SessionTokens> {
  const prefix = domain.redisKeyPrefix;
  const rotation = await rotateRefreshToken(domain.redis, {
    prefix,
    refreshToken: input.refreshToken,
    ttlSeconds: domain.sessionTtlSeconds,
  });
  if (rotation.status === "invalid") throw refreshTokenInvalid();
  if (rotation.status === "reused") throw refreshTokenReused();
  if (rotation.status === "deactivated") {
    // Ended by a deactivation: say so while it lasts; after a reactivation it is just an ended session.
    const owner = await findUserById(domain.db, rotation.userId);
    throw owner?.deactivatedAt ? accountDeactivated() : refreshTokenInvalid();
  }

  // Read after the rotation: a deactivation racing it is seen here or ends this session itself (deactivation.ts).
  const user = await findUserById(domain.db, rotation.userId);
  if (!user || user.deactivatedAt) {
    await revokeSessions(domain.redis, { prefix, userId: rotation.userId, sessionIds: [rotation.sessionId] });
    throw user ? accountDeactivated() : refreshTokenInvalid();
  }
  return sessionTokens(domain, user, rotation);
}
