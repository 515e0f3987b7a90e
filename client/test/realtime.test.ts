/**
 * The SDK against the real system (four processes, real PostgreSQL, Redis,
 * RabbitMQ), its socket through a proxy that fails like a network does.
 * Each test checks the wire (every frame is recorded) and the state, which
 * must match a fresh fetch (Zulip's pattern: act, apply the events, fetch
 * again, compare).
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { hasNewer } from "@parley/client";
import { MemberRole } from "@parley/proto/chat/v1/chat_pb.js";
import { connectPostgres } from "@parley/shared/postgres.js";
import { createDb } from "../../chat-svc/src/storage/db.js";
import { truncateLog } from "../../chat-svc/src/storage/event-log.js";
import { api, signUp } from "../../test/support/users.js";
import {
  ACCESS_TOKEN_TTL,
  assertMatchesServer,
  clientFor,
  type Harness,
  loggedEventSeqs,
  type RecordedFrame,
  room,
  startHarness,
  type TestClient,
  until,
} from "./harness.js";

let h: Harness;
const clients: TestClient[] = [];

before(async () => {
  h = await startHarness();
});

after(async () => {
  for (const c of clients) c.client.close();
  await h?.close();
});

let users = 0;
const newUser = (name: string) => signUp(h.system, `${name}${++users}`);

async function started(user: Awaited<ReturnType<typeof newUser>>, extra = {}): Promise<TestClient> {
  const c = clientFor(h, user, extra);
  clients.push(c);
  await c.client.start();
  await until("socket open", () => c.client.getSnapshot().connection.status === "open");
  return c;
}

/** A room `owner` creates with `members`, followed with its timeline by `c`. */
async function roomWith(c: TestClient, members: string[] = []): Promise<string> {
  const { room: created } = await c.client.chats.createRoom({ name: `room ${randomUUID()}`, memberIds: members });
  assert.ok(created);
  await c.client.loadTimeline(created.id);
  await until("room live", () => room(c.client, created.id).status === "live");
  return created.id;
}

const restSend = async (token: string, roomId: string, text: string) => {
  const sent = await api(h.system, "POST", "/api/chats/messages", { roomId, text }, token);
  assert.equal(sent.status, 201, JSON.stringify(sent.json));
  return sent.json.message as { id: string; seq: string };
};

const texts = (c: TestClient, roomId: string) => room(c.client, roomId).messages.map((m) => m.text);

/** Every logged event arrived once, in order: each is the one after the last. */
function assertGaplessOnce(frames: readonly RecordedFrame[], roomId: string): number[] {
  const seqs = loggedEventSeqs(frames, roomId);
  for (let i = 1; i < seqs.length; i++) {
    assert.equal(seqs[i], (seqs[i - 1] as number) + 1, `event ${i} of ${JSON.stringify(seqs)}`);
  }
  return seqs;
}

/** Alice and Bob share a room, Alice has said `text`, and then Alice's network goes (the proxy refuses her). */
async function offlineAfter(text: string) {
  const [alice, bob] = await Promise.all([newUser("alice"), newUser("bob")]);
  const a = await started(alice);
  const roomId = await roomWith(a, [bob.id]);
  await a.client.send(roomId, text);
  await until("sent", () => texts(a, roomId).length === 1);
  h.proxy.refuse(true);
  h.proxy.cut();
  await until("alice offline", () => a.client.getSnapshot().connection.status === "reconnecting");
  return { bob, a, roomId };
}

