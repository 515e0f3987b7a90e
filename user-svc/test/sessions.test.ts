/**
 * Sessions: rotating refresh tokens with reuse detection, Logout and
 * LogoutAll taking effect at once for every service that checks tokens, and
 * ListSessions showing what the edge forwarded about each client.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, test } from "node:test";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { createTokenKeys } from "@parley/shared/auth.js";
import { createAuthenticator, sessionKey } from "@parley/shared/sessions.js";
import { decodeJwt } from "jose";
import { sessionMetaKey, userSessionsKey } from "../src/domain/sessions.js";
import { bearer, type Harness, rejectsWith, type SignedUp, startHarness } from "./harness.js";

let h: Harness;

before(async () => {
  h = await startHarness();
});

after(async () => {
  await h?.close();
});

/** What chat-svc (or any other service) does with a token: shared keys, shared Redis, its own authenticator. */
function otherService() {
  return createAuthenticator({
    keys: createTokenKeys(h.config.JWT_SECRET),
    redis: h.infra.redis,
    prefix: h.config.REDIS_KEY_PREFIX,
  });
}

async function assertRevoked(accessToken: string): Promise<void> {
  await rejectsWith(h.client.getProfile({}, bearer(accessToken)), Code.Unauthenticated, "UNAUTHENTICATED");
  await rejectsWith(otherService().authenticateToken(accessToken), Code.Unauthenticated, "UNAUTHENTICATED");
}

/** A second sign-in of the same account, from the given client. */
async function signInAgain(user: SignedUp, headers: Record<string, string> = {}) {
  await h.client.login({ identifier: { case: "email", value: user.email }, password: user.password }, { headers });
  const { otp } = await h.takeOtp(user.email);
  return h.client.verifyOtp({ email: user.email, otp }, { headers });
}

const sid = (accessToken: string) => String(decodeJwt(accessToken).sid);

test("VerifyOtp returns an opaque refresh token, stored only as a digest bound to the session", async () => {
  const user = await h.signUp("rita");
  assert.match(user.refreshToken, /^[A-Za-z0-9_-]{43}$/);
  const prefix = h.config.REDIS_KEY_PREFIX;
  const digest = createHash("sha256").update(user.refreshToken).digest("hex");
  const stored = await h.infra.redis.hgetall(`${prefix}refresh:${digest}`);
  assert.deepEqual(stored, { sid: sid(user.accessToken), userId: user.userId, state: "current" });
  const keys = await h.infra.redis.keys(`${prefix}*`);
  for (const key of keys) {
    const type = await h.infra.redis.type(key);
    const dump = type === "hash" ? JSON.stringify(await h.infra.redis.hgetall(key)) : "";
    assert.ok(!key.includes(user.refreshToken) && !dump.includes(user.refreshToken), `token found in ${key}`);
  }
  const ttl = await h.infra.redis.ttl(`${prefix}refresh:${digest}`);
  assert.ok(ttl > h.config.SESSION_TTL - 60 && ttl <= h.config.SESSION_TTL, `ttl ${ttl}`);
});

test("refresh rotation: a new access and refresh token for the same session, again and again", async () => {
  const user = await h.signUp("sam");
  const session = sessionKey(h.config.REDIS_KEY_PREFIX, sid(user.accessToken));
  // Half-way through its life: each refresh gives the session SESSION_TTL again.
  await h.infra.redis.expire(session, 100);
  let refresh = user.refreshToken;
  for (let i = 0; i < 3; i++) {
    const next = await h.client.refreshToken({ refreshToken: refresh });
    assert.notEqual(next.refreshToken, refresh);
    assert.equal(next.expiresIn, h.config.ACCESS_TOKEN_TTL);
    assert.equal(sid(next.accessToken), sid(user.accessToken));
    const profile = await h.client.getProfile({}, bearer(next.accessToken));
    assert.equal(profile.user?.id, user.userId);
    refresh = next.refreshToken;
  }
  const ttl = await h.infra.redis.ttl(session);
  assert.ok(ttl > h.config.SESSION_TTL - 60, `session ttl ${ttl}`);
  // The first access token belongs to the same live session and keeps working until it expires.
  await h.client.getProfile({}, bearer(user.accessToken));
});

