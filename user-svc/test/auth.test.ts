/**
 * GetProfile's authentication: only a correctly signed, unexpired HS256
 * access token whose session is still live in Redis identifies a caller.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Code } from "@connectrpc/connect";
import { sessionKey } from "@parley/shared/sessions.js";
import { decodeJwt, SignJWT } from "jose";
import { userSessionsKey } from "../src/storage/sessions.js";
import { bearer, type Harness, rejectsWith, type SignedUp, startHarness } from "./harness.js";

let h: Harness;
let user: SignedUp;

before(async () => {
  h = await startHarness();
  user = await h.signUp("mallory");
});

after(async () => {
  await h?.close();
});

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** A token with the claims of `user`'s real one, signed with `secret`, expiring `expiresIn` s from now. */
function forge(secret: string, expiresIn: number): Promise<string> {
  const claims = decodeJwt(user.accessToken);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sid: claims.sid, name: claims.name })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(String(claims.iss))
    .setAudience(String(claims.aud))
    .setSubject(String(claims.sub))
    .setIssuedAt(now - 120)
    .setExpirationTime(now + expiresIn)
    .sign(new TextEncoder().encode(secret));
}

test("the token verifies and its session is recorded for the user", async () => {
  const profile = await h.client.getProfile({}, bearer(user.accessToken));
  assert.equal(profile.user?.id, user.userId);
  const { sid, sub } = decodeJwt(user.accessToken);
  assert.equal(sub, user.userId);
  const prefix = h.config.REDIS_KEY_PREFIX;
  assert.equal(await h.infra.redis.get(sessionKey(prefix, String(sid))), user.userId);
  assert.ok(await h.infra.redis.sismember(userSessionsKey(prefix, user.userId), String(sid)));
  const ttl = await h.infra.redis.ttl(sessionKey(prefix, String(sid)));
  assert.ok(ttl > h.config.SESSION_TTL - 60 && ttl <= h.config.SESSION_TTL, `ttl ${ttl}`);
});

test("no token, a garbage token or a non-bearer header → Unauthenticated", async () => {
  await rejectsWith(h.client.getProfile({}), Code.Unauthenticated, "UNAUTHENTICATED");
  await rejectsWith(h.client.getProfile({}, bearer("garbage")), Code.Unauthenticated, "UNAUTHENTICATED");
  await rejectsWith(h.client.getProfile({}, bearer("a.b.c")), Code.Unauthenticated, "UNAUTHENTICATED");
  await rejectsWith(
    h.client.getProfile({}, { headers: { authorization: `Basic ${user.accessToken}` } }),
    Code.Unauthenticated,
    "UNAUTHENTICATED",
  );
});

test("an expired token → Unauthenticated (the same token unexpired is accepted)", async () => {
  const fresh = await forge(h.config.JWT_SECRET, 60);
  const profile = await h.client.getProfile({}, bearer(fresh));
  assert.equal(profile.user?.id, user.userId);
  const expired = await forge(h.config.JWT_SECRET, -60);
  const err = await rejectsWith(h.client.getProfile({}, bearer(expired)), Code.Unauthenticated, "UNAUTHENTICATED");
  assert.match(err.rawMessage, /expired/);
});

test("a token signed with another key → Unauthenticated", async () => {
  const forged = await forge("x".repeat(64), 60);
  await rejectsWith(h.client.getProfile({}, bearer(forged)), Code.Unauthenticated, "UNAUTHENTICATED");
});

test('a token with alg "none" → Unauthenticated', async () => {
  const claims = decodeJwt(user.accessToken);
  const unsigned = `${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims)}.`;
  await rejectsWith(h.client.getProfile({}, bearer(unsigned)), Code.Unauthenticated, "UNAUTHENTICATED");
  // Same claims, real signature, header swapped to "none": still refused.
  const [, payload, signature] = user.accessToken.split(".");
  const swapped = `${b64url({ alg: "none", typ: "JWT" })}.${payload}.${signature}`;
  await rejectsWith(h.client.getProfile({}, bearer(swapped)), Code.Unauthenticated, "UNAUTHENTICATED");
});

test("a revoked session → Unauthenticated, other sessions unaffected", async () => {
  const other = await h.client.login({ identifier: { case: "email", value: user.email }, password: user.password });
  assert.ok(other.otpExpiresIn > 0);
  const { otp } = await h.takeOtp(user.email);
  const second = (await h.client.verifyOtp({ email: user.email, otp })).accessToken;

  await h.client.getProfile({}, bearer(second));
  const { sid } = decodeJwt(second);
  assert.equal(await h.infra.redis.del(sessionKey(h.config.REDIS_KEY_PREFIX, String(sid))), 1);
  await rejectsWith(h.client.getProfile({}, bearer(second)), Code.Unauthenticated, "UNAUTHENTICATED");
  const profile = await h.client.getProfile({}, bearer(user.accessToken));
  assert.equal(profile.user?.id, user.userId);
});

test("a valid token for a deleted account → NotFound USER_NOT_FOUND", async () => {
  const ghost = await h.signUp("ghost");
  await h.infra.sql`delete from users where id = ${ghost.userId}`;
  await rejectsWith(h.client.getProfile({}, bearer(ghost.accessToken)), Code.NotFound, "USER_NOT_FOUND");
});
