/**
 * Account routes through the edge against real user-svc: refresh rotation
 * and reuse, logout and logout-all ending access at once (REST and
 * WebSocket), sessions, profiles, user search, rate limits as 429 with
 * Retry-After, the client address forwarded, and hostile input.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { TEST_REDIS_URL } from "@parley/shared/testing.js";
import { Redis } from "ioredis";
import { tokenClaims } from "../src/token-claims.js";
import {
  type ApiOptions,
  assertError,
  type Edge,
  type Frame,
  openSocket,
  type SignedUp,
  type System,
  startSystem,
  type TestSocket,
} from "./harness.js";

let system: System;
let alice: SignedUp;
/** Believes X-Forwarded-For from 127.0.0.1 (the tests' address). */
let proxied: Edge;

before(async () => {
  system = await startSystem({
    userEnv: {
      // Generous where the tests sign many users up from one address, tiny where a test hits the limit.
      RATE_LIMIT_REGISTER_PER_IP: "200/3600",
      RATE_LIMIT_VERIFY_OTP_PER_IP: "200/600",
      RATE_LIMIT_LOGIN_PER_IP: "200/600",
      RATE_LIMIT_LOGIN_PER_ACCOUNT: "2/600",
      RATE_LIMIT_RESEND_OTP_PER_IP: "4/600",
      OTP_RESEND_COOLDOWN: "2",
    },
  });
  proxied = await system.startEdge({ TRUST_PROXY: "127.0.0.1" });
  alice = await system.signUp("alice_acc");
});

after(async () => {
  await Promise.all(sockets.map((s) => s.close()));
  await system?.close();
});

const api = (method: string, path: string, body?: unknown, token?: string, opts?: ApiOptions) =>
  system.api(method, path, body, token, opts);

const sockets: TestSocket[] = [];

