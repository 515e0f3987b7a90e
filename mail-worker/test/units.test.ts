import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { UserRegisteredSchema } from "@parley/proto/events/v1/events_pb.js";
import { ConfigError, loadConfig } from "@parley/shared/config.js";
import { topology } from "@parley/shared/topology.js";
import type { Message } from "amqplib";
import { configSpec } from "../src/config.js";
import { excerpt } from "../src/domain/message-notification.js";
import { isMentioned, skipReason } from "../src/domain/notify-policy.js";
import { unsubscribeTokens } from "../src/domain/unsubscribe.js";
import { decodeDelivery } from "../src/event-decoder.js";
import { classifySendError, senderDomain } from "../src/mailer.js";

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
  const required = { JWT_SECRET: "x".repeat(32) };

  it("has working defaults and names every bad variable", () => {
    const c = loadConfig(configSpec, required);
    assert.equal(c.PORT, 3003);
    assert.equal(c.SMTP_HOST, undefined);
    assert.equal(c.SMTP_PORT, 587);
    assert.equal(c.SMTP_MAX_CONNECTIONS, 5);
    assert.equal(c.FROM_EMAIL, "Parley <noreply@parley.local>");
    assert.equal(c.DATABASE_URL, "postgres://postgres@127.0.0.1:5432/parley_mail");
    assert.equal(c.NOTIFY_DIGEST_WINDOW, 300);
    assert.deepEqual(c.MAIL_RETRY_DELAYS, [10_000, 60_000, 600_000]);
    assert.equal(c.MAIL_PREFETCH, 16);
    assert.equal(c.UNSUBSCRIBE_URL, "http://localhost:3003/unsubscribe");
    assert.throws(
      () =>
        loadConfig(configSpec, {
          SMTP_PORT: "smtp",
          PUBLIC_URL: "ftp://x",
          SMTP_SECURE: "yes",
          JWT_SECRET: "short",
          MAIL_RETRY_DELAYS: "10s,soon",
          NOTIFY_DIGEST_WINDOW: "0",
        }),
      (err: unknown) => err instanceof ConfigError && err.problems.length === 6,
    );
  });

  it("reads retry delays as a list of durations", () => {
    const delays = (raw: string) => loadConfig(configSpec, { ...required, MAIL_RETRY_DELAYS: raw }).MAIL_RETRY_DELAYS;
    assert.deepEqual(delays("250ms, 2s,1m,1h"), [250, 2_000, 60_000, 3_600_000]);
    assert.throws(() => delays("0s"), /MAIL_RETRY_DELAYS must be one of <a list of durations/);
    assert.throws(() => delays("10"), ConfigError);
  });
});

describe("topology", () => {
  it("names one retry queue per step after its delay", () => {
    const t = topology("ns", { retryDelaysMs: [250, 10_000, 60_000, 600_000, 7_200_000] });
    assert.deepEqual(
      t.mailRetryQueues.map((q) => q.name),
      [
        "ns.mail-worker.retry.250ms",
        "ns.mail-worker.retry.10s",
        "ns.mail-worker.retry.1m",
        "ns.mail-worker.retry.10m",
        "ns.mail-worker.retry.2h",
      ],
    );
    assert.deepEqual(
      topology("parley").mailRetryQueues.map((q) => q.delayMs),
      [10_000, 60_000, 600_000],
    );
    assert.throws(() => topology("ns", { retryDelaysMs: [0] }), /positive integers/);
  });
});

describe("notification policy", () => {
  const all = { notificationLevel: "all", unsubscribed: false } as const;
  const offline = { online: false, lastReadSeq: undefined };
  const plain = { seq: 5n, mentioned: false, direct: false };

  it("mails what an offline user has not read, within their level", () => {
    assert.equal(skipReason(all, plain, offline), undefined);
    assert.equal(skipReason(all, plain, { online: true, lastReadSeq: undefined }), "online");
    assert.equal(skipReason(all, plain, { online: false, lastReadSeq: 5n }), "read");
    assert.equal(skipReason(all, plain, { online: false, lastReadSeq: 4n }), undefined);
    assert.equal(skipReason({ ...all, unsubscribed: true }, plain, offline), "unsubscribed");
    assert.equal(skipReason({ ...all, notificationLevel: "none" }, { ...plain, direct: true }, offline), "level-none");
    const some = { ...all, notificationLevel: "mentions_and_direct" } as const;
    assert.equal(skipReason(some, plain, offline), "not-mentioned-or-direct");
    assert.equal(skipReason(some, { ...plain, mentioned: true }, offline), undefined);
    assert.equal(skipReason(some, { ...plain, direct: true }, offline), undefined);
  });

  it("matches mentions by username, case-insensitively, with or without @", () => {
    assert.ok(isMentioned("Grace", ["grace"]));
    assert.ok(isMentioned("grace", ["@Grace"]));
    assert.ok(!isMentioned("grace", ["gracey", "race"]));
  });
});

describe("unsubscribe tokens", () => {
  const tokens = unsubscribeTokens("s".repeat(32));
  const userId = randomUUID();

  it("verify what they signed, and nothing else", () => {
    const token = tokens.sign(userId);
    assert.equal(tokens.verify(token), userId);
    assert.equal(tokens.verify(token.slice(0, -1)), undefined);
    assert.equal(tokens.verify(`${randomUUID()}.${token.split(".")[1]}`), undefined);
    assert.equal(tokens.verify(`${token}.x`), undefined);
    assert.equal(tokens.verify(""), undefined);
    assert.equal(unsubscribeTokens("t".repeat(32)).verify(token), undefined, "another secret, another key");
  });
});

describe("mail details", () => {
  it("builds Message-IDs at FROM_EMAIL's domain", () => {
    assert.equal(senderDomain("Parley <noreply@parley.example>"), "parley.example");
    assert.equal(senderDomain("noreply@mail.example"), "mail.example");
    assert.equal(senderDomain("nonsense"), "parley.local");
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
    assert.match(reason(decodeDelivery(delivery("user.deleted", { messageId: id }))), /unknown event/);
    assert.match(reason(decodeDelivery(delivery("user.registered", {}))), /not a UUID/);
    assert.match(reason(decodeDelivery(delivery("user.registered", { messageId: id, type: "x.Y" }))), /does not match/);
    assert.match(
      reason(decodeDelivery(delivery("user.registered", { messageId: id }, Buffer.from([0x0a, 0xff])))),
      /malformed parley.events.v1.UserRegistered/,
    );
  });

  it("takes the routing key of a retried event from its header", () => {
    const d = decodeDelivery(
      delivery("parley.mail-worker", {
        messageId: randomUUID(),
        headers: { "x-parley-original-routing-key": "user.registered", "x-parley-attempt": 1 },
      }),
    );
    assert.ok(d.ok);
    assert.equal(d.event.routingKey, "user.registered");
  });
});