test("a rotated refresh token presented again ends the whole session, access tokens included", async () => {
  const user = await h.signUp("tess");
  const other = await signInAgain(user);
  const rotated = await h.client.refreshToken({ refreshToken: user.refreshToken });

  // The thief (or the owner) replays the spent token.
  await rejectsWith(
    h.client.refreshToken({ refreshToken: user.refreshToken }),
    Code.Unauthenticated,
    "REFRESH_TOKEN_REUSED",
  );
  await assertRevoked(user.accessToken);
  await assertRevoked(rotated.accessToken);
  // The newest token of the family is dead too.
  await rejectsWith(
    h.client.refreshToken({ refreshToken: rotated.refreshToken }),
    Code.Unauthenticated,
    "REFRESH_TOKEN_INVALID",
  );
  // Only that session: the user's other sign-in is untouched.
  await h.client.getProfile({}, bearer(other.accessToken));
  await h.client.refreshToken({ refreshToken: other.refreshToken });
  assert.equal(await h.infra.redis.exists(sessionMetaKey(h.config.REDIS_KEY_PREFIX, sid(user.accessToken))), 0);
});

test("two concurrent refreshes with one token: one wins, the other is reuse and ends the session", async () => {
  const user = await h.signUp("uma");
  const results = await Promise.allSettled([
    h.client.refreshToken({ refreshToken: user.refreshToken }),
    h.client.refreshToken({ refreshToken: user.refreshToken }),
  ]);
  assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
  await assertRevoked(user.accessToken);
});

test("an unknown, malformed or empty refresh token is refused without touching anything", async () => {
  const user = await h.signUp("vic");
  await rejectsWith(
    h.client.refreshToken({ refreshToken: "A".repeat(43) }),
    Code.Unauthenticated,
    "REFRESH_TOKEN_INVALID",
  );
  await rejectsWith(h.client.refreshToken({ refreshToken: "" }), Code.InvalidArgument, "INVALID_ARGUMENT");
  await rejectsWith(h.client.refreshToken({ refreshToken: "x".repeat(513) }), Code.InvalidArgument, "INVALID_ARGUMENT");
  // An access token is not a refresh token.
  await rejectsWith(
    h.client.refreshToken({ refreshToken: user.accessToken }),
    Code.Unauthenticated,
    "REFRESH_TOKEN_INVALID",
  );
  await h.client.getProfile({}, bearer(user.accessToken));
  await h.client.refreshToken({ refreshToken: user.refreshToken });
});

test("Logout ends the caller's session at once in every service; the user's other session lives on", async () => {
  const user = await h.signUp("walt");
  const second = await signInAgain(user);
  assert.equal((await otherService().authenticateToken(user.accessToken)).userId, user.userId);

  await h.client.logout({}, bearer(user.accessToken));
  await assertRevoked(user.accessToken);
  await rejectsWith(
    h.client.refreshToken({ refreshToken: user.refreshToken }),
    Code.Unauthenticated,
    "REFRESH_TOKEN_INVALID",
  );
  await rejectsWith(h.client.logout({}, bearer(user.accessToken)), Code.Unauthenticated, "UNAUTHENTICATED");

  const profile = await h.client.getProfile({}, bearer(second.accessToken));
  assert.equal(profile.user?.id, user.userId);
  const listed = await h.client.listSessions({}, bearer(second.accessToken));
  assert.deepEqual(
    listed.sessions.map((s) => s.id),
    [sid(second.accessToken)],
  );
});

test("LogoutAll ends every session of the caller, including a second one, and nobody else's", async () => {
  const user = await h.signUp("xena");
  const second = await signInAgain(user);
  const third = await signInAgain(user);
  const bystander = await h.signUp("yuri");

  const { sessionsEnded } = await h.client.logoutAll({}, bearer(second.accessToken));
  assert.equal(sessionsEnded, 3);
  for (const token of [user.accessToken, second.accessToken, third.accessToken]) await assertRevoked(token);
  for (const refresh of [user.refreshToken, second.refreshToken, third.refreshToken]) {
    await rejectsWith(h.client.refreshToken({ refreshToken: refresh }), Code.Unauthenticated, "REFRESH_TOKEN_INVALID");
  }
  assert.equal(await h.infra.redis.scard(userSessionsKey(h.config.REDIS_KEY_PREFIX, user.userId)), 0);
  await h.client.getProfile({}, bearer(bystander.accessToken));

  // Signing in again afterwards works and starts from one session.
  const fresh = await signInAgain(user);
  const listed = await h.client.listSessions({}, bearer(fresh.accessToken));
  assert.equal(listed.sessions.length, 1);
});

