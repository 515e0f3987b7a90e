/**
 * `npm run queues`: the mail worker's queues in one AMQP namespace, with the
 * messages ready in each and the consumers attached, then the dead letters
 * with why each was dead-lettered. Dead letters are only looked at: they are
 * fetched without an acknowledgement and go back to the queue, untouched and
 * in order, when the channel closes.
 *
 * Reads RABBITMQ_URL, AMQP_NAMESPACE and MAIL_RETRY_DELAYS like the worker.
 * `npm run queues -- --limit 50` lists up to 50 dead letters (default 20).
 * Exits 1, naming RabbitMQ and RABBITMQ_URL, when the broker does not answer.
 */
import { loadConfig } from "@parley/shared/config.js";
import { formatDelay, topology } from "@parley/shared/topology.js";
import { connect, type GetMessage } from "amqplib";
import { configSpec } from "../mail-worker/src/config.js";
import { describeDeadLetter } from "./dead-letters.js";
import { connectOrExplain, exitOnConnectionLoss, redacted } from "./preflight.js";

const config = loadConfig(
  {
    RABBITMQ_URL: configSpec.RABBITMQ_URL,
    AMQP_NAMESPACE: configSpec.AMQP_NAMESPACE,
    MAIL_RETRY_DELAYS: configSpec.MAIL_RETRY_DELAYS,
  },
  process.env,
);
const limitArg = process.argv.indexOf("--limit");
const limit = limitArg >= 0 ? Number(process.argv[limitArg + 1]) : 20;
if (!Number.isInteger(limit) || limit < 0) {
  process.stderr.write("usage: npm run queues [-- --limit N]\n");
  process.exit(2);
}

const t = topology(config.AMQP_NAMESPACE, { retryDelaysMs: config.MAIL_RETRY_DELAYS });
const queues = [
  { name: t.mailQueue, role: "events to handle" },
  ...t.mailRetryQueues.map((q, i) => ({ name: q.name, role: `retry ${i + 1}, waits ${formatDelay(q.delayMs)}` })),
  { name: t.mailDeadQueue, role: "dead letters" },
];

const conn = await connectOrExplain("RABBITMQ_URL", config.RABBITMQ_URL, () => connect(config.RABBITMQ_URL));
exitOnConnectionLoss(conn, config.RABBITMQ_URL);
try {
  process.stdout.write(`Queues of namespace "${t.namespace}" at ${redacted(config.RABBITMQ_URL)}\n\n`);
  const width = Math.max(...queues.map((q) => q.name.length));
  process.stdout.write(`${"queue".padEnd(width)}  ${"ready".padStart(7)}  ${"consumers".padStart(9)}  role\n`);
  let deadCount = 0;
  for (const q of queues) {
    // A missing queue closes the channel it was asked on: one channel per question.
    const ch = await conn.createChannel();
    ch.on("error", () => {});
    try {
      const { messageCount, consumerCount } = await ch.checkQueue(q.name);
      if (q.name === t.mailDeadQueue) deadCount = messageCount;
      process.stdout.write(
        `${q.name.padEnd(width)}  ${String(messageCount).padStart(7)}  ${String(consumerCount).padStart(9)}  ${q.role}\n`,
      );
      await ch.close();
    } catch {
      process.stdout.write(`${q.name.padEnd(width)}  ${"-".padStart(7)}  ${"-".padStart(9)}  not declared yet\n`);
    }
  }
  process.stdout.write("(ready excludes messages a consumer holds unacknowledged)\n");

  if (deadCount > 0 && limit > 0) {
    const ch = await conn.createChannel();
    // A channel the broker closes fails the call in progress, which reports it.
    ch.on("error", () => {});
    const seen: GetMessage[] = [];
    while (seen.length < Math.min(limit, deadCount)) {
      const msg = await ch.get(t.mailDeadQueue, { noAck: false });
      if (!msg) break;
      seen.push(msg);
    }
    process.stdout.write(
      `\nDead letters: ${deadCount}${seen.length < deadCount ? `, the first ${seen.length}` : ""}\n`,
    );
    for (const [i, msg] of seen.entries()) process.stdout.write(`\n${describeDeadLetter(msg, i + 1)}`);
    // Closing without acknowledging returns every fetched dead letter to the queue.
    await ch.close();
  }
} finally {
  await conn.close();
}