/** The socket is closed for its ended session (4401, after an `unauthenticated` error frame) within a few seconds. */
async function assertEnded(socket: TestSocket, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still open 5 s after its session ended`)), 5_000);
  });
  try {
    assert.equal((await Promise.race([socket.closed, late])).code, 4401, what);
  } finally {
    clearTimeout(timer);
  }
  assert.equal((socket.frames.at(-1)?.error as { code?: string } | undefined)?.code, "unauthenticated", what);
}

test("refresh rotates; a reused refresh token ends the session for REST and WebSocket alike", async () => {
  const u = await system.signUp("rita_acc");
  const first = await api("POST", "/api/users/refresh", { refreshToken: u.refreshToken });
  assert.equal(first.status, 200, JSON.stringify(first.json));
  const rotated = first.json as { accessToken: string; expiresIn: number; refreshToken: string };
  assert.ok(rotated.accessToken && rotated.refreshToken);
  assert.notEqual(rotated.refreshToken, u.refreshToken);
  assert.ok(rotated.expiresIn > 0);
  assert.equal((await api("GET", "/api/users/profile", undefined, rotated.accessToken)).status, 200);

  const open = await system.readySocket(rotated.accessToken);
  // The spent token comes back: someone holds a copy, so the whole session ends.
  assertError(
    await api("POST", "/api/users/refresh", { refreshToken: u.refreshToken }),
    401,
    "unauthenticated",
    "REFRESH_TOKEN_REUSED",
  );
  for (const token of [u.token, rotated.accessToken]) {
    assertError(await api("GET", "/api/users/profile", undefined, token), 401, "unauthenticated");
  }
  assertError(
    await api("POST", "/api/users/refresh", { refreshToken: rotated.refreshToken }),
    401,
    "unauthenticated",
    "REFRESH_TOKEN_INVALID",
  );
  // The socket opened with the session is closed without waiting for its next call.
  await assertEnded(open, "the socket of the reused session");
  // And a new socket with the token is refused at once.
  const again = await openSocket(system.edge.wsUrl, { headers: { authorization: `Bearer ${rotated.accessToken}` } });
  sockets.push(again);
  assert.equal((await again.closed).code, 4401);
});

test("logout ends the session at once: REST 401, its sockets closed on this edge and on every other", async () => {
  const u = await system.signUp("lou_acc");
  const other = await system.startEdge();
  try {
    const here = await system.readySocket(u.token);
    const there = await system.readySocket(u.token, other);
    const res = await api("POST", "/api/users/logout", undefined, u.token);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.deepEqual(res.json, {});
    await assertEnded(here, "the socket on the edge that took the logout");
    assertError(await api("GET", "/api/users/profile", undefined, u.token), 401, "unauthenticated");
    assertError(await api("POST", "/api/users/logout", undefined, u.token), 401, "unauthenticated");
    // The other edge hears of it from user-svc's notice, not at the socket's next call.
    await assertEnded(there, "the socket on the other edge");
  } finally {
    await other.close();
  }
  assertError(await api("POST", "/api/users/logout"), 401, "unauthenticated");
});

test("a session that ends while an edge is cut off from Redis: its sockets close at their next call, or when the edge is back", async () => {
  const u = await system.signUp("ava_acc");
  const calling = await system.readySocket(u.token);
  const quiet = await system.readySocket(u.token);
  const redis = new Redis(TEST_REDIS_URL);
  try {
    // The session goes with nobody told, as if its notice had been published while the edge was away.
    const sessionId = tokenClaims(u.token)?.sessionId;
    assert.ok(sessionId, "the access token names its session");
    assert.equal(await redis.del(`${system.redisKeyPrefix}session:${sessionId}`), 1);
    // A socket that calls is refused and closed...
    calling.send({ ref: "s", subscribe: { roomId: crypto.randomUUID() } });
    assert.equal(((await calling.next((f) => f.ref === "s")).error as { code: string }).code, "unauthenticated");
    assert.equal((await calling.closed).code, 4401);
    // ...one that does not is still open (pings need no session)...
    quiet.send({ ref: "p", ping: {} });
    await quiet.next((f) => f.ref === "p");
    assert.equal(quiet.ws.readyState, quiet.ws.OPEN);
    // ...until the edges' notice subscriptions come back and check the sessions of their open sockets.
    const clients = (await redis.client("LIST")) as string;
    const ids = clients
      .split("\n")
      .filter((line) => line.includes(` name=${system.redisKeyPrefix}edge:sessions-ended `))
      .map((line) => /\bid=(\d+)/.exec(line)?.[1]);
    assert.ok(ids.length >= 1, "every edge subscribes to the notices under its own name");
    for (const id of ids) await redis.client("KILL", "ID", id as string);
    await assertEnded(quiet, "the quiet socket after the edge's subscription came back");
  } finally {
    redis.disconnect();
  }
});

test("logout-all ends every session of the user and says how many", async () => {
  const u = await system.signUp("lena_acc");
  const second = await system.signIn(u);
  const bystander = await system.signUp("bysta_acc");
  const s1 = await system.readySocket(u.token);
  const s2 = await system.readySocket(second.token);
  const keeps = await system.readySocket(bystander.token);
  const res = await api("POST", "/api/users/logout-all", undefined, second.token);
  assert.equal(res.status, 200, JSON.stringify(res.json));
  assert.deepEqual(res.json, { sessionsEnded: 2 });
  assert.equal((await s1.closed).code, 4401);
  assert.equal((await s2.closed).code, 4401);
  for (const token of [u.token, second.token]) {
    assertError(await api("GET", "/api/users/profile", undefined, token), 401, "unauthenticated");
  }
  assert.equal((await api("GET", "/api/users/profile", undefined, bystander.token)).status, 200);
  keeps.send({ ref: "p", ping: {} });
  await keeps.next((f) => f.ref === "p");
  assert.equal(keeps.ws.readyState, keeps.ws.OPEN);
});

/** A unary UserService call with the Connect protocol (JSON), as Connect-Web makes it. */
function connectCall(method: string, token: string, body: unknown = {}): Promise<Response> {
  return fetch(`${system.edge.url}/parley.user.v1.UserService/${method}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "connect-protocol-version": "1",
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify(body),
  });
}

