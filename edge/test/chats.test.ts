/**
 * The chat REST routes through the edge against real chat-svc: direct rooms,
 * room settings, my rooms with unread counts, public rooms, membership and
 * roles, replies, edits, deletions, reactions, read markers and the event
 * log; with hostile input on each.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type ApiResponse, assertError, type SignedUp, type System, startSystem } from "./harness.js";

let system: System;
let alice: SignedUp;
let bob: SignedUp;
let carol: SignedUp;

before(async () => {
  system = await startSystem();
  [alice, bob, carol] = [
    await system.signUp("alice_chat"),
    await system.signUp("bob_chat"),
    await system.signUp("carol_chat"),
  ];
});

after(async () => {
  await system?.close();
});

const api = (method: string, path: string, body?: unknown, token?: string) => system.api(method, path, body, token);

function ok(res: ApiResponse, status = 200) {
  assert.equal(res.status, status, JSON.stringify(res.json));
  return res.json;
}

interface Room {
  id: string;
  name: string;
  topic?: string;
  kind: string;
  memberIds: string[];
  members: { userId: string; role: string }[];
  headSeq: string;
  headEventSeq: string;
}

interface Message {
  id: string;
  seq: string;
  text: string;
  parentId: string;
  deleted: boolean;
  editedAt?: string;
  reactions: { emoji: string; userIds: string[] }[];
}

async function createRoom(owner: SignedUp, body: Record<string, unknown>): Promise<Room> {
  return ok(await api("POST", "/api/chats/rooms", { name: "room", ...body }, owner.token), 201).room as Room;
}

async function send(user: SignedUp, roomId: string, text: string, parentId?: string): Promise<Message> {
  const body = { roomId, text, ...(parentId ? { parentId } : {}) };
  return ok(await api("POST", "/api/chats/messages", body, user.token), 201).message as Message;
}

test("direct rooms: created once, found again, for two users only", async () => {
  const first = await api("POST", "/api/chats/direct", { userId: bob.id }, alice.token);
  const created = ok(first, 201) as { room: Room; created: boolean };
  assert.equal(created.created, true);
  assert.equal(created.room.kind, "ROOM_KIND_DIRECT");
  assert.deepEqual([...created.room.memberIds].sort(), [alice.id, bob.id].sort());
  const again = ok(await api("POST", "/api/chats/direct", { userId: alice.id }, bob.token)) as {
    room: Room;
    created: boolean;
  };
  assert.equal(again.created, false);
  assert.equal(again.room.id, created.room.id);
  assert.match(
    assertError(await api("POST", "/api/chats/direct", { userId: "nope" }, alice.token), 400, "invalid_argument")
      .message,
    /user_id/,
  );
  assertError(await api("POST", "/api/chats/direct", { userId: bob.id }), 401, "unauthenticated");
});

test("room settings: owners and admins rename and set the topic; members may not; roles by the owner", async () => {
  const room = await createRoom(alice, { visibility: "private", memberIds: [bob.id, carol.id] });
  const renamed = ok(
    await api(
      "PATCH",
      `/api/chats/rooms/${room.id}`,
      { name: "<b>Plans</b>", topic: "'; DROP TABLE rooms; --" },
      alice.token,
    ),
  ).room as Room;
  assert.deepEqual([renamed.name, renamed.topic], ["<b>Plans</b>", "'; DROP TABLE rooms; --"]);
  // A body naming another room does not redirect the call: the path decides.
  const other = await createRoom(carol, {});
  ok(await api("PATCH", `/api/chats/rooms/${room.id}`, { roomId: other.id, topic: "path wins" }, alice.token));
  assert.equal((ok(await api("GET", `/api/chats/rooms/${other.id}`, undefined, carol.token)).room as Room).topic, "");

  assertError(
    await api("PATCH", `/api/chats/rooms/${room.id}`, { topic: "mine now" }, bob.token),
    403,
    "permission_denied",
    "INSUFFICIENT_ROLE",
  );
  ok(await api("PUT", `/api/chats/rooms/${room.id}/members/${bob.id}/role`, { role: "admin" }, alice.token));
  const asAdmin = ok(await api("PATCH", `/api/chats/rooms/${room.id}`, { topic: "by bob" }, bob.token)).room as Room;
  assert.equal(asAdmin.topic, "by bob");
  assert.equal(asAdmin.name, "<b>Plans</b>", "an absent name is left alone");
  assert.equal(asAdmin.members.find((m) => m.userId === bob.id)?.role, "MEMBER_ROLE_ADMIN");
  ok(
    await api("PUT", `/api/chats/rooms/${room.id}/members/${bob.id}/role`, { role: "MEMBER_ROLE_MEMBER" }, alice.token),
  );
  assertError(
    await api("PATCH", `/api/chats/rooms/${room.id}`, { topic: "again" }, bob.token),
    403,
    "permission_denied",
  );

  for (const [body, field] of [
    [{ name: "" }, /name/],
    [{ name: "x".repeat(81) }, /name/],
    [{ topic: "x".repeat(251) }, /topic/],
    [{ name: 5 }, /name/],
    // One line of visible text.
    [{ name: "a\nb" }, /^name: must not contain line breaks/],
    [{ topic: "line\nbreak" }, /^topic: must not contain line breaks/],
  ] as const) {
    const error = assertError(
      await api("PATCH", `/api/chats/rooms/${room.id}`, body, alice.token),
      400,
      "invalid_argument",
    );
    assert.match(error.message, field);
  }
  for (const role of ["owner", "bogus", 7, "MEMBER_ROLE_OWNER"]) {
    const res = await api("PUT", `/api/chats/rooms/${room.id}/members/${bob.id}/role`, { role }, alice.token);
    assert.match(assertError(res, 400, "invalid_argument").message, /role/, String(role));
  }
  assertError(
    await api("PUT", `/api/chats/rooms/${room.id}/members/${bob.id}/role`, { role: "admin" }, bob.token),
    403,
    "permission_denied",
  );
  assert.match(
    assertError(await api("PATCH", "/api/chats/rooms/nope", { name: "x" }, alice.token), 400, "invalid_argument")
      .message,
    /room_id/,
  );
});

test("my rooms with the last message and unread count; read markers move forward only", async () => {
  const room = await createRoom(alice, { name: "unread", visibility: "private", memberIds: [bob.id] });
  await send(alice, room.id, "one");
  await send(alice, room.id, "two");
  const before = ok(await api("GET", "/api/chats/rooms", undefined, bob.token)).rooms as {
    room: Room;
    lastMessage?: Message;
    unreadCount: string;
    lastReadSeq: string;
  }[];
  const mine = before.find((r) => r.room.id === room.id);
  assert.ok(mine, "the room is listed");
  assert.equal(mine.lastMessage?.text, "two");
  assert.equal(mine.unreadCount, "2");
  assert.equal(mine.lastReadSeq, "0");
  // Most recently active first.
  assert.equal(before[0]?.room.id, room.id);

  assert.deepEqual(ok(await api("POST", `/api/chats/rooms/${room.id}/read`, { seq: "1" }, bob.token)), {
    lastReadSeq: "1",
    unreadCount: "1",
  });
  assert.deepEqual(ok(await api("POST", `/api/chats/rooms/${room.id}/read`, { seq: 99 }, bob.token)), {
    lastReadSeq: "2",
    unreadCount: "0",
  });
  assert.deepEqual(ok(await api("POST", `/api/chats/rooms/${room.id}/read`, { seq: "1" }, bob.token)), {
    lastReadSeq: "2",
    unreadCount: "0",
  });
  const afterRead = ok(await api("GET", "/api/chats/rooms", undefined, bob.token)).rooms as {
    room: Room;
    unreadCount: string;
  }[];
  assert.equal(afterRead.find((r) => r.room.id === room.id)?.unreadCount, "0");
  for (const seq of [-1, "x", null]) {
    const res = await api("POST", `/api/chats/rooms/${room.id}/read`, { seq }, bob.token);
    if (seq === null)
      ok(res); // null is the default: 0, which never moves a marker back
    else assert.match(assertError(res, 400, "invalid_argument").message, /seq/);
  }
  assertError(await api("POST", `/api/chats/rooms/${room.id}/read`, { seq: 1 }, carol.token), 404, "not_found");
  assertError(await api("GET", "/api/chats/rooms"), 401, "unauthenticated");
});

test("public rooms by name prefix; private ones never listed", async () => {
  await createRoom(alice, { name: "Lobby zeta" });
  await createRoom(alice, { name: "lobby eta" });
  await createRoom(alice, { name: "Lobby secret", visibility: "private" });
  const found = ok(await api("GET", "/api/chats/rooms/public?prefix=LOBBY", undefined, carol.token)).rooms as Room[];
  assert.deepEqual(found.map((r) => r.name).sort(), ["Lobby zeta", "lobby eta"]);
  const one = ok(await api("GET", "/api/chats/rooms/public?prefix=lobby&limit=1", undefined, carol.token))
    .rooms as Room[];
  assert.equal(one.length, 1);
  const none = ok(
    await api("GET", `/api/chats/rooms/public?prefix=${encodeURIComponent("%' OR 1=1 --")}`, undefined, carol.token),
  ).rooms as Room[];
  assert.deepEqual(none, []);
  for (const query of ["limit=abc", "limit=101", `prefix=${"x".repeat(81)}`]) {
    assertError(await api("GET", `/api/chats/rooms/public?${query}`, undefined, carol.token), 400, "invalid_argument");
  }
  assertError(await api("GET", "/api/chats/rooms/public"), 401, "unauthenticated");
});

test("members: added, kicked and leaving; a kicked member loses the room", async () => {
  const room = await createRoom(alice, { visibility: "private" });
  const added = ok(
    await api("POST", `/api/chats/rooms/${room.id}/members`, { userIds: [bob.id, carol.id] }, alice.token),
  ).room as Room;
  assert.deepEqual([...added.memberIds].sort(), [alice.id, bob.id, carol.id].sort());
  assert.equal(ok(await api("GET", `/api/chats/rooms/${room.id}`, undefined, carol.token)).room !== undefined, true);

  assertError(
    await api("DELETE", `/api/chats/rooms/${room.id}/members/${carol.id}`, undefined, bob.token),
    403,
    "permission_denied",
  );
  assert.deepEqual(
    ok(await api("DELETE", `/api/chats/rooms/${room.id}/members/${carol.id}`, undefined, alice.token)),
    {},
  );
  assertError(await api("GET", `/api/chats/rooms/${room.id}`, undefined, carol.token), 404, "not_found");
  assertError(
    await api("DELETE", `/api/chats/rooms/${room.id}/members/${alice.id}`, undefined, alice.token),
    403,
    "permission_denied",
  );

  assert.deepEqual(ok(await api("POST", `/api/chats/rooms/${room.id}/leave`, undefined, bob.token)), {});
  assertError(await api("GET", `/api/chats/rooms/${room.id}`, undefined, bob.token), 404, "not_found");
  const left = ok(await api("GET", `/api/chats/rooms/${room.id}`, undefined, alice.token)).room as Room;
  assert.deepEqual(left.memberIds, [alice.id]);

  for (const body of [
    { userIds: [] },
    { userIds: "x" },
    { userIds: ["not-a-uuid"] },
    { userIds: [bob.id, bob.id] },
    {},
  ]) {
    const res = await api("POST", `/api/chats/rooms/${room.id}/members`, body, alice.token);
    assert.match(assertError(res, 400, "invalid_argument").message, /user_ids|userIds/, JSON.stringify(body));
  }
  assert.match(
    assertError(
      await api("DELETE", `/api/chats/rooms/${room.id}/members/not-a-uuid`, undefined, alice.token),
      400,
      "invalid_argument",
    ).message,
    /user_id/,
  );
});

test("messages: replies, edits, deletions and reactions, then the same history as the event log", async () => {
  const room = await createRoom(alice, { visibility: "private", memberIds: [bob.id] });
  const start = BigInt(room.headEventSeq);
  const root = await send(alice, room.id, "<script>alert(1)</script>");
  assert.equal(root.text, "<script>alert(1)</script>", "stored verbatim; escaping is the renderer's job");
  const reply = await send(bob, room.id, "'; DROP TABLE messages; --", root.id);
  assert.equal(reply.parentId, root.id);
  const elsewhere = await createRoom(bob, {});
  const foreign = await send(bob, elsewhere.id, "other room");
  assertError(
    await api("POST", "/api/chats/messages", { roomId: room.id, text: "x", parentId: foreign.id }, bob.token),
    400,
    "invalid_argument",
    "PARENT_NOT_FOUND",
  );
  assert.match(
    assertError(
      await api("POST", "/api/chats/messages", { roomId: room.id, text: "x", parentId: "nope" }, bob.token),
      400,
      "invalid_argument",
    ).message,
    /parent_id/,
  );

  const messagePath = (m: Message) => `/api/chats/rooms/${room.id}/messages/${m.id}`;
  const edited = ok(await api("PATCH", messagePath(root), { text: "edited" }, alice.token)).message as Message;
  assert.equal(edited.text, "edited");
  assert.ok(edited.editedAt);
  assertError(
    await api("PATCH", messagePath(root), { text: "hijack" }, bob.token),
    403,
    "permission_denied",
    "NOT_YOUR_MESSAGE",
  );
  assert.match(
    assertError(await api("PATCH", messagePath(root), { text: "" }, alice.token), 400, "invalid_argument").message,
    /text/,
  );
  assert.match(
    assertError(
      await api("PATCH", `/api/chats/rooms/${room.id}/messages/nope`, { text: "x" }, alice.token),
      400,
      "invalid_argument",
    ).message,
    /message_id/,
  );

  const thumbs = encodeURIComponent("👍");
  const reacted = ok(await api("PUT", `${messagePath(reply)}/reactions/${thumbs}`, undefined, alice.token))
    .message as Message;
  assert.deepEqual(reacted.reactions, [{ emoji: "👍", userIds: [alice.id] }]);
  ok(await api("PUT", `${messagePath(reply)}/reactions/:tada:`, undefined, bob.token));
  const unreacted = ok(await api("DELETE", `${messagePath(reply)}/reactions/${thumbs}`, undefined, alice.token))
    .message as Message;
  assert.deepEqual(unreacted.reactions, [{ emoji: ":tada:", userIds: [bob.id] }]);
  assert.match(
    assertError(
      await api("PUT", `${messagePath(reply)}/reactions/${"x".repeat(33)}`, undefined, alice.token),
      400,
      "invalid_argument",
    ).message,
    /emoji/,
  );

  const deleted = ok(await api("DELETE", messagePath(reply), undefined, bob.token)).message as Message;
  assert.equal(deleted.deleted, true);
  assert.equal(deleted.text, "");
  assertError(
    await api("PATCH", messagePath(reply), { text: "back" }, bob.token),
    400,
    "failed_precondition",
    "MESSAGE_DELETED",
  );
  assertError(
    await api("PUT", `${messagePath(reply)}/reactions/${thumbs}`, undefined, alice.token),
    400,
    "failed_precondition",
    "MESSAGE_DELETED",
  );

  const log = ok(await api("GET", `/api/chats/rooms/${room.id}/events?after=${start}`, undefined, bob.token)) as {
    events: ({ eventSeq: string } & Record<string, unknown>)[];
    headEventSeq: string;
    hasMore: boolean;
    truncated: boolean;
  };
  const kinds = log.events.map((e) => Object.keys(e).find((k) => !["roomId", "eventSeq", "occurredAt"].includes(k)));
  assert.deepEqual(kinds, [
    "messageCreated",
    "messageCreated",
    "messageEdited",
    "reactionChanged",
    "reactionChanged",
    "reactionChanged",
    "messageDeleted",
  ]);
  assert.deepEqual(
    log.events.map((e) => BigInt(e.eventSeq)),
    Array.from({ length: 7 }, (_, i) => start + BigInt(i + 1)),
  );
  assert.equal(log.headEventSeq, String(start + 7n));
  assert.equal(log.hasMore, false);
  assert.equal(log.truncated, false);
  const page = ok(await api("GET", `/api/chats/rooms/${room.id}/events?after=${start}&limit=2`, undefined, bob.token));
  assert.equal((page.events as unknown[]).length, 2);
  assert.equal(page.hasMore, true);
  for (const query of ["after=abc", "after=-1", "limit=501", "limit=x"]) {
    assertError(
      await api("GET", `/api/chats/rooms/${room.id}/events?${query}`, undefined, bob.token),
      400,
      "invalid_argument",
    );
  }
  assertError(await api("GET", `/api/chats/rooms/${room.id}/events`, undefined, carol.token), 404, "not_found");
});

test("hostile bodies on the chat routes: 400s and 413s, never a crash", async () => {
  const room = await createRoom(alice, {});
  const cases: [string, string, unknown][] = [
    ["PATCH", `/api/chats/rooms/${room.id}`, '{"name":'],
    ["POST", `/api/chats/rooms/${room.id}/members`, "[]"],
    ["PUT", `/api/chats/rooms/${room.id}/members/${bob.id}/role`, '"admin"'],
    ["POST", `/api/chats/rooms/${room.id}/read`, "{seq: 1}"],
    ["POST", "/api/chats/direct", "null"],
    ["PATCH", `/api/chats/rooms/${room.id}/messages/${crypto.randomUUID()}`, "12"],
  ];
  for (const [method, path, body] of cases) {
    const res = await api(method, path, body, alice.token);
    assertError(res, 400, "invalid_argument");
  }
  const big = { text: "x".repeat(70 * 1024) };
  assertError(
    await api("PATCH", `/api/chats/rooms/${room.id}/messages/${crypto.randomUUID()}`, big, alice.token),
    413,
    "resource_exhausted",
    "PAYLOAD_TOO_LARGE",
  );
  assert.equal((await api("GET", "/healthz")).status, 200, "still serving");
});

test("users: only existing users become members; who may add them is the room's setting; adds are budgeted", async () => {
  // A direct room or a member add naming someone who does not exist.
  const nobody = crypto.randomUUID();
  const direct = assertError(await api("POST", "/api/chats/direct", { userId: nobody }, alice.token), 404, "not_found");
  assert.equal(direct.reason, "USER_NOT_FOUND");
  assert.match(direct.message, new RegExp(nobody));
  const room = await createRoom(alice, { name: "settings", visibility: "public", memberIds: [bob.id] });
  assert.equal((room as Room & { memberAddPolicy: string }).memberAddPolicy, "MEMBER_ADD_POLICY_ADMINS");
  assertError(
    await api("POST", `/api/chats/rooms/${room.id}/members`, { userIds: [carol.id, nobody] }, alice.token),
    404,
    "not_found",
  );
  assertError(await api("POST", "/api/chats/rooms", { name: "x", memberIds: [nobody] }, alice.token), 404, "not_found");

  // In a public room a plain member adds only themselves (by joining), until the room says otherwise.
  const refused = assertError(
    await api("POST", `/api/chats/rooms/${room.id}/members`, { userIds: [carol.id] }, bob.token),
    403,
    "permission_denied",
  );
  assert.equal(refused.reason, "INSUFFICIENT_ROLE");
  const opened = ok(await api("PATCH", `/api/chats/rooms/${room.id}`, { memberAddPolicy: "members" }, alice.token))
    .room as Room & { memberAddPolicy: string };
  assert.equal(opened.memberAddPolicy, "MEMBER_ADD_POLICY_MEMBERS");
  const added = ok(await api("POST", `/api/chats/rooms/${room.id}/members`, { userIds: [carol.id] }, bob.token))
    .room as Room;
  assert.deepEqual([...added.memberIds].sort(), [alice.id, bob.id, carol.id].sort());
  assertError(
    await api("PATCH", `/api/chats/rooms/${room.id}`, { memberAddPolicy: "everyone" }, alice.token),
    400,
    "invalid_argument",
  );

  // A flood of made-up ids spends the caller's minute: 429 with Retry-After, then nothing more.
  const flooder = await system.signUp("flooder_chat");
  const target = await createRoom(flooder, { name: "flood" });
  const made = () => Array.from({ length: 100 }, () => crypto.randomUUID());
  for (let i = 0; i < 3; i++) {
    assertError(
      await api("POST", `/api/chats/rooms/${target.id}/members`, { userIds: made() }, flooder.token),
      404,
      "not_found",
    );
  }
  const limited = await api("POST", `/api/chats/rooms/${target.id}/members`, { userIds: [alice.id] }, flooder.token);
  assert.equal(assertError(limited, 429, "resource_exhausted").reason, "MEMBER_ADDS_LIMITED");
  const retryAfter = Number(limited.headers.get("retry-after"));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
  const unchanged = ok(await api("GET", `/api/chats/rooms/${target.id}`, undefined, flooder.token)).room as Room;
  assert.deepEqual(unchanged.memberIds, [flooder.id]);
});
