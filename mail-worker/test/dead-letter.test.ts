/**
 * Failures at the mail-worker level, against the real broker and an SMTP
 * server told to misbehave: poison and unknown events go straight to the
 * dead-letter queue with the reason; a deferring server (4xx) is retried
 * through the retry queues until it accepts, past the last step at the last
 * delay for MAIL_RETRY_FOR, and then dead-lettered; a refused address (5xx) is dead-lettered; and through
 * all of it the worker goes on delivering everything else.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { UserOnlineSchema, UserOtpSendSchema } from "@parley/proto/events/v1/events_pb.js";
import { OtpPurpose } from "@parley/proto/user/v1/user_pb.js";
import { TEST_RABBITMQ_URL } from "@parley/shared/testing.js";
import { declareTopology, HEADERS } from "@parley/shared/topology.js";
import { connect, type GetMessage } from "amqplib";
import { MAX_UNSETTLED_DELIVERIES } from "../src/consumer.js";
import { digestsSettled, eventually, type Harness, mailsTo, settled, startHarness } from "./harness.js";

const otpEvent = (email: string) => ({
  userId: randomUUID(),
  email,
  username: "mallory",
  otp: "999000",
  purpose: OtpPurpose.LOGIN,
  expiresIn: 300,
});

const byId = (id: string) => (m: GetMessage) => m.properties.messageId === id;
const header = (m: GetMessage, name: string): unknown => m.properties.headers?.[name];

describe("mail-worker failures", () => {
  let h: Harness;
  const smtp = () => {
    assert.ok(h.smtp);
    return h.smtp;
  };

  before(async () => {
    // Retries 300 ms then 600 ms apart, then every 600 ms until 3 s after the first failure, then the dead-letter queue.
    h = await startHarness({ mode: "smtp", retryDelays: "300ms,600ms", env: { MAIL_RETRY_FOR: "3s" } });
  });
  after(async () => {
    await h?.close();
  });

  /** Publishes a good OTP event and waits for its mail: the worker is still working. */
  async function stillDelivers() {
    const email = `${randomUUID()}@example.com`;
    await h.publish("user.otp.send", otpEvent(email));
    await smtp().waitFor((m) => m.envelopeTo.includes(email));
  }

  it("dead-letters a body that is not the event's protobuf, with the reason, then goes on", async () => {
    const id = randomUUID();
    await h.publishRaw(h.topology.exchange, "user.otp.send", Buffer.from([0xff, 0xff, 0xff, 0xff]), {
      persistent: true,
      messageId: id,
      type: UserOtpSendSchema.typeName,
      headers: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
    });
    const dead = await h.waitForDeadLetter(byId(id));
    assert.deepEqual([...dead.content], [0xff, 0xff, 0xff, 0xff], "the body is kept untouched");
    assert.match(String(header(dead, HEADERS.reason)), /^malformed parley\.events\.v1\.UserOtpSend body/);
    assert.equal(header(dead, HEADERS.originalRoutingKey), "user.otp.send");
    assert.ok(!Number.isNaN(Date.parse(String(header(dead, HEADERS.failedAt)))));
    assert.equal(dead.properties.type, UserOtpSendSchema.typeName, "properties are kept");
    assert.equal(header(dead, "traceparent"), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    await stillDelivers();
  });

  it("dead-letters a body of another event type", async () => {
    const id = randomUUID();
    const body = Buffer.from(
      toBinary(UserOnlineSchema, create(UserOnlineSchema, { userId: randomUUID(), online: true })),
    );
    await h.publishRaw(h.topology.exchange, "user.otp.send", body, {
      persistent: true,
      messageId: id,
      type: UserOnlineSchema.typeName,
    });
    const dead = await h.waitForDeadLetter(byId(id));
    assert.match(String(header(dead, HEADERS.reason)), /does not match routing key user\.otp\.send/);
    await stillDelivers();
  });

  it("dead-letters an event whose content is unusable (no address)", async () => {
    const id = randomUUID();
    await h.publish("user.otp.send", { ...otpEvent(""), email: "" }, { messageId: id });
    const dead = await h.waitForDeadLetter(byId(id));
    assert.equal(header(dead, HEADERS.reason), "invalid event: email is empty");
    await stillDelivers();
  });

  it("dead-letters an unknown event", async () => {
    const id = randomUUID();
    // The queue is bound to known keys only; arrive through the default exchange instead.
    await h.publishRaw("", h.topology.mailQueue, Buffer.from("{}"), { persistent: true, messageId: id });
    const dead = await h.waitForDeadLetter(byId(id));
    assert.match(String(header(dead, HEADERS.reason)), /^unknown event: the worker handles no routing key/);
    await stillDelivers();
  });

  it("dead-letters an event without a usable message id, which could not be deduplicated", async () => {
    const body = Buffer.from(toBinary(UserOtpSendSchema, create(UserOtpSendSchema, otpEvent("x@example.com"))));
    await h.publishRaw(h.topology.exchange, "user.otp.send", body, { persistent: true, messageId: "42" });
    const dead = await h.waitForDeadLetter(byId("42"));
    assert.equal(header(dead, HEADERS.reason), 'message id "42" is not a UUID');
    assert.equal(smtp().mails.filter((m) => m.envelopeTo.includes("x@example.com")).length, 0);
    await stillDelivers();
  });

  it("does not let poison messages block the queue", async () => {
    const poison = Array.from({ length: 20 }, () => randomUUID());
    const good = Array.from({ length: 5 }, () => `${randomUUID()}@example.com`);
    await Promise.all([
      ...poison.map((id) =>
        h.publishRaw(h.topology.exchange, "message.sent", Buffer.from("not protobuf at all"), {
          persistent: true,
          messageId: id,
        }),
      ),
      ...good.map((email) => h.publish("user.otp.send", otpEvent(email))),
    ]);
    for (const email of good) await smtp().waitFor((m) => m.envelopeTo.includes(email));
    for (const id of poison) await h.waitForDeadLetter(byId(id));
  });

  it("dead-letters, unhandled, a delivery that killed its consumer again and again", async () => {
    await h.app.close();
    const email = `${randomUUID()}@example.com`;
    const id = await h.publish("user.otp.send", otpEvent(email));
    // A consumer that dies holding the delivery, as a worker crashing on it would.
    const conn = await connect(TEST_RABBITMQ_URL);
    try {
      for (let i = 0; i < MAX_UNSETTLED_DELIVERIES; i++) {
        const ch = await conn.createChannel();
        const got = await ch.get(h.topology.mailQueue);
        assert.ok(got, "the delivery is back in the queue");
        assert.equal(got.properties.messageId, id);
        await ch.close();
      }
    } finally {
      await conn.close();
    }
    await h.restartApp();
    const dead = await h.waitForDeadLetter(byId(id));
    assert.match(String(header(dead, HEADERS.reason)), /delivered 11 times without being settled/);
    assert.equal(mailsTo(h, email).length, 0, "not handled");
    await stillDelivers();
  });

  it("dead-letters a mail the SMTP server refuses for good (5xx), while delivering the others", async () => {
    const refused = `${randomUUID()}@example.com`;
    const fine = `${randomUUID()}@example.com`;
    smtp().refuseAddress(refused, 550);
    try {
      const [id] = await Promise.all([
        h.publish("user.otp.send", otpEvent(refused)),
        h.publish("user.otp.send", otpEvent(fine)),
      ]);
      const dead = await h.waitForDeadLetter(byId(id));
      assert.match(
        String(header(dead, HEADERS.reason)),
        new RegExp(`^refused by the mail server: sending to ${refused} failed: .*550`),
      );
      await smtp().waitFor((m) => m.envelopeTo.includes(fine));
      assert.equal(mailsTo(h, refused).length, 0);
      const rows = await h.sql`select 1 from processed_events where event_id = ${id}`;
      assert.equal(rows.length, 0, "a dead-lettered event is not marked processed: a replay retries it");
    } finally {
      smtp().refuseAddress(refused, undefined);
    }
    await stillDelivers();
  });

  it("retries a mail the SMTP server defers (4xx) after growing delays, and delivers it once accepted", async () => {
    const email = `${randomUUID()}@example.com`;
    const retried = h.app.stats().retried;
    smtp().refuseAddress(email, 451);
    const started = Date.now();
    const id = await h.publish("user.otp.send", otpEvent(email));
    try {
      // Both retry steps: 300 ms, then 600 ms.
      await eventually("the event to be retried twice", () => h.app.stats().retried >= retried + 2);
      assert.ok(Date.now() - started >= 300, "the first retry waited out its delay");
    } finally {
      smtp().refuseAddress(email, undefined);
    }
    const mail = await smtp().waitFor((m) => m.envelopeTo.includes(email));
    assert.ok(Date.now() - started >= 900, "the second retry waited out its delay too");
    assert.equal(mail.parsed.subject, "Your Parley code: 999000");
    assert.equal(mailsTo(h, email).length, 1);
    await assert.rejects(h.waitForDeadLetter(byId(id), 500), /no matching dead letter/);
  });

  it("goes on retrying at the last delay through an outage longer than the ladder, and delivers once it ends", async () => {
    const email = `${randomUUID()}@example.com`;
    smtp().refuseAddress(email, 451);
    const started = Date.now();
    const id = await h.publish("user.otp.send", otpEvent(email));
    try {
      // Refused for 2 s: well past the ladder's 300 + 600 ms, after which it used to be dead-lettered.
      await new Promise((r) => setTimeout(r, 2_000));
      await assert.rejects(h.waitForDeadLetter(byId(id), 1), /no matching dead letter/);
    } finally {
      smtp().refuseAddress(email, undefined);
    }
    await smtp().waitFor((m) => m.envelopeTo.includes(email));
    assert.ok(Date.now() - started >= 2_000);
    assert.equal(mailsTo(h, email).length, 1);
    await assert.rejects(h.waitForDeadLetter(byId(id), 500), /no matching dead letter/);
  });

  it("dead-letters an event failing for longer than MAIL_RETRY_FOR, with the last failure as the reason", async () => {
    const email = `${randomUUID()}@example.com`;
    smtp().refuseAddress(email, 421);
    try {
      const started = Date.now();
      const id = await h.publish("user.otp.send", otpEvent(email));
      const dead = await h.waitForDeadLetter(byId(id));
      assert.ok(Date.now() - started >= 3_000, "retried for MAIL_RETRY_FOR first");
      assert.match(
        String(header(dead, HEADERS.reason)),
        new RegExp(`^gave up after \\d+ attempts over \\d+ s: sending to ${email} failed: .*421`),
      );
      // Attempt 2 went through the ladder's two steps (300 ms, 600 ms); a third means the 600 ms step was taken
      // again. How many more fit in MAIL_RETRY_FOR depends on how fast the broker dead-letters on this machine.
      assert.ok(Number(header(dead, HEADERS.attempt)) >= 3, "the last step was repeated");
      assert.equal(header(dead, HEADERS.originalRoutingKey), "user.otp.send");
    } finally {
      smtp().refuseAddress(email, undefined);
    }
    assert.equal(mailsTo(h, email).length, 0);
    await stillDelivers();
  });

  it("acknowledges nothing whose copy the broker could not route (a retry queue deleted by hand)", async () => {
    const email = `${randomUUID()}@example.com`;
    const [firstRetry] = h.topology.mailRetryQueues;
    assert.ok(firstRetry);
    const conn = await connect(TEST_RABBITMQ_URL);
    try {
      const ch = await conn.createChannel();
      await ch.deleteQueue(firstRetry.name);
      const failures = h.app.stats().settleFailures;
      smtp().refuseAddress(email, 451);
      const id = await h.publish("user.otp.send", otpEvent(email));
      await eventually("the copy to fail twice", () => h.app.stats().settleFailures >= failures + 2);
      await declareTopology(ch, h.topology);
      smtp().refuseAddress(email, undefined);
      await smtp().waitFor((m) => m.envelopeTo.includes(email));
      assert.equal(mailsTo(h, email).length, 1);
      await assert.rejects(h.waitForDeadLetter(byId(id), 500), /no matching dead letter/);
    } finally {
      smtp().refuseAddress(email, undefined);
      await conn.close();
    }
  });

  it("retries a digest the SMTP server defers, then mails it once", async () => {
    const sender = { userId: randomUUID(), email: `${randomUUID()}@example.com`, username: "sam" };
    const reader = { userId: randomUUID(), email: `${randomUUID()}@example.com`, username: "rita" };
    for (const u of [sender, reader]) await settled(h.app, 1, () => h.publish("user.registered", u));
    smtp().refuseAddress(reader.email, 452);
    try {
      const roomId = randomUUID();
      const membersVersion = await h.setMembers(roomId, [sender.userId, reader.userId]);
      await h.publish("message.sent", {
        roomId,
        roomName: "ops",
        messageId: randomUUID(),
        seq: 1n,
        senderId: sender.userId,
        senderUsername: sender.username,
        text: "deploying",
        membersVersion,
      });
      await eventually("the digest to be postponed", () => h.app.stats().digestsPostponed >= 1);
    } finally {
      smtp().refuseAddress(reader.email, undefined);
    }
    await digestsSettled(h, reader.userId);
    assert.equal(mailsTo(h, reader.email).filter((m) => /ops/.test(m.parsed.subject ?? "")).length, 1);
    const [digest] = await h.sql`select status, attempts from digests where user_id = ${reader.userId}`;
    assert.equal(digest?.status, "sent");
    assert.ok(Number(digest?.attempts) >= 1);
  });
});
