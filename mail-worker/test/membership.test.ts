/**
 * The worker's copy of each room's members (room.members): changes apply in
 * version order whatever order they arrive in, and a message waits for the
 * membership it was sent under before anyone is notified.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import {
  digestsSettled,
  eventually,
  type Harness,
  notificationsTo,
  registerUser,
  settled,
  startHarness,
  type TestUser,
} from "./harness.js";

async function membership(h: Harness, roomId: string): Promise<{ version: bigint | undefined; members: string[] }> {
  const [row] = await h.sql<{ version: string }[]>`select version::text from room_membership where room_id = ${roomId}`;
  const members = await h.sql<{ user_id: string }[]>`
    select user_id from room_members where room_id = ${roomId} order by user_id`;
  return { version: row ? BigInt(row.version) : undefined, members: members.map((m) => m.user_id) };
}

const sorted = (...ids: string[]) => [...ids].sort();

function message(roomId: string, from: TestUser, membersVersion: bigint, text: string) {
  return {
    roomId,
    roomName: "general",
    messageId: randomUUID(),
    seq: 1n,
    senderId: from.userId,
    senderUsername: from.username,
    text,
    membersVersion,
  };
}

async function notifiedFor(h: Harness, messageId: string): Promise<string[]> {
  const rows = await h.sql<{ user_id: string }[]>`
    select user_id from notifications where message_id = ${messageId} order by user_id`;
  return rows.map((r) => r.user_id);
}

describe("room membership", () => {
  let h: Harness;

  before(async () => {
    h = await startHarness({ mode: "smtp", digestWindow: 1 });
  });
  after(async () => {
    await h?.close();
  });

  it("applies changes in version order: one that overtakes its predecessor is retried; a repeat changes nothing", async () => {
    const roomId = randomUUID();
    const [alice, bob, carol] = [randomUUID(), randomUUID(), randomUUID()];
    const retriedBefore = h.app.stats().retried;
    await settled(h.app, 1, () =>
      h.publish("room.members", { roomId, version: 2n, joinedUserIds: [carol], leftUserIds: [] }),
    );
    assert.equal(h.app.stats().retried, retriedBefore + 1, "change 2 waits for change 1");
    assert.deepEqual(await membership(h, roomId), { version: 0n, members: [] });

    await h.publish("room.members", { roomId, version: 1n, joinedUserIds: [alice, bob], leftUserIds: [] });
    await eventually(
      "change 2 to be applied after its retry",
      async () => (await membership(h, roomId)).version === 2n,
    );
    assert.deepEqual((await membership(h, roomId)).members, sorted(alice, bob, carol));

    await settled(h.app, 1, () =>
      h.publish("room.members", { roomId, version: 1n, joinedUserIds: [alice, bob], leftUserIds: [] }),
    );
    await settled(h.app, 1, () =>
      h.publish("room.members", { roomId, version: 3n, joinedUserIds: [], leftUserIds: [bob] }),
    );
    assert.deepEqual(await membership(h, roomId), { version: 3n, members: sorted(alice, carol) });
  });

  it("a message sent under a membership not seen yet waits for it, then notifies those members", async () => {
    const alice = await registerUser(h, "alice");
    const bob = await registerUser(h, "bob");
    const roomId = randomUUID();
    const sent = message(roomId, alice, 1n, "before you knew I was here");
    const retriedBefore = h.app.stats().retried;
    await settled(h.app, 1, () => h.publish("message.sent", sent));
    assert.equal(h.app.stats().retried, retriedBefore + 1);
    assert.deepEqual(await notifiedFor(h, sent.messageId), []);

    await h.publish("room.members", {
      roomId,
      version: 1n,
      joinedUserIds: [alice.userId, bob.userId],
      leftUserIds: [],
    });
    await eventually("bob's notification to be queued", async () => (await notifiedFor(h, sent.messageId)).length > 0);
    assert.deepEqual(await notifiedFor(h, sent.messageId), [bob.userId], "the members but the sender");
    await digestsSettled(h, bob.userId);
    assert.deepEqual(
      notificationsTo(h, bob.email).map((m) => m.parsed.subject),
      ["New message from alice in general"],
    );
  });

  it("handles a room's events in the order they come: no retry between creation and first message; leavers hear nothing", async () => {
    const alice = await registerUser(h, "alice");
    const bob = await registerUser(h, "bob");
    const carol = await registerUser(h, "carol");
    const roomId = randomUUID();
    const first = message(roomId, alice, 1n, "welcome, both");
    const second = message(roomId, alice, 2n, "carol has gone");
    const retriedBefore = h.app.stats().retried;
    // Published back to back, as the outbox relay would: the worker may hold them all at once.
    await settled(h.app, 4, async () => {
      const ids = [alice.userId, bob.userId, carol.userId];
      await h.publish("room.members", { roomId, version: 1n, joinedUserIds: ids, leftUserIds: [] });
      await h.publish("message.sent", first);
      await h.publish("room.members", { roomId, version: 2n, joinedUserIds: [], leftUserIds: [carol.userId] });
      await h.publish("message.sent", second);
    });
    assert.equal(h.app.stats().retried, retriedBefore, "nothing waited for a retry");
    assert.deepEqual(await notifiedFor(h, first.messageId), sorted(bob.userId, carol.userId));
    assert.deepEqual(await notifiedFor(h, second.messageId), [bob.userId]);
  });

  it("dead-letters a change that names no room, a version below 1 or an id that is not a UUID", async () => {
    const cases = [
      { roomId: "", version: 1n, joinedUserIds: [randomUUID()], leftUserIds: [] },
      { roomId: randomUUID(), version: 0n, joinedUserIds: [randomUUID()], leftUserIds: [] },
      { roomId: randomUUID(), version: 1n, joinedUserIds: ["not-a-uuid"], leftUserIds: [] },
    ];
    for (const payload of cases) {
      const id = await h.publish("room.members", payload);
      const dead = await h.waitForDeadLetter((m) => m.properties.messageId === id);
      assert.match(String(dead.properties.headers?.["x-parley-reason"] ?? ""), /invalid event/);
    }
  });
});

describe("room membership: a large room", () => {
  let h: Harness;

  before(async () => {
    // A long window: the test checks what is queued, and 1,200 mails sent meanwhile would only load the machine.
    h = await startHarness({ mode: "smtp", digestWindow: 3600 });
  });
  after(async () => {
    await h?.close();
  });

  it("notifies every member of a large room in one pass: a digest and a notification each", async () => {
    const alice = await registerUser(h, "alice");
    // The recipient directory, filled directly: 1,200 welcome mails would only slow the test down.
    const members = Array.from({ length: 1_200 }, (_, i) => ({
      user_id: randomUUID(),
      email: `member-${i}-${randomUUID()}@example.com`,
      username: `member${i}`,
    }));
    await h.sql`insert into recipients ${h.sql(members)}`;
    const roomId = randomUUID();
    const version = await h.setMembers(roomId, [alice.userId, ...members.map((m) => m.user_id)]);
    const sent = message(roomId, alice, version, "all hands");
    await settled(h.app, 1, () => h.publish("message.sent", sent));
    const notified = await notifiedFor(h, sent.messageId);
    assert.equal(notified.length, members.length);
    assert.deepEqual(notified, sorted(...members.map((m) => m.user_id)));
    // Whatever the scheduler has mailed of them by now: one digest per member.
    const [digests] = await h.sql<{ n: number; users: number }[]>`
      select count(*)::int as n, count(distinct user_id)::int as users from digests where room_id = ${roomId}`;
    assert.deepEqual(digests, { n: members.length, users: members.length });
  });
});
