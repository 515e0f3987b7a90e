import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { UserOnlineSchema, UserOtpSendSchema } from "@parley/proto/events/v1/events_pb.js";
import { OtpPurpose } from "@parley/proto/user/v1/user_pb.js";
import type { GetMessage } from "amqplib";
import { eventually, type Harness, settled, startHarness } from "./harness.js";

const otpEvent = (email: string) => ({
  userId: randomUUID(),
  email,
  username: "mallory",
  otp: "999000",
  purpose: OtpPurpose.LOGIN,
  expiresIn: 300,
});

const byId = (id: string) => (m: GetMessage) => m.properties.messageId === id;

describe("mail-worker failures", () => {
  let h: Harness;
  const smtp = () => {
    assert.ok(h.smtp);
    return h.smtp;
  };

  before(async () => {
    h = await startHarness({ mode: "smtp" });
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

  it("dead-letters a body that is not the event's protobuf, then goes on", async () => {
    const id = randomUUID();
    await h.publishRaw(h.topology.exchange, "user.otp.send", Buffer.from([0xff, 0xff, 0xff, 0xff]), {
      persistent: true,
      messageId: id,
      type: UserOtpSendSchema.typeName,
    });
    const dead = await h.waitForDeadLetter(byId(id));
    assert.deepEqual([...dead.content], [0xff, 0xff, 0xff, 0xff]);
    assert.equal(dead.properties.headers?.["x-death"]?.[0]?.reason, "rejected");
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
    await h.waitForDeadLetter(byId(id));
    await stillDelivers();
  });

  it("dead-letters an event whose content is unusable (no address)", async () => {
    const id = randomUUID();
    await h.publish("user.otp.send", { ...otpEvent(""), email: "" }, { messageId: id });
    await h.waitForDeadLetter(byId(id));
    await stillDelivers();
  });

  it("dead-letters a routing key it sends no mail for", async () => {
    const id = randomUUID();
    // The queue is bound to mail keys only; arrive through the default exchange instead.
    await h.publishRaw("", h.topology.mailQueue, Buffer.from("{}"), { persistent: true, messageId: id });
    await h.waitForDeadLetter(byId(id));
    await stillDelivers();
  });

  it("dead-letters an event without a usable message id, which could not be deduplicated", async () => {
    const body = Buffer.from(toBinary(UserOtpSendSchema, create(UserOtpSendSchema, otpEvent("x@example.com"))));
    await h.publishRaw(h.topology.exchange, "user.otp.send", body, { persistent: true, messageId: "42" });
    await h.waitForDeadLetter(byId("42"));
    assert.equal(smtp().mails.filter((m) => m.envelopeTo.includes("x@example.com")).length, 0);
    await stillDelivers();
  });

  it("dead-letters a mail the SMTP server refuses for good (5xx), then delivers later events", async () => {
    const email = `${randomUUID()}@example.com`;
    smtp().refuse(550);
    let id = "";
    try {
      await settled(h.app, 1, async () => {
        id = await h.publish("user.otp.send", otpEvent(email));
      });
    } finally {
      smtp().refuse(undefined);
    }
    await h.waitForDeadLetter(byId(id));
    assert.equal(smtp().mails.filter((m) => m.envelopeTo.includes(email)).length, 0);
    const rows = await h.sql`select 1 from processed_events where event_id = ${id}`;
    assert.equal(rows.length, 0, "a dead-lettered event is not marked processed");
    await stillDelivers();
  });

  it("retries a mail the SMTP server defers (4xx) and delivers it once the server accepts again", async () => {
    const email = `${randomUUID()}@example.com`;
    const requeued = h.app.stats().requeued;
    smtp().refuse(451);
    const id = await h.publish("user.otp.send", otpEvent(email));
    try {
      // At least two refused attempts: the event came back after the first.
      await eventually("the event to be requeued twice", () => h.app.stats().requeued >= requeued + 2);
    } finally {
      smtp().refuse(undefined);
    }
    const mail = await smtp().waitFor((m) => m.envelopeTo.includes(email));
    assert.equal(mail.parsed.subject, "Your Parley code: 999000");
    await assert.rejects(h.waitForDeadLetter(byId(id), 500), /no matching dead letter/);
  });
});
