/**
 * Remembers access tokens that verified, until they expire, so that a
 * client's every call does not pay for signature verification again (a key
 * import and an HMAC through WebCrypto: the largest CPU cost of a small
 * call such as SendMessage). Only the signature check is cached: the
 * authenticator still checks on every call that the session is live in
 * Redis, so a logout takes effect at once.
 */
import type { Identity, TokenKeys } from "@parley/shared/auth.js";
import { decodeJwt } from "jose";

interface Entry {
  identity: Identity;
  expiresAtMs: number;
}

export function cachingTokenKeys(keys: TokenKeys, opts: { maxEntries: number }): TokenKeys {
  // A Map iterates in insertion order: the first key is the oldest entry.
  const verified = new Map<string, Entry>();
  return {
    ...keys,
    async verifyAccess(token) {
      const hit = verified.get(token);
      if (hit && hit.expiresAtMs > Date.now()) return hit.identity;
      if (hit) verified.delete(token);
      const identity = await keys.verifyAccess(token);
      const { exp } = decodeJwt(token);
      if (typeof exp === "number") {
        if (verified.size >= opts.maxEntries) {
          const oldest = verified.keys().next().value;
          if (oldest !== undefined) verified.delete(oldest);
        }
        verified.set(token, { identity, expiresAtMs: exp * 1000 });
      }
      return identity;
    },
  };
}
