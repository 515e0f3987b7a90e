/**
 * Throughput against the real local services (`npm run measure -w mail-worker`):
 *  1. events/s through the outbox relay (shared/src/outbox-relay.ts): a backlog of
 *     committed outbox rows, published with confirms and deleted per batch,
 *     until a consumer has received them all;
 *  2. mails/s through the worker into the in-process SMTP server: a backlog
 *     of OTP events, each one mail with its ledger transaction;
 *  3. digests/s: one message to many offline members, mailed by the digest
 *     scheduler when the window ends.
 * Sizes: MEASURE_EVENTS (default 10000), MEASURE_MAILS (2000), MEASURE_DIGESTS (1000).
 */
import { randomUUID } from "node:crypto";
import { OtpPurpose } from "@parley/proto/user/v1/user_pb.js";
import { connectAmqp } from "@parley/shared/amqp.js";
import { createLogger } from "@parley/shared/logger.js";
import { enqueueEvent, outbox } from "@parley/shared/outbox.js";
import { startOutboxRelay } from "@parley/shared/outbox-relay.js";
import { connectPostgres } from "@parley/shared/postgres.js";
import { createTestDatabase, createTestTopology, TEST_RABBITMQ_URL } from "@parley/shared/testing.js";
import { connect } from "amqplib";
import { generateDrizzleJson, generateMigration } from "drizzle-kit/api";
import { drizzle } from "drizzle-orm/postgres-js";
import { eventually, startHarness } from "../test/harness.js";

const EVENTS = Number(process.env.MEASURE_EVENTS ?? 10_000);
const MAILS = Number(process.env.MEASURE_MAILS ?? 2_000);
const DIGESTS = Number(process.env.MEASURE_DIGESTS ?? 1_000);
const logger = createLogger("measure", "silent");

function report(what: string, n: number, ms: number): void {
  process.stdout.write(`${what}: ${n} in ${(ms / 1000).toFixed(2)} s = ${Math.round((n / ms) * 1000)}/s\n`);
}

async function measureRelay(): Promise<void> {
  const db = await createTestDatabase("parley_measure");
  const topo = createTestTopology();
  const sql = connectPostgres(db.url, { appName: "measure", max: 4 });
  const amqp = await connectAmqp(TEST_RABBITMQ_URL, topo.topology, logger);
  const listener = await connect(TEST_RABBITMQ_URL);
  try {
    for (const s of await generateMigration(generateDrizzleJson({}), generateDrizzleJson({ outbox }))) {
      await sql.unsafe(s);
    }
    await amqp.waitForConnect();
    const ch = await listener.createChannel();
    const { queue } = await ch.assertQueue("", { exclusive: true });
    await ch.bindQueue(queue, topo.topology.exchange, "#");
    let received = 0;
    await ch.consume(queue, () => received++, { noAck: true });

    const d = drizzle(sql);
    for (let done = 0; done < EVENTS; done += 500) {
      await d.transaction(async (tx) => {
        for (let i = done; i < Math.min(EVENTS, done + 500); i++) {
          await enqueueEvent(tx, "user.registered", { userId: randomUUID(), email: `u${i}@x.test`, username: `u${i}` });
        }
      });
    }
    const started = Date.now();
    const relay = startOutboxRelay({ sql, amqp, topology: topo.topology, logger });
    await eventually("every event to arrive", () => received >= EVENTS, 300_000);
    report("outbox relay (publisher confirms, batches of 500)", EVENTS, Date.now() - started);
    await relay.close();
  } finally {
    await listener.close();
    await amqp.close();
    await sql.end();
    await topo.drop();
    await db.drop();
  }
}

async function measureWorker(): Promise<void> {
  const h = await startHarness({ mode: "smtp", digestWindow: 1 });
  const smtp = h.smtp;
  if (!smtp) throw new Error("no SMTP server");
  try {
    // OTP mails: a backlog, then a worker.
    await h.app.close();
    for (let i = 0; i < MAILS; i++) {
      await h.publish("user.otp.send", {
        userId: randomUUID(),
        email: `otp${i}@x.test`,
        username: `otp${i}`,
        otp: "123456",
        purpose: OtpPurpose.LOGIN,
        expiresIn: 3_600,
      });
    }
    let started = Date.now();
    await h.restartApp();
    await eventually("every OTP mail", () => smtp.mails.length >= MAILS, 600_000);
    report(
      `worker, one mail per event (prefetch ${h.config.MAIL_PREFETCH}, pool ${h.config.SMTP_MAX_CONNECTIONS})`,
      MAILS,
      Date.now() - started,
    );

    // Digests: recipients first (their welcome mails are not counted), then one message to all of them.
    const users = Array.from({ length: DIGESTS }, (_, i) => ({
      userId: randomUUID(),
      email: `d${i}@x.test`,
      username: `d${i}`,
    }));
    for (const u of users) await h.publish("user.registered", u);
    await eventually("the welcome mails", () => smtp.mails.length >= MAILS + DIGESTS, 600_000);
    const [sender] = users;
    if (!sender) return;
    const roomId = randomUUID();
    const membersVersion = await h.setMembers(
      roomId,
      users.map((u) => u.userId),
    );
    await h.publish("message.sent", {
      roomId,
      roomName: "all-hands",
      messageId: randomUUID(),
      seq: 1n,
      senderId: sender.userId,
      senderUsername: sender.username,
      text: "hello everyone",
      membersVersion,
    });
    await eventually(
      "the digests to fall due",
      async () => (await h.sql`select 1 from digests where due_at <= now() limit 1`).length > 0,
      60_000,
    );
    started = Date.now();
    const target = MAILS + DIGESTS + DIGESTS - 1;
    await eventually("every digest", () => smtp.mails.length >= target, 600_000);
    report("digest scheduler (4 loops, FOR UPDATE SKIP LOCKED)", DIGESTS - 1, Date.now() - started);
  } finally {
    await h.close();
  }
}

await measureRelay();
await measureWorker();
