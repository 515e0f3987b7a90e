/**
 * `npm run admin -- <command>`: operator commands against a running Parley.
 *
 *   dead-letters list    [--queue mail|users] [--limit N]   show dead letters (they stay where they are)
 *   dead-letters replay  [--queue mail|users] [--limit N]   republish to the events exchange, then remove
 *   dead-letters purge   [--queue mail|users]               delete them all
 *
 * `mail` is the mail worker's <ns>.mail-worker.dead, `users` chat-svc's
 * <ns>.chat-svc.users.dead (default: mail). Reads RABBITMQ_URL and
 * AMQP_NAMESPACE like the components. Exit codes: 0 done, 1 the broker did not
 * answer or the queue does not exist, 2 bad usage.
 */
import { parseArgs } from "node:util";
import { loadConfig } from "@parley/shared/config.js";
import { topology } from "@parley/shared/topology.js";
import { connect, type GetMessage } from "amqplib";
import { configSpec } from "../mail-worker/src/config.js";
import { describeDeadLetter, originalRoutingKey } from "./dead-letters.js";
import { connectOrExplain } from "./preflight.js";

const USAGE = `usage: npm run admin -- dead-letters <list|replay|purge> [--queue mail|users] [--limit N]\n`;

function usage(problem: string): never {
  process.stderr.write(`${problem}\n${USAGE}`);
  process.exit(2);
}

let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    allowPositionals: true,
    options: { queue: { type: "string", default: "mail" }, limit: { type: "string" } },
  });
}
try {
  parsed = parse();
} catch (err) {
  usage(err instanceof Error ? err.message : String(err));
}
const [group, command, ...extra] = parsed.positionals;
if (group !== "dead-letters") usage(group === undefined ? "no command given" : `unknown command "${group}"`);
if (command !== "list" && command !== "replay" && command !== "purge") {
  usage(`unknown dead-letters command "${command ?? ""}"`);
}
if (extra.length > 0) usage(`unexpected argument "${extra[0]}"`);
const limit = parsed.values.limit === undefined ? Number.POSITIVE_INFINITY : Number(parsed.values.limit);
if (!(limit === Number.POSITIVE_INFINITY || (Number.isInteger(limit) && limit >= 0))) {
  usage(`--limit must be a whole number (got "${parsed.values.limit}")`);
}

const config = loadConfig(
  { RABBITMQ_URL: configSpec.RABBITMQ_URL, AMQP_NAMESPACE: configSpec.AMQP_NAMESPACE },
  process.env,
);
const t = topology(config.AMQP_NAMESPACE);
const queues: Record<string, string> = { mail: t.mailDeadQueue, users: t.chatUsersDeadQueue };
const queue = queues[parsed.values.queue];
if (queue === undefined) usage(`--queue must be mail or users (got "${parsed.values.queue}")`);

const conn = await connectOrExplain("RABBITMQ_URL", config.RABBITMQ_URL, () => connect(config.RABBITMQ_URL));
let exitCode = 0;
try {
  const probe = await conn.createChannel();
  probe.on("error", () => {});
  const count = await probe.checkQueue(queue).then(
    (q) => q.messageCount,
    () => undefined,
  );
  if (count === undefined) {
    process.stderr.write(`${queue} does not exist (has the component run in namespace "${t.namespace}"?)\n`);
    exitCode = 1;
  } else {
    await probe.close();
    if (command === "list") await list(count);
    else if (command === "replay") await replay();
    else await purge();
  }
} finally {
  await conn.close();
}
process.exit(exitCode);

async function list(count: number): Promise<void> {
  const ch = await conn.createChannel();
  const seen: GetMessage[] = [];
  while (seen.length < Math.min(limit, count)) {
    const msg = await ch.get(queue as string, { noAck: false });
    if (!msg) break;
    seen.push(msg);
  }
  process.stdout.write(`${queue}: ${count} dead letter(s)${seen.length < count ? `, the first ${seen.length}` : ""}\n`);
  for (const [i, msg] of seen.entries()) process.stdout.write(`\n${describeDeadLetter(msg, i + 1)}`);
  // Closing without acknowledging returns each to the queue, in order.
  await ch.close();
}

async function replay(): Promise<void> {
  const ch = await conn.createConfirmChannel();
  let replayed = 0;
  while (replayed < limit) {
    const msg = await ch.get(queue as string, { noAck: false });
    if (!msg) break;
    const key = originalRoutingKey(msg);
    const { headers = {}, ...properties } = msg.properties;
    // x-death is the broker's record of this copy's deaths; the replayed event starts afresh.
    const { "x-death": _death, ...kept } = headers;
    ch.publish(t.exchange, key, msg.content, {
      ...properties,
      headers: { ...kept, "x-parley-replayed-at": new Date().toISOString() },
    });
    // Only a publish the broker confirmed may remove the dead letter: otherwise it stays.
    await ch.waitForConfirms();
    ch.ack(msg);
    replayed++;
    process.stdout.write(`replayed ${key}  id ${String(msg.properties.messageId ?? "(none)")}\n`);
  }
  await ch.close();
  process.stdout.write(`${replayed} dead letter(s) replayed from ${queue} to ${t.exchange}\n`);
}

async function purge(): Promise<void> {
  const ch = await conn.createChannel();
  const { messageCount } = await ch.purgeQueue(queue as string);
  await ch.close();
  process.stdout.write(`${messageCount} dead letter(s) purged from ${queue}\n`);
}
