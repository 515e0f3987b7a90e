/**
 * The WebSocket gateway against real user-svc and chat-svc: authentication
 * three ways, subscribe/send/receive with seq, resume without gaps or
 * duplicates, membership, bad frames, and slow or silent clients.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  type Frame,
  openSocket,
  type SignedUp,
  type System,
  startSystem,
  type TestSocket,
  waitUntil,
} from "./harness.js";

let system: System;
let alice: SignedUp;
let bob: SignedUp;

before(async () => {
  system = await startSystem();
  [alice, bob] = await Promise.all([system.signUp("alice_ws"), system.signUp("bob_ws")]);
});

after(async () => {
  await system?.close();
});

const sockets: TestSocket[] = [];
async function connect(opts: { token?: string; via?: "header" | "query"; url?: string; autoPong?: boolean } = {}) {
  const base = opts.url ?? system.edge.wsUrl;
  const url = opts.token && opts.via === "query" ? `${base}?token=${encodeURIComponent(opts.token)}` : base;
  const headers: Record<string, string> =
    opts.token && opts.via !== "query" ? { authorization: `Bearer ${opts.token}` } : {};
  const socket = await openSocket(url, {
    headers,
    ...(opts.autoPong !== undefined ? { autoPong: opts.autoPong } : {}),
  });
  sockets.push(socket);
  return socket;
}

after(async () => {
  await Promise.all(sockets.map((s) => s.close()));
});

async function createRoom(owner: SignedUp, opts: { memberIds?: string[]; visibility?: string } = {}) {
  const res = await system.api("POST", "/api/chats/rooms", { name: "room", ...opts }, owner.token);
  assert.equal(res.status, 201, JSON.stringify(res.json));
  return (res.json.room as { id: string }).id;
}

async function sendRest(user: SignedUp, roomId: string, text: string) {
  const res = await system.api("POST", "/api/chats/messages", { roomId, message: text }, user.token);
  assert.equal(res.status, 201, JSON.stringify(res.json));
  return res.json.message as { seq: string; text: string };
}

type EventFrame = Frame & { event: { roomId: string; messageCreated: { seq: string; text: string } } };
/** A message_created event of `roomId` (presence and other events are ignored). */
const isEvent =
  (roomId: string) =>
  (f: Frame): f is EventFrame =>
    "event" in f && (f as EventFrame).event.roomId === roomId && (f as EventFrame).event.messageCreated !== undefined;
const seqsIn = (socket: TestSocket, roomId: string) =>
  socket.frames.filter(isEvent(roomId)).map((f) => (f as EventFrame).event.messageCreated.seq);

test("authenticates with a header, a query token or an authenticate frame", async () => {
  const viaHeader = await connect({ token: alice.token });
  const r1 = await viaHeader.next((f) => "ready" in f);
  assert.equal((r1.ready as { user: { id: string } }).user.id, alice.id);

  const viaQuery = await connect({ token: bob.token, via: "query" });
  const r2 = await viaQuery.next((f) => "ready" in f);
  assert.equal((r2.ready as { user: { username: string } }).user.username, "bob_ws");

  const viaFrame = await connect();
  viaFrame.send({ ref: "p", ping: {} });
  assert.deepEqual(await viaFrame.next((f) => f.ref === "p"), { ref: "p", pong: {} });
  viaFrame.send({ ref: "early", subscribe: { roomId: crypto.randomUUID() } });
  const early = await viaFrame.next((f) => f.ref === "early");
  assert.equal((early.error as { code: string }).code, "unauthenticated");
  viaFrame.send({ ref: "auth", authenticate: { token: alice.token } });
  const r3 = await viaFrame.next((f) => f.ref === "auth");
  assert.equal((r3.ready as { user: { id: string } }).user.id, alice.id);
});

test("an invalid token gets an unauthenticated error and close 4401", async () => {
  const atUpgrade = await connect({ token: "not-a-token" });
  const err = await atUpgrade.next((f) => "error" in f);
  assert.equal((err.error as { code: string }).code, "unauthenticated");
  assert.equal((await atUpgrade.closed).code, 4401);

  const inFrame = await connect();
  inFrame.send({ ref: "a", authenticate: { token: "nope" } });
  const err2 = await inFrame.next((f) => f.ref === "a");
  assert.equal((err2.error as { code: string }).code, "unauthenticated");
  assert.equal((await inFrame.closed).code, 4401);
});

