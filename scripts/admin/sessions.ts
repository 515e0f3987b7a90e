/**
 * `sessions end <user id>`: ends every session of a user, through the same
 * user-svc domain code as the user's own "sign out everywhere" (one Redis
 * MULTI that deletes the sessions and publishes SessionsEnded, so every edge
 * closes that user's sockets at once). It talks to user-svc's Redis directly
 * (REDIS_URL, REDIS_KEY_PREFIX as user-svc reads them) rather than through an
 * RPC, so an operator can end sessions even while user-svc is down.
 */
import { loadConfig } from "@parley/shared/config.js";
import { createLogger } from "@parley/shared/logger.js";
import { connectRedis } from "@parley/shared/redis.js";
import { configSpec } from "../../user-svc/src/config.js";
import { revokeAllSessions } from "../../user-svc/src/storage/sessions.js";
import { connectOrExplain } from "../preflight.js";
import { UUID } from "./room.js";

/** Returns the exit code. */
export async function sessions(positionals: readonly string[], usage: (problem: string) => never): Promise<number> {
  const [command, userId, ...extra] = positionals;
  if (command !== "end") usage(`unknown sessions command "${command ?? ""}"`);
  if (userId === undefined || !UUID.test(userId)) usage(`sessions end needs a user id (a UUID), got "${userId ?? ""}"`);
  if (extra.length > 0) usage(`unexpected argument "${extra[0]}"`);
  const config = loadConfig(
    { REDIS_URL: configSpec.REDIS_URL, REDIS_KEY_PREFIX: configSpec.REDIS_KEY_PREFIX },
    process.env,
  );
  const redis = connectRedis(config.REDIS_URL, createLogger("admin", "silent"), "admin");
  try {
    const ended = await connectOrExplain("REDIS_URL", config.REDIS_URL, () =>
      revokeAllSessions(redis, { prefix: config.REDIS_KEY_PREFIX, userId }),
    );
    process.stdout.write(`ended ${ended} session(s) of user ${userId}\n`);
    return 0;
  } finally {
    redis.disconnect();
  }
}
