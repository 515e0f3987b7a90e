/**
 * One-time passwords: stored only as digests, limited guesses, single use
 * even under concurrency, bound to their purpose, and limited in number.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "@parley/proto/rpc/v1/error_pb.js";
import { errorReason } from "@parley/shared/errors.js";
import { MAX_SENDS, otpKey } from "../src/storage/otp-store.js";
import { type Harness, OtpPurpose, PASSWORD, rejectsWith, startHarness, waitFor } from "./harness.js";

let h: Harness;

before(async () => {
  h = await startHarness();
});

after(async () => {
  await h?.close();
});

async function registerPending(username: string) {
  const email = `${username}@example.test`;
  const { userId } = await h.client.register({ email, username, password: PASSWORD });
  const { otp } = await h.takeOtp(email);
  return { email, userId, otp };
}

/** A well-formed code that is not `otp`. */
function wrong(otp: string, n = 1): string {
  return ((Number(otp) + n) % 1_000_000).toString().padStart(6, "0");
}

test("Redis holds a digest of the code, never the code, and it expires", async () => {
  const { userId, otp } = await registerPending("digest");
  const key = otpKey(h.config.REDIS_KEY_PREFIX, userId, OtpPurpose.VERIFY_EMAIL);
  const stored = await h.infra.redis.hgetall(key);
  assert.match(stored.digest ?? "", /^[0-9a-f]{64}$/);
  assert.equal(stored.attempts, "0");
  assert.ok(!JSON.stringify(stored).includes(otp));
  const ttl = await h.infra.redis.ttl(key);
  assert.ok(ttl > 0 && ttl <= h.config.OTP_EXPIRY, `ttl ${ttl}`);
});

test("five wrong codes burn the code: the right one then fails too", async () => {
  const { email, otp } = await registerPending("guesser");
  for (let i = 1; i <= 4; i++) {
    const err = await rejectsWith(
      h.client.verifyOtp({ email, otp: wrong(otp, i) }),
      Code.InvalidArgument,
      "OTP_INVALID",
    );
    assert.equal(err.findDetails(ErrorInfoSchema)[0]?.metadata.remainingAttempts, String(5 - i));
  }
  await rejectsWith(h.client.verifyOtp({ email, otp: wrong(otp, 5) }), Code.ResourceExhausted, "OTP_LOCKED");
  await rejectsWith(h.client.verifyOtp({ email, otp }), Code.ResourceExhausted, "OTP_LOCKED");
  const [row] = await h.infra.sql`select verified_at from users where email = ${email}`;
  assert.equal(row?.verified_at, null);
});

test("concurrent guesses never get more than five tries", async () => {
  const { email, otp } = await registerPending("swarm");
  // 40 wrong guesses and the right one, all at once: only five may be compared.
  const guesses = Array.from({ length: 40 }, (_, i) => wrong(otp, i + 1));
  guesses.splice(20, 0, otp);
  const results = await Promise.allSettled(guesses.map((g) => h.client.verifyOtp({ email, otp: g })));
  const outcomes = results.map((r) => (r.status === "fulfilled" ? "OK" : errorReason(ConnectError.from(r.reason))));
  const compared = outcomes.filter((o) => o === "OK" || o === "OTP_INVALID");
  assert.ok(compared.length <= 5, `${compared.length} guesses were compared: ${outcomes.join(" ")}`);
  assert.ok(compared.length >= 1);
  assert.equal(outcomes.filter((o) => o === "OTP_LOCKED").length, guesses.length - compared.length);
});

test("a code works once", async () => {
  const { email, otp } = await registerPending("once");
  await h.client.verifyOtp({ email, otp });
  await rejectsWith(h.client.verifyOtp({ email, otp }), Code.FailedPrecondition, "OTP_EXPIRED");
});

test("two concurrent verifications of one code: exactly one succeeds", async () => {
  for (let round = 0; round < 5; round++) {
    const { email, otp } = await registerPending(`race${round}`);
    const results = await Promise.allSettled([
      h.client.verifyOtp({ email, otp }),
      h.client.verifyOtp({ email, otp }),
      h.client.verifyOtp({ email, otp }),
    ]);
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1, `round ${round}`);
  }
});

