/**
 * Access and service tokens (HS256 JWTs signed with JWT_SECRET). Services
 * verify every token themselves; an identity is only ever taken from a token
 * that verified, never from a plain header.
 */
import { webcrypto } from "node:crypto";
import { errors, jwtVerify, SignJWT } from "jose";
import { unauthenticated } from "./errors.js";

const ISSUER = "parley";

/**
 * Where the edge presents its service token on calls that also carry a
 * user's token in `authorization` (user-svc believes the client address and
 * user agent the edge forwards only with it).
 */
export const SERVICE_TOKEN_HEADER = "x-parley-service-token";
const ALG = "HS256";

export interface Identity {
  userId: string;
  sessionId: string;
  username: string;
}

export interface ServiceIdentity {
  service: string;
}

/** What a verified token says of its own lifetime, so that nobody decodes it again to learn it. */
export interface Expiry {
  /** Epoch milliseconds; Infinity for a token without `exp`. */
  expiresAtMs: number;
}

export interface TokenKeys {
  issueAccess(identity: Identity, ttlSeconds: number): Promise<string>;
  issueService(service: string, ttlSeconds: number): Promise<string>;
  verifyAccess(token: string): Promise<Identity & Expiry>;
  verifyService(token: string): Promise<ServiceIdentity & Expiry>;
}

const expiryOf = (exp: number | undefined): Expiry => ({
  expiresAtMs: typeof exp === "number" ? exp * 1000 : Number.POSITIVE_INFINITY,
});

export function createTokenKeys(secret: string): TokenKeys {
  // Imported once: handing jose the raw bytes makes it import the key into
  // WebCrypto again on every sign and verify, the largest cost of a small call.
  let imported: Promise<webcrypto.CryptoKey> | undefined;
  const key = () => {
    imported ??= webcrypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    return imported;
  };

  async function verify(token: string, audience: string) {
    try {
      const { payload } = await jwtVerify(token, await key(), { algorithms: [ALG], issuer: ISSUER, audience });
      return payload;
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw unauthenticated("the access token has expired");
      throw unauthenticated("the access token is invalid");
    }
  }

  return {
    issueAccess: async (id, ttl) =>
      new SignJWT({ sid: id.sessionId, name: id.username })
        .setProtectedHeader({ alg: ALG, typ: "JWT" })
        .setIssuer(ISSUER)
        .setAudience("parley:access")
        .setSubject(id.userId)
        .setIssuedAt()
        .setExpirationTime(`${ttl}s`)
        .sign(await key()),
    issueService: async (service, ttl) =>
      new SignJWT({})
        .setProtectedHeader({ alg: ALG, typ: "JWT" })
        .setIssuer(ISSUER)
        .setAudience("parley:service")
        .setSubject(service)
        .setIssuedAt()
        .setExpirationTime(`${ttl}s`)
        .sign(await key()),
    async verifyAccess(token) {
      const p = await verify(token, "parley:access");
      if (typeof p.sub !== "string" || typeof p.sid !== "string" || typeof p.name !== "string") {
        throw unauthenticated("the access token is invalid");
      }
      return { userId: p.sub, sessionId: p.sid, username: p.name, ...expiryOf(p.exp) };
    },
    async verifyService(token) {
      const p = await verify(token, "parley:service");
      if (typeof p.sub !== "string") throw unauthenticated("the service token is invalid");
      return { service: p.sub, ...expiryOf(p.exp) };
    },
  };
}

/** The bearer token from an `authorization` header or metadata entry. */
export function bearerToken(headers: Headers): string | undefined {
  const value = headers.get("authorization");
  const match = value ? /^Bearer\s+(\S+)$/i.exec(value) : null;
  return match?.[1];
}
