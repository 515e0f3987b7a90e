/**
 * Graceful shutdown: the worker stops taking work, finishes the mails in
 * flight (events and digests), and acknowledges nothing it has not sent.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { OtpPurpose } from "@parley/proto/user/v1/user_pb.js";
import { TEST_RABBITMQ_URL } from "@parley/shared/testing.js";
import { connect } from "amqplib";
import { digestsSettled, eventually, type Harness, mailsTo, registerUser, startHarness } from "./harness.js";

const otp = (email: string, code: string) => ({
  userId: randomUUID(),
  email,
  username: "peggy",
  otp: code,
  purpose: OtpPurpose.LOGIN,
  expiresIn: 300,
});

describe("mail-worker shutdown", () => {
  let h: Harness;
  const smtp = () => {
    assert.ok(h.smtp);
    return h.smtp;
  };

  before(async () => {
    h = await startHarness({ mode: "smtp", retryDelays: "1s" });
  });
  after(async () => {
    smtp().stall(false);
    await h?.close();
  });

  async function queueCounts(queue: string) {
    const conn = await connect(TEST_RABBITMQ_URL);
    try {
      const ch = await conn.createChannel();
      return await ch.checkQueue(queue);
    } finally {
      await conn.close();
    }
  }

  it("stops promptly right after starting, while its start-up work is still running", async () => {
    const app = await h.restartApp();
    const started = Date.now();
    await app.close();
    assert.ok(Date.now() - started < 3_000, `close() took ${Date.now() - started} ms`);
    await h.restartApp();
  });

  it("finishes the mails in flight before it stops, takes no new ones, and acks only what it sent", async () => {
    const emails = Array.from({ length: 3 }, () => `${randomUUID()}@example.com`);
    const late = `${randomUUID()}@example.com`;
    const health = `http://127.0.0.1:${h.app.port}/healthz`;
    smtp().stall(true);
    let closed = false;
    try {
      for (const [i, email] of emails.entries()) await h.publish("user.otp.send", otp(email, `10000${i}`));
      await eventually("the mails to be in flight", () => h.app.stats().inFlight === emails.length);
      await eventually("the SMTP server to hold them", () => smtp().stalled() > 0);
      const closing = h.app.close().then(() => {
        closed = true;
      });
      await eventually("the worker to stop consuming", async () => (await fetch(health)).status === 503);
      await h.publish("user.otp.send", otp(late, "200000"));
      // Still waiting for the server: close() must not give up on mails it started.
      assert.equal(closed, false);
      smtp().stall(false);
      await closing;
    } finally {
      smtp().stall(false);
    }
    for (const email of emails) assert.equal(mailsTo(h, email).length, 1);
    assert.equal(h.app.stats().acked, emails.length);
    assert.equal(mailsTo(h, late).length, 0, "taken by no one while stopping");
    assert.equal((await queueCounts(h.topology.mailQueue)).messageCount, 1, "only the late event is left");
    await h.restartApp();
    await smtp().waitFor((m) => m.envelopeTo.includes(late));
  });

  it("acknowledges a mail deferred at shutdown only once it waits in a retry queue; a restarted worker mails it", async () => {
    const email = `${randomUUID()}@example.com`;
    smtp().refuse(421);
    try {
      await h.publish("user.otp.send", otp(email, "314159"));
      await eventually("the event to be sent to the retry queue", () => h.app.stats().retried === 1);
      await h.app.close();
    } finally {
      smtp().refuse(undefined);
    }
    const retryQueue = h.topology.mailRetryQueues[0]?.name ?? "";
    const waiting = async () =>
      (await queueCounts(retryQueue)).messageCount + (await queueCounts(h.topology.mailQueue)).messageCount;
    assert.equal(await waiting(), 1, "the event waits in the retry queue (or is back in the main queue)");
    assert.equal((await queueCounts(h.topology.mailDeadQueue)).messageCount, 0);

    await h.restartApp();
    const mail = await smtp().waitFor((m) => m.envelopeTo.includes(email));
    assert.match(mail.parsed.text || "", /314159/);
    await eventually("the queues to be empty", async () => (await waiting()) === 0);
  });

  it("finishes a digest it is mailing before it stops", async () => {
    const alice = await registerUser(h, "alice");
    const bob = await registerUser(h, "bob");
    smtp().stall(true);
    try {
      const roomId = randomUUID();
      const membersVersion = await h.setMembers(roomId, [alice.userId, bob.userId]);
      await h.publish("message.sent", {
        roomId,
        roomName: "general",
        messageId: randomUUID(),
        seq: 1n,
        senderId: alice.userId,
        senderUsername: alice.username,
        text: "before the shutdown",
        membersVersion,
      });
      await eventually("the digest to be held by the SMTP server", () => smtp().stalled() > 0);
      const closing = h.app.close();
      smtp().stall(false);
      await closing;
    } finally {
      smtp().stall(false);
    }
    const [digest] = await h.sql`select status from digests where user_id = ${bob.userId}`;
    assert.equal(digest?.status, "sent");
    assert.equal(mailsTo(h, bob.email).filter((m) => /before the shutdown/.test(m.parsed.text ?? "")).length, 1);
    await h.restartApp();
    await digestsSettled(h, bob.userId);
  });
});