test("a code only works for its purpose", async () => {
  const { email, otp } = await registerPending("purpose");
  await rejectsWith(
    h.client.verifyOtp({ email, otp, purpose: OtpPurpose.LOGIN }),
    Code.FailedPrecondition,
    "OTP_EXPIRED",
  );
  const ok = await h.client.verifyOtp({ email, otp, purpose: OtpPurpose.VERIFY_EMAIL });
  assert.equal(ok.user?.verified, true);
});

test("an unknown email gets the same answer as an account without a pending code", async () => {
  const unknown = await rejectsWith(
    h.client.verifyOtp({ email: "nobody@example.test", otp: "123456" }),
    Code.FailedPrecondition,
    "OTP_EXPIRED",
  );
  const user = await h.signUp("nocode");
  const known = await rejectsWith(
    h.client.verifyOtp({ email: user.email, otp: "123456" }),
    Code.FailedPrecondition,
    "OTP_EXPIRED",
  );
  assert.equal(unknown.rawMessage, known.rawMessage);
});

test("an account gets a bounded number of codes per hour", async () => {
  const user = await h.signUp("chatty");
  // signUp sent one code already.
  for (let i = 1; i < MAX_SENDS; i++) {
    await h.client.login({ identifier: { case: "email", value: user.email }, password: user.password });
  }
  const err = await rejectsWith(
    h.client.login({ identifier: { case: "email", value: user.email }, password: user.password }),
    Code.ResourceExhausted,
    "OTP_RATE_LIMITED",
  );
  const retryAfter = Number(err.findDetails(ErrorInfoSchema)[0]?.metadata.retryAfterSeconds);
  assert.ok(retryAfter > 0 && retryAfter <= 3600, `retryAfter ${retryAfter}`);
  // The refused attempt emitted nothing: exactly MAX_SENDS codes went out.
  const marker = await h.signUp("chatty_marker");
  assert.ok(marker.accessToken);
  assert.equal(h.otpEvents.filter((e) => e.email === user.email).length, MAX_SENDS);
});

test("five wrong guesses split over two instances (Redis-backed) burn the code on both", async () => {
  const second = await h.startSecondInstance();
  try {
    const email = "split@example.test";
    await h.client.register({ email, username: "split", password: PASSWORD });
    const { otp } = await h.takeOtp(email);
    const clients = [h.client, second.client, h.client, second.client];
    for (const [i, client] of clients.entries()) {
      const err = await rejectsWith(
        client.verifyOtp({ email, otp: wrong(otp, i + 1) }),
        Code.InvalidArgument,
        "OTP_INVALID",
      );
      assert.equal(err.findDetails(ErrorInfoSchema)[0]?.metadata.remainingAttempts, String(4 - i));
    }
    await rejectsWith(second.client.verifyOtp({ email, otp: wrong(otp, 5) }), Code.ResourceExhausted, "OTP_LOCKED");
    await rejectsWith(h.client.verifyOtp({ email, otp }), Code.ResourceExhausted, "OTP_LOCKED");
    await rejectsWith(second.client.verifyOtp({ email, otp }), Code.ResourceExhausted, "OTP_LOCKED");
    const [row] = await h.infra.sql`select verified_at from users where email = ${email}`;
    assert.equal(row?.verified_at, null);
  } finally {
    await second.close();
  }
});

test("an expired code → OTP_EXPIRED, even the right one", async () => {
  const { email, userId, otp } = await registerPending("expired");
  const key = otpKey(h.config.REDIS_KEY_PREFIX, userId, OtpPurpose.VERIFY_EMAIL);
  // What OTP_EXPIRY seconds would do.
  assert.equal(await h.infra.redis.pexpire(key, 1), 1);
  await waitFor(async () => ((await h.infra.redis.exists(key)) === 0 ? true : undefined));
  await rejectsWith(h.client.verifyOtp({ email, otp }), Code.FailedPrecondition, "OTP_EXPIRED");
});
