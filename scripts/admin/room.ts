/**
 * `room <room id>`: a room's heads and members, read from chat-svc's database
 * (DATABASE_URL, chat-svc's default) in one read-only transaction, so the heads
 * and the member list are one consistent snapshot.
 */

import { loadConfig } from "@parley/shared/config.js";
import { connectPostgres } from "@parley/shared/postgres.js";
import { configSpec } from "../../chat-svc/src/config.js";
import { connectOrExplain } from "../preflight.js";
import { DONE, NOT_FOUND } from "./exit-codes.js";

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface RoomRow {
  name: string;
  kind: string;
  visibility: string;
  head_seq: string;
  head_event_seq: string;
  min_event_seq: string;
  members_version: string;
}

interface MemberRow {
  user_id: string;
  username: string | null;
  deactivated: boolean | null;
  role: string;
  last_read_seq: string;
  joined_at: Date;
}

/** Returns the exit code: DONE, or NOT_FOUND for no such room; an unreachable database exits 1 (connectOrExplain). */
export async function room(positionals: readonly string[], usage: (problem: string) => never): Promise<number> {
  const [roomId, ...extra] = positionals;
  if (roomId === undefined) usage("room needs a room id");
  if (extra.length > 0) usage(`unexpected argument "${extra[0]}"`);
  if (!UUID.test(roomId)) usage(`"${roomId}" is not a room id (a UUID)`);
  const config = loadConfig({ DATABASE_URL: configSpec.DATABASE_URL }, process.env);
  const sql = connectPostgres(config.DATABASE_URL, { max: 1, appName: "parley-admin" });
  try {
    const snapshot = await connectOrExplain("DATABASE_URL", config.DATABASE_URL, () =>
      sql.begin("isolation level repeatable read read only", async (tx) => {
        const [r] = await tx<RoomRow[]>`
          select name, kind, visibility, head_seq, head_event_seq, min_event_seq, members_version
          from rooms where id = ${roomId}`;
        const members = await tx<MemberRow[]>`
          select m.user_id, u.username, u.deactivated, m.role, m.last_read_seq, m.joined_at
          from room_members m left join known_users u on u.user_id = m.user_id
          where m.room_id = ${roomId} order by m.joined_at, m.user_id`;
        return { room: r, members };
      }),
    );
    if (snapshot.room === undefined) {
      process.stderr.write(`no room ${roomId} in ${new URL(config.DATABASE_URL).pathname.slice(1)}\n`);
      return NOT_FOUND;
    }
    const r = snapshot.room;
    process.stdout.write(
      `room ${roomId}  "${r.name}"  ${r.kind}, ${r.visibility}\n` +
        `heads: message ${r.head_seq}, event ${r.head_event_seq} (oldest kept ${r.min_event_seq}), members version ${r.members_version}\n` +
        `members: ${snapshot.members.length}\n`,
    );
    for (const m of snapshot.members) {
      process.stdout.write(
        `  ${m.user_id}  ${(m.username ?? "(unknown)").padEnd(20)}  ${m.role.padEnd(6)}  read to ${m.last_read_seq}  joined ${m.joined_at.toISOString()}${m.deactivated ? "  deactivated" : ""}\n`,
      );
    }
    return DONE;
  } finally {
    await sql.end({ timeout: 5 });
  }
}