test("a socket that does not authenticate in time is closed 4401", async () => {
  const edge = await system.startEdge({}, { authTimeoutMs: 300 });
  try {
    const socket = await connect({ url: edge.wsUrl });
    const closed = await socket.closed;
    assert.equal(closed.code, 4401);
    assert.equal((socket.frames[0]?.error as { code?: string } | undefined)?.code, "unauthenticated");
  } finally {
    await edge.close();
  }
});

test("subscribe, send and receive: each subscriber gets each message once, with its seq", async () => {
  const roomId = await createRoom(alice, { memberIds: [bob.id] });
  const a = await system.readySocket(alice.token);
  const b = await system.readySocket(bob.token);
  for (const s of [a, b]) {
    s.send({ ref: "sub", subscribe: { roomId } });
    const subscribed = (await s.next((f) => f.ref === "sub")).subscribed as Record<string, unknown>;
    assert.equal(subscribed.roomId, roomId);
    assert.equal(subscribed.headSeq, undefined, "an empty room: head_seq 0");
    assert.equal(subscribed.truncated, undefined);
  }

  a.send({ ref: "m1", send: { roomId, text: "hello over ws", clientMessageId: "c-1" } });
  const ack = await a.next((f) => f.ref === "m1");
  const acked = (ack.ack as { message: { seq: string; text: string; clientMessageId: string } }).message;
  assert.deepEqual([acked.seq, acked.text, acked.clientMessageId], ["1", "hello over ws", "c-1"]);

  await sendRest(bob, roomId, "hello over rest");
  for (const s of [a, b]) {
    await s.next((f) => isEvent(roomId)(f) && (f as EventFrame).event.messageCreated.seq === "2");
    const first = s.frames.find(isEvent(roomId)) as EventFrame;
    assert.equal(first.event.messageCreated.text, "hello over ws");
  }
  // A late message proves nothing else was queued behind the two.
  await sendRest(alice, roomId, "third");
  for (const s of [a, b]) {
    await s.next((f) => isEvent(roomId)(f) && (f as EventFrame).event.messageCreated.seq === "3");
    assert.deepEqual(seqsIn(s, roomId), ["1", "2", "3"]);
  }

  b.send({ ref: "u", unsubscribe: { roomId } });
  assert.deepEqual(await b.next((f) => f.ref === "u"), { ref: "u", unsubscribed: { roomId } });
  await sendRest(alice, roomId, "fourth");
  await a.next((f) => isEvent(roomId)(f) && (f as EventFrame).event.messageCreated.seq === "4");
  b.send({ ref: "p", ping: {} });
  await b.next((f) => f.ref === "p");
  assert.deepEqual(seqsIn(b, roomId), ["1", "2", "3"], "no events after unsubscribe");
});

test("resume with afterEventSeq replays exactly the missed events in order, then live ones", async () => {
  const roomId = await createRoom(alice);
  const s0 = await system.readySocket(alice.token);
  s0.send({ ref: "r", subscribe: { roomId } });
  const head0 = (await s0.next((f) => f.ref === "r")).subscribed as { headEventSeq?: string };
  const start = BigInt(head0.headEventSeq ?? "0");
  await s0.close();
  for (let i = 1; i <= 5; i++) await sendRest(alice, roomId, `m${i}`);
  const s = await system.readySocket(alice.token);
  // The client saw the first two messages' events: it resumes after the second.
  s.send({ ref: "r", subscribe: { roomId, afterEventSeq: String(start + 2n) } });
  const subscribed = await s.next((f) => f.ref === "r");
  assert.deepEqual(subscribed.subscribed, { roomId, headSeq: "5", headEventSeq: String(start + 5n) });
  await s.next((f) => isEvent(roomId)(f) && (f as EventFrame).event.messageCreated.seq === "5");
  await sendRest(alice, roomId, "m6");
  await s.next((f) => isEvent(roomId)(f) && (f as EventFrame).event.messageCreated.seq === "6");
  assert.deepEqual(seqsIn(s, roomId), ["3", "4", "5", "6"]);
  assert.deepEqual(
    s.frames.filter(isEvent(roomId)).map((f) => (f as EventFrame).event.messageCreated.text),
    ["m3", "m4", "m5", "m6"],
  );
  // `subscribed` came before any replayed event.
  assert.ok(s.frames.indexOf(subscribed) < s.frames.findIndex(isEvent(roomId)));

  // No afterEventSeq: from the head, no replay, live only.
  const live = await system.readySocket(alice.token);
  live.send({ ref: "r0", subscribe: { roomId } });
  await live.next((f) => f.ref === "r0");
  await sendRest(alice, roomId, "m7");
  await live.next(isEvent(roomId));
  assert.deepEqual(seqsIn(live, roomId), ["7"]);
});