test("ListSessions marks the current session and shows the user agent and address the edge forwarded", async () => {
  const user = await h.signUp("zoe");
  const browser = {
    "x-client-user-agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
    "x-client-ip": "198.51.100.23",
  };
  const started = Date.now();
  const fromBrowser = await signInAgain(user, h.fromEdge(browser).headers);

  const { sessions } = await h.client.listSessions({}, bearer(fromBrowser.accessToken));
  assert.equal(sessions.length, 2);
  const current = sessions.find((s) => s.current);
  assert.equal(current?.id, sid(fromBrowser.accessToken));
  assert.equal(current?.userAgent, browser["x-client-user-agent"]);
  assert.equal(current?.ip, "198.51.100.23");
  assert.ok(current?.createdAt && current.lastUsedAt);
  assert.ok(Math.abs(timestampDate(current.createdAt).getTime() - started) < 10_000);

  // The sign-up session came straight over gRPC: the peer address and the gRPC client's user agent.
  const direct = sessions.find((s) => !s.current);
  assert.equal(direct?.id, sid(user.accessToken));
  assert.equal(direct?.ip, "127.0.0.1");
  assert.match(direct?.userAgent ?? "", /connect-es|grpc/);

  // The other session sees the same two, with itself as current.
  const fromOther = await h.client.listSessions({}, bearer(user.accessToken));
  assert.deepEqual(
    fromOther.sessions.filter((s) => s.current).map((s) => s.id),
    [sid(user.accessToken)],
  );
});

test("a forwarded address that is not an IP is ignored in favour of the peer address", async () => {
  const user = await h.signUp("abe");
  const session = await signInAgain(user, h.fromEdge({ "x-client-ip": "'); drop table users; --" }).headers);
  const { sessions } = await h.client.listSessions({}, bearer(session.accessToken));
  assert.equal(sessions.find((s) => s.current)?.ip, "127.0.0.1");
});

test("without the edge's service token the forwarded address and user agent are ignored", async () => {
  const user = await h.signUp("ida");
  const session = await signInAgain(user, { "x-client-ip": "198.51.100.99", "x-client-user-agent": "Forged/1.0" });
  const current = (await h.client.listSessions({}, bearer(session.accessToken))).sessions.find((s) => s.current);
  assert.equal(current?.ip, "127.0.0.1");
  assert.match(current?.userAgent ?? "", /connect-es|grpc/);
});

test("lastUsedAt follows use, written at most once a minute", async () => {
  const user = await h.signUp("bea");
  const meta = sessionMetaKey(h.config.REDIS_KEY_PREFIX, sid(user.accessToken));
  const lastUsed = async () => Number(await h.infra.redis.hget(meta, "lastUsedAt"));

  // Used 30 s ago: too recent to write again.
  const recent = Date.now() - 30_000;
  await h.infra.redis.hset(meta, "lastUsedAt", String(recent));
  await h.client.getProfile({}, bearer(user.accessToken));
  assert.equal(await lastUsed(), recent);

  // Used 2 min ago: this call is recorded.
  const old = Date.now() - 120_000;
  await h.infra.redis.hset(meta, "lastUsedAt", String(old));
  const before = Date.now();
  await h.client.getProfile({}, bearer(user.accessToken));
  assert.ok((await lastUsed()) >= before, "lastUsedAt was not updated");

  // A refresh records use as well.
  await h.infra.redis.hset(meta, "lastUsedAt", String(old));
  await h.client.refreshToken({ refreshToken: user.refreshToken });
  const { sessions } = await h.client.listSessions({}, bearer(user.accessToken));
  const touched = sessions[0]?.lastUsedAt;
  assert.ok(touched && timestampDate(touched).getTime() >= before, "refresh did not record use");
});

test("a session and its metadata expire together", async () => {
  const user = await h.signUp("cal");
  const prefix = h.config.REDIS_KEY_PREFIX;
  const session = await h.infra.redis.ttl(sessionKey(prefix, sid(user.accessToken)));
  const meta = await h.infra.redis.ttl(sessionMetaKey(prefix, sid(user.accessToken)));
  assert.ok(session > 0 && Math.abs(session - meta) <= 1, `session ${session} s, meta ${meta} s`);
  // An ended session disappears from the list even if only its key went (expiry).
  const second = await signInAgain(user);
  await h.infra.redis.del(sessionKey(prefix, sid(user.accessToken)));
  const { sessions } = await h.client.listSessions({}, bearer(second.accessToken));
  assert.deepEqual(
    sessions.map((s) => s.id),
    [sid(second.accessToken)],
  );
});

test("session calls need a live session", async () => {
  await rejectsWith(h.client.listSessions({}), Code.Unauthenticated, "UNAUTHENTICATED");
  await rejectsWith(h.client.logout({}), Code.Unauthenticated, "UNAUTHENTICATED");
  await rejectsWith(h.client.logoutAll({}, bearer("garbage")), Code.Unauthenticated, "UNAUTHENTICATED");
});
