import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { UserOtpSendSchema, UserRegisteredSchema } from "@parley/proto/events/v1/events_pb.js";
import { OtpPurpose } from "@parley/proto/user/v1/user_pb.js";
import { ConfigError, loadConfig } from "@parley/shared/config.js";
import { topology } from "@parley/shared/topology.js";
import type { Message } from "amqplib";
import { configSpec, readConfig } from "../src/config.js";
import { InvalidEvent } from "../src/domain/mail-event.js";
import { excerpt } from "../src/domain/message-notification.js";
import { isMentioned, skipReason } from "../src/domain/notify-policy.js";
import { planOtpMail } from "../src/domain/otp-mail.js";
import { unsubscribeTokens } from "../src/domain/unsubscribe.js";
import { decodeDelivery } from "../src/event-decoder.js";
import { classifySendError, senderDomain } from "../src/mailer.js";
import { describeTimeLeft } from "../src/templates/render.js";

/** assert.throws' check for a ConfigError naming this one problem and nothing else. */
const onlyProblem = (problem: string) => (err: unknown) =>
  err instanceof ConfigError && err.problems.length === 1 && err.problems[0] === problem;

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

  it("reads MAIL_RETRY_FOR as one duration, 24 h by default", () => {
    const retryFor = (raw: string | undefined) =>
      loadConfig(configSpec, { ...required, MAIL_RETRY_FOR: raw }).MAIL_RETRY_FOR;
    assert.equal(retryFor(undefined), 86_400_000);
    assert.equal(retryFor("90m"), 5_400_000);
    assert.throws(() => retryFor("1h,2h"), /MAIL_RETRY_FOR must be a duration such as 30m or 24h/);
    assert.throws(() => retryFor("0s"), ConfigError);
  });

  it("takes FROM_EMAIL only as one address, bare or with a name", () => {
    const from = (raw: string) => readConfig({ ...required, FROM_EMAIL: raw }).FROM_EMAIL;
    assert.equal(from("noreply@parley.example"), "noreply@parley.example");
    assert.equal(from("Parley <noreply@parley.example>"), "Parley <noreply@parley.example>");
    assert.equal(from('"Parley, Inc." <noreply@parley.example>'), '"Parley, Inc." <noreply@parley.example>');
    assert.equal(from("Parley, Inc. <noreply@parley.example>"), "Parley, Inc. <noreply@parley.example>");
    assert.equal(from("<noreply@localhost>"), "<noreply@localhost>");
    for (const bad of [
      "Parley",
      "Parley <noreply>",
      "Parley <noreply@>",
      "@parley.example",
      "noreply@parley..example",
      "a@parley.example, b@parley.example",
      "Team: a@parley.example;",
    ]) {
      assert.throws(
        () => from(bad),
        onlyProblem(
          `FROM_EMAIL must be one email address, such as noreply@example.com or "Parley <noreply@example.com>" (got "${bad}")`,
        ),
        bad,
      );
    }
  });

  it("takes SMTP_USER and SMTP_PASSWORD together or not at all", () => {
    const smtp = { ...required, SMTP_HOST: "smtp.parley.example" };
    const c = readConfig({ ...smtp, SMTP_USER: "worker", SMTP_PASSWORD: "secret" });
    assert.equal(c.SMTP_USER, "worker");
    assert.equal(c.SMTP_PASSWORD, "secret");
    assert.equal(readConfig(smtp).SMTP_USER, undefined);
    assert.throws(
      () => readConfig({ ...smtp, SMTP_USER: "worker" }),
      onlyProblem("SMTP_PASSWORD is required when SMTP_USER is set"),
    );
    assert.throws(
      () => readConfig({ ...smtp, SMTP_USER: " ", SMTP_PASSWORD: "secret" }),
      onlyProblem("SMTP_USER is required when SMTP_PASSWORD is set"),
    );
  });

  it("refuses to run in production without SMTP_HOST, which would serve every mail at /mailbox", () => {
    const production = { ...required, NODE_ENV: "production" };
    assert.equal(readConfig({ ...production, SMTP_HOST: "smtp.parley.example" }).SMTP_HOST, "smtp.parley.example");
    assert.equal(readConfig({ ...required, NODE_ENV: "development" }).SMTP_HOST, undefined);
    assert.equal(readConfig({ ...required, NODE_ENV: "test" }).SMTP_HOST, undefined);
    assert.throws(
      () => readConfig(production),
      onlyProblem(
        "SMTP_HOST is required when NODE_ENV is production: without it no mail is sent, and every mail " +
          "(sign-in codes included) is kept in the dev mailbox, readable by anyone at GET /mailbox",
      ),
    );
  });

  it("names the problems between variables with every other problem, in one error", () => {
    assert.throws(
      () => readConfig({ NODE_ENV: "production", SMTP_USER: "worker", FROM_EMAIL: "Parley", SMTP_PORT: "smtp" }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.problems.length, 5);
        assert.match(err.message, /JWT_SECRET is required but missing/);
        assert.match(err.message, /SMTP_PORT must be an integer from 0 to 65535 \(got "smtp"\)/);
        assert.match(err.message, /FROM_EMAIL must be one email address/);
        assert.match(err.message, /SMTP_PASSWORD is required when SMTP_USER is set/);
        assert.match(err.message, /SMTP_HOST is required when NODE_ENV is production/);
        return true;
      },
    );
  });
});