test("logout through Connect closes the session's sockets on this edge too", async () => {
  const u = await system.signUp("conn_acc");
  const s = await system.readySocket(u.token);
  const res = await connectCall("Logout", u.token);
  assert.equal(res.status, 200);
  assert.equal((await s.closed).code, 4401);
});

test("logout-all and profile changes through Connect reach this edge's sockets as through REST", async () => {
  const u = await system.signUp("conn_all");
  const second = await system.signIn(u);
  const s1 = await system.readySocket(u.token);
  const s2 = await system.readySocket(second.token);
  const before = await system.readySocket(u.token);
  const readyName = (s: typeof before) =>
    ((s.frames.find((f) => "ready" in f) as Frame).ready as { user: { displayName?: string } }).user.displayName;
  assert.equal(readyName(before), undefined);
  const updated = await connectCall("UpdateProfile", u.token, { displayName: "Connie" });
  assert.equal(updated.status, 200, await updated.clone().text());
  // The edge caches profiles for new sockets; the change must not wait for the cache to expire.
  const after = await system.readySocket(second.token);
  assert.equal(readyName(after), "Connie");

  const res = await connectCall("LogoutAll", second.token);
  assert.equal(res.status, 200);
  for (const s of [s1, s2, before, after]) assert.equal((await s.closed).code, 4401);
});

test("sessions: each sign-in with its address and user agent, the calling one marked current", async () => {
  const u = await system.signUp("sess_acc");
  // The spoofed header is not believed by a default edge: the address is the socket's.
  const second = await system.signIn(u, {
    headers: { "user-agent": "parley-test/2.0", "x-forwarded-for": "198.51.100.77" },
  });
  const res = await api("GET", "/api/users/sessions", undefined, second.token);
  assert.equal(res.status, 200, JSON.stringify(res.json));
  const sessions = res.json.sessions as {
    id: string;
    createdAt: string;
    lastUsedAt: string;
    userAgent: string;
    ip: string;
    current: boolean;
  }[];
  assert.equal(sessions.length, 2);
  const current = sessions.filter((s) => s.current);
  assert.equal(current.length, 1);
  assert.equal(current[0]?.userAgent, "parley-test/2.0");
  for (const s of sessions) {
    assert.equal(s.ip, "127.0.0.1");
    assert.ok(!Number.isNaN(Date.parse(s.createdAt)));
  }
  assertError(await api("GET", "/api/users/sessions"), 401, "unauthenticated");
});

test("with TRUST_PROXY the address is the one the trusted proxy forwarded", async () => {
  const u = await system.signUp("prox_acc");
  const viaProxy = await system.signIn(u, {
    baseUrl: proxied.url,
    headers: { "x-forwarded-for": "203.0.113.9, 127.0.0.1" },
  });
  const res = await api("GET", "/api/users/sessions", undefined, viaProxy.token);
  const sessions = res.json.sessions as { ip: string; current: boolean }[];
  assert.equal(sessions.find((s) => s.current)?.ip, "203.0.113.9");
  assert.equal(sessions.find((s) => !s.current)?.ip, "127.0.0.1");
});