test("a non-member cannot subscribe to a private room: not_found", async () => {
  const roomId = await createRoom(alice, { visibility: "private" });
  const s = await system.readySocket(bob.token);
  s.send({ ref: "x", subscribe: { roomId } });
  const err = await s.next((f) => f.ref === "x");
  assert.deepEqual(err.error, { code: "not_found", message: "room not found", reason: "ROOM_NOT_FOUND" });
  await sendRest(alice, roomId, "secret");
  s.send({ ref: "p", ping: {} });
  await s.next((f) => f.ref === "p");
  assert.equal(s.frames.filter((f) => "event" in f).length, 0);
});

test("malformed and binary frames get an error frame and the socket keeps working", async () => {
  const roomId = await createRoom(alice);
  const s = await system.readySocket(alice.token);
  s.send("{not json");
  const e1 = await s.next((f) => "error" in f);
  assert.equal((e1.error as { code: string }).code, "invalid_argument");
  s.send({ ref: "bad", explode: {} });
  const e2 = await s.next((f) => f.ref === "bad");
  assert.equal((e2.error as { code: string }).code, "invalid_argument");
  s.send({ ref: "v", subscribe: { roomId: "not-a-uuid" } });
  const e3 = await s.next((f) => f.ref === "v");
  assert.match((e3.error as { message: string }).message, /room_id/);
  s.send({ ref: "nul", send: { roomId, text: "a\u0000b" } });
  const e4 = await s.next((f) => f.ref === "nul");
  assert.deepEqual(
    [(e4.error as { code: string }).code, (e4.error as { message: string }).message],
    ["invalid_argument", "send.text: must not contain NUL characters"],
  );
  s.ws.send(Buffer.from([1, 2, 3]));
  await waitUntil(() => s.frames.filter((f) => "error" in f).length === 5);
  assert.equal((s.frames.at(-1)?.error as { reason?: string } | undefined)?.reason, "BINARY_FRAME");

  s.send({ ref: "ok", subscribe: { roomId } });
  await s.next((f) => f.ref === "ok" && "subscribed" in f);
  s.send({ ref: "m", send: { roomId, text: "still alive" } });
  await s.next((f) => f.ref === "m" && "ack" in f);
  await s.next(isEvent(roomId));
  assert.equal(s.ws.readyState, s.ws.OPEN);
});

test("a backlog far over the buffer bound reaches a reading client whole; one that stops reading is closed with 1013", async () => {
  const edge = await system.startEdge({ WS_MAX_BUFFERED_BYTES: "65536" }, { drainGraceMs: 500 });
  try {
    const roomId = await createRoom(alice);
    // 16 KB of UTF-8 per message: replaying them outruns the kernel's socket buffers.
    const text = "\u{1F600}".repeat(4000);
    const batch = 20;
    for (let i = 0; i < 400; i += batch) {
      await Promise.all(
        Array.from({ length: batch }, () => system.api("POST", "/api/chats/messages", { roomId, text }, alice.token)),
      );
    }

    // 6.4 MB through a 64 KiB bound, one page of the log at a time, as fast as the client reads.
    const reader = await connect({ url: edge.wsUrl, token: alice.token });
    await reader.next((f) => "ready" in f);
    reader.send({ ref: "sub", subscribe: { roomId, afterEventSeq: "1" } });
    await waitUntil(() => reader.frames.filter(isEvent(roomId)).length === 399, 20_000, "the whole backlog");
    assert.deepEqual(
      seqsIn(reader, roomId),
      Array.from({ length: 399 }, (_, i) => String(i + 2)),
    );
    assert.equal(reader.ws.readyState, reader.ws.OPEN);
    await reader.close();

    const s = await connect({ url: edge.wsUrl, token: alice.token });
    await s.next((f) => "ready" in f);
    s.ws.pause();
    s.send({ ref: "sub", subscribe: { roomId, afterEventSeq: "1" } });
    await waitUntil(() => edge.app.realtime.sessionCount === 0, 20_000, "the edge to drop the slow socket");
    s.ws.resume();
    const closed = await s.closed;
    assert.equal(closed.code, 1013);
    assert.ok(s.frames.filter((f) => "event" in f).length < 399, "not everything was buffered");
  } finally {
    await edge.close();
  }
});

