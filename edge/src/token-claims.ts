/**
 * What an access token says about itself (user, session, expiry), read
 * WITHOUT verifying it: only ever used for a token that has just been
 * verified (by a service, or by the edge's own session check for sockets), to
 * know which sockets a logout ends and when a socket's token expires.
 */
import { decodeJwt } from "jose";

export interface TokenClaims {
  userId: string;
  sessionId: string;
  /** Epoch milliseconds; Infinity when the token has no expiry. */
  expiresAt: number;
}

export function tokenClaims(token: string): TokenClaims | undefined {
  try {
    const claims = decodeJwt(token);
    if (typeof claims.sub !== "string" || typeof claims.sid !== "string") return undefined;
    return {
      userId: claims.sub,
      sessionId: claims.sid,
      expiresAt: typeof claims.exp === "number" ? claims.exp * 1000 : Number.POSITIVE_INFINITY,
    };
  } catch {
    return undefined;
  }
}
