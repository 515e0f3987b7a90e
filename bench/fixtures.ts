/**
 * Bench users without the OTP round trip: rows written straight into
 * user-svc's database (verified, with an unusable password hash) and live
 * sessions in Redis, exactly what VerifyOtp would leave behind.
 */
import { randomUUID } from "node:crypto";
import { createTokenKeys } from "@parley/shared/auth.js";
import { sessionKey } from "@parley/shared/sessions.js";
import { Redis } from "ioredis";
import postgres from "postgres";

export interface BenchUser {
  id: string;
  username: string;
  token: string;
}

export async function createUsers(opts: {
  count: number;
  userDatabaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  jwtSecret: string;
  /** Usernames are `<prefix>_<i>` (default "bench"); another prefix for another batch in the same database. */
  prefix?: string;
}): Promise<BenchUser[]> {
  const sql = postgres(opts.userDatabaseUrl, { max: 1, onnotice: () => {} });
  const redis = new Redis(opts.redisUrl);
  const keys = createTokenKeys(opts.jwtSecret);
  try {
    const users = Array.from({ length: opts.count }, (_, i) => ({
      id: randomUUID(),
      username: `${opts.prefix ?? "bench"}_${i}`,
    }));
    for (let i = 0; i < users.length; i += 1000) {
      const rows = users.slice(i, i + 1000).map((u) => ({
        id: u.id,
        email: `${u.username}@bench.test`,
        username: u.username,
        username_key: u.username,
        password_hash: "!bench",
        verified_at: new Date(),
      }));
      await sql`insert into users ${sql(rows)}`;
    }
    const pipeline = redis.pipeline();
    const out: BenchUser[] = [];
    for (const u of users) {
      const sessionId = randomUUID();
      pipeline.set(sessionKey(opts.redisPrefix, sessionId), u.id, "EX", 3600);
      out.push({ ...u, token: await keys.issueAccess({ userId: u.id, sessionId, username: u.username }, 3600) });
    }
    await pipeline.exec();
    return out;
  } finally {
    await sql.end();
    redis.disconnect();
  }
}