test("a socket that stops answering pings is terminated", async () => {
  const edge = await system.startEdge({}, { heartbeatMs: 100 });
  try {
    const silent = await connect({ url: edge.wsUrl, token: alice.token, autoPong: false });
    const lively = await connect({ url: edge.wsUrl, token: alice.token });
    await silent.next((f) => "ready" in f);
    await lively.next((f) => "ready" in f);
    const closed = await silent.closed;
    assert.equal(closed.code, 1006, "terminated, not closed politely");
    assert.equal(lively.ws.readyState, lively.ws.OPEN);
    assert.equal(edge.app.realtime.sessionCount, 1);
  } finally {
    await edge.close();
  }
});

test("events missed while the edge's stream was down are delivered once it reconnects; the room list is stale", async () => {
  const chat = await system.startChatInstance();
  const port = chat.port;
  const edge = await system.startEdge({ CHAT_SVC_URL: chat.url });
  try {
    const roomId = await createRoom(alice);
    const s = await connect({ url: edge.wsUrl, token: alice.token });
    await s.next((f) => "ready" in f);
    s.send({ ref: "sub", subscribe: { roomId } });
    await s.next((f) => f.ref === "sub");
    await sendRest(alice, roomId, "before");
    await s.next(isEvent(roomId));

    await chat.close();
    await waitUntil(() => !edge.app.realtime.events.connected, 10_000, "the edge to notice");
    // Committed through another chat-svc while this edge has no stream: never seen live.
    await sendRest(alice, roomId, "missed 1");
    await sendRest(alice, roomId, "missed 2");

    const again = await system.startChatInstance(port);
    try {
      await waitUntil(() => edge.app.realtime.events.connected, 15_000, "the edge to reconnect");
      await s.next((f) => isEvent(roomId)(f) && (f as EventFrame).event.messageCreated.seq === "3");
      // Rooms alice gained or lost meanwhile were announced to no one here: she is told to read her list again.
      await s.next((f) => "roomListStale" in f);
      await sendRest(alice, roomId, "after");
      await s.next((f) => isEvent(roomId)(f) && (f as EventFrame).event.messageCreated.seq === "4");
      assert.deepEqual(seqsIn(s, roomId), ["1", "2", "3", "4"]);
      assert.deepEqual(
        s.frames.filter(isEvent(roomId)).map((f) => (f as EventFrame).event.messageCreated.text),
        ["before", "missed 1", "missed 2", "after"],
      );
    } finally {
      await s.close();
      await edge.close();
      await again.close();
    }
  } finally {
    await edge.close();
    await chat.close();
  }
});

test("presence: a user's socket opening and closing reaches the rooms they share", async () => {
  const carol = await system.signUp("carol_ws");
  const roomId = await createRoom(bob, { memberIds: [carol.id] });
  const watcher = await system.readySocket(bob.token);
  watcher.send({ ref: "sub", subscribe: { roomId } });
  await watcher.next((f) => f.ref === "sub");
  type PresenceFrame = Frame & { event: { roomId: string; presence?: { userId: string; online?: boolean } } };
  const presenceOf = (online: boolean) => (f: Frame) => {
    const p = (f as PresenceFrame).event?.presence;
    return p?.userId === carol.id && (p.online ?? false) === online;
  };

  const s = await system.readySocket(carol.token);
  await watcher.next(presenceOf(true));
  await s.close();
  await watcher.next(presenceOf(false));
});

