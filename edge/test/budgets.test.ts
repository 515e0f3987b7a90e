/**
 * A user's send budget (chat-svc's, per user) is one whichever door the
 * sends come through: REST and Connect answer 429 with Retry-After past it,
 * the WebSocket an error frame, and the refused are not stored. The budget
 * refills at 1 a second here, so each door is tried until it refuses.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type Frame, request, type SignedUp, type System, startSystem, type TestSocket } from "./harness.js";

const BURST = 4;

let system: System;
let alice: SignedUp;

before(async () => {
  system = await startSystem({ chatEnv: { USER_SEND_RATE: "1", USER_SEND_BURST: String(BURST) } });
  alice = await system.signUp("alice_budget");
});

after(async () => {
  await system?.close();
});

interface Answer {
  accepted: boolean;
  status?: number;
  retryAfter?: string | null;
  error?: { code: string; message: string; reason: string };
}

async function overRest(roomId: string): Promise<Answer> {
  const res = await system.api("POST", "/api/chats/messages", { roomId, text: "over REST" }, alice.token);
  const error = res.json.error as Answer["error"];
  return { accepted: res.status === 201, status: res.status, retryAfter: res.headers.get("retry-after"), error };
}

async function overConnect(roomId: string): Promise<Answer> {
  const res = await fetch(`${system.edge.url}/parley.chat.v1.ChatService/SendMessage`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "connect-protocol-version": "1",
      authorization: `Bearer ${alice.token}`,
    },
    body: JSON.stringify({ roomId, text: "over Connect" }),
  });
  const body = (await res.json()) as { code?: string; message?: string };
  return {
    accepted: res.status === 200,
    status: res.status,
    retryAfter: res.headers.get("retry-after"),
    ...(body.code ? { error: { code: body.code, message: body.message ?? "", reason: "" } } : {}),
  };
}

async function overSocket(socket: TestSocket, roomId: string): Promise<Answer> {
  const frame: Frame = await request(socket, { send: { roomId, text: "over the WebSocket" } });
  const error = frame.error as Answer["error"];
  return { accepted: "ack" in frame, ...(error ? { error } : {}) };
}

/** Tries until the door refuses (the budget may refill a token between tries); the refusal and the sends taken. */
async function refusedBy(door: () => Promise<Answer>): Promise<{ refusal: Answer; taken: number }> {
  for (let taken = 0; taken < 3; taken++) {
    const answer = await door();
    if (!answer.accepted) return { refusal: answer, taken };
  }
  assert.fail("the budget never ran out");
}

test("one send budget per user across REST, Connect and the WebSocket; past it 429 + Retry-After, or an error frame", async () => {
  const created = await system.api("POST", "/api/chats/rooms", { name: "budgets" }, alice.token);
  const roomId = (created.json.room as { id: string }).id;
  const socket = await system.readySocket(alice.token);

  // The burst, spent through every door (the socket's own pace allows 40 at once).
  const spent = [
    await overRest(roomId),
    await overConnect(roomId),
    await overSocket(socket, roomId),
    await overRest(roomId),
  ];
  assert.deepEqual(
    spent.map((a) => a.accepted),
    [true, true, true, true],
  );

  const ws = await refusedBy(() => overSocket(socket, roomId));
  assert.equal(ws.refusal.error?.code, "resource_exhausted");
  assert.equal(ws.refusal.error?.reason, "RATE_LIMITED");
  assert.match(ws.refusal.error?.message ?? "", /^too many messages: .*try again in \d+ s$/);
  assert.equal(socket.ws.readyState, socket.ws.OPEN, "the socket stays open");

  const rest = await refusedBy(() => overRest(roomId));
  assert.equal(rest.refusal.status, 429);
  assert.match(rest.refusal.retryAfter ?? "", /^[1-9]\d*$/);
  assert.equal(rest.refusal.error?.code, "resource_exhausted");
  assert.equal(rest.refusal.error?.reason, "RATE_LIMITED");

  const connect = await refusedBy(() => overConnect(roomId));
  assert.equal(connect.refusal.status, 429);
  assert.match(connect.refusal.retryAfter ?? "", /^[1-9]\d*$/);
  assert.equal(connect.refusal.error?.code, "resource_exhausted");

  const listed = await system.api("GET", `/api/chats/rooms/${roomId}/messages`, undefined, alice.token);
  assert.equal(
    (listed.json.messages as unknown[]).length,
    BURST + ws.taken + rest.taken + connect.taken,
    "exactly the accepted sends are stored",
  );
});