test("rate limits answer 429 with Retry-After; X-Forwarded-For only counts through a trusted proxy", async () => {
  const resend = (email: string, opts?: ApiOptions) => api("POST", "/api/users/resend-otp", { email }, undefined, opts);
  // RATE_LIMIT_RESEND_OTP_PER_IP is 4/600: a spoofed header does not make a client someone else.
  for (let i = 0; i < 4; i++) {
    const ok = await resend(`nobody${i}@example.test`, { headers: { "x-forwarded-for": `192.0.2.${i}` } });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.equal(ok.json.otpExpiresIn, 300);
    assert.equal(ok.json.retryAfter, 2);
  }
  const limited = await resend("nobody9@example.test", { headers: { "x-forwarded-for": "192.0.2.99" } });
  assertError(limited, 429, "resource_exhausted", "RATE_LIMITED");
  const retryAfter = Number(limited.headers.get("retry-after"));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 600, `Retry-After ${retryAfter}`);

  // Through the trusted proxy each forwarded address has its own bucket; the per-email cooldown still holds.
  const viaProxy = { baseUrl: proxied.url, headers: { "x-forwarded-for": "203.0.113.60" } };
  assert.equal((await resend("cool@example.test", viaProxy)).status, 200);
  const cooldown = await resend("cool@example.test", viaProxy);
  assertError(cooldown, 429, "resource_exhausted", "OTP_RESEND_COOLDOWN");
  const wait = Number(cooldown.headers.get("retry-after"));
  assert.ok(wait >= 1 && wait <= 2, `Retry-After ${wait}`);

  // RATE_LIMIT_LOGIN_PER_ACCOUNT is 2/600.
  const login = () => api("POST", "/api/users/login", { username: "alice_acc", password: "not the password" });
  assertError(await login(), 401, "unauthenticated", "INVALID_CREDENTIALS");
  assertError(await login(), 401, "unauthenticated", "INVALID_CREDENTIALS");
  const locked = await login();
  assertError(locked, 429, "resource_exhausted", "RATE_LIMITED");
  assert.ok(Number(locked.headers.get("retry-after")) >= 1);

  // Browsers may read it.
  const cors = await fetch(`${system.edge.url}/api/users/login`, {
    method: "POST",
    headers: { origin: "http://app.example.test", "content-type": "application/json" },
    body: JSON.stringify({ username: "alice_acc", password: "x" }),
  });
  assert.equal(cors.status, 429);
  assert.match(cors.headers.get("access-control-expose-headers") ?? "", /retry-after/i);
});

test("resend-otp mails a fresh code for a pending login", async () => {
  const u = await system.signUp("resend_acc");
  assert.equal(
    (await api("POST", "/api/users/login", { email: u.email, password: "correct horse battery" })).status,
    200,
  );
  await system.takeOtp(u.email);
  const resend = () =>
    api("POST", "/api/users/resend-otp", { email: u.email, purpose: "login" }, undefined, {
      baseUrl: proxied.url,
      headers: { "x-forwarded-for": "203.0.113.61" },
    });
  // The login's code went out moments ago: a client told to wait (rounded up to whole seconds) waits once.
  let res = await resend();
  if (res.status === 429) {
    assertError(res, 429, "resource_exhausted", "OTP_RESEND_COOLDOWN");
    await new Promise((resolve) => setTimeout(resolve, Number(res.headers.get("retry-after")) * 1000));
    res = await resend();
  }
  assert.equal(res.status, 200, JSON.stringify(res.json));
  const otp = await system.takeOtp(u.email);
  const verified = await api("POST", "/api/users/verify-otp", { email: u.email, otp, purpose: "login" });
  assert.equal(verified.status, 200, JSON.stringify(verified.json));
});

