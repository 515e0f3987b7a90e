/**
 * Sessions live in Redis so that revoking one (logout) takes effect at once
 * in every process that checks tokens. user-svc writes them; every service
 * that authenticates a caller reads them through `createAuthenticator`.
 */
import type { Redis } from "ioredis";
import { bearerToken, type Identity, type TokenKeys } from "./auth.js";
import { unauthenticated } from "./errors.js";

export function sessionKey(prefix: string, sessionId: string): string {
  return `${prefix}session:${sessionId}`;
}

export interface Authenticator {
  /** The caller's identity from a bearer token that verifies and whose session is live. */
  authenticate(headers: Headers): Promise<Identity>;
  authenticateToken(token: string): Promise<Identity>;
  /** For internal callers (the edge) that present a service token. */
  authenticateService(headers: Headers): Promise<string>;
}

export function createAuthenticator(opts: { keys: TokenKeys; redis: Redis; prefix: string }): Authenticator {
  const { keys, redis, prefix } = opts;
  async function authenticateToken(token: string): Promise<Identity> {
    const identity = await keys.verifyAccess(token);
    const owner = await redis.get(sessionKey(prefix, identity.sessionId));
    if (owner !== identity.userId) throw unauthenticated("the session has ended; sign in again");
    return identity;
  }
  return {
    authenticateToken,
    authenticate(headers) {
      const token = bearerToken(headers);
      if (!token) return Promise.reject(unauthenticated());
      return authenticateToken(token);
    },
    async authenticateService(headers) {
      const token = bearerToken(headers);
      if (!token) throw unauthenticated("a service token is required");
      return (await keys.verifyService(token)).service;
    },
  };
}
