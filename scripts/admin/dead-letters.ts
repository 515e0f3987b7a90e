import { loadConfig } from "@parley/shared/config.js";
import { topology } from "@parley/shared/topology.js";
import { connect, type GetMessage } from "amqplib";
import { configSpec } from "../../mail-worker/src/config.js";
import { describeDeadLetter, originalRoutingKey } from "../dead-letters.js";
import { connectOrExplain, exitOnConnectionLoss } from "../preflight.js";
import { DONE, NOT_FOUND } from "./exit-codes.js";

/** `dead-letters <list|replay|purge>`; returns the exit code. */
export async function deadLetters(
  positionals: readonly string[],
  options: { queue: string; limit?: string | undefined },
  usage: (problem: string) => never,
): Promise<number> {
  const [command, ...extra] = positionals;
  if (command !== "list" && command !== "replay" && command !== "purge") {
    usage(`unknown dead-letters command "${command ?? ""}"`);
  }
  if (extra.length > 0) usage(`unexpected argument "${extra[0]}"`);
  const limit = options.limit === undefined ? Number.POSITIVE_INFINITY : Number(options.limit);
  if (!(limit === Number.POSITIVE_INFINITY || (Number.isInteger(limit) && limit >= 0))) {
    usage(`--limit must be a whole number (got "${options.limit}")`);
  }
  const config = loadConfig(
    { RABBITMQ_URL: configSpec.RABBITMQ_URL, AMQP_NAMESPACE: configSpec.AMQP_NAMESPACE },
    process.env,
  );
  const t = topology(config.AMQP_NAMESPACE);
  const queues: Record<string, string> = { mail: t.mailDeadQueue, users: t.chatUsersDeadQueue };
  const queue = queues[options.queue];
  if (queue === undefined) usage(`--queue must be mail or users (got "${options.queue}")`);

  const conn = await connectOrExplain("RABBITMQ_URL", config.RABBITMQ_URL, () => connect(config.RABBITMQ_URL));
  exitOnConnectionLoss(conn, config.RABBITMQ_URL);
  let exitCode = DONE;
  try {
    const probe = await conn.createChannel();
    probe.on("error", () => {});
    const count = await probe.checkQueue(queue).then(
      (q) => q.messageCount,
      () => undefined,
    );
    if (count === undefined) {
      process.stderr.write(`${queue} does not exist (has the component run in namespace "${t.namespace}"?)\n`);
      exitCode = NOT_FOUND;
    } else {
      await probe.close();
      if (command === "list") await list(count);
      else if (command === "replay") await replay();
      else await purge();
    }
  } finally {
    await conn.close();
  }
  return exitCode;

  async function list(count: number): Promise<void> {
    const ch = await conn.createChannel();
    // A channel the broker closes fails the call in progress, which reports it.
    ch.on("error", () => {});
    const seen: GetMessage[] = [];
    while (seen.length < Math.min(limit, count)) {
      const msg = await ch.get(queue as string, { noAck: false });
      if (!msg) break;
      seen.push(msg);
    }
    process.stdout.write(
      `${queue}: ${count} dead letter(s)${seen.length < count ? `, the first ${seen.length}` : ""}\n`,
    );
    for (const [i, msg] of seen.entries()) process.stdout.write(`\n${describeDeadLetter(msg, i + 1)}`);
    // Closing without acknowledging returns each to the queue, in order.
    await ch.close();
  }

  async function replay(): Promise<void> {
    const ch = await conn.createConfirmChannel();
    // A channel the broker closes fails the call in progress, which reports it.
    ch.on("error", () => {});
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
    // A channel the broker closes fails the call in progress, which reports it.
    ch.on("error", () => {});
    const { messageCount } = await ch.purgeQueue(queue as string);
    await ch.close();
    process.stdout.write(`${messageCount} dead letter(s) purged from ${queue}\n`);
  }
}
