/**
 * What an access token says about itself (user and session), read WITHOUT
 * verifying it: only ever used for a token that a service has just accepted,
 * to know whose profile an UpdateProfile changed.
 */
import { decodeJwt } from "jose";

export interface TokenClaims {
  userId: string;
  sessionId: string;
}

export function tokenClaims(token: string): TokenClaims | undefined {
  try {
    const claims = decodeJwt(token);
    if (typeof claims.sub !== "string" || typeof claims.sid !== "string") return undefined;
    return { userId: claims.sub, sessionId: claims.sid };
  } catch {
    return undefined;
  }
}
