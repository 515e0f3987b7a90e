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
  /** Many callers' tokens in one Redis round trip; each settles as authenticateToken would. */
  authenticateTokens(tokens: readonly string[]): Promise<PromiseSettledResult<Identity>[]>;
  /** For internal callers (the edge) that present a service token. */
  authenticateService(headers: Headers): Promise<string>;
}

export function createAuthenticator(opts: { keys: TokenKeys; redis: Redis; prefix: string }): Authenticator {
  const { keys, redis, prefix } = opts;
  /** The identity if its session is still the user's, the refusal otherwise: the one session check. */
  function live(identity: Identity, owner: string | null | undefined): Identity {
    if (owner !== identity.userId) throw unauthenticated("the session has ended; sign in again");
    return identity;
  }
  async function authenticateToken(token: string): Promise<Identity> {
    const identity = await keys.verifyAccess(token);
    return live(identity, await redis.get(sessionKey(prefix, identity.sessionId)));
  }
  async function authenticateTokens(tokens: readonly string[]): Promise<PromiseSettledResult<Identity>[]> {
    const verified = await Promise.allSettled(tokens.map((t) => keys.verifyAccess(t)));
    const sessionIds = [...new Set(verified.flatMap((v) => (v.status === "fulfilled" ? [v.value.sessionId] : [])))];
    if (sessionIds.length === 0) return verified;
    const owners = await redis.mget(sessionIds.map((id) => sessionKey(prefix, id)));
    const ownerOf = new Map(sessionIds.map((id, i) => [id, owners[i]]));
    return verified.map((v): PromiseSettledResult<Identity> => {
      if (v.status === "rejected") return v;
      try {
        return { status: "fulfilled", value: live(v.value, ownerOf.get(v.value.sessionId)) };
      } catch (reason) {
        return { status: "rejected", reason };
      }
    });
  }
  return {
    authenticateToken,
    authenticateTokens,
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
