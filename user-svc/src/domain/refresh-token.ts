/**
 * RefreshToken: a current refresh token buys a new access token and a new
 * refresh token, and the presented one is spent. A spent one coming back
 * means two parties hold the session's tokens; the session ends for both.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RefreshTokenResponseSchema } from "@parley/proto/user/v1/user_pb.js";
import { refreshTokenInvalid, refreshTokenReused } from "../errors.js";
import { revokeSessions, rotateRefreshToken } from "../storage/sessions.js";
import { findUserById } from "../storage/users.js";
import type { DomainDeps } from "./deps.js";

export async function refreshToken(
  domain: DomainDeps,
  input: { refreshToken: string },
): Promise<MessageInitShape<typeof RefreshTokenResponseSchema>> {
  const prefix = domain.redisKeyPrefix;
  const rotation = await rotateRefreshToken(domain.redis, {
    prefix,
    refreshToken: input.refreshToken,
    ttlSeconds: domain.sessionTtlSeconds,
  });
  if (rotation.status === "invalid") throw refreshTokenInvalid();
  if (rotation.status === "reused") throw refreshTokenReused();

  const user = await findUserById(domain.db, rotation.userId);
  if (!user) {
    await revokeSessions(domain.redis, { prefix, userId: rotation.userId, sessionIds: [rotation.sessionId] });
    throw refreshTokenInvalid();
  }
  const accessToken = await domain.tokens.issueAccess(
    { userId: user.id, sessionId: rotation.sessionId, username: user.username },
    domain.accessTokenTtlSeconds,
  );
  return { accessToken, expiresIn: domain.accessTokenTtlSeconds, refreshToken: rotation.refreshToken };
}
