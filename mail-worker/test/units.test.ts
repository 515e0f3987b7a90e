import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { UserRegisteredSchema } from "@parley/proto/events/v1/events_pb.js";
import { ConfigError, loadConfig } from "@parley/shared/config.js";
import type { Message } from "amqplib";
import { configSpec } from "../src/config.js";
import { excerpt } from "../src/domain/message-notification.js";
import { decodeDelivery } from "../src/event-decoder.js";
import { classifySendError } from "../src/mailer.js";

describe("classifySendError", () => {
  it("treats 5xx replies as permanent and the rest as transient", () => {
    assert.equal(classifySendError({ code: "EENVELOPE", responseCode: 550, permanent: true }), "permanent");
    assert.equal(classifySendError({ code: "EMESSAGE", responseCode: 554 }), "permanent");
    assert.equal(classifySendError({ code: "EENVELOPE", responseCode: 451, permanent: false }), "transient");
    assert.equal(classifySendError({ code: "EPROTOCOL", responseCode: 503 }), "transient");
    assert.equal(classifySendError({ code: "ECONNECTION" }), "transient");
    assert.equal(classifySendError({ code: "ETIMEDOUT" }), "transient");
    assert.equal(classifySendError(new Error("boom")), "transient");
    assert.equal(classifySendError({ code: "EENVELOPE" }), "permanent");
  });

  it("keeps authentication failures retryable: they are the worker's configuration, not the mail", () => {
    assert.equal(classifySendError({ code: "EAUTH", responseCode: 535 }), "transient");
  });
});

describe("excerpt", () => {
  it("flattens whitespace and cuts long text by code point", () => {
    assert.equal(excerpt("  a\n\n b\tc "), "a b c");
    const long = "😀".repeat(300);
    const cut = excerpt(long);
    assert.equal([...cut].length, 280);
    assert.ok(cut.endsWith("😀…"));
  });
});

describe("config", () => {
  it("has working defaults and names every bad variable", () => {
    const c = loadConfig(configSpec, {});
    assert.equal(c.PORT, 3003);
    assert.equal(c.SMTP_HOST, undefined);
    assert.equal(c.SMTP_PORT, 587);
    assert.equal(c.FROM_EMAIL, "Parley <noreply@parley.local>");
    assert.equal(c.DATABASE_URL, "postgres://postgres@127.0.0.1:5432/parley_mail");
    assert.throws(
      () => loadConfig(configSpec, { SMTP_PORT: "smtp", PUBLIC_URL: "ftp://x", SMTP_SECURE: "yes" }),
      (err: unknown) => err instanceof ConfigError && err.problems.length === 3,
    );
  });
});

describe("decodeDelivery", () => {
  const body = Buffer.from(
    toBinary(
      UserRegisteredSchema,
      create(UserRegisteredSchema, { userId: randomUUID(), email: "a@b.c", username: "a" }),
    ),
  );
  const delivery = (routingKey: string, properties: Record<string, unknown>, content = body) =>
    ({ fields: { routingKey }, properties, content }) as unknown as Message;

  it("decodes a well-formed event", () => {
    const id = randomUUID();
    const d = decodeDelivery(delivery("user.registered", { messageId: id, type: UserRegisteredSchema.typeName }));
    assert.ok(d.ok);
    assert.equal(d.event.id, id);
    assert.equal(d.event.routingKey, "user.registered");
  });

  it("says why it cannot decode", () => {
    const id = randomUUID();
    const reason = (d: ReturnType<typeof decodeDelivery>) => (d.ok ? "" : d.reason);
    assert.match(reason(decodeDelivery(delivery("user.online", { messageId: id }))), /no mail is sent/);
    assert.match(reason(decodeDelivery(delivery("user.registered", {}))), /not a UUID/);
    assert.match(reason(decodeDelivery(delivery("user.registered", { messageId: id, type: "x.Y" }))), /does not match/);
    assert.match(
      reason(decodeDelivery(delivery("user.registered", { messageId: id }, Buffer.from([0x0a, 0xff])))),
      /malformed parley.events.v1.UserRegistered/,
    );
  });
});
