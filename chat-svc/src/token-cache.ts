/**
 * Remembers access and service tokens that verified, until they expire, so
 * that a client's every call does not pay for signature verification again
 * (an HMAC through WebCrypto: the largest CPU cost of a small call such as
 * SendMessage). Only the signature check is cached: the
 * authenticator still checks on every call that the session is live in
 * Redis, so a logout takes effect at once.
 */
import type { Expiry, TokenKeys } from "@parley/shared/auth.js";

/** Verified tokens until they expire, oldest evicted first once `maxEntries` are held. */
function verifiedTokens<T extends Expiry>(
  verify: (token: string) => Promise<T>,
  maxEntries: number,
): (token: string) => Promise<T> {
  // A Map iterates in insertion order: the first key is the oldest entry.
  const verified = new Map<string, T>();
  return async (token) => {
    const hit = verified.get(token);
    if (hit && hit.expiresAtMs > Date.now()) return hit;
    if (hit) verified.delete(token);
    const value = await verify(token);
    // A token without an expiry is checked every time rather than remembered for ever.
    if (Number.isFinite(value.expiresAtMs)) {
      if (verified.size >= maxEntries) {
        const oldest = verified.keys().next().value;
        if (oldest !== undefined) verified.delete(oldest);
      }
      verified.set(token, value);
    }
    return value;
  };
}

export function cachingTokenKeys(keys: TokenKeys, opts: { maxEntries: number }): TokenKeys {
  return {
    ...keys,
    verifyAccess: verifiedTokens((token) => keys.verifyAccess(token), opts.maxEntries),
    // The edge's service token signs every call it makes (a few per edge, renewed as they near expiry).
    verifyService: verifiedTokens((token) => keys.verifyService(token), 64),
  };
}
