/**
 * Live sockets per user, across every edge, in Redis. Each user has a
 * sorted set of socket ids scored by when the socket's entry expires; an
 * index of online users is scored by their latest expiry. Scripts update
 * both atomically and report whether the user came online or went offline,
 * so exactly one caller, on whichever instance, sees each transition.
 *
 * Entries expire so that the sockets of an edge that died without saying
 * goodbye do not keep their users online: the edge re-announces every live
 * socket periodically (SetPresence online), which pushes its expiry out,
 * and `expiredUsers` + `sweep` take the users whose last entry lapsed
 * offline. Times are Redis's own clock, so instances need not agree on one.
 */
import type { Redis } from "@parley/shared/redis.js";

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

// KEYS: the user's sockets, the online index. ARGV: mode (online | offline |
// sweep), socket id, ttl ms, user id. Returns 1 (came online), -1 (went
// offline) or 0.
const UPDATE = `${NOW}
local was_online = redis.call('ZSCORE', KEYS[2], ARGV[4]) ~= false
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if ARGV[1] == 'online' then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
elseif ARGV[1] == 'offline' then
  redis.call('ZREM', KEYS[1], ARGV[2])
end
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if newest[2] then
  local expiry = tonumber(newest[2])
  redis.call('ZADD', KEYS[2], expiry, ARGV[4])
  redis.call('PEXPIREAT', KEYS[1], expiry)
  if was_online then return 0 end
  return 1
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[4])
if was_online then return -1 end
return 0
`;

// KEYS: the online index. ARGV: how many. Users whose every entry has expired.
const EXPIRED = `${NOW}
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
`;

// KEYS: the online index. ARGV: user ids. 1 for each whose latest entry has not expired, else 0.
const ONLINE_AMONG = `${NOW}
local online = {}
for i, user in ipairs(ARGV) do
  local expiry = redis.call('ZSCORE', KEYS[1], user)
  online[i] = (expiry and tonumber(expiry) > now) and 1 or 0
end
return online
`;

export type Transition = "online" | "offline" | null;

function onlineIndexKey(prefix: string): string {
  return `${prefix}presence:online`;
}

/** Which of `userIds` have a live socket now: one read of the online index, with Redis's clock. */
export async function onlineAmong(redis: Redis, prefix: string, userIds: readonly string[]): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  const flags = (await redis.eval(ONLINE_AMONG, 1, onlineIndexKey(prefix), ...userIds)) as number[];
  return new Set(userIds.filter((_, i) => flags[i] === 1));
}

export interface PresenceStore {
  /** Adds or refreshes (online) or removes (offline) one socket of a user. */
  update(userId: string, socketId: string, online: boolean): Promise<Transition>;
  /** Users whose entries have all expired but who are still indexed as online. */
  expiredUsers(limit: number): Promise<string[]>;
  /** Drops a user's expired entries; "offline" when that left none. */
  sweep(userId: string): Promise<Transition>;
}

export function createPresenceStore(opts: { redis: Redis; prefix: string; ttlMs: number }): PresenceStore {
  const { redis, prefix, ttlMs } = opts;
  const socketsKey = (userId: string) => `${prefix}presence:sockets:${userId}`;
  const onlineKey = onlineIndexKey(prefix);

  async function run(mode: "online" | "offline" | "sweep", userId: string, socketId: string): Promise<Transition> {
    const result = await redis.eval(UPDATE, 2, socketsKey(userId), onlineKey, mode, socketId, ttlMs, userId);
    return result === 1 ? "online" : result === -1 ? "offline" : null;
  }

  return {
    update: (userId, socketId, online) => run(online ? "online" : "offline", userId, socketId),
    async expiredUsers(limit) {
      return (await redis.eval(EXPIRED, 1, onlineKey, limit)) as string[];
    },
    sweep: (userId) => run("sweep", userId, ""),
  };
}