test("profile: partial updates stored verbatim, short enum names accepted", async () => {
  const u = await system.signUp("prof_acc");
  // A socket first, so that the edge has the old profile at hand.
  const before = await system.readySocket(u.token);
  const readyUser = (s: TestSocket) =>
    ((s.frames.find((f) => "ready" in f) as Frame).ready as { user: { displayName?: string } }).user;
  assert.equal(readyUser(before).displayName, undefined);
  const hostile = {
    displayName: "Ada <b>Lovelace</b>",
    bio: "'; DROP TABLE users; --",
    statusText: '<script>alert("x")</script>',
    avatarUrl: "https://example.test/ada.png?x=%3Cy%3E",
    notificationLevel: "mentions_and_direct",
  };
  const res = await api("PATCH", "/api/users/profile", hostile, u.token);
  assert.equal(res.status, 200, JSON.stringify(res.json));
  const user = res.json.user as Record<string, unknown>;
  assert.deepEqual(
    [user.displayName, user.bio, user.statusText, user.avatarUrl, user.notificationLevel],
    [hostile.displayName, hostile.bio, hostile.statusText, hostile.avatarUrl, "NOTIFICATION_LEVEL_MENTIONS_AND_DIRECT"],
  );
  // Only what is given changes; an empty string clears.
  const partial = await api("PATCH", "/api/users/profile", { bio: "", notificationLevel: "none" }, u.token);
  const after = partial.json.user as Record<string, unknown>;
  assert.deepEqual(
    [after.displayName, after.bio, after.notificationLevel],
    [hostile.displayName, "", "NOTIFICATION_LEVEL_NONE"],
  );
  const full = await api("PATCH", "/api/users/profile", { notificationLevel: "NOTIFICATION_LEVEL_ALL" }, u.token);
  assert.equal((full.json.user as { notificationLevel: string }).notificationLevel, "NOTIFICATION_LEVEL_ALL");
  // New sockets see the change at once.
  const after2 = await system.readySocket(u.token);
  assert.equal(readyUser(after2).displayName, hostile.displayName);
  const got = await api("GET", "/api/users/profile", undefined, u.token);
  assert.equal((got.json.user as { displayName: string }).displayName, hostile.displayName);
  assert.equal((await api("PATCH", "/api/users/profile", {}, u.token)).status, 200);
  assertError(await api("PATCH", "/api/users/profile", { bio: "x" }), 401, "unauthenticated");
});

test("profile validation: 400 naming the field", async () => {
  const bad: [unknown, RegExp][] = [
    [{ displayName: "x".repeat(65) }, /display_name/],
    [{ bio: "x".repeat(501) }, /bio/],
    [{ statusText: "x".repeat(141) }, /status_text/],
    [{ avatarUrl: "javascript:alert(1)" }, /avatar_url/],
    [{ avatarUrl: "not a url" }, /avatar_url/],
    [{ notificationLevel: "loud" }, /notification_level: unknown value .*one of all, mentions_and_direct, none/],
    [{ notificationLevel: 99 }, /notification_level/],
    [{ notificationLevel: "unspecified" }, /notification_level/],
    [{ displayName: 42 }, /display_name|displayName/],
    [{ bio: ["a"] }, /bio/],
    [{ displayName: "nul\u0000byte" }, /display_name/],
    // Names that hide, show as nothing or pose as a @username; avatars over http.
    [{ displayName: "   " }, /^display_name: must contain a visible character/],
    [{ displayName: "two\nlines" }, /^display_name: must not contain line breaks/],
    [{ displayName: "zero\u200Bwidth" }, /^display_name: must not contain/],
    [{ displayName: "\u202Eevil" }, /^display_name: must not contain/],
    [{ displayName: "@alice" }, /^display_name: must not start with @/],
    [{ avatarUrl: "http://example.test/a.png" }, /^avatar_url: must be an https URL/],
  ];
  for (const [body, field] of bad) {
    const error = assertError(await api("PATCH", "/api/users/profile", body, alice.token), 400, "invalid_argument");
    assert.match(error.message, field, JSON.stringify(body));
  }
  assertError(
    await api("PATCH", "/api/users/profile", '{"bio": "x"', alice.token),
    400,
    "invalid_argument",
    "MALFORMED_JSON",
  );
  assertError(await api("PATCH", "/api/users/profile", [1], alice.token), 400, "invalid_argument");
  assertError(await api("PATCH", "/api/users/profile", '"text"', alice.token), 400, "invalid_argument");
  assertError(
    await api("PATCH", "/api/users/profile", { bio: "x".repeat(70 * 1024) }, alice.token),
    413,
    "resource_exhausted",
    "PAYLOAD_TOO_LARGE",
  );
});

