/**
 * Sign-in sessions. A session is a Redis key (see @parley/shared/sessions.ts)
 * that every service checks on each call, so deleting it revokes the tokens
 * issued for it everywhere at once. Beside it live:
 * - `session-meta:<sid>`: a hash shown by ListSessions (userId, createdAt,
 *   lastUsedAt, userAgent, ip) plus the digest of its current refresh token;
 * - `user-sessions:<userId>`: the set of a user's session ids (LogoutAll);
 * - `refresh:<sha256(token)>`: one hash per refresh token ever issued for a
 *   live session, {sid, userId, state: current|rotated}. Rotated ones are kept
 *   (until they would have expired) so that presenting one again is
 *   recognised as reuse and ends the session. A deactivation (ending the
 *   sessions with reason "deactivated") marks each session's current one
 *   `state: deactivated` instead of deleting it, so presenting it answers
 *   ACCOUNT_DEACTIVATED rather than a bare "invalid".
 * All of them expire SESSION_TTL after the session was last refreshed.
 * Refresh tokens are 256 random bits, so an unkeyed SHA-256 is enough to make
 * a Redis dump useless without making lookups slow.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { SessionsEndedSchema } from "@parley/proto/user/v1/user_pb.js";
import { sessionKey, sessionsEndedChannel } from "@parley/shared/sessions.js";
import type { Redis } from "ioredis";

/** lastUsedAt is written at most this often per session, so authenticating stays one cheap read. */
export const LAST_USED_RESOLUTION_MS = 60_000;

/** The set of a user's session ids, for revoking them all (logout everywhere, password change). */
export function userSessionsKey(prefix: string, userId: string): string {
  return `${prefix}user-sessions:${userId}`;
}

export function sessionMetaKey(prefix: string, sessionId: string): string {
  return `${prefix}session-meta:${sessionId}`;
}

function refreshKey(prefix: string, digest: string): string {
  return `${prefix}refresh:${digest}`;
}

function digestOf(refreshToken: string): string {
  return createHash("sha256").update(refreshToken).digest("hex");
}

function newRefreshToken(): { token: string; digest: string } {
  const token = randomBytes(32).toString("base64url");
  return { token, digest: digestOf(token) };
}

async function execOrThrow(multi: ReturnType<Redis["multi"]>): Promise<[Error | null, unknown][]> {
  const results = await multi.exec();
  const failed = results?.find(([err]) => err);
  if (!results || failed) throw failed?.[0] ?? new Error("redis transaction aborted");
  return results;
}

export interface NewSession {
  sessionId: string;
  refreshToken: string;
}

export async function createSession(
  redis: Redis,
  opts: { prefix: string; userId: string; ttlSeconds: number; client: { ip: string; userAgent: string } },
): Promise<NewSession> {
  const { prefix, userId, ttlSeconds } = opts;
  const sessionId = randomUUID();
  const refresh = newRefreshToken();
  const now = String(Date.now());
  const meta = sessionMetaKey(prefix, sessionId);
  const index = userSessionsKey(prefix, userId);
  await execOrThrow(
    redis
      .multi()
      .set(sessionKey(prefix, sessionId), userId, "EX", ttlSeconds)
      .hset(meta, {
        userId,
        createdAt: now,
        lastUsedAt: now,
        userAgent: opts.client.userAgent,
        ip: opts.client.ip,
        refresh: refresh.digest,
      })
      .expire(meta, ttlSeconds)
      .hset(refreshKey(prefix, refresh.digest), { sid: sessionId, userId, state: "current" })
      .expire(refreshKey(prefix, refresh.digest), ttlSeconds)
      .sadd(index, sessionId)
      // The index lives as long as its newest session; ids of ended sessions
      // in it are pruned by ListSessions and harmless to LogoutAll.
      .expire(index, ttlSeconds),
  );
  return { sessionId, refreshToken: refresh.token };
}

