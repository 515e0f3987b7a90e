import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { OtpPurpose } from "@parley/proto/user/v1/user_pb.js";
import type { ReceivedMail } from "@parley/shared/testing.js";
import type { AddressObject } from "mailparser";
import { createDb } from "../src/storage/db.js";
import { pruneProcessedEvents } from "../src/storage/ledger.js";
import {
  digestsSettled,
  eventually,
  FROM_ADDRESS,
  type Harness,
  PUBLIC_URL,
  settled,
  startHarness,
} from "./harness.js";

function html(mail: ReceivedMail): string {
  assert.equal(typeof mail.parsed.html, "string", "the mail has an HTML part");
  return mail.parsed.html as string;
}

function text(mail: ReceivedMail): string {
  assert.equal(typeof mail.parsed.text, "string", "the mail has a text part");
  return mail.parsed.text as string;
}

function toAddresses(mail: ReceivedMail): string[] {
  const to = mail.parsed.to;
  const list: AddressObject[] = to === undefined ? [] : Array.isArray(to) ? to : [to];
  return list.flatMap((a) => a.value.map((v) => v.address ?? ""));
}

const sentTo = (h: Harness, address: string) => h.smtp?.mails.filter((m) => m.envelopeTo.includes(address)) ?? [];

describe("mail-worker delivery over SMTP", () => {
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

  async function register(username: string, email = `${randomUUID()}@example.com`) {
    const userId = randomUUID();
    // The projection row commits just after the mail was accepted: wait for the ack.
    await settled(h.app, 1, () => h.publish("user.registered", { userId, email, username }));
    assert.equal(sentTo(h, email).length, 1);
    return { userId, email, username };
  }

  it("mails the OTP code, in both parts, to the user, from FROM_EMAIL", async () => {
    const email = `${randomUUID()}@example.com`;
    await h.publish("user.otp.send", {
      userId: randomUUID(),
      email,
      username: "alice",
      otp: "482913",
      purpose: OtpPurpose.VERIFY_EMAIL,
      // The mail states the time left, rounded down: 30 s to spare keep it at 5 minutes.
      expiresIn: 330,
    });
    const mail = await smtp().waitFor((m) => m.envelopeTo.includes(email));
    assert.deepEqual(mail.envelopeTo, [email]);
    assert.deepEqual(toAddresses(mail), [email]);
    assert.equal(mail.parsed.from?.value[0]?.address, FROM_ADDRESS);
    assert.equal(mail.parsed.subject, "Your Parley code: 482913");
    assert.match(text(mail), /482913/);
    assert.match(text(mail), /verify your email address/);
    assert.match(text(mail), /expires in 5 minutes/);
    assert.match(html(mail), /482913/);
    assert.match(html(mail), /Parley/);
    assert.ok(html(mail).includes(`href="${PUBLIC_URL.replace(/\/$/, "")}"`), "links to PUBLIC_URL");
    assert.equal(mail.parsed.headers.get("auto-submitted"), "auto-generated");
  });

  it("words a sign-in OTP differently", async () => {
    const email = `${randomUUID()}@example.com`;
    await h.publish("user.otp.send", {
      userId: randomUUID(),
      email,
      username: "bob",
      otp: "000111",
      purpose: OtpPurpose.LOGIN,
      expiresIn: 90,
    });
    const mail = await smtp().waitFor((m) => m.envelopeTo.includes(email));
    assert.match(text(mail), /sign in to Parley/);
    assert.doesNotMatch(text(mail), /verify your email/);
    assert.match(text(mail), /expires in 1 minute\b/);
  });

  it("states the time the code has left when mailed, not its whole lifetime", async () => {
    const email = `${randomUUID()}@example.com`;
    await h.publish(
      "user.otp.send",
      { userId: randomUUID(), email, username: "pia", otp: "246810", purpose: OtpPurpose.LOGIN, expiresIn: 300 },
      { occurredAt: new Date(Date.now() - 150_000) },
    );
    const mail = await smtp().waitFor((m) => m.envelopeTo.includes(email));
    assert.match(text(mail), /expires in 2 minutes\./);
    assert.match(html(mail), /expires in 2 minutes\./);
  });

  it("drops an OTP that expired before it could be mailed", async () => {
    const email = `${randomUUID()}@example.com`;
    const event = {
      userId: randomUUID(),
      email,
      username: "olga",
      otp: "555555",
      purpose: OtpPurpose.LOGIN,
      expiresIn: 300,
    };
    const messageId = randomUUID();
    await settled(h.app, 1, () =>
      h.publish("user.otp.send", event, { messageId, occurredAt: new Date(Date.now() - 301_000) }),
    );
    assert.equal(sentTo(h, email).length, 0);
    const rows = await h.sql`select 1 from processed_events where event_id = ${messageId}`;
    assert.equal(rows.length, 1, "handled: a redelivery is not retried either");
  });

  it("tells an account holder someone tried to register with their address, once however often it is delivered", async () => {
    const email = `${randomUUID()}@example.com`;
    const event = { userId: randomUUID(), email, username: "ines" };
    const messageId = randomUUID();
    await settled(h.app, 1, () => h.publish("user.registration.attempted", event, { messageId }));
    // A redelivery (a relay that crashed between confirm and delete publishes again) mails nothing more.
    await settled(h.app, 1, () => h.publish("user.registration.attempted", event, { messageId }));
    const mails = sentTo(h, email);
    assert.equal(mails.length, 1);
    const [mail] = mails;
    assert.ok(mail);
    assert.deepEqual(toAddresses(mail), [email]);
    assert.equal(mail.parsed.subject, "Someone tried to register with your email address");
    for (const part of [text(mail), html(mail)]) {
      assert.match(part, /Hi ines/);
      assert.match(part, /already have an account/);
      assert.match(part, /no need to register again/);
    }
    assert.ok(html(mail).includes(`href="${PUBLIC_URL.replace(/\/$/, "")}"`), "links to PUBLIC_URL to sign in");
    assert.equal(mail.parsed.messageId, `<event-${messageId}@parley.test>`);
  });

  it("welcomes a registered user and remembers their address", async () => {
    const carol = await register("carol");
    const mail = sentTo(h, carol.email)[0];
    assert.ok(mail);
    assert.equal(mail.parsed.subject, "Welcome to Parley, carol!");
    assert.match(text(mail), /Hi carol/);
    assert.match(html(mail), /Hi carol/);
    const rows = await h.sql`select email, username from recipients where user_id = ${carol.userId}`;
    assert.deepEqual([...rows], [{ email: carol.email, username: "carol" }]);
  });

  it("notifies the room's other members, not the sender, with a room link and an unsubscribe link", async () => {
    const sender = await register("dave");
    const reader = await register("erin");
    const stranger = randomUUID(); // never registered: skipped
    const roomId = randomUUID();
    const membersVersion = await h.setMembers(roomId, [reader.userId, stranger, sender.userId]);
    await settled(h.app, 1, () =>
      h.publish("message.sent", {
        roomId,
        roomName: "general",
        messageId: randomUUID(),
        seq: 7n,
        senderId: sender.userId,
        senderUsername: sender.username,
        text: "Lunch at noon?\nBring snacks.",
        membersVersion,
      }),
    );
    const mail = await smtp().waitFor(
      (m) => m.envelopeTo.includes(reader.email) && m.parsed.subject !== "Welcome to Parley, erin!",
    );
    assert.equal(mail.parsed.subject, "New message from dave in general");
    assert.match(text(mail), /Lunch at noon\? Bring snacks\./);
    const roomUrl = `https://chat.parley.test/rooms/${roomId}`;
    assert.ok(text(mail).includes(roomUrl));
    assert.ok(html(mail).includes(`href="${roomUrl}"`));
    const unsubscribe = /https:\/\/mail\.parley\.test\/unsubscribe\?token=[\w.-]+/.exec(text(mail))?.[0];
    assert.ok(unsubscribe, "the text part has an unsubscribe link");
    // Handlebars escapes "=" in attributes; a browser reads the entity back.
    assert.ok(html(mail).includes(`href="${unsubscribe.replaceAll("=", "&#x3D;")}"`), "the HTML part has the link");
    // Unfolded (RFC 5322 2.2.3): long header lines are wrapped.
    const header = (name: string) =>
      mail.parsed.headerLines.find((l) => l.key === name)?.line.replace(/\r\n[ \t]+/g, " ");
    assert.equal(header("list-unsubscribe"), `List-Unsubscribe: <${unsubscribe}>`);
    assert.equal(header("list-unsubscribe-post"), "List-Unsubscribe-Post: List-Unsubscribe=One-Click");
    await digestsSettled(h, reader.userId);
    assert.equal(sentTo(h, sender.email).length, 1, "the sender got only their welcome mail");
    assert.equal(sentTo(h, reader.email).length, 2, "the reader got a welcome mail and one notification");
  });

  it("gives each mail a Message-ID derived from its event, at FROM_EMAIL's domain", async () => {
    const email = `${randomUUID()}@example.com`;
    const messageId = randomUUID();
    await h.publish(
      "user.otp.send",
      { userId: randomUUID(), email, username: "ida", otp: "112233", purpose: OtpPurpose.LOGIN, expiresIn: 300 },
      { messageId },
    );
    const mail = await smtp().waitFor((m) => m.envelopeTo.includes(email));
    assert.equal(mail.parsed.messageId, `<event-${messageId}@parley.test>`);
  });

  it("sends one mail for an event delivered twice, one after the other", async () => {
    const email = `${randomUUID()}@example.com`;
    const event = {
      userId: randomUUID(),
      email,
      username: "frank",
      otp: "123456",
      purpose: OtpPurpose.LOGIN,
      expiresIn: 300,
    };
    const messageId = randomUUID();
    await settled(h.app, 1, () => h.publish("user.otp.send", event, { messageId }));
    assert.equal(sentTo(h, email).length, 1);
    await settled(h.app, 1, () => h.publish("user.otp.send", event, { messageId }));
    assert.equal(sentTo(h, email).length, 1);
    const rows = await h.sql`select routing_key from processed_events where event_id = ${messageId}`;
    assert.deepEqual([...rows], [{ routing_key: "user.otp.send" }]);
  });

  it("forgets the ids of events handled longer ago than PROCESSED_EVENTS_KEEP_DAYS, in chunks, and keeps the rest", async () => {
    const recent = randomUUID();
    const old = randomUUID();
    await h.sql`insert into processed_events (event_id, routing_key, processed_at) values
      (${recent}, 'user.otp.send', now() - interval '29 days'),
      (${old}, 'user.otp.send', now() - interval '31 days')`;
    // More than one chunk's worth of old ids.
    await h.sql`insert into processed_events (event_id, routing_key, processed_at)
      select gen_random_uuid(), 'message.sent', now() - interval '40 days' from generate_series(1, 10005)`;
    assert.equal(await pruneProcessedEvents(createDb(h.sql), 30), 10_006);
    const left = await h.sql`select event_id from processed_events where event_id in (${recent}, ${old})`;
    assert.deepEqual(
      left.map((r) => r.event_id),
      [recent],
    );
    const [stale] =
      await h.sql`select count(*)::int as n from processed_events where processed_at < now() - interval '30 days'`;
    assert.equal(stale?.n, 0);
  });

  it("sends one mail for an event delivered twice at once", async () => {
    const email = `${randomUUID()}@example.com`;
    const event = {
      userId: randomUUID(),
      email,
      username: "grace",
      otp: "654321",
      purpose: OtpPurpose.LOGIN,
      expiresIn: 300,
    };
    const messageId = randomUUID();
    await settled(h.app, 2, () =>
      Promise.all([h.publish("user.otp.send", event, { messageId }), h.publish("user.otp.send", event, { messageId })]),
    );
    assert.deepEqual(h.app.stats().deadLettered + h.app.stats().retried, 0);
    assert.equal(sentTo(h, email).length, 1);
  });

  it("escapes user-supplied names in HTML and keeps them verbatim in text", async () => {
    const evil = "<script>alert(1)</script>";
    const sender = await register(evil);
    const welcome = sentTo(h, sender.email)[0];
    assert.ok(welcome);
    assert.ok(html(welcome).includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert.ok(!html(welcome).includes(evil));
    const reader = await register("heidi");
    const roomId = randomUUID();
    const membersVersion = await h.setMembers(roomId, [sender.userId, reader.userId]);
    await h.publish("message.sent", {
      roomId,
      roomName: `<img src=x onerror="alert(2)">`,
      messageId: randomUUID(),
      seq: 1n,
      senderId: sender.userId,
      senderUsername: evil,
      text: `<a href="javascript:alert(3)">click</a>`,
      membersVersion,
    });
    const mail = await smtp().waitFor(
      (m) => m.envelopeTo.includes(reader.email) && m.parsed.subject !== "Welcome to Parley, heidi!",
    );
    const body = html(mail);
    assert.ok(body.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert.ok(!body.includes("<script"));
    assert.ok(!body.includes("<img"));
    assert.ok(!body.includes('<a href="javascript'));
    assert.ok(body.includes("&lt;a href&#x3D;&quot;javascript:alert(3)&quot;&gt;click&lt;/a&gt;"));
    assert.equal(mail.parsed.subject, `New message from ${evil} in <img src=x onerror="alert(2)">`);
    assert.ok(text(mail).includes(`${evil} wrote in`));
  });

  it("reports health and has no mailbox in SMTP mode", async () => {
    const base = `http://127.0.0.1:${h.app.port}`;
    await eventually("the consumer to be up", async () => (await fetch(`${base}/healthz`)).status === 200);
    const health = (await (await fetch(`${base}/healthz`)).json()) as { status: string; transport: string };
    assert.equal(health.status, "ok");
    assert.equal(health.transport, `SMTP 127.0.0.1:${smtp().port}`);
    assert.equal((await fetch(`${base}/mailbox`)).status, 404);
  });
});
