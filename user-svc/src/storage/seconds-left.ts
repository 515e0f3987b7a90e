/**
 * A Lua helper for the scripts that answer "come back in N seconds": whole
 * seconds until a key expires, rounded up, and never less than 1. TTL rounds
 * down, and a client told to come back while 0.9 s remain would be refused
 * again; one told 0 would not wait at all.
 */
export const SECONDS_LEFT = `
local function seconds_left(key)
  return math.max(1, math.ceil(redis.call('PTTL', key) / 1000))
end`;