// KEYS: presented refresh, new refresh, session, session meta, user's session set.
// ARGV: userId, sessionId, new digest, now (ms), ttl (s), the SessionsEnded
// channel and the notice to publish there should the session end.
// Either rotates (presented → rotated, new → current, session extended), or,
// for a token that was already rotated, ends the session on the spot: whoever
// presents it holds a copy, and we cannot tell the thief from the owner.
const ROTATE = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 'invalid' end
if state == 'deactivated' then return 'deactivated' end
if state ~= 'current' then
  redis.call('DEL', KEYS[3], KEYS[4])
  redis.call('SREM', KEYS[5], ARGV[2])
  redis.call('PUBLISH', ARGV[6], ARGV[7])
  return 'reused'
end
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return 'invalid' end
redis.call('HSET', KEYS[1], 'state', 'rotated')
redis.call('HSET', KEYS[2], 'sid', ARGV[2], 'userId', ARGV[1], 'state', 'current')
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('EXPIRE', KEYS[3], ARGV[5])
redis.call('HSET', KEYS[4], 'refresh', ARGV[3], 'lastUsedAt', ARGV[4])
redis.call('EXPIRE', KEYS[4], ARGV[5])
redis.call('SADD', KEYS[5], ARGV[2])
redis.call('EXPIRE', KEYS[5], ARGV[5])
return 'ok'`;

export type Rotation =
  | { status: "ok"; sessionId: string; userId: string; refreshToken: string }
  | { status: "invalid" }
  | { status: "reused"; sessionId: string; userId: string }
  /** The session was ended by a deactivation; the account may have been reactivated since. */
  | { status: "deactivated"; userId: string };

/** Exchanges a current refresh token for a new one; see ROTATE. */
export async function rotateRefreshToken(
  redis: Redis,
  opts: { prefix: string; refreshToken: string; ttlSeconds: number },
): Promise<Rotation> {
  const { prefix } = opts;
  const presented = refreshKey(prefix, digestOf(opts.refreshToken));
  const owner = await redis.hgetall(presented);
  const { sid, userId } = owner;
  if (!sid || !userId) return { status: "invalid" };
  const next = newRefreshToken();
  const outcome = (await redis.eval(
    ROTATE,
    5,
    presented,
    refreshKey(prefix, next.digest),
    sessionKey(prefix, sid),
    sessionMetaKey(prefix, sid),
    userSessionsKey(prefix, userId),
    userId,
    sid,
    next.digest,
    Date.now(),
    opts.ttlSeconds,
    sessionsEndedChannel(prefix),
    sessionsEndedNotice(userId, [sid]),
  )) as string;
  if (outcome === "ok") return { status: "ok", sessionId: sid, userId, refreshToken: next.token };
  if (outcome === "reused") return { status: "reused", sessionId: sid, userId };
  if (outcome === "deactivated") return { status: "deactivated", userId };
  return { status: "invalid" };
}

/** What the edges hear on sessionsEndedChannel when sessions end: they close those sessions' sockets. */
function sessionsEndedNotice(userId: string, sessionIds: string[]): Buffer {
  return Buffer.from(toBinary(SessionsEndedSchema, create(SessionsEndedSchema, { userId, sessionIds })));
}

// KEYS: a refresh token's hash. Keeps its expiry; never recreates one that expired meanwhile.
const MARK_DEACTIVATED = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'state', 'deactivated') end
return 0`;

/**
 * Ends sessions of `userId`: their keys go at once, so every service refuses
 * their access tokens on the next call, and the edges close their sockets.
 * Returns how many were still live.
 */
