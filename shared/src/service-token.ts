/**
 * A component's own identity towards another service (the edge's towards
 * chat-svc for StreamEvents, chat-svc's towards user-svc for LookupUsers): a
 * short-lived service token, re-minted before it expires so that a reconnect
 * never presents a stale one.
 */
import { createTokenKeys } from "./auth.js";

export interface ServiceTokenSource {
  /** A token valid for at least `refreshBeforeSeconds` more seconds. */
  get(): Promise<string>;
}

export function createServiceTokenSource(
  service: string,
  secret: string,
  opts: { ttlSeconds?: number; refreshBeforeSeconds?: number; now?: () => number } = {},
): ServiceTokenSource {
  const keys = createTokenKeys(secret);
  const ttl = opts.ttlSeconds ?? 300;
  const refreshBefore = opts.refreshBeforeSeconds ?? 60;
  const now = opts.now ?? Date.now;
  let current: { token: Promise<string>; expiresAt: number } | undefined;
  return {
    get() {
      if (!current || now() >= current.expiresAt - refreshBefore * 1000) {
        const minted = { token: keys.issueService(service, ttl), expiresAt: now() + ttl * 1000 };
        current = minted;
        // A failed mint must not be cached.
        minted.token.catch(() => {
          if (current === minted) current = undefined;
        });
      }
      return current.token;
    },
  };
}
