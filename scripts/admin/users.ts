/**
 * `user deactivate|reactivate <email|username|user id>`: runs user-svc's own
 * deactivation code (user-svc/src/domain/deactivation.ts) against its
 * PostgreSQL and Redis, as `sessions end` does, so it needs no running
 * user-svc. The flag and its event (user.deactivated / user.reactivated)
 * commit in one transaction through the outbox; user-svc's relay publishes
 * the event (once user-svc runs, if it is down). Deactivating then ends every
 * session with the SessionsEnded notice, so every edge closes the user's
 * sockets at once. Both are safe to repeat: the second writes no event, and
 * a repeated deactivation ends any session left over (say, Redis was down).
 *
 * Reads DATABASE_URL (user-svc's default), REDIS_URL and REDIS_KEY_PREFIX as
 * user-svc does.
 */
import { loadConfig } from "@parley/shared/config.js";
import { createLogger } from "@parley/shared/logger.js";
import { connectPostgres } from "@parley/shared/postgres.js";
import { connectRedis } from "@parley/shared/redis.js";
import { drizzle } from "drizzle-orm/postgres-js";
import { configSpec } from "../../user-svc/src/config.js";
import { deactivateUser, reactivateUser } from "../../user-svc/src/domain/deactivation.js";
import { normalizeEmail, usernameKey } from "../../user-svc/src/domain/identity.js";
import * as schema from "../../user-svc/src/storage/schema.js";
import { type Db, findUserByEmail, findUserById, findUserByUsernameKey } from "../../user-svc/src/storage/users.js";
import { connectOrExplain } from "../preflight.js";
import { DONE, NOT_FOUND } from "./exit-codes.js";
import { UUID } from "./room.js";

function findUser(db: Db, who: string) {
  if (UUID.test(who)) return findUserById(db, who.toLowerCase());
  if (who.includes("@")) return findUserByEmail(db, normalizeEmail(who));
  return findUserByUsernameKey(db, usernameKey(who));
}

/** Returns the exit code: DONE (or already so), or NOT_FOUND for no such (verified) user. */
export async function users(positionals: readonly string[], usage: (problem: string) => never): Promise<number> {
  const [command, who, ...extra] = positionals;
  if (command !== "deactivate" && command !== "reactivate") usage(`unknown user command "${command ?? ""}"`);
  if (who === undefined || who.trim() === "") usage(`user ${command} needs an email, a username or a user id`);
  if (extra.length > 0) usage(`unexpected argument "${extra[0]}"`);
  const config = loadConfig(
    {
      DATABASE_URL: configSpec.DATABASE_URL,
      REDIS_URL: configSpec.REDIS_URL,
      REDIS_KEY_PREFIX: configSpec.REDIS_KEY_PREFIX,
    },
    process.env,
  );
  const sql = connectPostgres(config.DATABASE_URL, { max: 1, appName: "parley-admin" });
  const redis = connectRedis(config.REDIS_URL, createLogger("admin", "silent"), "admin");
  try {
    const db = drizzle(sql, { schema });
    const user = await connectOrExplain("DATABASE_URL", config.DATABASE_URL, () => findUser(db, who));
    if (!user?.verifiedAt) {
      process.stderr.write(`no user "${who}" in ${new URL(config.DATABASE_URL).pathname.slice(1)}\n`);
      return NOT_FOUND;
    }
    const name = `user ${user.id} (${user.username}, ${user.email})`;
    if (command === "reactivate") {
      const { changed } = await reactivateUser({ db, redis, redisKeyPrefix: config.REDIS_KEY_PREFIX }, user.id);
      process.stdout.write(changed ? `reactivated ${name}\n` : `${name} was not deactivated; nothing changed\n`);
      return DONE;
    }
    // Before the transaction, so an unreachable Redis is named and nothing is half done.
    await connectOrExplain("REDIS_URL", config.REDIS_URL, () => redis.ping());
    const result = await deactivateUser({ db, redis, redisKeyPrefix: config.REDIS_KEY_PREFIX }, user.id);
    process.stdout.write(
      `${result.changed ? `deactivated ${name}` : `${name} was already deactivated`}; ` +
        `ended ${result.sessionsEnded} session(s)\n`,
    );
    return DONE;
  } finally {
    redis.disconnect();
    await sql.end({ timeout: 5 });
  }
}