export async function revokeSessions(
  redis: Redis,
  opts: { prefix: string; userId: string; sessionIds: string[]; reason?: "deactivated" },
): Promise<number> {
  const { prefix, userId, sessionIds } = opts;
  if (sessionIds.length === 0) return 0;
  const lookups = await execOrThrow(
    sessionIds.reduce((m, sid) => m.hget(sessionMetaKey(prefix, sid), "refresh"), redis.multi()),
  );
  const multi = redis.multi();
  for (const sid of sessionIds) multi.del(sessionKey(prefix, sid));
  for (const [i, sid] of sessionIds.entries()) {
    multi.del(sessionMetaKey(prefix, sid));
    // A refresh rotated in between keeps its key, but the session key it
    // needs is gone, so it cannot be used.
    const digest = lookups[i]?.[1];
    if (typeof digest !== "string") continue;
    if (opts.reason === "deactivated") multi.eval(MARK_DEACTIVATED, 1, refreshKey(prefix, digest));
    else multi.del(refreshKey(prefix, digest));
  }
  multi.srem(userSessionsKey(prefix, userId), ...sessionIds);
  // In the same MULTI: no edge hears of a revocation that did not happen, and none that did goes unannounced.
  multi.publish(sessionsEndedChannel(prefix), sessionsEndedNotice(userId, sessionIds));
  const results = await execOrThrow(multi);
  return results.slice(0, sessionIds.length).filter(([, deleted]) => deleted === 1).length;
}

/** Ends every session of `userId`. Only known ids are removed from the index, so a sign-in racing this keeps its own. */
export async function revokeAllSessions(
  redis: Redis,
  opts: { prefix: string; userId: string; reason?: "deactivated" },
): Promise<number> {
  const sessionIds = await redis.smembers(userSessionsKey(opts.prefix, opts.userId));
  return revokeSessions(redis, { ...opts, sessionIds });
}

export interface SessionInfo {
  id: string;
  createdAt: Date;
  lastUsedAt: Date;
  userAgent: string;
  ip: string;
}

/** The user's live sessions, most recently used first; ids of ended sessions are pruned from the index. */
export async function listSessions(redis: Redis, opts: { prefix: string; userId: string }): Promise<SessionInfo[]> {
  const { prefix, userId } = opts;
  const index = userSessionsKey(prefix, userId);
  const ids = await redis.smembers(index);
  if (ids.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const sid of ids) pipeline.get(sessionKey(prefix, sid)).hgetall(sessionMetaKey(prefix, sid));
  const replies = (await pipeline.exec()) ?? [];
  const live: SessionInfo[] = [];
  const ended: string[] = [];
  for (const [i, sid] of ids.entries()) {
    const [ownerErr, owner] = replies[2 * i] ?? [];
    const [metaErr, meta] = replies[2 * i + 1] ?? [];
    if (ownerErr || metaErr) throw ownerErr ?? metaErr;
    const m = meta as Record<string, string> | undefined;
    if (owner !== userId || !m?.createdAt) {
      ended.push(sid);
      continue;
    }
    live.push({
      id: sid,
      createdAt: new Date(Number(m.createdAt)),
      lastUsedAt: new Date(Number(m.lastUsedAt ?? m.createdAt)),
      userAgent: m.userAgent ?? "",
      ip: m.ip ?? "",
    });
  }
  if (ended.length > 0) await redis.srem(index, ...ended);
  return live.sort((a, b) => b.lastUsedAt.getTime() - a.lastUsedAt.getTime());
}

// KEYS: session meta. ARGV: now (ms), resolution (ms). Never recreates a
// hash that expired or was revoked.
const TOUCH = `
local last = redis.call('HGET', KEYS[1], 'lastUsedAt')
if not last then return 0 end
if tonumber(ARGV[1]) - tonumber(last) < tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'lastUsedAt', ARGV[1])
return 1`;

/** Records that the session was used now, unless that was already recorded within the last minute. */
export async function touchSession(redis: Redis, opts: { prefix: string; sessionId: string }): Promise<void> {
  await redis.eval(TOUCH, 1, sessionMetaKey(opts.prefix, opts.sessionId), Date.now(), LAST_USED_RESOLUTION_MS);
}
