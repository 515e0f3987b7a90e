/**
 * Sessions live in Redis so that revoking one (logout) takes effect at once
 * in every process that checks tokens. user-svc writes them; every service
 * that authenticates a caller reads them through `createAuthenticator`.
 */
import type { Redis } from "ioredis";
import { bearerToken, type Expiry, type Identity, type TokenKeys } from "./auth.js";
import { unauthenticated } from "./errors.js";

export function sessionKey(prefix: string, sessionId: string): string {
  return `${prefix}session:${sessionId}`;
}

/** The Redis channel of parley.user.v1.SessionsEnded notices: revoked sessions, for the edges to close their sockets. */
export function sessionsEndedChannel(prefix: string): string {
  return `${prefix}sessions:ended`;
}

export interface Authenticator {
  /** The caller's identity from a bearer token that verifies and whose session is live. */
  authenticate(headers: Headers): Promise<Identity>;
  authenticateToken(token: string): Promise<Identity & Expiry>;
  /**
   * Many callers' tokens: the signatures are checked now, and all their
   * sessions in one Redis round trip whose answer (`live`, settling as
   * authenticateToken would) comes later, so that a caller with work to
   * start before it must know (chat-svc's send batches) overlaps the two.
   */
  verifyTokens(tokens: readonly string[]): Promise<PromiseSettledResult<VerifiedToken>[]>;
  /** For internal callers (the edge) that present a service token. */
  authenticateService(headers: Headers): Promise<string>;
  /** Which of these sessions have ended (the edge checks its sockets' after missing notices). */
  endedSessions(sessionIds: readonly string[]): Promise<string[]>;
}

/** Session keys per MGET: one round trip per this many sessions. */
const LOOKUP_CHUNK = 500;

export interface VerifiedToken {
  identity: Identity;
  /** Resolves once the session is known to be live; rejects (unauthenticated) if it has ended. */
  live: Promise<void>;
}

export function createAuthenticator(opts: { keys: TokenKeys; redis: Redis; prefix: string }): Authenticator {
  const { keys, redis, prefix } = opts;
  /** The identity if its session is still the user's, the refusal otherwise: the one session check. */
  function checkLive<T extends Identity>(identity: T, owner: string | null | undefined): T {
    if (owner !== identity.userId) throw unauthenticated("the session has ended; sign in again");
    return identity;
  }
  async function authenticateToken(token: string): Promise<Identity & Expiry> {
    const identity = await keys.verifyAccess(token);
    return checkLive(identity, await redis.get(sessionKey(prefix, identity.sessionId)));
  }
  /** Each session's owner (its user id), or null once it has ended. */
  async function ownersOf(sessionIds: readonly string[]): Promise<Map<string, string | null>> {
    const owners = new Map<string, string | null>();
    for (let i = 0; i < sessionIds.length; i += LOOKUP_CHUNK) {
      const chunk = sessionIds.slice(i, i + LOOKUP_CHUNK);
      const found = await redis.mget(chunk.map((id) => sessionKey(prefix, id)));
      for (const [j, id] of chunk.entries()) owners.set(id, found[j] ?? null);
    }
    return owners;
  }
  async function verifyTokens(tokens: readonly string[]): Promise<PromiseSettledResult<VerifiedToken>[]> {
    const verified = await Promise.allSettled(tokens.map((t) => keys.verifyAccess(t)));
    const sessionIds = [...new Set(verified.flatMap((v) => (v.status === "fulfilled" ? [v.value.sessionId] : [])))];
    const owners = ownersOf(sessionIds);
    return verified.map((v): PromiseSettledResult<VerifiedToken> => {
      if (v.status === "rejected") return v;
      const live = owners.then((ownerOf) => {
        checkLive(v.value, ownerOf.get(v.value.sessionId));
      });
      // Awaited by whoever uses the token; one that is never used must not surface as unhandled.
      live.catch(() => {});
      return { status: "fulfilled", value: { identity: v.value, live } };
    });
  }
  return {
    authenticateToken,
    verifyTokens,
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
    async endedSessions(sessionIds) {
      const owners = await ownersOf(sessionIds);
      return sessionIds.filter((id) => owners.get(id) === null);
    },
  };
}
