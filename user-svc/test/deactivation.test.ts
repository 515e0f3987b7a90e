/**
 * Deactivation inside user-svc (domain/deactivation.ts): what the system
 * test (test/admin-users.test.ts) cannot see from outside. A code issued
 * before the deactivation buys no session, resend-otp mails the account
 * nothing, and the sessions' keys are gone.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Code } from "@connectrpc/connect";
import { drizzle } from "drizzle-orm/postgres-js";
import { deactivateUser, reactivateUser } from "../src/domain/deactivation.js";
import * as schema from "../src/storage/schema.js";
import { userSessionsKey } from "../src/storage/sessions.js";
import { bearer, type Harness, rejectsWith, startHarness } from "./harness.js";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

const deps = () => ({
  db: drizzle(h.infra.sql, { schema }),
  redis: h.infra.redis,
  redisKeyPrefix: h.config.REDIS_KEY_PREFIX,
});

async function endCooldown(email: string): Promise<void> {
  await h.infra.redis.del(`${h.config.REDIS_KEY_PREFIX}otp-resend-cooldown:${email}`);
}

test("a deactivated account gets no code from resend-otp, and a code it already had buys no session", async () => {
  const dina = await h.signUp("dina");
  await h.client.login({ identifier: { case: "email", value: dina.email }, password: dina.password });
  const pending = await h.takeOtp(dina.email);

  const result = await deactivateUser(deps(), dina.userId);
  assert.deepEqual([result.changed, result.sessionsEnded], [true, 1]);
  await rejectsWith(h.client.getProfile({}, bearer(dina.accessToken)), Code.Unauthenticated, "UNAUTHENTICATED");

  await endCooldown(dina.email);
  await h.client.resendOtp({ email: dina.email });
  await h.app.settled();
  // The relay publishes in outbox order: a code for dina would come before the marker's.
  const marker = await h.signUp("marker");
  await h.client.login({ identifier: { case: "email", value: marker.email }, password: marker.password });
  await h.takeOtp(marker.email);
  await endCooldown(marker.email);
  await h.client.resendOtp({ email: marker.email });
  await h.app.settled();
  await h.takeOtp(marker.email);
  assert.deepEqual(
    h.otpEvents.filter((e) => e.email === dina.email && e !== pending).length,
    1,
    "only the sign-up's code besides the login's: none from the resend",
  );

  await rejectsWith(
    h.client.verifyOtp({ email: dina.email, otp: pending.otp }),
    Code.PermissionDenied,
    "ACCOUNT_DEACTIVATED",
  );
  assert.deepEqual(await h.infra.redis.smembers(userSessionsKey(h.config.REDIS_KEY_PREFIX, dina.userId)), []);

  assert.equal((await reactivateUser(deps(), dina.userId)).changed, true);
  await rejectsWith(
    h.client.refreshToken({ refreshToken: dina.refreshToken }),
    Code.Unauthenticated,
    "REFRESH_TOKEN_INVALID",
  );
});
