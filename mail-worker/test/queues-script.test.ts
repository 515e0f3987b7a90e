/**
 * `npm run queues` (scripts/queues.ts) against a live namespace: it lists
 * every queue with its counts and the dead letters with their reasons, and
 * leaves the dead letters where they were.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { freePort, TEST_RABBITMQ_URL } from "@parley/shared/testing.js";
import { connect } from "amqplib";
import { eventually, type Harness, startHarness } from "./harness.js";

const root = new URL("../..", import.meta.url).pathname;

describe("npm run queues", () => {
  let h: Harness;

  before(async () => {
    h = await startHarness({ mode: "smtp", retryDelays: "2s,20s" });
  });
  after(async () => {
    await h?.close();
  });

  async function deadCount(): Promise<number> {
    const conn = await connect(TEST_RABBITMQ_URL);
    try {
      return (await (await conn.createChannel()).checkQueue(h.topology.mailDeadQueue)).messageCount;
    } finally {
      await conn.close();
    }
  }

  it("lists the queues and the dead letters with their reasons, and keeps them", async () => {
    const ids = [randomUUID(), randomUUID()];
    for (const id of ids) {
      await h.publishRaw(h.topology.exchange, "user.registered", Buffer.from("garbage"), {
        persistent: true,
        messageId: id,
      });
    }
    await eventually("both to be dead-lettered", () => h.app.stats().deadLettered === 2);
    await eventually("the dead letters to be counted", async () => (await deadCount()) === 2);

    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "scripts/queues.ts"], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? "",
        RABBITMQ_URL: TEST_RABBITMQ_URL,
        AMQP_NAMESPACE: h.topology.namespace,
        MAIL_RETRY_DELAYS: "2s,20s",
      },
    });
    const ns = h.topology.namespace;
    assert.match(stdout, new RegExp(`${ns}\\.mail-worker +0 +1 +events to handle`));
    assert.match(stdout, new RegExp(`${ns}\\.mail-worker\\.retry\\.2s +0 +0 +retry 1, waits 2s`));
    assert.match(stdout, new RegExp(`${ns}\\.mail-worker\\.retry\\.20s +0 +0 +retry 2, waits 20s`));
    assert.match(stdout, new RegExp(`${ns}\\.mail-worker\\.dead +2 +0 +dead letters`));
    assert.match(stdout, /Dead letters: 2\n/);
    for (const id of ids) {
      assert.match(stdout, new RegExp(`user\\.registered  id ${id}  at \\S+\\n   reason: malformed parley`));
    }
    assert.doesNotMatch(stdout, /guest:guest/, "the password is not printed");
    await eventually("the dead letters to be back in their queue", async () => (await deadCount()) === 2);
  });
});

describe("npm run queues with the broker down", () => {
  it("names RabbitMQ, RABBITMQ_URL and a command, and exits 1 without a stack trace", async () => {
    const port = await freePort();
    const run = promisify(execFile)(process.execPath, ["--import", "tsx", "scripts/queues.ts"], {
      cwd: root,
      env: { PATH: process.env.PATH ?? "", RABBITMQ_URL: `amqp://guest:guest@127.0.0.1:${port}` },
    });
    const err = await run.then(
      () => assert.fail("queues succeeded with no broker"),
      (e: unknown) => e as { code: number; stderr: string },
    );
    assert.equal(err.code, 1);
    assert.match(
      err.stderr,
      new RegExp(`RabbitMQ is not reachable at amqp://guest:\\*\\*\\*@127\\.0\\.0\\.1:${port}/? \\(ECONNREFUSED\\)`),
    );
    assert.match(err.stderr, /Point RABBITMQ_URL at a running RabbitMQ/);
    assert.match(err.stderr, /docker compose --profile local up -d --wait local-rabbitmq/);
    assert.doesNotMatch(err.stderr, /^\s+at /m, "no stack trace");
  });
});