test("room state and the room list match a fresh fetch after a sequence of actions", async () => {
  const [alice, bob, carol, dave] = await Promise.all([
    newUser("alice"),
    newUser("bob"),
    newUser("carol"),
    newUser("dave"),
  ]);
  const a = await started(alice);
  const roomId = await roomWith(a, [bob.id, dave.id]);
  // Dave only has the room in his list (no timeline): the summary must follow the events too.
  const d = await started(dave);
  await until("dave live", () => room(d.client, roomId).status === "live");
  const b = await started(bob);
  await b.client.loadTimeline(roomId);
  await until("bob live", () => room(b.client, roomId).status === "live");
  await until("alice sees bob online", () => a.client.getSnapshot().presence.get(bob.id) === true);

  await a.client.send(roomId, "hello @bob");
  await until("alice's first message", () => texts(b, roomId).length === 1);
  const first = room(b.client, roomId).messages[0];
  assert.ok(first);
  await b.client.send(roomId, "hi alice", { parentId: first.id });
  await b.client.send(roomId, "second from bob");
  await until("bob's two", () => texts(a, roomId).length === 3);
  const [, reply, second] = room(a.client, roomId).messages;
  assert.ok(reply && second);
  assert.equal(reply.parentId, first.id);
  await a.client.edit(roomId, first.id, "hello @bob, edited");
  await b.client.react(roomId, first.id, "👍");
  await a.client.react(roomId, first.id, "👍");
  await a.client.react(roomId, first.id, "🎉");
  await b.client.unreact(roomId, first.id, "👍");
  await a.client.deleteMessage(roomId, second.id);
  await a.client.chats.addMembers({ roomId, userIds: [carol.id] });
  await a.client.chats.setMemberRole({ roomId, userId: carol.id, role: MemberRole.ADMIN });
  await a.client.chats.updateRoom({ roomId, topic: "state, not frames" });
  await a.client.chats.removeMember({ roomId, userId: carol.id });
  await b.client.markRead(roomId, 2n);
  b.client.typing(roomId);
  await until("alice sees bob typing", () => room(a.client, roomId).typing.some((t) => t.userId === bob.id));
  await a.client.send(roomId, "last word");

  await assertMatchesServer(a.client, roomId, { readMarkers: true });
  await assertMatchesServer(b.client, roomId, { readMarkers: true });
  await assertMatchesServer(d.client, roomId, { timeline: false });
  assert.equal(room(d.client, roomId).unreadCount, 4n);
  assert.deepEqual(texts(a, roomId), ["hello @bob, edited", "hi alice", "", "last word"]);
  const reactions = room(a.client, roomId).messages[0]?.reactions.map((r) => [r.emoji, r.userIds]);
  assert.deepEqual(reactions, [
    ["👍", [alice.id]],
    ["🎉", [alice.id]],
  ]);
  // Bob's own marker, and the unread count it leaves him: 4 messages, read to 2.
  assert.equal(room(b.client, roomId).lastReadSeq, 2n);
  assert.equal(room(b.client, roomId).unreadCount, 2n);
  assert.equal(room(a.client, roomId).readMarkers.get(bob.id), 2n);
  assertGaplessOnce(a.frames, roomId);
  // The room list: the room with the latest message comes first.
  const other = await a.client.chats.createRoom({ name: "quiet" });
  await a.client.refreshRooms();
  await a.client.send(roomId, "bump");
  await until("bumped", () => a.client.getSnapshot().rooms[0]?.lastMessage?.text === "bump");
  assert.ok(a.client.getSnapshot().roomsById.has(other.room?.id ?? ""));
  b.client.close();
  await until("alice sees bob offline", () => a.client.getSnapshot().presence.get(bob.id) === false);
});

