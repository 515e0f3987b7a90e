/**
 * `npm run admin -- <command>`: operator commands against a running Parley.
 *
 *   dead-letters list    [--queue mail|users] [--limit N]   show dead letters (they stay where they are)
 *   dead-letters replay  [--queue mail|users] [--limit N]   republish each to the events exchange under its
 *                                                           original routing key; removed once the broker confirms
 *   dead-letters purge   [--queue mail|users]               delete them all
 *   room <room id>                                          a room's heads and members (chat-svc's database)
 *   sessions end <user id>                                  end every session; every edge closes its sockets
 *   user deactivate <email|username|user id>                no sign-in until reactivated; sessions end at once
 *   user reactivate <email|username|user id>                may sign in again
 *
 * `mail` is the mail worker's <ns>.mail-worker.dead, `users` chat-svc's
 * <ns>.chat-svc.users.dead (default: mail). Reads RABBITMQ_URL, AMQP_NAMESPACE
 * DATABASE_URL (chat-svc's for `room`, user-svc's for `user`), REDIS_URL and REDIS_KEY_PREFIX (user-svc's) like the
 * components. Exit codes: 0 done, 1 the infrastructure did not answer, 2 bad usage, 3 no such user, room or
 * dead-letter queue (NOT_FOUND in scripts/admin/exit-codes.ts), so a script can tell "try again later" from
 * "wrong name".
 */
import { parseArgs } from "node:util";
import { deadLetters } from "./admin/dead-letters.js";
import { BAD_USAGE } from "./admin/exit-codes.js";
import { room } from "./admin/room.js";
import { sessions } from "./admin/sessions.js";
import { users } from "./admin/users.js";

const USAGE =
  "usage: npm run admin -- dead-letters <list|replay|purge> [--queue mail|users] [--limit N]\n" +
  "       npm run admin -- room <room id>\n" +
  "       npm run admin -- sessions end <user id>\n" +
  "       npm run admin -- user <deactivate|reactivate> <email|username|user id>\n";

function usage(problem: string): never {
  process.stderr.write(`${problem}\n${USAGE}`);
  process.exit(BAD_USAGE);
}

function parse() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: { queue: { type: "string", default: "mail" }, limit: { type: "string" } },
    });
  } catch (err) {
    return usage(err instanceof Error ? err.message : String(err));
  }
}

const { positionals, values } = parse();
const [group, ...rest] = positionals;
let code: number;
if (group === "dead-letters") code = await deadLetters(rest, values, usage);
else if (group === "room") code = await room(rest, usage);
else if (group === "sessions") code = await sessions(rest, usage);
else if (group === "user") code = await users(rest, usage);
else usage(group === undefined ? "no command given" : `unknown command "${group}"`);
process.exit(code);
