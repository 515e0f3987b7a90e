/**
 * `npm run admin -- dead-letters …` against a real broker: list leaves the dead
 * letters in place, replay puts each back on the events exchange under its
 * original routing key (from the worker's header, or from x-death for a letter
 * the broker dead-lettered) and removes it, purge empties the queue; usage
 * errors and a missing broker exit non-zero with a message.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  createTestTopology,
  freePort,
  runScript,
  TEST_RABBITMQ_URL,
  type TestTopology,
} from "@parley/shared/testing.js";
import { declareTopology, HEADERS } from "@parley/shared/topology.js";
import { type ChannelModel, connect } from "amqplib";

const root = new URL("..", import.meta.url).pathname;

function admin(args: string[], env: Record<string, string>) {
  return runScript(root, "scripts/admin.ts", args, { RABBITMQ_URL: TEST_RABBITMQ_URL, ...env });
}

describe("npm run admin -- dead-letters", () => {
  let tt: TestTopology;
  let conn: ChannelModel;
  let env: Record<string, string>;

  before(async () => {
    tt = createTestTopology();
    conn = await connect(TEST_RABBITMQ_URL);
    const ch = await conn.createChannel();
    await declareTopology(ch, tt.topology);
    await ch.close();
    env = { AMQP_NAMESPACE: tt.topology.namespace };
  });
  after(async () => {
    await conn?.close();
    await tt?.drop();
  });

  async function count(queue: string): Promise<number> {
    const ch = await conn.createChannel();
    try {
      return (await ch.checkQueue(queue)).messageCount;
    } finally {
      await ch.close();
    }
  }

  async function waitCount(queue: string, n: number): Promise<void> {
    for (let i = 0; i < 100 && (await count(queue)) !== n; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await count(queue), n, queue);
  }

  it("lists, replays to the original routing key and purges the mail worker's dead letters", async () => {
    const t = tt.topology;
    const ch = await conn.createConfirmChannel();
    for (const id of ["dl-1", "dl-2"]) {
      ch.sendToQueue(t.mailDeadQueue, Buffer.from(id), {
        messageId: id,
        persistent: true,
        headers: { [HEADERS.originalRoutingKey]: "user.otp.send", [HEADERS.reason]: "SMTP said no" },
      });
    }
    await ch.waitForConfirms();
    await ch.close();
    await waitCount(t.mailDeadQueue, 2);

    const listed = await admin(["dead-letters", "list"], env);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`${t.mailDeadQueue}: 2 dead letter\\(s\\)`));
    assert.match(listed.stdout, /1\. user\.otp\.send {2}id dl-1[\s\S]*reason: SMTP said no/);
    assert.match(listed.stdout, /2\. user\.otp\.send {2}id dl-2/);
    await waitCount(t.mailDeadQueue, 2);

    const replayed = await admin(["dead-letters", "replay", "--limit", "1"], env);
    assert.equal(replayed.code, 0, replayed.stderr);
    assert.match(replayed.stdout, /replayed user\.otp\.send {2}id dl-1/);
    assert.match(replayed.stdout, /1 dead letter\(s\) replayed/);
    await waitCount(t.mailDeadQueue, 1);
    await waitCount(t.mailQueue, 1);
    const back = await conn.createChannel();
    const msg = await back.get(t.mailQueue, { noAck: true });
    assert.ok(msg);
    assert.equal(msg.content.toString(), "dl-1");
    assert.equal(msg.fields.routingKey, "user.otp.send");
    assert.equal(msg.fields.exchange, t.exchange);
    await back.close();

    const purged = await admin(["dead-letters", "purge"], env);
    assert.equal(purged.code, 0, purged.stderr);
    assert.match(purged.stdout, /1 dead letter\(s\) purged/);
    await waitCount(t.mailDeadQueue, 0);
  });

  it("replays a letter chat-svc rejected under the routing key recorded in x-death", async () => {
    const t = tt.topology;
    const ch = await conn.createConfirmChannel();
    ch.publish(t.exchange, "user.updated", Buffer.from("unappliable"), { messageId: "rej-1", persistent: true });
    await ch.waitForConfirms();
    await waitCount(t.chatUsersQueue, 1);
    const got = await ch.get(t.chatUsersQueue, { noAck: false });
    assert.ok(got);
    ch.nack(got, false, false);
    await waitCount(t.chatUsersDeadQueue, 1);
    await ch.close();

    const replayed = await admin(["dead-letters", "replay", "--queue", "users"], env);
    assert.equal(replayed.code, 0, replayed.stderr);
    assert.match(replayed.stdout, /replayed user\.updated {2}id rej-1/);
    await waitCount(t.chatUsersDeadQueue, 0);
    await waitCount(t.chatUsersQueue, 1);
  });

  it("rejects bad usage with exit code 2, a missing broker with 1 and a missing queue with 3", async () => {
    const bad = await admin(["dead-letters", "resurrect"], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown dead-letters command "resurrect"[\s\S]*usage: npm run admin/);
    const badQueue = await admin(["dead-letters", "list", "--queue", "nope"], env);
    assert.equal(badQueue.code, 2);
    assert.match(badQueue.stderr, /--queue must be mail or users/);
    const port = await freePort();
    const down = await admin(["dead-letters", "list"], {
      ...env,
      RABBITMQ_URL: `amqp://guest:guest@127.0.0.1:${port}`,
    });
    assert.equal(down.code, 1);
    assert.match(down.stderr, /RabbitMQ is not reachable[\s\S]*RABBITMQ_URL/);
    assert.doesNotMatch(down.stderr, /^\s+at /m);
    // A namespace no component has run in has no dead-letter queue: not found (3), not "try again later" (1).
    const elsewhere = await admin(["dead-letters", "list"], { ...env, AMQP_NAMESPACE: `nobody_${process.pid}` });
    assert.equal(elsewhere.code, 3, elsewhere.stderr);
    assert.match(elsewhere.stderr, /nobody_\d+\.mail-worker\.dead does not exist/);
  });
});