test("a client that missed a range resumes it without a gap or a duplicate", async () => {
  const { bob, a, roomId } = await offlineAfter("before");
  const missed: string[] = [];
  for (let i = 1; i <= 5; i++) {
    missed.push(`missed ${i}`);
    await restSend(bob.token, roomId, `missed ${i}`);
  }
  const firstMissed = await a.client.chats.listMessages({ roomId, afterSeq: 1n, limit: 1 });
  const reacted = await api(
    h.system,
    "PUT",
    `/api/chats/rooms/${roomId}/messages/${firstMissed.messages[0]?.id}/reactions/${encodeURIComponent("👀")}`,
    undefined,
    bob.token,
  );
  assert.equal(reacted.status, 200);
  assert.deepEqual(texts(a, roomId), ["before"], "nothing arrives while offline");

  h.proxy.refuse(false);
  await until("resumed", () => texts(a, roomId).length === 6);
  assert.deepEqual(texts(a, roomId), ["before", ...missed]);
  assert.ok(a.sockets() >= 2, "a second socket resumed");
  const resume = a.frames.find((f) => f.dir === "out" && f.socket > 1 && "subscribe" in f.frame);
  assert.ok(resume, "resubscribed on the new socket");
  assert.notEqual((resume.frame.subscribe as { afterEventSeq?: string }).afterEventSeq, undefined, "from its cursor");
  const seqs = assertGaplessOnce(a.frames, roomId);
  assert.equal(new Set(seqs).size, seqs.length);
  await assertMatchesServer(a.client, roomId);
});

test("truncated: a resume point the log no longer keeps reloads the room", async () => {
  const { bob, a, roomId } = await offlineAfter("kept in history");
  await restSend(bob.token, roomId, "said while alice was away");
  const edited = await restSend(bob.token, roomId, "to be edited");
  const patched = await api(
    h.system,
    "PATCH",
    `/api/chats/rooms/${roomId}/messages/${edited.id}`,
    { text: "edited while away" },
    bob.token,
  );
  assert.equal(patched.status, 200);
  // Retention purges the whole log so far (EVENT_RETENTION_DAYS does this to old events).
  const head = await a.client.chats.getRoomHead({ roomId });
  const sql = connectPostgres(h.system.databases.chat, { max: 1, appName: "sdk-test" });
  try {
    await createDb(sql).transaction((tx) => truncateLog(tx, roomId, head.headEventSeq));
  } finally {
    await sql.end();
  }

  h.proxy.refuse(false);
  await until("reloaded", () => texts(a, roomId).length === 3);
  const answer = a.frames.find(
    (f) => f.dir === "in" && (f.frame.subscribed as { truncated?: boolean } | undefined)?.truncated === true,
  );
  assert.ok(answer, "the server answered truncated");
  assert.deepEqual(texts(a, roomId), ["kept in history", "said while alice was away", "edited while away"]);
  await assertMatchesServer(a.client, roomId);
  // Live again after the reload.
  await restSend(bob.token, roomId, "after the reload");
  await until("live", () => texts(a, roomId).at(-1) === "after the reload");
});

test("an ack lost with the connection: the retry returns the original message, stored once", async () => {
  const alice = await newUser("alice");
  const a = await started(alice);
  const roomId = await roomWith(a);
  const sockets = a.sockets();

  h.proxy.muteDownstream();
  const pending = await a.client.send(roomId, "exactly once");
  await until("stored", async () => {
    const page = await a.client.chats.listMessages({ roomId });
    return page.messages.length === 1;
  });
  // The answer never came; the silent socket is given up on and the send retried with the same id. The
  // resubscription may replay the message (settling the send) before the retry's answer comes: wait for both.
  const answered = () => a.frames.some((f) => f.dir === "in" && "ack" in f.frame);
  await until(
    "delivered",
    () => room(a.client, roomId).pending.length === 0 && texts(a, roomId).length === 1 && answered(),
  );
  assert.ok(a.sockets() > sockets, "reconnected");

  const sends = a.frames.filter((f) => f.dir === "out" && "send" in f.frame);
  assert.ok(sends.length >= 2, `sent at least twice: ${JSON.stringify(sends)}`);
  for (const s of sends) {
    assert.equal((s.frame.send as { clientMessageId: string }).clientMessageId, pending.clientMessageId);
  }
  const acks = a.frames.filter((f) => f.dir === "in" && "ack" in f.frame);
  assert.equal(acks.length, 1, "only the retry's answer arrived");
  const acked = (acks[0]?.frame.ack as { message: { id: string; seq: string } } | undefined)?.message;
  const { messages } = await a.client.chats.listMessages({ roomId });
  assert.equal(messages.length, 1, "stored once");
  assert.equal(acked?.id, messages[0]?.id, "the retry answered with the original message");
  assert.equal(acked?.seq, "1");
  assert.equal(messages[0]?.clientMessageId, pending.clientMessageId);
  assert.deepEqual(texts(a, roomId), ["exactly once"]);
  await assertMatchesServer(a.client, roomId);
});

