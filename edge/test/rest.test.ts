/**
 * REST and Connect through the edge to real user-svc and chat-svc: the seed's
 * flow, the JSON error shape with its statuses, CORS and /healthz.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { assertError as assertErrorResponse, type SignedUp, type System, startSystem } from "./harness.js";

let system: System;
let alice: SignedUp;

before(async () => {
  system = await startSystem();
  alice = await system.signUp("alice_rest");
});

after(async () => {
  await system?.close();
});

const api = (method: string, path: string, body?: unknown, token?: string) => system.api(method, path, body, token);

function assertError(
  res: { status: number; json: Record<string, unknown> },
  status: number,
  code: string,
  reason?: string,
) {
  const error = assertErrorResponse(res, status, code, reason);
  assert.equal(typeof error.message, "string");
  assert.ok(error.message.length > 0);
  return error;
}

test("register → OTP → verify → profile → create room → send → list", async () => {
  const email = "bob_rest@example.test";
  const reg = await api("POST", "/api/users/register", {
    email,
    username: "bob_rest",
    password: "correct horse battery",
  });
  assert.equal(reg.status, 201, JSON.stringify(reg.json));
  assert.match(reg.json.userId as string, /^[0-9a-f-]{36}$/);
  assert.equal(reg.json.otpExpiresIn, 300);

  const otp = await system.takeOtp(email);
  const verified = await api("POST", "/api/users/verify-otp", { email, otp, purpose: "verify_email" });
  assert.equal(verified.status, 200, JSON.stringify(verified.json));
  const token = verified.json.accessToken as string;
  assert.ok(token);
  assert.ok((verified.json.expiresIn as number) > 0);
  assert.equal((verified.json.user as { id: string }).id, reg.json.userId);

  const profile = await api("GET", "/api/users/profile", undefined, token);
  assert.equal(profile.status, 200);
  const user = profile.json.user as { id: string; email: string; username: string; verified: boolean };
  assert.deepEqual([user.id, user.email, user.username, user.verified], [reg.json.userId, email, "bob_rest", true]);

  const login = await api("POST", "/api/users/login", { username: "bob_rest", password: "correct horse battery" });
  assert.equal(login.status, 200, JSON.stringify(login.json));
  assert.equal(login.json.otpExpiresIn, 300);
  const loginOtp = await system.takeOtp(email);
  const loggedIn = await api("POST", "/api/users/verify-otp", { email, otp: loginOtp, purpose: "login" });
  assert.equal(loggedIn.status, 200, JSON.stringify(loggedIn.json));

  const created = await api(
    "POST",
    "/api/chats/rooms",
    { name: "general", visibility: "private", memberIds: [alice.id] },
    token,
  );
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const room = created.json.room as {
    id: string;
    name: string;
    visibility: string;
    headSeq: string;
    memberIds: string[];
  };
  assert.equal(room.name, "general");
  assert.equal(room.visibility, "ROOM_VISIBILITY_PRIVATE");
  assert.equal(room.headSeq, "0");
  assert.deepEqual([...room.memberIds].sort(), [alice.id, reg.json.userId].sort());

  const sent = await api("POST", "/api/chats/messages", { roomId: room.id, message: "Hello, World!" }, token);
  assert.equal(sent.status, 201, JSON.stringify(sent.json));
  const message = sent.json.message as { id: string; seq: string; text: string; senderId: string };
  assert.equal(message.seq, "1");
  assert.equal(message.text, "Hello, World!");
  assert.equal(message.senderId, reg.json.userId);
  const second = await api(
    "POST",
    "/api/chats/messages",
    { roomId: room.id, text: "second", clientMessageId: "c-2" },
    alice.token,
  );
  assert.equal(second.status, 201, JSON.stringify(second.json));

  const got = await api("GET", `/api/chats/rooms/${room.id}`, undefined, alice.token);
  assert.equal(got.status, 200);
  assert.equal((got.json.room as { headSeq: string }).headSeq, "2");

  const list = await api("GET", `/api/chats/rooms/${room.id}/messages`, undefined, alice.token);
  assert.equal(list.status, 200, JSON.stringify(list.json));
  assert.deepEqual(
    (list.json.messages as { seq: string; text: string }[]).map((m) => [m.seq, m.text]),
    [
      ["1", "Hello, World!"],
      ["2", "second"],
    ],
  );
  assert.equal(list.json.headSeq, "2");
  assert.equal(list.json.hasMore, false);

  const page = await api("GET", `/api/chats/rooms/${room.id}/messages?after=1&limit=1`, undefined, alice.token);
  assert.equal(page.status, 200, JSON.stringify(page.json));
  assert.deepEqual(
    (page.json.messages as { seq: string }[]).map((m) => m.seq),
    ["2"],
  );
  const first = await api("GET", `/api/chats/rooms/${room.id}/messages?after=0&limit=1`, undefined, alice.token);
  assert.deepEqual(
    (first.json.messages as { seq: string }[]).map((m) => m.seq),
    ["1"],
    "after=0 reads from the first message",
  );
  const older = await api("GET", `/api/chats/rooms/${room.id}/messages?before=2`, undefined, alice.token);
  assert.deepEqual(
    (older.json.messages as { seq: string }[]).map((m) => m.seq),
    ["1"],
  );
});

test("joining a public room", async () => {
  const carol = await system.signUp("carol_rest");
  const created = await api("POST", "/api/chats/rooms", { name: "lobby" }, alice.token);
  const roomId = (created.json.room as { id: string; visibility: string }).id;
  assert.equal((created.json.room as { visibility: string }).visibility, "ROOM_VISIBILITY_PUBLIC");
  assertError(
    await api("GET", `/api/chats/rooms/${roomId}/messages`, undefined, carol.token),
    403,
    "permission_denied",
  );
  const joined = await api("POST", `/api/chats/rooms/${roomId}/join`, undefined, carol.token);
  assert.equal(joined.status, 200, JSON.stringify(joined.json));
  assert.ok((joined.json.room as { memberIds: string[] }).memberIds.includes(carol.id));
  assert.equal((await api("GET", `/api/chats/rooms/${roomId}/messages`, undefined, carol.token)).status, 200);
});

test("malformed JSON or URL → 400 invalid_argument in the usual shape; a bodiless JSON request is {}", async () => {
  const res = await api("POST", "/api/users/register", '{"email": ');
  assertError(res, 400, "invalid_argument", "MALFORMED_JSON");

  const badUrl = await system.api("GET", "/api/chats/rooms/%ZZ", undefined, alice.token, {
    headers: { origin: "http://app.example" },
  });
  assertError(badUrl, 400, "invalid_argument", "BAD_URL");
  assert.equal(badUrl.headers.get("access-control-allow-origin"), "http://app.example", "readable by the page");

  const both = await api("POST", "/api/users/login", {
    email: "a@example.test",
    username: "alice",
    password: "whatever password",
  });
  assert.equal(
    assertError(both, 400, "invalid_argument", "INVALID_ARGUMENT").message,
    "identifier: give email or username, not both",
  );

  // Many clients label every request JSON, bodiless or not.
  const created = await api("POST", "/api/chats/rooms", { name: "open door" }, alice.token);
  const roomId = (created.json.room as { id: string }).id;
  const carol = await system.signUp("carol_empty");
  const joined = await system.api("POST", `/api/chats/rooms/${roomId}/join`, "", carol.token, {
    headers: { "content-type": "application/json" },
  });
  assert.equal(joined.status, 200, JSON.stringify(joined.json));
  assert.ok((joined.json.room as { memberIds: string[] }).memberIds.includes(carol.id));
});

test("validation → 400 naming the field", async () => {
  const bad = await api("POST", "/api/users/register", {
    email: "not-an-email",
    username: "ok_name",
    password: "correct horse battery",
  });
  const error = assertError(bad, 400, "invalid_argument", "INVALID_ARGUMENT");
  assert.match(error.message, /email/);

  const wrongType = await api("POST", "/api/chats/rooms", { name: 42 }, alice.token);
  assert.match(assertError(wrongType, 400, "invalid_argument").message, /name/);

  const notObject = await api("POST", "/api/chats/messages", [1, 2], alice.token);
  assertError(notObject, 400, "invalid_argument");

  const badId = await api("GET", "/api/chats/rooms/not-a-uuid", undefined, alice.token);
  assert.match(assertError(badId, 400, "invalid_argument").message, /room_id/);

  const badQuery = await api(
    "GET",
    `/api/chats/rooms/${crypto.randomUUID()}/messages?limit=abc`,
    undefined,
    alice.token,
  );
  assert.match(assertError(badQuery, 400, "invalid_argument").message, /limit/);
});

test("no or bad bearer → 401 unauthenticated", async () => {
  assertError(await api("GET", "/api/users/profile"), 401, "unauthenticated", "UNAUTHENTICATED");
  assertError(await api("GET", "/api/users/profile", undefined, "garbage"), 401, "unauthenticated");
  assertError(await api("POST", "/api/chats/rooms", { name: "x" }), 401, "unauthenticated");
});

test("unknown room → 404 with the service's reason; unknown route → 404; plain GET /ws → 426", async () => {
  assertError(
    await api("GET", `/api/chats/rooms/${crypto.randomUUID()}`, undefined, alice.token),
    404,
    "not_found",
    "ROOM_NOT_FOUND",
  );
  assertError(await api("GET", "/api/nope"), 404, "not_found", "ROUTE_NOT_FOUND");
  assertError(await api("GET", "/ws"), 426, "failed_precondition", "UPGRADE_REQUIRED");
});

test("a body over 64 KiB → 413", async () => {
  const res = await api(
    "POST",
    "/api/chats/messages",
    { roomId: crypto.randomUUID(), message: "x".repeat(70 * 1024) },
    alice.token,
  );
  assertError(res, 413, "resource_exhausted", "PAYLOAD_TOO_LARGE");
});

test("Connect protocol: unary JSON call with the bearer forwarded; errors keep code and details", async () => {
  const call = (token?: string) =>
    fetch(`${system.edge.url}/parley.user.v1.UserService/GetProfile`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "connect-protocol-version": "1",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: "{}",
    });
  const ok = await call(alice.token);
  assert.equal(ok.status, 200);
  const body = (await ok.json()) as { user: { id: string; username: string } };
  assert.equal(body.user.id, alice.id);
  assert.equal(body.user.username, "alice_rest");

  const denied = await call();
  assert.equal(denied.status, 401);
  const err = (await denied.json()) as {
    code: string;
    message: string;
    details?: { type: string; debug?: { reason: string } }[];
  };
  assert.equal(err.code, "unauthenticated");
  assert.equal(err.details?.[0]?.type, "parley.rpc.v1.ErrorInfo");
  assert.equal(err.details?.[0]?.debug?.reason, "UNAUTHENTICATED");

  const created = await fetch(`${system.edge.url}/parley.chat.v1.ChatService/CreateRoom`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "connect-protocol-version": "1",
      authorization: `Bearer ${alice.token}`,
    },
    body: JSON.stringify({ name: "via connect" }),
  });
  assert.equal(created.status, 200);
  assert.equal(((await created.json()) as { room: { name: string } }).room.name, "via connect");

  const stream = await fetch(`${system.edge.url}/parley.chat.v1.ChatService/StreamEvents`, {
    method: "POST",
    headers: {
      "content-type": "application/connect+json",
      "connect-protocol-version": "1",
      authorization: `Bearer ${alice.token}`,
    },
    body: Buffer.concat([Buffer.from([0, 0, 0, 0, 2]), Buffer.from("{}")]),
  });
  const text = await stream.text();
  assert.match(text, /permission_denied/, "StreamEvents is refused to browsers");
});

test("CORS: preflight allows Connect headers and authorization; responses expose Connect's headers", async () => {
  const origin = "http://app.example.test";
  const pre = await fetch(`${system.edge.url}/parley.user.v1.UserService/GetProfile`, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization,content-type,connect-protocol-version",
    },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get("access-control-allow-origin"), origin);
  const allowed = (pre.headers.get("access-control-allow-headers") ?? "").toLowerCase();
  for (const h of ["authorization", "content-type", "connect-protocol-version"]) assert.ok(allowed.includes(h), h);
  assert.match(pre.headers.get("access-control-allow-methods") ?? "", /POST/);

  const res = await fetch(`${system.edge.url}/api/users/profile`, {
    headers: { origin, authorization: `Bearer ${alice.token}` },
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("access-control-allow-origin"), origin);
  assert.match(res.headers.get("access-control-expose-headers") ?? "", /grpc-status/i);
});

test("CORS_ORIGINS restricts origins", async () => {
  const edge = await system.startEdge({ CORS_ORIGINS: "http://good.test" });
  try {
    const preflight = (origin: string) =>
      fetch(`${edge.url}/api/users/profile`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "GET" },
      });
    assert.equal((await preflight("http://good.test")).headers.get("access-control-allow-origin"), "http://good.test");
    assert.equal((await preflight("http://evil.test")).headers.get("access-control-allow-origin"), null);
  } finally {
    await edge.close();
  }
});

test("/healthz reports both services; 503 when one does not answer", async () => {
  const res = await fetch(`${system.edge.url}/healthz`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {
    status: "ok",
    services: { user: "serving", chat: "serving" },
    events: "open",
    sessions: "ready",
  });

  const edge = await system.startEdge({ USER_SVC_URL: "http://127.0.0.1:1" });
  try {
    const down = await fetch(`${edge.url}/healthz`);
    assert.equal(down.status, 503);
    const body = (await down.json()) as { status: string; services: unknown };
    assert.deepEqual([body.status, body.services], ["unavailable", { user: "unavailable", chat: "serving" }]);
    // And a call to the service that is down is a 503 unavailable, not a crash.
    const res = await fetch(`${edge.url}/api/users/profile`, { headers: { authorization: `Bearer ${alice.token}` } });
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), {
      error: { code: "unavailable", message: "user-svc is unavailable", reason: "SERVICE_UNAVAILABLE" },
    });
  } finally {
    await edge.close();
  }
});

test("a JSON body that is not UTF-8 → 400 invalid_argument, and nothing is stored", async () => {
  const created = await api("POST", "/api/chats/rooms", { name: "bytes" }, alice.token);
  const roomId = (created.json.room as { id: string }).id;
  const raw = Buffer.concat([
    Buffer.from(`{"roomId":"${roomId}","clientMessageId":"${crypto.randomUUID()}","text":"`),
    Buffer.from([0xff, 0xfe]),
    Buffer.from(' bad"}'),
  ]);
  const res = await fetch(`${system.edge.url}/api/chats/messages`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${alice.token}` },
    body: raw,
  });
  const text = await res.text();
  const error = assertError({ status: res.status, json: JSON.parse(text) }, 400, "invalid_argument", "MALFORMED_JSON");
  assert.match(error.message, /UTF-8/);
  const listed = await api("GET", `/api/chats/rooms/${roomId}/messages`, undefined, alice.token);
  assert.deepEqual(listed.json.messages, [], "nothing was stored with U+FFFD in place of the bad bytes");
});

test("Connect and gRPC-web: a body that is not the request message → invalid_argument, with or without a token", async () => {
  const call = (body: Buffer, contentType: string, token?: string) =>
    fetch(`${system.edge.url}/parley.user.v1.UserService/Register`, {
      method: "POST",
      headers: {
        "content-type": contentType,
        "connect-protocol-version": "1",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body,
    });
  const cases: [string, Buffer, string, string][] = [
    // Field number 0 does not exist: "illegal tag".
    ["illegal tag", Buffer.from([0x00, 0x00]), "application/proto", "MALFORMED_PROTOBUF"],
    // email (field 1, a string) holding bytes that are not UTF-8.
    ["invalid UTF-8 in a string", Buffer.from([0x0a, 0x02, 0xff, 0xfe]), "application/proto", "MALFORMED_PROTOBUF"],
    ["truncated", Buffer.from([0x0a, 0x0a, 0x61]), "application/proto", "MALFORMED_PROTOBUF"],
    [
      "JSON that is not UTF-8",
      Buffer.concat([Buffer.from('{"email":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
      "application/json",
      "MALFORMED_JSON",
    ],
    ["JSON that does not parse", Buffer.from('{"email": '), "application/json", "MALFORMED_JSON"],
  ];
  for (const token of [undefined, alice.token]) {
    for (const [what, body, contentType, reason] of cases) {
      const res = await call(body, contentType, token);
      const err = (await res.json()) as { code: string; message: string; details?: { debug?: { reason: string } }[] };
      assert.equal(res.status, 400, `${what}: ${JSON.stringify(err)}`);
      assert.equal(err.code, "invalid_argument", what);
      assert.equal(err.details?.[0]?.debug?.reason, reason, what);
      assert.match(err.message, /not a valid parley\.user\.v1\.RegisterRequest/, what);
    }
  }

  // gRPC-web (binary) answers 200 with the status in a trailer envelope.
  for (const [what, message] of cases.filter(([, , contentType]) => contentType === "application/proto")) {
    const envelope = Buffer.alloc(5);
    envelope.writeUInt32BE(message.byteLength, 1);
    const res = await call(Buffer.concat([envelope, message]), "application/grpc-web+proto");
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(body.readUInt8(0) & 0x80, 0x80, `${what}: the answer is a trailer alone`);
    const trailer = body.subarray(5).toString();
    assert.match(trailer, /grpc-status: 3\r\n/, `${what}: ${trailer}`);
    assert.match(decodeURIComponent(trailer), /not a valid parley\.user\.v1\.RegisterRequest/, what);
  }
});