test("presence: an edge re-announces its users, so chat-svc's expiry never takes a connected user offline", async () => {
  // Entries live 1 s at this chat-svc; the edge refreshes every 300 ms, spread over that interval.
  const chat = await system.startChatInstance(0, { PRESENCE_TTL_SECONDS: "1" });
  const edge = await system.startEdge({ CHAT_SVC_URL: chat.url }, { presenceIntervalMs: 300 });
  try {
    const dave = await system.signUp("dave_ws");
    const roomId = await createRoom(bob, { memberIds: [dave.id] });
    const watcher = await system.readySocket(bob.token, edge);
    watcher.send({ ref: "sub", subscribe: { roomId } });
    await watcher.next((f) => f.ref === "sub");
    type PresenceFrame = Frame & { event: { roomId: string; presence?: { userId: string; online?: boolean } } };
    const presenceOf = (f: Frame) => (f as PresenceFrame).event?.presence;
    const daves = () =>
      watcher.frames.filter((f) => presenceOf(f)?.userId === dave.id).map((f) => presenceOf(f)?.online ?? false);

    const s = await system.readySocket(dave.token, edge);
    await waitUntil(() => daves().length > 0, 5_000, "dave online");
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    assert.deepEqual(daves(), [true], "three TTLs later, still online and never seen offline");
    await s.close();
    await waitUntil(() => daves().length > 1, 5_000, "dave offline");
    assert.deepEqual(daves(), [true, false]);
  } finally {
    await edge.close();
    await chat.close();
  }
});

test("a member removed from a room stops receiving it at once", async () => {
  const roomId = await createRoom(alice, { memberIds: [bob.id] });
  const s = await system.readySocket(bob.token);
  s.send({ ref: "sub", subscribe: { roomId } });
  await s.next((f) => f.ref === "sub");
  const removed = await fetch(`${system.edge.url}/parley.chat.v1.ChatService/RemoveMember`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "connect-protocol-version": "1",
      authorization: `Bearer ${alice.token}`,
    },
    body: JSON.stringify({ roomId, userId: bob.id }),
  });
  assert.equal(removed.status, 200, await removed.text());
  await s.next((f) => "event" in f && "memberChanged" in (f.event as object));
  const ended = await s.next((f) => "unsubscribed" in f);
  assert.deepEqual(ended, { unsubscribed: { roomId, reason: "REMOVED_FROM_ROOM" } });
  await sendRest(alice, roomId, "after removal");
  s.send({ ref: "p", ping: {} });
  await s.next((f) => f.ref === "p");
  assert.deepEqual(seqsIn(s, roomId), [], "no message after the removal");
});

test("resuming past one's own leave and return replays both and stays subscribed", async () => {
  const roomId = await createRoom(alice, { visibility: "public" });
  const join = () => system.api("POST", `/api/chats/rooms/${roomId}/join`, {}, bob.token);
  assert.equal((await join()).status, 200);
  const first = await system.readySocket(bob.token);
  first.send({ ref: "r", subscribe: { roomId } });
  const head = (await first.next((f) => f.ref === "r")).subscribed as { headEventSeq: string };
  await first.close();

  // Away: bob leaves and comes back, and a message is said after.
  const left = await system.api("POST", `/api/chats/rooms/${roomId}/leave`, {}, bob.token);
  assert.equal(left.status, 200, JSON.stringify(left.json));
  assert.equal((await join()).status, 200);
  await sendRest(alice, roomId, "while away");

  const s = await system.readySocket(bob.token);
  s.send({ ref: "r", subscribe: { roomId, afterEventSeq: head.headEventSeq } });
  await s.next((f) => isEvent(roomId)(f));
  await sendRest(alice, roomId, "live");
  await s.next((f) => isEvent(roomId)(f) && (f as EventFrame).event.messageCreated.text === "live");
  const changes = s.frames.flatMap((f) => {
    const change = "event" in f ? (f.event as { memberChanged?: { change: string } }).memberChanged : undefined;
    return change ? [change.change] : [];
  });
  assert.deepEqual(changes, ["CHANGE_LEFT", "CHANGE_JOINED"]);
  assert.equal(
    s.frames.some((f) => "unsubscribed" in f),
    false,
  );
  assert.deepEqual(
    s.frames.filter(isEvent(roomId)).map((f) => (f as EventFrame).event.messageCreated.text),
    ["while away", "live"],
  );
});

test("afterEventSeq 0 replays a room from its first event, which a new room (headEventSeq 0) needs", async () => {
  const roomId = await createRoom(alice);
  const fetched = await system.api("GET", `/api/chats/rooms/${roomId}`, undefined, alice.token);
  assert.equal((fetched.json.room as { headEventSeq?: string }).headEventSeq ?? "0", "0", "a new room's log is empty");
  // Sent between the client's fetch and its subscribe.
  await sendRest(alice, roomId, "first");
  await sendRest(alice, roomId, "second");
  const s = await system.readySocket(alice.token);
  s.send({ ref: "r", subscribe: { roomId, afterEventSeq: "0" } });
  const subscribed = await s.next((f) => f.ref === "r");
  assert.deepEqual(subscribed.subscribed, { roomId, headSeq: "2", headEventSeq: "2" });
  await s.next((f) => isEvent(roomId)(f) && (f as EventFrame).event.messageCreated.seq === "2");
  assert.deepEqual(seqsIn(s, roomId), ["1", "2"]);
});