test("the heartbeat watchdog reconnects a connection that went silent", async () => {
  const [alice, bob] = await Promise.all([newUser("alice"), newUser("bob")]);
  const a = await started(alice);
  const roomId = await roomWith(a, [bob.id]);
  const sockets = a.sockets();

  h.proxy.freeze();
  await restSend(bob.token, roomId, "sent into the void");
  await until("reconnected", () => a.sockets() > sockets && a.client.getSnapshot().connection.status === "open");
  // Given up on after two 1-second heartbeat intervals of silence, then reconnected after a short backoff.
  const lastHeard = a.frames.filter((f) => f.socket === sockets && f.dir === "in").at(-1)?.at ?? 0;
  const reconnected = a.frames.find((f) => f.socket > sockets)?.at ?? 0;
  const silence = reconnected - lastHeard;
  assert.ok(silence >= 2_000, `gave up after ${silence} ms of silence, before two heartbeat intervals`);
  // Two intervals, at most one backoff step (maxMs 1 s) and room for a loaded machine to open a socket.
  assert.ok(silence < 6_000, `gave up only after ${silence} ms of silence`);
  assert.match(a.client.getSnapshot().connection.lastError ?? "", /heartbeat timeout/);
  await until("caught up", () => texts(a, roomId).length === 1);
  assert.deepEqual(texts(a, roomId), ["sent into the void"]);
  assertGaplessOnce(a.frames, roomId);
});

test("a token refreshed before it expires is swapped into the live socket; Connect calls refresh once", async () => {
  const alice = await newUser("alice");
  let refreshes = 0;
  const a = await started(alice);
  const roomId = await roomWith(a);
  const sockets = a.sockets();
  const stop = a.client.auth.onChange(() => refreshes++);

  // Past the first token's expiry: the edge would have closed a socket still on it (4401).
  await new Promise((r) => setTimeout(r, (ACCESS_TOKEN_TTL + 5) * 1000));
  stop();
  assert.ok(refreshes >= 1, "the token was refreshed");
  assert.equal(a.sockets(), sockets, "the same socket throughout");
  const auths = a.frames.filter((f) => f.socket === sockets && f.dir === "out" && "authenticate" in f.frame);
  const readies = a.frames.filter((f) => f.socket === sockets && f.dir === "in" && "ready" in f.frame);
  assert.ok(auths.length >= 2, "authenticated again on the live socket");
  assert.equal(readies.length, auths.length, "each authentication answered ready");
  await a.client.send(roomId, "still here");
  await until("delivered", () => texts(a, roomId).length === 1);

  // A token the server refuses: parallel calls share one refresh, then succeed.
  let strategyCalls = 0;
  const bob = await newUser("bob");
  const b = clientFor(h, bob);
  clients.push(b);
  const original = b.client.auth;
  original.set({ accessToken: "not-a-token", expiresIn: 900 });
  const counting = original.onChange((t) => {
    if (t !== undefined && t !== "not-a-token") strategyCalls++;
  });
  const answers = await Promise.all([
    b.client.users.getProfile({}),
    b.client.chats.listRooms({}),
    b.client.users.getProfile({}),
  ]);
  counting();
  assert.equal(answers[0].user?.id, bob.id);
  assert.equal(strategyCalls, 1, "one refresh for three refused calls");
});