describe("planOtpMail", () => {
  const occurredAt = new Date("2030-01-01T12:00:00.000Z");
  const event = (expiresIn: number) =>
    create(UserOtpSendSchema, {
      userId: randomUUID(),
      email: "dana@parley.example",
      username: "dana",
      otp: "424242",
      purpose: OtpPurpose.LOGIN,
      expiresIn,
    });
  const after = (ms: number) => new Date(occurredAt.getTime() + ms);
  const planAt = (expiresIn: number, now: Date, at: Date | undefined) =>
    planOtpMail(randomUUID(), event(expiresIn), at, now, { publicUrl: "https://chat.parley.example" });
  const plan = (expiresIn: number, now: Date) => planAt(expiresIn, now, occurredAt);
  /** What the mail says, in both parts; undefined when nothing is mailed. */
  const stated = (mails: ReturnType<typeof planOtpMail>) => {
    assert.ok(mails.length <= 1);
    const [mail] = mails;
    if (!mail) return undefined;
    const said = /This code expires in ([^.]+)\./.exec(mail.text)?.[1];
    assert.ok(said, mail.text);
    assert.ok(mail.html.includes(`This code expires in ${said}.`), "the HTML part says the same");
    return said;
  };

  it("states the time left when it is rendered, rounded down to whole minutes", () => {
    assert.equal(stated(plan(300, occurredAt)), "5 minutes");
    assert.equal(stated(plan(300, after(1))), "4 minutes");
    // Retried after 10 s and then 1 min more.
    assert.equal(stated(plan(300, after(10_000))), "4 minutes");
    assert.equal(stated(plan(300, after(70_000))), "3 minutes");
    assert.equal(stated(plan(300, after(180_000))), "2 minutes");
    assert.equal(stated(plan(300, after(181_000))), "1 minute");
    assert.equal(stated(plan(300, after(240_000))), "1 minute");
    assert.equal(stated(plan(600, occurredAt)), "10 minutes");
  });

  it("states the time left in seconds under a minute", () => {
    assert.equal(stated(plan(300, after(240_001))), "59 seconds");
    assert.equal(stated(plan(300, after(270_500))), "29 seconds");
    assert.equal(stated(plan(300, after(299_000))), "1 second");
    assert.equal(stated(plan(30, occurredAt)), "30 seconds");
    assert.equal(stated(plan(60, after(1))), "59 seconds");
  });

  it("mails nothing once the code has expired, as on the 10 min retry", () => {
    assert.equal(stated(plan(300, after(299_001))), undefined);
    assert.equal(stated(plan(300, after(300_000))), undefined);
    assert.equal(stated(plan(300, after(670_000))), undefined);
  });

  it("states the full lifetime when the publisher did not say when, or its clock runs ahead", () => {
    assert.equal(stated(planAt(300, after(250_000), undefined)), "5 minutes");
    assert.equal(stated(planAt(300, occurredAt, after(60_000))), "5 minutes");
  });

  it("refuses an event without an expiry: no honest time could be stated", () => {
    assert.throws(
      () => plan(0, occurredAt),
      (err: unknown) => err instanceof InvalidEvent && /expires_in/.test(err.message),
    );
  });
});

describe("describeTimeLeft", () => {
  it("rounds down to whole minutes, and says seconds under a minute", () => {
    assert.equal(describeTimeLeft(1), "1 second");
    assert.equal(describeTimeLeft(30), "30 seconds");
    assert.equal(describeTimeLeft(59), "59 seconds");
    assert.equal(describeTimeLeft(60), "1 minute");
    assert.equal(describeTimeLeft(119), "1 minute");
    assert.equal(describeTimeLeft(120), "2 minutes");
    assert.equal(describeTimeLeft(3599), "59 minutes");
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
  const all = { notificationLevel: "all", unsubscribed: false, deactivated: false } as const;
  const offline = { online: false, lastReadSeq: undefined };
  const plain = { seq: 5n, mentioned: false, direct: false };

  it("mails what an offline user has not read, within their level", () => {
    assert.equal(skipReason(all, plain, offline), undefined);
    assert.equal(skipReason(all, plain, { online: true, lastReadSeq: undefined }), "online");
    // Queued while online: a mention or a direct message waits for the digest's decision; a plain message does not.
    assert.equal(skipReason(all, plain, { online: true, lastReadSeq: undefined }, "queue"), "online");
    assert.equal(
      skipReason(all, { ...plain, mentioned: true }, { online: true, lastReadSeq: undefined }, "queue"),
      undefined,
    );
    assert.equal(
      skipReason(all, { ...plain, direct: true }, { online: true, lastReadSeq: undefined }, "queue"),
      undefined,
    );
    assert.equal(skipReason(all, { ...plain, mentioned: true }, { online: true, lastReadSeq: undefined }), "online");
    assert.equal(skipReason(all, plain, { online: false, lastReadSeq: 5n }), "read");
    assert.equal(skipReason(all, plain, { online: false, lastReadSeq: 4n }), undefined);
    assert.equal(skipReason({ ...all, unsubscribed: true }, plain, offline), "unsubscribed");
    assert.equal(skipReason({ ...all, deactivated: true }, { ...plain, direct: true }, offline), "deactivated");
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