type RoomAddedFrame = Frame & { roomAdded: { room: { id: string; name: string; headEventSeq?: string } } };
type RoomRemovedFrame = Frame & { roomRemoved: { roomId: string; reason: string } };
const roomAdded = (roomId: string) => (f: Frame) => (f as RoomAddedFrame).roomAdded?.room.id === roomId;
const roomRemoved = (roomId: string) => (f: Frame) => (f as RoomRemovedFrame).roomRemoved?.roomId === roomId;

test("a user's sockets hear of each room they gain or lose, on any device, without subscribing", async () => {
  const dave = await system.signUp("dana_feed");
  const phone = await system.readySocket(dave.token);
  const laptop = await system.readySocket(dave.token);
  const bystander = await system.readySocket(bob.token);

  // Created with dave in it.
  const created = await createRoom(alice, { memberIds: [dave.id] });
  for (const s of [phone, laptop]) {
    const added = (await s.next(roomAdded(created))) as RoomAddedFrame;
    assert.equal(added.roomAdded.room.name, "room");
  }
  // Added to a room, then removed from it.
  const group = await createRoom(alice);
  assert.equal(
    (await system.api("POST", `/api/chats/rooms/${group}/members`, { userIds: [dave.id] }, alice.token)).status,
    200,
  );
  const added = (await phone.next(roomAdded(group))) as RoomAddedFrame;
  assert.equal(added.roomAdded.room.headEventSeq, "1", "the room as it is after the add: its member_changed logged");
  assert.equal(
    (await system.api("DELETE", `/api/chats/rooms/${group}/members/${dave.id}`, undefined, alice.token)).status,
    200,
  );
  assert.deepEqual((await laptop.next(roomRemoved(group))) as Frame, {
    roomRemoved: { roomId: group, reason: "REMOVED_FROM_ROOM" },
  });
  // Joined on one device, left on the other.
  const open = await createRoom(alice, { visibility: "public" });
  assert.equal((await system.api("POST", `/api/chats/rooms/${open}/join`, {}, dave.token)).status, 200);
  await laptop.next(roomAdded(open));
  assert.equal((await system.api("POST", `/api/chats/rooms/${open}/leave`, {}, dave.token)).status, 200);
  assert.deepEqual((await phone.next(roomRemoved(open))) as Frame, {
    roomRemoved: { roomId: open, reason: "LEFT_ROOM" },
  });
  // A direct room someone opens with them.
  const direct = await system.api("POST", "/api/chats/direct", { userId: dave.id }, bob.token);
  assert.equal(direct.status, 201, JSON.stringify(direct.json));
  const directId = (direct.json.room as { id: string }).id;
  await phone.next(roomAdded(directId));
  await bystander.next(roomAdded(directId));

  // Only the user concerned hears of it: bob was in none of dave's other rooms.
  const told = (f: Frame) => "roomAdded" in f || "roomRemoved" in f;
  assert.deepEqual(
    bystander.frames.filter(told).map((f) => (f as RoomAddedFrame).roomAdded?.room.id),
    [directId],
  );
  assert.equal(phone.frames.filter((f) => "event" in f).length, 0, "nothing of the rooms' own events unasked");
});

test("GetRoom says which members are online now", async () => {
  const erin = await system.signUp("erin_ws");
  const frank = await system.signUp("frank_ws");
  const roomId = await createRoom(erin, { memberIds: [frank.id] });
  const online = async () => {
    const res = await system.api("GET", `/api/chats/rooms/${roomId}`, undefined, erin.token);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const members = (res.json.room as { members: { userId: string; online?: boolean }[] }).members;
    return Object.fromEntries(members.map((m) => [m.userId, m.online ?? false]));
  };
  assert.deepEqual(await online(), { [erin.id]: false, [frank.id]: false });
  const s = await system.readySocket(frank.token);
  await waitUntil(async () => (await online())[frank.id] === true, 10_000, "frank online");
  assert.equal((await online())[erin.id], false);
  await s.close();
  await waitUntil(async () => (await online())[frank.id] === false, 10_000, "frank offline");
});