test("a send refused for good is marked failed and does not hold up the next one", async () => {
  const alice = await newUser("alice");
  const a = await started(alice);
  const roomId = await roomWith(a);
  const nowhere = randomUUID();
  a.client.watchRoom(nowhere).catch(() => undefined);
  const lost = await a.client.send(nowhere, "to a room I am not in");
  const tooLong = await a.client.send(roomId, "x".repeat(4001));
  await a.client.send(roomId, "fine");
  await until("fine delivered", () => texts(a, roomId).includes("fine"));
  await until("failed", () => room(a.client, roomId).pending.some((p) => p.status === "failed"));
  const failed = room(a.client, roomId).pending.find((p) => p.clientMessageId === tooLong.clientMessageId);
  assert.equal(failed?.status, "failed");
  assert.equal(failed?.failure?.code, "invalid_argument");
  await until(
    "not found",
    () =>
      a.client
        .getSnapshot()
        .roomsById.get(nowhere)
        ?.pending.some((p) => p.clientMessageId === lost.clientMessageId && p.status === "failed") === true,
  );
  const notFound = a.client
    .getSnapshot()
    .roomsById.get(nowhere)
    ?.pending.find((p) => p.clientMessageId === lost.clientMessageId);
  assert.equal(notFound?.failure?.code, "not_found");
  await a.client.discardSend(tooLong.clientMessageId);
  assert.equal(room(a.client, roomId).pending.length, 0);
  assert.deepEqual(texts(a, roomId), ["fine"]);
});

test("sends refused for the socket's rate wait as told and still arrive once each, in order", async () => {
  const alice = await newUser("alice");
  const a = await started(alice);
  const roomId = await roomWith(a);
  await a.client.send(roomId, "seed");
  await until("seed", () => texts(a, roomId).length === 1);
  const seed = room(a.client, roomId).messages[0];
  assert.ok(seed);
  // Fifty reactions at once empty the socket's bucket (WS_SEND_BURST 40, WS_SEND_RATE 20/s): the sends
  // queued right behind them arrive at an empty bucket.
  const reactions = Promise.allSettled(Array.from({ length: 50 }, () => a.client.react(roomId, seed.id, "👍")));
  const sent: string[] = [];
  for (let i = 1; i <= 30; i++) {
    sent.push(`burst ${i}`);
    await a.client.send(roomId, `burst ${i}`);
  }
  await reactions;
  await until("all delivered", () => room(a.client, roomId).pending.length === 0, 30_000);
  const sendRefs = new Set(a.frames.filter((f) => f.dir === "out" && "send" in f.frame).map((f) => f.frame.ref));
  const limitedSends = a.frames.filter(
    (f) =>
      f.dir === "in" &&
      sendRefs.has(f.frame.ref) &&
      (f.frame.error as { reason?: string } | undefined)?.reason === "RATE_LIMITED",
  );
  assert.ok(limitedSends.length > 0, "a send was refused for the rate, and sent again");
  const { messages } = await a.client.chats.listMessages({ roomId, limit: 200 });
  assert.deepEqual(
    messages.map((m) => m.text),
    ["seed", ...sent],
    "stored once each, in the order sent",
  );
  await assertMatchesServer(a.client, roomId);
});

