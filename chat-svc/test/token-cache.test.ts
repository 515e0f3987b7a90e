import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { createTokenKeys, type TokenKeys } from "@parley/shared/auth.js";
import { cachingTokenKeys } from "../src/token-cache.js";

function counting(keys: TokenKeys) {
  const calls = { access: 0, service: 0 };
  const wrapped: TokenKeys = {
    ...keys,
    verifyAccess: (t) => {
      calls.access++;
      return keys.verifyAccess(t);
    },
    verifyService: (t) => {
      calls.service++;
      return keys.verifyService(t);
    },
  };
  return { calls, wrapped };
}

test("access and service tokens are verified once until they expire; bad ones are never remembered", async () => {
  const keys = createTokenKeys("x".repeat(64));
  const { calls, wrapped } = counting(keys);
  const cached = cachingTokenKeys(wrapped, { maxEntries: 10 });
  const identity = { userId: randomUUID(), sessionId: randomUUID(), username: "ann" };
  const issuedAt = Date.now();
  const access = await keys.issueAccess(identity, 60);
  const service = await keys.issueService("edge", 60);
  for (let i = 0; i < 3; i++) {
    const verified = await cached.verifyAccess(access);
    assert.equal(verified.userId, identity.userId);
    // `exp` has whole seconds: within a second of 60 s from issuing.
    assert.ok(Math.abs(verified.expiresAtMs - (issuedAt + 60_000)) <= 1_000, `expires at ${verified.expiresAtMs}`);
    assert.equal((await cached.verifyService(service)).service, "edge");
  }
  assert.deepEqual(calls, { access: 1, service: 1 });

  // A service token is not an access token, nor the other way round, cached or not.
  await assert.rejects(cached.verifyAccess(service));
  await assert.rejects(cached.verifyService(access));
  const forged = `${service.slice(0, -2)}xx`;
  await assert.rejects(cached.verifyService(forged));
  await assert.rejects(cached.verifyService(forged));
  assert.deepEqual(calls, { access: 2, service: 4 }, "failures are checked every time");

  // Expired: verified again (and refused) rather than served from the cache.
  const shortLived = await keys.issueService("edge", 1);
  assert.equal((await cached.verifyService(shortLived)).service, "edge");
  await new Promise((resolve) => setTimeout(resolve, 2_100));
  await assert.rejects(cached.verifyService(shortLived));
});
