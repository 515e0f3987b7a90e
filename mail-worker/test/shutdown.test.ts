import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { OtpPurpose } from "@parley/proto/user/v1/user_pb.js";
import { TEST_RABBITMQ_URL } from "@parley/shared/testing.js";
import { connect } from "amqplib";
import { eventually, type Harness, startHarness } from "./harness.js";

describe("mail-worker shutdown", () => {
  let h: Harness;
  const smtp = () => {
    assert.ok(h.smtp);
    return h.smtp;
  };

  before(async () => {
    // A long retry delay: close() must not sit it out.
    h = await startHarness({ mode: "smtp", retryDelayMs: 60_000 });
  });
  after(async () => {
    await h?.close();
  });

  it("hands back an event waiting for a retry, and a restarted worker mails it", async () => {
    const email = `${randomUUID()}@example.com`;
    smtp().refuse(421);
    try {
      await h.publish("user.otp.send", {
        userId: randomUUID(),
        email,
        username: "peggy",
        otp: "314159",
        purpose: OtpPurpose.LOGIN,
        expiresIn: 300,
      });
      await eventually("the event to wait for its retry", () => h.app.stats().inFlight === 1);
      const started = Date.now();
      await h.app.close();
      assert.ok(Date.now() - started < 5_000, "close() cut the retry delay short");
      assert.equal(h.app.stats().requeued, 1);
    } finally {
      smtp().refuse(undefined);
    }

    const conn = await connect(TEST_RABBITMQ_URL);
    try {
      const ch = await conn.createChannel();
      const queue = await ch.checkQueue(h.topology.mailQueue);
      assert.equal(queue.messageCount, 1, "the event is back in the queue");
      assert.equal(queue.consumerCount, 0, "the closed worker no longer consumes");
      assert.equal((await ch.checkQueue(h.topology.mailDeadQueue)).messageCount, 0);
    } finally {
      await conn.close();
    }

    await h.restartApp();
    const mail = await smtp().waitFor((m) => m.envelopeTo.includes(email));
    assert.match(mail.parsed.text || "", /314159/);
  });
});
