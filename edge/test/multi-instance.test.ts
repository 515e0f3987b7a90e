/**
 * Two edges in front of two chat-svc instances (one each) sharing the
 * database and Redis: events committed through either instance reach
 * subscribers on both edges once and in event_seq order, and a client that
 * reconnects to the other edge resumes with exactly what it missed.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  type ChatInstance,
  type Edge,
  type Frame,
  request,
  type SignedUp,
  type System,
  startSystem,
  type TestSocket,
  waitUntil,
} from "./harness.js";

let system: System;
let chatB: ChatInstance;
let edgeA: Edge;
let edgeB: Edge;
let alice: SignedUp;
let bob: SignedUp;

before(async () => {
  system = await startSystem();
  chatB = await system.startChatInstance();
  edgeA = system.edge;
  edgeB = await system.startEdge({ CHAT_SVC_URL: chatB.url });
  [alice, bob] = [await system.signUp("alice_multi"), await system.signUp("bob_multi")];
});

after(async () => {
  await system?.close();
});

/** A frame's answer, which must not be an error. */
async function answered(socket: TestSocket, frame: Frame): Promise<Frame> {
  const answer = await request(socket, frame);
  assert.ok(!("error" in answer), JSON.stringify(answer));
  return answer;
}

async function createRoom() {
  const res = await system.api("POST", "/api/chats/rooms", { name: "multi", memberIds: [bob.id] }, alice.token);
  assert.equal(res.status, 201, JSON.stringify(res.json));
  return (res.json.room as { id: string }).id;
}

type EventJson = { roomId: string; eventSeq?: string; messageCreated?: { text: string } } & Record<string, unknown>;
const logged = (socket: TestSocket, roomId: string) =>
  socket.frames
    .filter((f) => "event" in f && (f.event as EventJson).roomId === roomId && (f.event as EventJson).eventSeq)
    .map((f) => f.event as EventJson);
const seqs = (socket: TestSocket, roomId: string) => logged(socket, roomId).map((e) => BigInt(e.eventSeq ?? "0"));

/** Strictly consecutive from `from + 1`: no gap, no duplicate, in order. */
function assertContiguous(actual: bigint[], from: bigint, count: number, what: string) {
  assert.deepEqual(
    actual,
    Array.from({ length: count }, (_, i) => from + BigInt(i + 1)),
    what,
  );
}

test("the two edges really use different chat-svc instances", () => {
  assert.notEqual(chatB.url, system.chatSvcUrl);
  assert.equal(chatB.streams(), 1, "edge B's one event stream is on instance B");
});

test("a message sent through edge A reaches a subscriber on edge B, and back", async () => {
  const roomId = await createRoom();
  const onA = await system.readySocket(alice.token, edgeA);
  const onB = await system.readySocket(bob.token, edgeB);
  const start = BigInt(
    ((await answered(onB, { subscribe: { roomId } })).subscribed as { headEventSeq?: string }).headEventSeq ?? "0",
  );
  await answered(onA, { subscribe: { roomId } });

  await answered(onA, { send: { roomId, text: "from A" } });
  await onB.next((f) => (f.event as EventJson | undefined)?.messageCreated?.text === "from A");
  await answered(onB, { send: { roomId, text: "from B" } });
  await onA.next((f) => (f.event as EventJson | undefined)?.messageCreated?.text === "from B");
  for (const s of [onA, onB]) assertContiguous(seqs(s, roomId), start, 2, "both, once, in order");
});

test("concurrent commits on both instances: every subscriber on both edges gets each event once, in event_seq order", async () => {
  const roomId = await createRoom();
  const watchers = [await system.readySocket(bob.token, edgeA), await system.readySocket(bob.token, edgeB)];
  let start = 0n;
  for (const w of watchers) {
    start = BigInt(
      ((await answered(w, { subscribe: { roomId } })).subscribed as { headEventSeq?: string }).headEventSeq ?? "0",
    );
  }
  const senders = [await system.readySocket(alice.token, edgeA), await system.readySocket(alice.token, edgeB)];
  const perSender = 25;
  await Promise.all(
    senders.map((s, i) =>
      Promise.all(Array.from({ length: perSender }, (_, n) => answered(s, { send: { roomId, text: `s${i}-${n}` } }))),
    ),
  );
  const total = perSender * senders.length;
  for (const w of watchers) {
    await waitUntil(() => seqs(w, roomId).length >= total, 15_000, "every event");
    await answered(w, { ping: {} });
    assertContiguous(seqs(w, roomId), start, total, "no gap, no duplicate, in order");
    const texts = logged(w, roomId).map((e) => e.messageCreated?.text);
    assert.equal(new Set(texts).size, total);
  }
});

