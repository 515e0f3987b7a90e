/**
 * Notification mail as users want it: batched per user and room per window,
 * only for what they missed (offline, unread, not deleted), within their
 * notification level, never after unsubscribing; kept in PostgreSQL, so a
 * restart loses nothing; and never mailed twice by two worker instances.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { NotificationLevel } from "@parley/proto/user/v1/user_pb.js";
import {
  digestsSettled,
  eventually,
  type Harness,
  mailsTo,
  notificationsTo,
  registerUser,
  settled,
  startHarness,
  type TestUser,
} from "./harness.js";

describe("notification mail", () => {
  let h: Harness;
  let seq = 0n;

  before(async () => {
    h = await startHarness({ mode: "smtp", digestWindow: 1 });
  });
  after(async () => {
    await h?.close();
  });

  /** Publishes message.sent from `from` to `to` in `roomId`; returns the message id and seq. */
  async function send(
    roomId: string,
    from: TestUser,
    to: TestUser[],
    text: string,
    extra: { mentions?: string[]; direct?: boolean; roomName?: string } = {},
  ) {
    seq++;
    const messageId = randomUUID();
    const membersVersion = await h.setMembers(roomId, [from.userId, ...to.map((u) => u.userId)]);
    await settled(h.app, 1, () =>
      h.publish("message.sent", {
        roomId,
        roomName: extra.roomName ?? "general",
        messageId,
        seq,
        senderId: from.userId,
        senderUsername: from.username,
        text,
        membersVersion,
        mentions: extra.mentions ?? [],
        direct: extra.direct ?? false,
      }),
    );
    return { messageId, seq };
  }

  const event = (key: Parameters<Harness["publish"]>[0], payload: never, occurredAt?: Date) =>
    settled(h.app, 1, () => h.publish(key, payload, { occurredAt }));

  it("batches a burst into one mail per user and room, listing each message", async () => {
    const alice = await registerUser(h, "alice");
    const bob = await registerUser(h, "bob");
    const general = randomUUID();
    const random = randomUUID();
    for (const text of ["one", "two", "three"]) await send(general, alice, [bob], `burst ${text}`);
    await send(random, alice, [bob], "elsewhere", { roomName: "random" });
    await digestsSettled(h, bob.userId);
    const mails = notificationsTo(h, bob.email);
    assert.equal(mails.length, 2, mails.map((m) => m.parsed.subject).join(", "));
    const burst = mails.find((m) => m.parsed.subject === "3 new messages in general");
    assert.ok(burst, "one mail for the three messages in general");
    assert.match(burst.parsed.text ?? "", /burst one[\s\S]*burst two[\s\S]*burst three/);
    assert.ok(mails.some((m) => m.parsed.subject === "New message from alice in random"));
    assert.equal(notificationsTo(h, alice.email).length, 0, "never about one's own messages");

    // The window is over: the next message opens the next mail.
    await send(general, alice, [bob], "later on");
    await digestsSettled(h, bob.userId);
    assert.equal(notificationsTo(h, bob.email).length, 3);
  });

  it("does not mail users who are online, and mails them once they are gone", async () => {
    const alice = await registerUser(h, "alice");
    const carol = await registerUser(h, "carol");
    const room = randomUUID();
    await event("user.online", { userId: carol.userId, socketId: "s1", online: true } as never);
    await send(room, alice, [carol], "you are here");
    assert.equal((await h.sql`select 1 from digests where user_id = ${carol.userId}`).length, 0, "nothing queued");

    await event("user.online", { userId: carol.userId, socketId: "s1", online: false } as never);
    // An older transition arriving late changes nothing.
    await event(
      "user.online",
      { userId: carol.userId, socketId: "s0", online: true } as never,
      new Date(Date.now() - 60_000),
    );
    await send(room, alice, [carol], "you are away");
    await digestsSettled(h, carol.userId);
    const mails = notificationsTo(h, carol.email);
    assert.equal(mails.length, 1);
    assert.match(mails[0]?.parsed.text ?? "", /you are away/);
    assert.doesNotMatch(mails[0]?.parsed.text ?? "", /you are here/);
  });

  it("mails a mention handled before the offline transition that preceded it, and not one seen online", async () => {
    const alice = await registerUser(h, "alice");
    const fay = await registerUser(h, "fay");
    const room = randomUUID();
    // Fay closed her last tab, then was mentioned; the worker hears of the mention first.
    await event("user.online", { userId: fay.userId, socketId: "s1", online: true } as never);
    await send(room, alice, [fay], "@fay the badges are fixed", { mentions: ["fay"] });
    await event("user.online", { userId: fay.userId, socketId: "s1", online: false } as never);
    await digestsSettled(h, fay.userId);
    const mails = notificationsTo(h, fay.email);
    assert.equal(mails.length, 1);
    assert.match(mails[0]?.parsed.text ?? "", /the badges are fixed/);

    // Still online when the digest is due: no mail.
    await event("user.online", { userId: fay.userId, socketId: "s2", online: true } as never);
    await send(room, alice, [fay], "@fay seen live", { mentions: ["fay"] });
    await digestsSettled(h, fay.userId);
    assert.equal(notificationsTo(h, fay.email).length, 1);
  });

  it("drops from the mail what the user read or what was deleted before it went out", async () => {
    const alice = await registerUser(h, "alice");
    const dan = await registerUser(h, "dan");
    const room = randomUUID();
    const first = await send(room, alice, [dan], "read soon");
    await send(room, alice, [dan], "deleted soon");
    const deleted = (
      await h.sql<{ message_id: string }[]>`
      select message_id from notifications where user_id = ${dan.userId} and text = 'deleted soon'`
    )[0];
    assert.ok(deleted);
    await send(room, alice, [dan], "still unread");
    await event("room.read", { roomId: room, userId: dan.userId, lastReadSeq: first.seq } as never);
    await event("message.deleted", { roomId: room, messageId: deleted.message_id, seq: first.seq + 1n } as never);
    await digestsSettled(h, dan.userId);
    const mails = notificationsTo(h, dan.email);
    assert.equal(mails.length, 1);
    assert.equal(mails[0]?.parsed.subject, "New message from alice in general");
    assert.match(mails[0]?.parsed.text ?? "", /still unread/);
    assert.doesNotMatch(mails[0]?.parsed.text ?? "", /read soon|deleted soon/);
  });

  it("mails nothing once everything in the window was read", async () => {
    const alice = await registerUser(h, "alice");
    const erin = await registerUser(h, "erin");
    const room = randomUUID();
    const m = await send(room, alice, [erin], "seen it");
    await event("room.read", { roomId: room, userId: erin.userId, lastReadSeq: m.seq } as never);
    await digestsSettled(h, erin.userId);
    const [digest] = await h.sql`select status from digests where user_id = ${erin.userId}`;
    assert.equal(digest?.status, "cancelled");
    assert.equal(notificationsTo(h, erin.email).length, 0);
    // A message.sent the read marker already covers (it was handled late) queues nothing.
    await h.sql`delete from digests where user_id = ${erin.userId}`;
    seq = m.seq - 1n;
    await send(room, alice, [erin], "older, read already");
    seq = m.seq + 10n;
    assert.equal((await h.sql`select 1 from digests where user_id = ${erin.userId}`).length, 0);
  });

  it("follows the notification level: none, or only mentions and direct messages", async () => {
    const alice = await registerUser(h, "alice");
    const frank = await registerUser(h, "frank");
    const grace = await registerUser(h, "grace");
    const profile = (u: TestUser, level: NotificationLevel) =>
      event("user.updated", { ...u, displayName: u.username, notificationLevel: level } as never);
    await profile(frank, NotificationLevel.NONE);
    await profile(grace, NotificationLevel.MENTIONS_AND_DIRECT);
    const room = randomUUID();
    await send(room, alice, [frank, grace], "to everyone");
    assert.equal(
      (await h.sql`select 1 from digests where user_id in ${h.sql([frank.userId, grace.userId])}`).length,
      0,
    );

    await send(room, alice, [frank, grace], "hey @GRACE, look", { mentions: ["grace"] });
    await digestsSettled(h, grace.userId);
    const mentioned = notificationsTo(h, grace.email);
    assert.equal(mentioned.length, 1);
    assert.equal(mentioned[0]?.parsed.subject, "alice mentioned you in general");

    await send(randomUUID(), alice, [grace], "just us", { direct: true, roomName: "alice, grace" });
    await digestsSettled(h, grace.userId);
    const direct = notificationsTo(h, grace.email);
    assert.equal(direct.length, 2);
    assert.equal(direct[1]?.parsed.subject, "New direct message from alice");
    assert.equal(notificationsTo(h, frank.email).length, 0);
  });

  it("applies the level at sending time too, and ignores an older profile event", async () => {
    const alice = await registerUser(h, "alice");
    const heidi = await registerUser(h, "heidi");
    const room = randomUUID();
    await send(room, alice, [heidi], "queued while ALL");
    const now = new Date();
    await event("user.updated", { ...heidi, displayName: "", notificationLevel: NotificationLevel.NONE } as never, now);
    await event(
      "user.updated",
      { ...heidi, displayName: "", notificationLevel: NotificationLevel.ALL } as never,
      new Date(now.getTime() - 1_000),
    );
    await digestsSettled(h, heidi.userId);
    assert.equal(notificationsTo(h, heidi.email).length, 0);
    const [row] = await h.sql`select notification_level from recipients where user_id = ${heidi.userId}`;
    assert.equal(row?.notification_level, "none");
  });

  it("unsubscribes through the link in the mail, until the user picks a level again", async () => {
    const alice = await registerUser(h, "alice");
    const ivan = await registerUser(h, "ivan");
    const room = randomUUID();
    await send(room, alice, [ivan], "first");
    const mail = await h.smtp?.waitFor((m) => m.envelopeTo.includes(ivan.email) && /first/.test(m.parsed.text ?? ""));
    const link = /https:\/\/mail\.parley\.test\/unsubscribe\?token=([\w.-]+)/.exec(mail?.parsed.text ?? "");
    assert.ok(link?.[1]);
    const base = `http://127.0.0.1:${h.app.port}/unsubscribe`;

    const bad = await fetch(`${base}?token=${link[1].slice(0, -2)}`);
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /not valid/);
    assert.equal((await fetch(`${base}`)).status, 400);

    // Following the link (as a link scanner would, too) only asks.
    const res = await fetch(`${base}?token=${link[1]}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
    const page = await res.text();
    assert.match(page, /Stop emails about new messages\?/);
    // As a browser reads the attribute: Handlebars escapes "=" as &#x3D;.
    const action = /<form method="post" action="([^"]+)"/.exec(page)?.[1]?.replaceAll("&#x3D;", "=");
    assert.equal(action, `?token=${link[1]}`);
    const unsubscribedAt = async () =>
      (
        await h.sql<{ at: Date | null }[]>`select unsubscribed_at as at from recipients where user_id = ${ivan.userId}`
      )[0]?.at ?? null;
    assert.equal(await unsubscribedAt(), null, "a GET changes nothing");
    // The page's button posts its form.
    const confirmed = await fetch(new URL(action, `${base}?token=${link[1]}`), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    assert.equal(confirmed.status, 200);
    assert.match(await confirmed.text(), /You are unsubscribed/);
    assert.notEqual(await unsubscribedAt(), null);
    // Mail clients' one-click unsubscribe (RFC 8058) POSTs; twice is fine.
    const oneClick = await fetch(`${base}?token=${link[1]}`, { method: "POST", body: "List-Unsubscribe=One-Click" });
    assert.equal(oneClick.status, 200);

    await send(room, alice, [ivan], "second, after unsubscribing");
    assert.equal((await h.sql`select 1 from digests where user_id = ${ivan.userId} and status = 'open'`).length, 0);
    await h.publish("user.otp.send", {
      userId: ivan.userId,
      email: ivan.email,
      username: ivan.username,
      otp: "909090",
      purpose: 2,
      expiresIn: 300,
    });
    await h.smtp?.waitFor((m) => m.envelopeTo.includes(ivan.email) && /909090/.test(m.parsed.subject ?? ""));

    // A profile change that keeps the level keeps the unsubscribe; choosing a level lifts it.
    const update = (level: NotificationLevel) =>
      event("user.updated", { ...ivan, displayName: "Ivan", notificationLevel: level } as never);
    await update(NotificationLevel.ALL);
    await send(room, alice, [ivan], "third");
    assert.equal((await h.sql`select 1 from digests where user_id = ${ivan.userId} and status = 'open'`).length, 0);
    await update(NotificationLevel.MENTIONS_AND_DIRECT);
    await send(room, alice, [ivan], "fourth, @ivan", { mentions: ["ivan"] });
    await digestsSettled(h, ivan.userId);
    const texts = notificationsTo(h, ivan.email)
      .filter((m) => !/909090/.test(m.parsed.subject ?? ""))
      .map((m) => m.parsed.text ?? "");
    assert.equal(texts.length, 2);
    assert.match(texts[1] ?? "", /fourth/);
  });

  it("keeps pending notifications across a restart and mails them once", async () => {
    const alice = await registerUser(h, "alice");
    const judy = await registerUser(h, "judy");
    await send(randomUUID(), alice, [judy], "queued before the restart");
    await h.app.close();
    const open = await h.sql`select 1 from digests where user_id = ${judy.userId} and status = 'open'`;
    assert.equal(open.length, 1, "stopped within the window, before the digest was due");
    await eventually(
      "the digest to fall due while no worker runs",
      async () => (await h.sql`select 1 from digests where user_id = ${judy.userId} and due_at <= now()`).length === 1,
    );
    assert.equal(notificationsTo(h, judy.email).length, 0);
    await h.restartApp();
    await digestsSettled(h, judy.userId);
    assert.equal(notificationsTo(h, judy.email).length, 1);
  });

  it("mails each due digest once with two worker instances polling hard", async () => {
    const alice = await registerUser(h, "alice");
    const readers: TestUser[] = [];
    // One at a time: registerUser waits for the worker to settle its own event.
    for (let i = 0; i < 20; i++) readers.push(await registerUser(h, `reader${i}`));
    const a = await h.restartApp({ digestPollMs: 10 });
    const b = await h.startAnotherApp({ digestPollMs: 10 });
    const settledBoth = () =>
      [a, b].reduce((n, app) => {
        const s = app.stats();
        return n + s.acked + s.deadLettered + s.retried;
      }, 0);
    const rooms = Array.from({ length: 5 }, () => randomUUID());
    const before = settledBoth();
    // Each room's membership change, then its message: twice as many events as rooms.
    const versions = [];
    for (const room of rooms) versions.push(await h.setMembers(room, [alice.userId, ...readers.map((r) => r.userId)]));
    for (const [i, room] of rooms.entries()) {
      await h.publish("message.sent", {
        roomId: room,
        roomName: `room ${i}`,
        messageId: randomUUID(),
        seq: 1n,
        senderId: alice.userId,
        senderUsername: alice.username,
        text: `news ${i}`,
        membersVersion: versions[i] ?? 0n,
      });
    }
    await eventually("both instances to handle the events", () => settledBoth() >= before + 2 * rooms.length);
    // 100 digests between two instances: on a loaded two-core machine that takes a while.
    for (const r of readers) await digestsSettled(h, r.userId, 30_000);
    for (const r of readers) {
      const subjects = notificationsTo(h, r.email).map((m) => m.parsed.subject);
      const digests = await h.sql`select status, last_error from digests where user_id = ${r.userId}`;
      assert.deepEqual(
        subjects.sort(),
        rooms.map((_, i) => `New message from alice in room ${i}`).sort(),
        `${r.username}: ${JSON.stringify(digests)}`,
      );
    }
    const [byA, byB] = [a.stats().digestsSent, b.stats().digestsSent];
    assert.equal(byA + byB, readers.length * rooms.length);
    assert.ok(byA > 0 && byB > 0, `both instances mailed digests (${byA} + ${byB})`);
    assert.equal(mailsTo(h, alice.email).length, 1, "alice only got her welcome mail");
  });
});
