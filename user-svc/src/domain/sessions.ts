/**
 * Sign-in sessions. A session is a Redis key (see @parley/shared/sessions.ts)
 * that every service checks on each call, so deleting it revokes the tokens
 * issued for it everywhere at once.
 */
import { randomUUID } from "node:crypto";
import { sessionKey } from "@parley/shared/sessions.js";
import type { Redis } from "ioredis";

/** The set of a user's session ids, for revoking them all (logout everywhere, password change). */
export function userSessionsKey(prefix: string, userId: string): string {
  return `${prefix}user-sessions:${userId}`;
}

export async function createSession(
  redis: Redis,
  opts: { prefix: string; userId: string; ttlSeconds: number },
): Promise<string> {
  const sessionId = randomUUID();
  const results = await redis
    .multi()
    .set(sessionKey(opts.prefix, sessionId), opts.userId, "EX", opts.ttlSeconds)
    .sadd(userSessionsKey(opts.prefix, opts.userId), sessionId)
    // The index lives as long as its newest session; ids of expired sessions
    // in it are harmless (revoking a missing key is a no-op).
    .expire(userSessionsKey(opts.prefix, opts.userId), opts.ttlSeconds)
    .exec();
  const failed = results?.find(([err]) => err);
  if (!results || failed) throw failed?.[0] ?? new Error("redis transaction aborted");
  return sessionId;
}
