import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code } from "@connectrpc/connect";
import type { RoomEvent } from "@parley/proto/chat/v1/chat_pb.js";
import { TYPING_THROTTLE_MS, typingKey } from "../src/domain/typing.js";
import { bearer, type EventStream, type Harness, rejectsWith, startHarness, type User, waitFor } from "./harness.js";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

/** Events of `roomId` from the stream until `until` matches one (included). */
async function eventsUntil(stream: EventStream, roomId: string, until: (e: RoomEvent) => boolean) {
  const got: RoomEvent[] = [];
  for (;;) {
    const event = await stream.next();
    if (event.roomId !== roomId) continue;
    got.push(event);
    if (until(event)) return got;
  }
}

describe("read markers", () => {
  test("ListRooms counts the unread messages from others that mention the caller, from the read marker on", async () => {
    const alice = await h.signIn();
    const bob = await h.signIn();
    const carol = await h.signIn();
    const roomId = await h.roomWith(alice, bob, carol);
    const quiet = await h.roomWith(alice, bob);
    const send = (who: User, text: string, room = roomId) => h.client.sendMessage({ roomId: room, text }, who.call);
    await send(alice, `hi @${bob.username.toUpperCase()}`);
    await send(alice, "anything else");
    await send(carol, `@${carol.username} and @${bob.username}, look`);
    // Bob naming himself, a name that only starts with his, and a deleted mention count for nothing.
    await send(bob, `note to @${bob.username}`);
    await send(alice, `@${bob.username}x is someone else`);
    const gone = await send(alice, `@${bob.username} never mind`);
    await h.client.deleteMessage({ roomId, messageId: gone.message?.id ?? "" }, alice.call);
    await send(alice, "nothing for bob", quiet);
    const counts = async (who: User) => {
      const { rooms } = await h.client.listRooms({}, who.call);
      return Object.fromEntries(rooms.map((r) => [r.room?.id, [r.unreadCount, r.unreadMentionCount]]));
    };
    assert.deepEqual(await counts(bob), { [roomId]: [6n, 2n], [quiet]: [1n, 0n] });
    assert.deepEqual((await counts(carol))[roomId], [6n, 0n], "carol's own mention of herself is not counted");

    await h.client.markRead({ roomId, seq: 1n }, bob.call);
    assert.deepEqual((await counts(bob))[roomId], [5n, 1n], "the first mention is read");
    await h.client.markRead({ roomId, seq: 3n }, bob.call);
    assert.deepEqual((await counts(bob))[roomId], [3n, 0n]);
    await send(alice, `again @${bob.username}`);
    assert.deepEqual((await counts(bob))[roomId], [4n, 1n]);
  });

  test("MarkRead only moves forward, clamps to head_seq, and announces only real moves", async () => {
    const alice = await h.signIn();
    const bob = await h.signIn();
    const roomId = await h.roomWith(alice, bob);
    for (let i = 1; i <= 5; i++) await h.client.sendMessage({ roomId, text: `m${i}` }, alice.call);
    const controller = new AbortController();
    const stream = await h.openStream(h, controller.signal);
    const mark = async (seq: bigint) => {
      const r = await h.client.markRead({ roomId, seq }, bob.call);
      return [r.lastReadSeq, r.unreadCount];
    };

    assert.deepEqual(await mark(3n), [3n, 2n]);
    assert.deepEqual(await mark(2n), [3n, 2n], "never back");
    assert.deepEqual(await mark(3n), [3n, 2n], "same place: no move");
    assert.deepEqual(await mark(100n), [5n, 0n], "clamped to the newest message");
    assert.deepEqual(await mark(0n), [5n, 0n]);
    await h.client.sendMessage({ roomId, text: "m6" }, alice.call);
    await h.client.sendMessage({ roomId, text: "m7" }, alice.call);
    assert.deepEqual(await mark(0n), [5n, 2n], "unread = head_seq - last_read_seq");
    assert.deepEqual(await mark(6n), [6n, 1n]);

    const summary = (await h.client.listRooms({}, bob.call)).rooms.find((r) => r.room?.id === roomId);
    assert.deepEqual([summary?.lastReadSeq, summary?.unreadCount], [6n, 1n]);
    const { room } = await h.client.getRoom({ roomId }, alice.call);
    assert.equal(room?.members.find((m) => m.userId === bob.userId)?.lastReadSeq, 6n);

    // Live: a read marker per move, ephemeral (event_seq 0).
    const live = await eventsUntil(
      stream,
      roomId,
      (e) => e.kind.case === "readMarker" && e.kind.value.lastReadSeq === 6n,
    );
    const markers = live.filter((e) => e.kind.case === "readMarker");
    assert.deepEqual(
      markers.map((e) =>
        e.kind.case === "readMarker" ? [e.kind.value.userId, e.kind.value.lastReadSeq, e.eventSeq] : [],
      ),
      [
        [bob.userId, 3n, 0n],
        [bob.userId, 5n, 0n],
        [bob.userId, 6n, 0n],
      ],
    );
    controller.abort();
    const { events } = await h.client.listEvents({ roomId }, bob.call);
    assert.ok(
      events.every((e) => e.kind.case === "messageCreated"),
      "read markers are not in the log",
    );

    // Domain events: one room.read per move, in the same transaction. A
    // final move is the marker that everything before it has been relayed.
    await h.client.markRead({ roomId, seq: 7n }, alice.call);
    await waitFor(
      () => h.eventsOf("room.read").find((e) => e.roomId === roomId && e.userId === alice.userId),
      10_000,
      "room.read",
    );
    assert.deepEqual(
      h
        .eventsOf("room.read")
        .filter((e) => e.roomId === roomId && e.userId === bob.userId)
        .map((e) => e.lastReadSeq),
      [3n, 5n, 6n],
    );
  });
});

