/**
 * The WebSocket protocol's newer half against real user-svc and chat-svc:
 * resume by event_seq across every kind of event, edit/delete/react frames,
 * typing and read markers, heartbeats, token expiry, membership, and the
 * limits that protect the edge from bad clients (send rate, flooding,
 * oversized frames).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createTokenKeys } from "@parley/shared/auth.js";
import { decodeJwt } from "jose";
import {
  type Frame,
  openSocket,
  request,
  type SignedUp,
  type System,
  startSystem,
  type TestSocket,
  waitUntil,
} from "./harness.js";

let system: System;
let alice: SignedUp;
let bob: SignedUp;
let carol: SignedUp;

before(async () => {
  system = await startSystem();
  [alice, bob, carol] = [
    await system.signUp("alice_rt"),
    await system.signUp("bob_rt"),
    await system.signUp("carol_rt"),
  ];
});

const sockets: TestSocket[] = [];
after(async () => {
  await Promise.all(sockets.map((s) => s.close()));
  await system?.close();
});

async function createRoom(owner: SignedUp, body: Record<string, unknown> = {}) {
  const res = await system.api("POST", "/api/chats/rooms", { name: "room", ...body }, owner.token);
  assert.equal(res.status, 201, JSON.stringify(res.json));
  return res.json.room as { id: string; headEventSeq: string };
}

async function rest(method: string, path: string, user: SignedUp, body?: unknown) {
  const res = await system.api(method, path, body, user.token);
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${JSON.stringify(res.json)}`);
  return res.json;
}

let refs = 0;

async function subscribe(socket: TestSocket, roomId: string, afterEventSeq?: bigint) {
  const ref = `sub-${++refs}`;
  socket.send({ ref, subscribe: { roomId, ...(afterEventSeq ? { afterEventSeq: String(afterEventSeq) } : {}) } });
  const answer = await socket.next((f) => f.ref === ref);
  assert.ok("subscribed" in answer, JSON.stringify(answer));
  return answer.subscribed as { roomId: string; headSeq?: string; headEventSeq?: string; truncated?: boolean };
}

type EventJson = { roomId: string; eventSeq?: string } & Record<string, unknown>;
const eventsOf = (socket: TestSocket, roomId: string) =>
  socket.frames
    .filter((f) => "event" in f && (f.event as EventJson).roomId === roomId && (f.event as EventJson).eventSeq)
    .map((f) => f.event as EventJson);
const kindOf = (e: EventJson) => Object.keys(e).find((k) => !["roomId", "eventSeq", "occurredAt"].includes(k)) ?? "?";
const seqOf = (e: EventJson) => BigInt(e.eventSeq ?? "0");

test("resume by afterEventSeq replays edits, deletions, reactions and membership in order, without gap or duplicate", async () => {
  const room = await createRoom(alice, { visibility: "private", memberIds: [bob.id] });
  const m1 = (await rest("POST", "/api/chats/messages", alice, { roomId: room.id, text: "one" })).message as {
    id: string;
  };
  // Bob watches, then goes away having seen everything up to here.
  const first = await system.readySocket(bob.token);
  const sub = await subscribe(first, room.id);
  const seen = BigInt(sub.headEventSeq ?? "0");
  assert.ok(seen > 0n);
  await first.close();

  const path = `/api/chats/rooms/${room.id}/messages/${m1.id}`;
  await rest("PATCH", path, alice, { text: "one, edited" });
  await rest("PUT", `${path}/reactions/${encodeURIComponent("🎉")}`, alice);
  const m2 = (await rest("POST", "/api/chats/messages", alice, { roomId: room.id, text: "two" })).message as {
    id: string;
  };
  await rest("DELETE", `/api/chats/rooms/${room.id}/messages/${m2.id}`, alice);
  await rest("DELETE", `${path}/reactions/${encodeURIComponent("🎉")}`, alice);
  await rest("POST", `/api/chats/rooms/${room.id}/members`, alice, { userIds: [carol.id] });
  await rest("PATCH", `/api/chats/rooms/${room.id}`, alice, { topic: "resumed" });
  const log = (await rest("GET", `/api/chats/rooms/${room.id}/events?after=${seen}`, bob)) as {
    events: EventJson[];
    headEventSeq: string;
  };
  assert.equal(log.events.length, 7);

  const back = await system.readySocket(bob.token);
  const resumed = await subscribe(back, room.id, seen);
  assert.equal(resumed.headEventSeq, log.headEventSeq);
  assert.equal(resumed.truncated, undefined);
  await waitUntil(() => eventsOf(back, room.id).length === 7, 10_000, "the missed events");
  const replayed = eventsOf(back, room.id);
  assert.deepEqual(replayed.map(kindOf), [
    "messageEdited",
    "reactionChanged",
    "messageCreated",
    "messageDeleted",
    "reactionChanged",
    "memberChanged",
    "roomUpdated",
  ]);
  assert.deepEqual(
    replayed.map((e) => [e.eventSeq, kindOf(e)]),
    log.events.map((e) => [e.eventSeq, kindOf(e)]),
    "exactly the log's events",
  );
  // Then live, continuing the sequence.
  await rest("POST", "/api/chats/messages", alice, { roomId: room.id, text: "three" });
  await waitUntil(() => eventsOf(back, room.id).length === 8);
  assert.deepEqual(
    eventsOf(back, room.id).map(seqOf),
    Array.from({ length: 8 }, (_, i) => seen + BigInt(i + 1)),
  );
  back.send({ ref: "p", ping: {} });
  await back.next((f) => f.ref === "p");
  assert.equal(eventsOf(back, room.id).length, 8, "no duplicate came late");

  // A resume point the room has not reached (or no longer keeps) answers truncated: reload, then live from the head.
  const lost = await system.readySocket(bob.token);
  const truncated = await subscribe(lost, room.id, BigInt(log.headEventSeq) + 1000n);
  assert.equal(truncated.truncated, true);
  assert.equal(truncated.headEventSeq, String(BigInt(log.headEventSeq) + 1n));
  await rest("POST", "/api/chats/messages", alice, { roomId: room.id, text: "four" });
  await waitUntil(() => eventsOf(lost, room.id).length === 1);
  assert.equal(kindOf(eventsOf(lost, room.id)[0] as EventJson), "messageCreated");
});

test("edit, delete, react and unreact frames answer messageAck with the message as it now is", async () => {
  const room = await createRoom(alice, { memberIds: [bob.id] });
  const a = await system.readySocket(alice.token);
  const b = await system.readySocket(bob.token);
  await subscribe(b, room.id);
  const sent = await request(a, { send: { roomId: room.id, text: "draft", clientMessageId: "c1" } });
  const message = (sent.ack as { message: { id: string; seq: string } }).message;
  const reply = await request(a, { send: { roomId: room.id, text: "re", parentId: message.id } });
  assert.equal((reply.ack as { message: { parentId: string } }).message.parentId, message.id);

  const ids = { roomId: room.id, messageId: message.id };
  const edited = await request(a, { edit: { ...ids, text: "final" } });
  assert.deepEqual([(edited.messageAck as { message: { text: string; editedAt?: string } }).message.text], ["final"]);
  assert.ok((edited.messageAck as { message: { editedAt?: string } }).message.editedAt);
  const reacted = await request(b, { react: { ...ids, emoji: "👍" } });
  assert.deepEqual((reacted.messageAck as { message: { reactions: unknown } }).message.reactions, [
    { emoji: "👍", userIds: [bob.id] },
  ]);
  const unreacted = await request(b, { unreact: { ...ids, emoji: "👍" } });
  assert.equal((unreacted.messageAck as { message: { reactions?: unknown } }).message.reactions, undefined);
  const hijack = await request(b, { edit: { ...ids, text: "mine" } });
  assert.deepEqual(hijack.error, {
    code: "permission_denied",
    message: "you can only do that to your own messages",
    reason: "NOT_YOUR_MESSAGE",
  });
  const deleted = await request(a, { delete: ids });
  assert.equal((deleted.messageAck as { message: { deleted: boolean } }).message.deleted, true);
  const late = await request(b, { react: { ...ids, emoji: "👍" } });
  assert.equal((late.error as { reason: string }).reason, "MESSAGE_DELETED");

  // The subscriber saw each change as an event, in order.
  await waitUntil(() => eventsOf(b, room.id).length === 6);
  assert.deepEqual(eventsOf(b, room.id).map(kindOf), [
    "messageCreated",
    "messageCreated",
    "messageEdited",
    "reactionChanged",
    "reactionChanged",
    "messageDeleted",
  ]);
  const bad = await request(a, { edit: { roomId: room.id, messageId: "nope", text: "x" } });
  assert.match((bad.error as { message: string }).message, /message_id/);
});

test("typing reaches the room's other subscribers without an answer; markRead answers readAck", async () => {
  const room = await createRoom(alice, { visibility: "private", memberIds: [bob.id] });
  const a = await system.readySocket(alice.token);
  const b = await system.readySocket(bob.token);
  await subscribe(a, room.id);
  await subscribe(b, room.id);
  a.send({ ref: "t1", typing: { roomId: room.id } });
  a.send({ ref: "t2", typing: { roomId: room.id } }); // within a second: not forwarded
  const typing = await b.next((f) => "event" in f && "typing" in (f.event as object));
  assert.deepEqual((typing.event as { typing: unknown }).typing, { userId: alice.id, username: "alice_rt" });
  assert.equal((typing.event as EventJson).eventSeq, undefined, "ephemeral: no place in the log");
  const pong = await request(a, { ping: {} });
  assert.ok("pong" in pong);
  assert.ok(!a.frames.some((f) => f.ref === "t1" || f.ref === "t2"), "typing is not answered");

  await request(a, { send: { roomId: room.id, text: "one" } });
  await request(a, { send: { roomId: room.id, text: "two" } });
  const read = await request(b, { markRead: { roomId: room.id, seq: "1" } });
  assert.deepEqual(read.readAck, { roomId: room.id, lastReadSeq: "1", unreadCount: "1" });
  const all = await request(b, { markRead: { roomId: room.id, seq: "50" } });
  assert.deepEqual(all.readAck, { roomId: room.id, lastReadSeq: "2" });
  const marker = await a.next((f) => "event" in f && "readMarker" in (f.event as object));
  assert.equal((marker.event as { readMarker: { userId: string } }).readMarker.userId, bob.id);

  const outsider = await system.readySocket(carol.token);
  const refused = await request(outsider, { markRead: { roomId: room.id, seq: "1" } });
  assert.equal((refused.error as { code: string }).code, "not_found");
  outsider.send({ ref: "t", typing: { roomId: room.id } });
  assert.equal(((await outsider.next((f) => f.ref === "t")).error as { code: string }).code, "not_found");
});

test("membership is enforced on subscribe and on every frame that acts", async () => {
  const priv = await createRoom(alice, { visibility: "private" });
  const pub = await createRoom(alice, { visibility: "public" });
  const sent = (await rest("POST", "/api/chats/messages", alice, { roomId: pub.id, text: "hi" })).message as {
    id: string;
  };
  const s = await system.readySocket(carol.token);
  for (const [frame, code] of [
    [{ subscribe: { roomId: priv.id } }, "not_found"],
    [{ subscribe: { roomId: pub.id } }, "permission_denied"],
    [{ send: { roomId: priv.id, text: "x" } }, "not_found"],
    [{ send: { roomId: pub.id, text: "x" } }, "permission_denied"],
    [{ react: { roomId: pub.id, messageId: sent.id, emoji: "👍" } }, "permission_denied"],
    [{ edit: { roomId: pub.id, messageId: sent.id, text: "x" } }, "permission_denied"],
    [{ delete: { roomId: pub.id, messageId: sent.id } }, "permission_denied"],
  ] as const) {
    const answer = await request(s, frame);
    assert.equal((answer.error as { code: string } | undefined)?.code, code, JSON.stringify([frame, answer]));
  }
  await rest("POST", "/api/chats/messages", alice, { roomId: priv.id, text: "secret" });
  await request(s, { ping: {} });
  assert.equal(s.frames.filter((f) => "event" in f).length, 0, "nothing leaked");
  assert.equal(s.ws.readyState, s.ws.OPEN);
});

test("heartbeat frames on every authenticated socket; ready says how often", async () => {
  const def = await system.readySocket(alice.token);
  const interval = (s: TestSocket) =>
    ((s.frames.find((f) => "ready" in f) as Frame).ready as { heartbeatInterval: number }).heartbeatInterval;
  assert.equal(interval(def), 25);
  const edge = await system.startEdge({ HEARTBEAT_INTERVAL: "1" });
  try {
    const [x, y] = [await system.readySocket(alice.token, edge), await system.readySocket(bob.token, edge)];
    assert.equal(interval(x), 1);
    for (const s of [x, y]) {
      const beat = await s.next((f) => "heartbeat" in f, 3_000);
      const at = Date.parse((beat.heartbeat as { serverTime: string }).serverTime);
      assert.ok(Math.abs(Date.now() - at) < 5_000, "the server's clock");
    }
    await waitUntil(() => x.frames.filter((f) => "heartbeat" in f).length >= 2, 5_000, "a second heartbeat");
    // Unauthenticated sockets get none.
    const anon = await openSocket(edge.wsUrl);
    sockets.push(anon);
    await waitUntil(() => x.frames.filter((f) => "heartbeat" in f).length >= 3, 5_000);
    assert.equal(anon.frames.length, 0);
  } finally {
    await edge.close();
  }
});

test("a socket lives no longer than its token unless it authenticates again", async () => {
  const edge = await system.startEdge({}, { heartbeatMs: 100 });
  try {
    // Short-lived tokens for live sessions, as user-svc would issue them.
    const keys = createTokenKeys(system.secret);
    const mint = (user: SignedUp, ttl: number) =>
      keys.issueAccess(
        { userId: user.id, sessionId: decodeJwt(user.token).sid as string, username: user.username },
        ttl,
      );
    const expiring = await system.readySocket(await mint(alice, 2), edge);
    const renewed = await system.readySocket(await mint(bob, 2), edge);
    const fresh = await request(renewed, { authenticate: { token: await mint(bob, 60) } });
    assert.equal((fresh.ready as { user: { id: string } }).user.id, bob.id);
    const closed = await expiring.closed;
    assert.equal(closed.code, 4401);
    assert.match((expiring.frames.at(-1)?.error as { message?: string } | undefined)?.message ?? "", /expired/);
    await waitUntil(() => renewed.frames.filter((f) => "heartbeat" in f).length > 30, 10_000);
    assert.equal(renewed.ws.readyState, renewed.ws.OPEN);
    // Another user's token does not take a socket over.
    const other = await request(renewed, { authenticate: { token: alice.token } });
    assert.equal((other.error as { reason: string }).reason, "USER_MISMATCH");
  } finally {
    await edge.close();
  }
});

test("send rate: frames over the limit get RATE_LIMITED, the socket stays; a flood is closed 1008", async () => {
  const edge = await system.startEdge({ WS_SEND_RATE: "5", WS_SEND_BURST: "5" });
  try {
    const room = await createRoom(alice);
    const s = await system.readySocket(alice.token, edge);
    for (let i = 0; i < 10; i++) s.send({ ref: `m${i}`, markRead: { roomId: room.id, seq: "0" } });
    await waitUntil(() => s.frames.filter((f) => f.ref?.startsWith("m")).length === 10);
    const answers = s.frames.filter((f) => f.ref?.startsWith("m"));
    assert.equal(answers.filter((f) => "readAck" in f).length, 5);
    const limited = answers.filter((f) => "error" in f);
    assert.equal(limited.length, 5);
    for (const f of limited) {
      const error = f.error as { code: string; reason: string; retryAfterSeconds?: number };
      // A token's time at 5/s, rounded up to whole seconds: what REST would send as Retry-After.
      assert.deepEqual([error.code, error.reason, error.retryAfterSeconds], ["resource_exhausted", "RATE_LIMITED", 1]);
    }
    // Pings are not limited; subscribes have a bucket of their own.
    assert.ok("pong" in (await request(s, { ping: {} })));
    await subscribe(s, room.id);
    // The bucket refills at 5/s: a client that waits a token's time gets through (one that polls faster is flooding).
    let answer: Frame | undefined;
    for (let attempt = 0; attempt < 10 && !(answer && "readAck" in answer); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      answer = await request(s, { markRead: { roomId: room.id, seq: "0" } });
    }
    assert.ok(answer && "readAck" in answer, JSON.stringify(answer));
    assert.equal(s.ws.readyState, s.ws.OPEN);

    for (let i = 0; i < 200; i++) s.send({ ref: `f${i}`, typing: { roomId: room.id } });
    const closed = await s.closed;
    assert.equal(closed.code, 1008);
    assert.equal((s.frames.at(-1)?.error as { reason?: string } | undefined)?.reason, "FLOODING");
    await waitUntil(() => edge.app.realtime.sessionCount === 0);
  } finally {
    await edge.close();
  }
});

test("authenticate frames are paced: a refresh now and then passes, a stream of them is refused and then closed 1008", async () => {
  const edge = await system.startEdge({ WS_AUTHENTICATE_BURST: "2", WS_AUTHENTICATE_INTERVAL: "1" });
  try {
    // The token at the upgrade is the socket's own, not a frame: it leaves the whole burst.
    const s = await system.readySocket(alice.token, edge);
    for (let i = 0; i < 2; i++) {
      const answer = await request(s, { authenticate: { token: alice.token } });
      assert.ok("ready" in answer, JSON.stringify(answer));
    }
    const refused = await request(s, { authenticate: { token: alice.token } });
    const error = refused.error as { code: string; reason: string; message: string } | undefined;
    assert.deepEqual([error?.code, error?.reason], ["resource_exhausted", "RATE_LIMITED"], JSON.stringify(refused));
    assert.match(error?.message ?? "", /at most 1 authenticate frames per second \(bursts of 2\)/);
    // Other frames are not held back by it.
    assert.ok("pong" in (await request(s, { ping: {} })));
    // A token's time later, a refresh passes again.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    assert.ok("ready" in (await request(s, { authenticate: { token: alice.token } })));

    // What the tester saw: one socket asking as fast as it can. A few are answered, then it is closed.
    for (let i = 0; i < 500; i++) s.send({ ref: `f${i}`, authenticate: { token: alice.token } });
    const closed = await s.closed;
    assert.equal(closed.code, 1008);
    assert.equal((s.frames.at(-1)?.error as { reason?: string } | undefined)?.reason, "FLOODING");
    const ready = s.frames.filter((f) => f.ref?.startsWith("f") && "ready" in f).length;
    assert.ok(ready <= 2, `${ready} of the stream were answered ready`);
    await waitUntil(() => edge.app.realtime.sessionCount === 0);
  } finally {
    await edge.close();
  }
});

test("subscribes have their own bucket: a reconnect's 200 rooms at once pass, a stream of them is paced", async () => {
  const room = await createRoom(alice);
  // One a second after the burst: however slowly a loaded machine answers, the 150 past the burst cannot
  // all be refilled while they are sent.
  const slow = await system.startEdge({ WS_SUBSCRIBE_RATE: "1" });
  const s = await system.readySocket(alice.token, slow);
  // Resubscribing one room over and over costs a head read each time, as many rooms would; sent 50 at a
  // time, as a client keeping under the 64 frames a socket may have awaiting an answer does.
  const total = 400;
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    s.send({ ref: `s${i}`, subscribe: { roomId: room.id } });
    if (i % 50 === 49) await waitUntil(() => s.frames.filter((f) => f.ref?.startsWith("s")).length === i + 1);
  }
  await waitUntil(() => s.frames.filter((f) => f.ref?.startsWith("s")).length === total);
  const seconds = (performance.now() - started) / 1000;
  const answers = s.frames.filter((f) => f.ref?.startsWith("s"));
  const subscribed = answers.filter((f) => "subscribed" in f).length;
  const limited = answers.filter((f) => (f.error as { reason?: string } | undefined)?.reason === "RATE_LIMITED");
  // A burst of 250, then 1 a second.
  const allowed = 250 + Math.ceil(seconds);
  assert.ok(subscribed >= 250 && subscribed <= allowed, `${subscribed} subscribed in ${seconds.toFixed(1)} s`);
  assert.equal(subscribed + limited.length, total);
  const first = limited[0];
  assert.ok(first, "some were refused");
  assert.match((first.error as { message: string }).message, /at most 1 subscribes per second \(bursts of 250\)/);
  assert.equal(s.ws.readyState, s.ws.OPEN);
});

test("a frame over 64 KiB closes the socket with 1009; the edge carries on", async () => {
  const s = await system.readySocket(alice.token);
  s.send({ ref: "big", send: { roomId: crypto.randomUUID(), text: "x".repeat(70 * 1024) } });
  assert.equal((await s.closed).code, 1009);
  const next = await system.readySocket(alice.token);
  assert.ok("pong" in (await request(next, { ping: {} })));
});