test("reconnecting to the other edge with afterEventSeq resumes with exactly the missed events, while more arrive", async () => {
  const roomId = await createRoom();
  const sender = await system.readySocket(alice.token, edgeA);
  const senderB = await system.readySocket(alice.token, edgeB);
  const first = await system.readySocket(bob.token, edgeB);
  const start = BigInt(
    ((await answered(first, { subscribe: { roomId } })).subscribed as { headEventSeq?: string }).headEventSeq ?? "0",
  );
  const m = (await answered(sender, { send: { roomId, text: "seen" } })).ack as { message: { id: string } };
  await waitUntil(() => seqs(first, roomId).length === 1);
  const lastSeen = seqs(first, roomId).at(-1) as bigint;
  await first.close();

  // Missed: messages through both instances, an edit and a reaction.
  await answered(sender, { send: { roomId, text: "missed A" } });
  await answered(senderB, { send: { roomId, text: "missed B" } });
  await answered(senderB, { edit: { roomId, messageId: m.message.id, text: "seen, edited" } });
  await answered(sender, { react: { roomId, messageId: m.message.id, emoji: "👀" } });

  // Back, on the other edge; more is sent through both instances while it resumes.
  const back = await system.readySocket(bob.token, edgeA);
  const during = Promise.all(
    Array.from({ length: 20 }, (_, n) => answered(n % 2 ? sender : senderB, { send: { roomId, text: `during ${n}` } })),
  );
  const resumed = await answered(back, { subscribe: { roomId, afterEventSeq: String(lastSeen) } });
  assert.equal((resumed.subscribed as { truncated?: boolean }).truncated, undefined);
  await during;
  const total = 4 + 20;
  await waitUntil(() => seqs(back, roomId).length >= total, 15_000, "the missed and the new events");
  await answered(back, { ping: {} });
  assertContiguous(seqs(back, roomId), lastSeen, total, "exactly the missed events, then the new ones");
  assert.equal(lastSeen, start + 1n);
  const kinds = logged(back, roomId)
    .slice(0, 4)
    .map((e) => Object.keys(e).find((k) => !["roomId", "eventSeq", "occurredAt"].includes(k)));
  assert.deepEqual(kinds, ["messageCreated", "messageCreated", "messageEdited", "reactionChanged"]);
});

test("a user's sockets on both edges hear of a room gained or lost through either chat-svc instance", async () => {
  const onA = await system.readySocket(bob.token, edgeA);
  const onB = await system.readySocket(bob.token, edgeB);
  const added = (roomId: string) => (f: Frame) =>
    (f.roomAdded as { room?: { id: string } } | undefined)?.room?.id === roomId;
  const removed = (roomId: string) => (f: Frame) =>
    (f.roomRemoved as { roomId?: string } | undefined)?.roomId === roomId;

  // Created through edge B (chat-svc B), with bob in it.
  const viaB = await system.api("POST", "/api/chats/rooms", { name: "via B", memberIds: [bob.id] }, alice.token, {
    baseUrl: edgeB.url,
  });
  assert.equal(viaB.status, 201, JSON.stringify(viaB.json));
  const roomId = (viaB.json.room as { id: string }).id;
  await onA.next(added(roomId));
  await onB.next(added(roomId));
  // Removed through edge A (chat-svc A).
  const kicked = await system.api("DELETE", `/api/chats/rooms/${roomId}/members/${bob.id}`, undefined, alice.token);
  assert.equal(kicked.status, 200, JSON.stringify(kicked.json));
  for (const s of [onA, onB]) {
    assert.deepEqual(await s.next(removed(roomId)), { roomRemoved: { roomId, reason: "REMOVED_FROM_ROOM" } });
  }
});