describe("typing", () => {
  test("at most one typing event per user and room every 2 s; members only", async () => {
    const alice = await h.signIn("alice");
    const bob = await h.signIn("bob");
    const outsider = await h.signIn();
    const roomId = await h.roomWith(alice, bob);
    const controller = new AbortController();
    const stream = await h.openStream(h, controller.signal);
    await h.client.sendTyping({ roomId }, alice.call);
    await h.client.sendTyping({ roomId }, alice.call);
    await h.client.sendTyping({ roomId }, alice.call);
    await h.client.sendTyping({ roomId }, bob.call);
    const live = await eventsUntil(
      stream,
      roomId,
      (e) => e.kind.case === "typing" && e.kind.value.userId === bob.userId,
    );
    controller.abort();
    assert.deepEqual(
      live.map((e) => (e.kind.case === "typing" ? [e.kind.value.userId, e.kind.value.username, e.eventSeq] : [])),
      [
        [alice.userId, "alice", 0n],
        [bob.userId, "bob", 0n],
      ],
      "alice's repeats within the window were dropped",
    );
    // The window is a Redis key with a TTL, shared by every instance.
    const ttl = await h.infra.redis.pttl(typingKey(h.config.REDIS_KEY_PREFIX, roomId, alice.userId));
    assert.ok(ttl > 0 && ttl <= TYPING_THROTTLE_MS, `ttl ${ttl}`);
    await rejectsWith(h.client.sendTyping({ roomId }, outsider.call), Code.PermissionDenied, "NOT_A_MEMBER");
  });
});

describe("presence", () => {
  test("a user is online from their first socket to their last, across edges: one user.online each way", async () => {
    const user = await h.signIn();
    const friend = await h.signIn();
    const marker = await h.signIn();
    const roomA = await h.roomWith(user, friend);
    const roomB = await h.roomWith(friend, user);
    const edge = await h.serviceCall();
    const set = (u: User, socketId: string, online: boolean) =>
      h.client.setPresence({ userId: u.userId, socketId, online }, edge);
    const controller = new AbortController();
    const stream = await h.openStream(h, controller.signal);

    await set(user, "edge1/s1", true);
    await set(user, "edge2/s2", true);
    await set(user, "edge1/s1", true); // the periodic re-announcement
    await set(user, "edge1/s1", false);
    await set(user, "edge1/s1", false); // a repeated close
    await set(user, "edge2/s2", false);
    await set(user, "edge2/s2", false);

    // Presence goes to each of the user's rooms, ephemeral.
    const seen: RoomEvent[] = [];
    while (seen.length < 4) {
      const e = await stream.next();
      if (e.kind.case === "presence" && e.kind.value.userId === user.userId) seen.push(e);
    }
    controller.abort();
    assert.deepEqual(
      seen
        .map((e) =>
          e.kind.case === "presence"
            ? `${e.roomId === roomA ? "A" : e.roomId === roomB ? "B" : "?"} ${e.kind.value.online} ${e.eventSeq}`
            : "",
        )
        .sort(),
      ["A false 0", "A true 0", "B false 0", "B true 0"],
    );

    await set(marker, "m", true);
    await waitFor(() => h.eventsOf("user.online").find((e) => e.userId === marker.userId), 10_000, "marker");
    assert.deepEqual(
      h
        .eventsOf("user.online")
        .filter((e) => e.userId === user.userId)
        .map((e) => [e.socketId, e.online]),
      [
        ["edge1/s1", true],
        ["edge2/s2", false],
      ],
    );

    await rejectsWith(
      h.client.setPresence({ userId: user.userId, socketId: "x", online: true }, bearer(user.token)),
      Code.Unauthenticated,
      "UNAUTHENTICATED",
    );
    await rejectsWith(
      h.client.setPresence({ userId: user.userId, socketId: "", online: true }, edge),
      Code.InvalidArgument,
      "INVALID_ARGUMENT",
    );
  });

  test("sockets that are not re-announced expire, taking their user offline", async () => {
    // An instance with a short socket TTL, standing in for a crashed edge's sockets.
    const quick = await h.startInstance({ presenceTtlMs: 300, presenceSweepIntervalMs: 50 });
    const user = await h.signIn();
    const edge = await h.serviceCall();
    await quick.client.setPresence({ userId: user.userId, socketId: "crashed/1", online: true }, edge);
    const online = await waitFor(
      () => h.eventsOf("user.online").find((e) => e.userId === user.userId),
      10_000,
      "online",
    );
    assert.equal(online.online, true);
    const offline = await waitFor(
      () => h.eventsOf("user.online").find((e) => e.userId === user.userId && !e.online),
      10_000,
      "offline after expiry",
    );
    assert.equal(offline.online, false);
    assert.equal(h.eventsOf("user.online").filter((e) => e.userId === user.userId).length, 2);
    await quick.close();
  });
});
