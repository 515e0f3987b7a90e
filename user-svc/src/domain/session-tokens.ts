import type { UserRow } from "../storage/schema.js";
import type { DomainDeps } from "./deps.js";

/** What signing in or refreshing hands the client: a short-lived access token and the session's refresh token. */
export interface SessionTokens {
  accessToken: string;
  /** Seconds the access token is valid for (ACCESS_TOKEN_TTL). */
  expiresIn: number;
  refreshToken: string;
}

/** Issues the access token for `user` in session `sessionId`, beside the session's current refresh token. */
export async function sessionTokens(
  domain: Pick<DomainDeps, "tokens" | "accessTokenTtlSeconds">,
  user: Pick<UserRow, "id" | "username">,
  session: { sessionId: string; refreshToken: string },
): Promise<SessionTokens> {
  const accessToken = await domain.tokens.issueAccess(
    { userId: user.id, sessionId: session.sessionId, username: user.username },
    domain.accessTokenTtlSeconds,
  );
  return { accessToken, expiresIn: domain.accessTokenTtlSeconds, refreshToken: session.refreshToken };
}
