/**
 * Socket authentication: the session check on every socket, the profile
 * fetched once per user and shared, and failures kept apart.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { type User, UserSchema } from "@parley/proto/user/v1/user_pb.js";
import { unauthenticated } from "@parley/shared/errors.js";
import type { Authenticator } from "@parley/shared/sessions.js";
import type { UserClient } from "./clients.js";
import { createSocketAuth } from "./realtime/socket-auth.js";

/** A token whose claims name `user` and `session` (the fake authenticator accepts it by name). */
function token(user: string, session: string, exp = 2_000_000_000): string {
  const payload = Buffer.from(JSON.stringify({ sub: user, sid: session, exp })).toString("base64url");
  return `eyJhbGciOiJIUzI1NiJ9.${payload}.sig`;
}

function setup(opts: { ended?: Set<string>; redisDown?: boolean } = {}) {
  let now = 0;
  const profileCalls: string[] = [];
  const gates: (() => void)[] = [];
  let gated = false;
  const failing = new Set<string>();
  const authenticator = {
    async authenticateToken(t: string) {
      if (opts.redisDown) throw new Error("connect ECONNREFUSED");
      const claims = JSON.parse(Buffer.from(t.split(".")[1] ?? "", "base64url").toString()) as {
        sub: string;
        sid: string;
        exp: number;
      };
      if (opts.ended?.has(claims.sid)) throw unauthenticated("the session has ended; sign in again");
      // As the real authenticator answers: the identity and the token's expiry.
      return { userId: claims.sub, sessionId: claims.sid, username: claims.sub, expiresAtMs: claims.exp * 1000 };
    },
  } as unknown as Authenticator;
  const user = {
    async getProfile(_req: unknown, options: { headers: Headers }) {
      const t = new Headers(options.headers).get("authorization")?.replace("Bearer ", "") ?? "";
      profileCalls.push(t);
      if (gated) await new Promise<void>((resolve) => gates.push(resolve));
      if (failing.has(t)) throw unauthenticated();
      const sub = JSON.parse(Buffer.from(t.split(".")[1] ?? "", "base64url").toString()).sub as string;
      return { user: create(UserSchema, { id: sub, username: `name-${sub}-${profileCalls.length}` }) };
    },
  } as unknown as UserClient;
  const auth = createSocketAuth({ authenticator, user, profileTtlMs: 1_000, now: () => now });
  const call = (t: string) => ({ headers: new Headers({ authorization: `Bearer ${t}` }) });
  return {
    auth,
    call,
    profileCalls,
    advance: (ms: number) => {
      now += ms;
    },
    gate: (on: boolean) => {
      gated = on;
    },
    release: () => gates.shift()?.(),
    fail: (t: string) => failing.add(t),
    login: (u: string, s: string) => token(u, s),
  };
}

test("one profile call per user while fresh; every socket's session is still checked", async () => {
  const ended = new Set<string>();
  const t = setup({ ended });
  const [a1, a2] = [t.login("u1", "s1"), t.login("u1", "s2")];
  const first = await t.auth.authenticate(a1, t.call(a1));
  assert.deepEqual([first.userId, first.sessionId, first.expiresAt], ["u1", "s1", 2_000_000_000_000]);
  const second = await t.auth.authenticate(a2, t.call(a2));
  assert.equal(second.sessionId, "s2");
  assert.equal(second.user, first.user, "the same profile");
  assert.equal(t.profileCalls.length, 1);

  ended.add("s1");
  await assert.rejects(t.auth.authenticate(a1, t.call(a1)), (err: unknown) => {
    return err instanceof ConnectError && err.code === Code.Unauthenticated;
  });

  t.advance(1_001);
  const later = await t.auth.authenticate(a2, t.call(a2));
  assert.notEqual(later.user, first.user, "fetched again after the TTL");
  assert.equal(t.profileCalls.length, 2);
  t.auth.forget("u1");
  await t.auth.authenticate(a2, t.call(a2));
  assert.equal(t.profileCalls.length, 3, "a changed profile is fetched again");
  t.advance(5_000);
  t.auth.sweep();
});

test("concurrent sockets of a user share one call; one socket's failing token does not fail the others", async () => {
  const t = setup();
  const [bad, good] = [t.login("u2", "s-bad"), t.login("u2", "s-good")];
  t.fail(bad);
  t.gate(true);
  const failing = t.auth.authenticate(bad, t.call(bad));
  const waiting = t.auth.authenticate(good, t.call(good));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(t.profileCalls.length, 1, "the second socket waits for the first call");
  t.gate(false);
  t.release();
  await assert.rejects(failing, (err: unknown) => err instanceof ConnectError && err.code === Code.Unauthenticated);
  const ok = await waiting;
  assert.equal((ok.user as User).id, "u2");
  assert.deepEqual(t.profileCalls, [bad, good], "asked again with its own token");
});

test("Redis not answering is unavailable, not unauthenticated", async () => {
  const t = setup({ redisDown: true });
  const tok = t.login("u3", "s3");
  await assert.rejects(t.auth.authenticate(tok, t.call(tok)), (err: unknown) => {
    return err instanceof ConnectError && err.code === Code.Unavailable && err.rawMessage.includes("sessions");
  });
});