test("rooms the user gains or loses on another device show up live, without refreshRooms", async () => {
  const [alice, bob] = await Promise.all([newUser("alice"), newUser("bob")]);
  const a = await started(alice);
  const b = await started(bob);
  const listed = (id: string) => b.client.getSnapshot().rooms.some((r) => r.roomId === id);

  // A room someone creates with bob in it, written to before bob's client has subscribed to it.
  const { room: created } = await a.client.chats.createRoom({ name: "live list", memberIds: [bob.id] });
  assert.ok(created);
  await restSend(alice.token, created.id, "hello bob");
  await until("room listed", () => listed(created.id));
  await until("its message", () => room(b.client, created.id).lastMessage?.text === "hello bob");
  await until("live", () => room(b.client, created.id).status === "live");
  // A direct room someone opens with bob.
  const { room: direct } = await a.client.chats.openDirectRoom({ userId: bob.id });
  assert.ok(direct);
  await until("direct room listed", () => listed(direct.id));
  // Bob leaves on another device: the room drops out of this one's list.
  const left = await api(h.system, "POST", `/api/chats/rooms/${created.id}/leave`, {}, bob.token);
  assert.equal(left.status, 200, JSON.stringify(left.json));
  await until("room dropped", () => !listed(created.id));
  assert.equal(room(b.client, created.id).status, "left");
  assert.equal(room(b.client, created.id).leftBecause, "left");
  // Removed by its owner: the room says why it is gone.
  const { room: kicked } = await a.client.chats.createRoom({ name: "short stay", memberIds: [bob.id] });
  assert.ok(kicked);
  await until("kicked room live", () => listed(kicked.id) && room(b.client, kicked.id).status === "live");
  await a.client.chats.removeMember({ roomId: kicked.id, userId: bob.id });
  await until("kicked room dropped", () => !listed(kicked.id));
  assert.equal(room(b.client, kicked.id).leftBecause, "removed");
  assert.ok(
    b.frames.some((f) => f.dir === "in" && "roomAdded" in f.frame),
    "learned from the socket, not a poll",
  );
  assert.equal(
    b.frames.filter((f) => f.dir === "out" && "subscribe" in f.frame).length > 0,
    true,
    "the new rooms are subscribed",
  );
  await assertMatchesServer(b.client, direct.id);
});

test("presence starts from who is online when a room is fetched, not from changes seen since", async () => {
  const [alice, bob] = await Promise.all([newUser("alice"), newUser("bob")]);
  const a = await started(alice);
  const roomId = await roomWith(a, [bob.id]);
  // Alice is online before bob's client exists: no presence event will tell it so.
  const b = await started(bob);
  await b.client.loadTimeline(roomId);
  await until("room live", () => room(b.client, roomId).status === "live");
  assert.equal(b.client.getSnapshot().presence.get(alice.id), true);
  assert.equal(b.client.getSnapshot().presence.get(bob.id), true, "bob's own socket counts");
});

test("unread mentions are counted from the room list and kept live; a room with more unread than a page opens at the first unread", async () => {
  const [alice, bob] = await Promise.all([newUser("alice"), newUser("bob")]);
  const a = await started(alice, { pageSize: 10 });
  const roomId = await roomWith(a, [bob.id]);
  for (let i = 1; i <= 25; i++) await restSend(alice.token, roomId, i === 2 ? `@${bob.username} look` : `m${i}`);

  const b = await started(bob, { pageSize: 10 });
  await until("bob's list", () => room(b.client, roomId).unreadCount === 25n);
  assert.equal(room(b.client, roomId).unreadMentionCount, 1n, "counted by the server, nothing loaded");
  await restSend(alice.token, roomId, "m26");
  await restSend(alice.token, roomId, `again @${bob.username}`);
  await until("live", () => room(b.client, roomId).unreadCount === 27n);
  assert.equal(room(b.client, roomId).unreadMentionCount, 2n, "a later message takes nothing away; a new mention adds");

  // 27 unread, pages of 10: the timeline opens from just before the first unread, then pages forward.
  await b.client.loadTimeline(roomId);
  await until("loaded", () => room(b.client, roomId).timeline === "loaded");
  assert.equal(room(b.client, roomId).messages[0]?.seq, 1n);
  assert.equal(hasNewer(room(b.client, roomId)), true);
  await b.client.markRead(roomId, 5n);
  assert.equal(room(b.client, roomId).unreadMentionCount, 1n, "the mention read past is taken off");
  while (await b.client.loadNewer(roomId));
  assert.deepEqual(
    room(b.client, roomId).messages.map((m) => Number(m.seq)),
    Array.from({ length: 27 }, (_, i) => i + 1),
  );
  await b.client.markRead(roomId, 27n);
  assert.deepEqual([room(b.client, roomId).unreadCount, room(b.client, roomId).unreadMentionCount], [0n, 0n]);
  const { rooms } = await b.client.chats.listRooms({});
  assert.equal(rooms.find((r) => r.room?.id === roomId)?.unreadMentionCount, 0n);
});