test("search and public profiles", async () => {
  const [one, two] = [await system.signUp("zed_find_one"), await system.signUp("zed_find_two")];
  await api("PATCH", "/api/users/profile", { displayName: "Zed One" }, one.token);
  const found = await api("GET", "/api/users/search?prefix=ZED_find", undefined, alice.token);
  assert.equal(found.status, 200, JSON.stringify(found.json));
  const users = found.json.users as { id: string; username: string; displayName: string; email?: string }[];
  assert.deepEqual(users.map((u) => u.username).sort(), ["zed_find_one", "zed_find_two"]);
  assert.ok(
    users.every((u) => u.email === undefined),
    "public profiles carry no email",
  );
  const limited = await api("GET", "/api/users/search?prefix=zed_find&limit=1", undefined, alice.token);
  assert.equal((limited.json.users as unknown[]).length, 1);

  const profile = await api("GET", `/api/users/${one.id}`, undefined, two.token);
  assert.equal(profile.status, 200, JSON.stringify(profile.json));
  const user = profile.json.user as Record<string, unknown>;
  assert.deepEqual(
    [user.id, user.username, user.displayName, user.email],
    [one.id, "zed_find_one", "Zed One", undefined],
  );

  for (const [query, field] of [
    ["prefix=zed%25'%20OR%201%3D1%20--", /prefix/],
    ["prefix=", /prefix/],
    ["", /prefix/],
    ["prefix=zed&limit=abc", /limit/],
    ["prefix=zed&limit=51", /limit/],
    ["prefix=zed&limit=-1", /limit/],
  ] as const) {
    const error = assertError(
      await api("GET", `/api/users/search?${query}`, undefined, alice.token),
      400,
      "invalid_argument",
    );
    assert.match(error.message, field, query);
  }
  assert.match(
    assertError(await api("GET", "/api/users/not-a-uuid", undefined, alice.token), 400, "invalid_argument").message,
    /user_id/,
  );
  assertError(
    await api("GET", `/api/users/${crypto.randomUUID()}`, undefined, alice.token),
    404,
    "not_found",
    "USER_NOT_FOUND",
  );
  assertError(await api("GET", "/api/users/search?prefix=zed"), 401, "unauthenticated");
  assertError(await api("GET", `/api/users/${one.id}`), 401, "unauthenticated");
});

test("hostile input on the token routes: 400 naming the field, never a crash", async () => {
  const refresh = (body: unknown) => api("POST", "/api/users/refresh", body);
  assert.match(assertError(await refresh({ refreshToken: 123 }), 400, "invalid_argument").message, /refresh_?token/i);
  assert.match(assertError(await refresh({ refreshToken: "" }), 400, "invalid_argument").message, /refresh_token/);
  assert.match(assertError(await refresh({}), 400, "invalid_argument").message, /refresh_token/);
  assert.match(
    assertError(await refresh({ refreshToken: "x".repeat(513) }), 400, "invalid_argument").message,
    /refresh_token/,
  );
  assertError(await refresh({ refreshToken: "' OR 1=1; --" }), 401, "unauthenticated", "REFRESH_TOKEN_INVALID");
  assertError(await refresh('{"refreshToken":'), 400, "invalid_argument", "MALFORMED_JSON");
  assertError(await refresh({ refreshToken: "x".repeat(70 * 1024) }), 413, "resource_exhausted", "PAYLOAD_TOO_LARGE");

  const resend = (body: unknown) => api("POST", "/api/users/resend-otp", body);
  assert.match(assertError(await resend({ email: "<script>@x" }), 400, "invalid_argument").message, /email/);
  assert.match(
    assertError(await resend({ email: "a@example.test", purpose: "bogus" }), 400, "invalid_argument").message,
    /purpose/,
  );
  assert.match(
    assertError(await resend({ email: "a@example.test", purpose: 99 }), 400, "invalid_argument").message,
    /purpose/,
  );
  assertError(await resend("not json"), 400, "invalid_argument", "MALFORMED_JSON");
  assertError(await resend(null), 400, "invalid_argument");
  assertError(await api("POST", "/api/users/logout-all", undefined, "garbage"), 401, "unauthenticated");
});
