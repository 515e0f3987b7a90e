/**
 * ResendOtp: a fresh code for a flow already under way, behind a cooldown and
 * an hourly cap, and indistinguishable for emails without an account.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Code, type ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "@parley/proto/rpc/v1/error_pb.js";
import { MAX_ATTEMPTS, MAX_RESENDS } from "../src/domain/otp.js";
import { type Harness, OtpPurpose, PASSWORD, rejectsWith, startHarness } from "./harness.js";

let h: Harness;

before(async () => {
  h = await startHarness();
});

after(async () => {
  await h?.close();
});

/** What waiting out the cooldown would do. */
async function endCooldown(email: string): Promise<void> {
  await h.infra.redis.del(`${h.config.REDIS_KEY_PREFIX}otp-resend-cooldown:${email}`);
}

async function registerPending(username: string) {
  const email = `${username}@example.test`;
  const { userId } = await h.client.register({ email, username, password: PASSWORD });
  const { otp } = await h.takeOtp(email);
  return { email, userId, otp };
}

/** Proves every event enqueued before now has been delivered, so counting them is final. */
async function flushEvents(): Promise<void> {
  const marker = await registerPending(`marker${Date.now()}`);
  assert.ok(marker.otp);
}

const retryAfterOf = (err: ConnectError) => Number(err.findDetails(ErrorInfoSchema)[0]?.metadata.retryAfterSeconds);

test("resend mails a new verify_email code through the outbox; only the new one works", async () => {
  const { email, userId, otp: first } = await registerPending("anna");
  await endCooldown(email);
  const res = await h.client.resendOtp({ email: "ANNA@example.test" });
  assert.equal(res.otpExpiresIn, h.config.OTP_EXPIRY);
  assert.equal(res.retryAfter, h.config.OTP_RESEND_COOLDOWN);
  const event = await h.takeOtp(email);
  assert.equal(event.userId, userId);
  assert.equal(event.purpose, OtpPurpose.VERIFY_EMAIL);
  assert.equal(event.expiresIn, h.config.OTP_EXPIRY);
  if (event.otp !== first) {
    await rejectsWith(h.client.verifyOtp({ email, otp: first }), Code.InvalidArgument, "OTP_INVALID");
  }
  const verified = await h.client.verifyOtp({ email, otp: event.otp });
  assert.equal(verified.user?.verified, true);
});

test("resend of a login code keeps the login purpose", async () => {
  const user = await h.signUp("bert");
  await h.client.login({ identifier: { case: "email", value: user.email }, password: user.password });
  await h.takeOtp(user.email);
  await endCooldown(user.email);
  await h.client.resendOtp({ email: user.email, purpose: OtpPurpose.LOGIN });
  const event = await h.takeOtp(user.email);
  assert.equal(event.purpose, OtpPurpose.LOGIN);
  await rejectsWith(
    h.client.verifyOtp({ email: user.email, otp: event.otp, purpose: OtpPurpose.VERIFY_EMAIL }),
    Code.FailedPrecondition,
    "OTP_EXPIRED",
  );
  await h.client.verifyOtp({ email: user.email, otp: event.otp, purpose: OtpPurpose.LOGIN });
});

test("a resend within the cooldown → ResourceExhausted OTP_RESEND_COOLDOWN with retryAfterSeconds", async () => {
  const { email } = await registerPending("cleo");
  // Registering just sent a code: the cooldown is already running.
  const err = await rejectsWith(h.client.resendOtp({ email }), Code.ResourceExhausted, "OTP_RESEND_COOLDOWN");
  const retryAfter = retryAfterOf(err);
  assert.ok(retryAfter > 0 && retryAfter <= h.config.OTP_RESEND_COOLDOWN, `retryAfter ${retryAfter}`);

  await endCooldown(email);
  await h.client.resendOtp({ email });
  await h.takeOtp(email);
  await rejectsWith(h.client.resendOtp({ email }), Code.ResourceExhausted, "OTP_RESEND_COOLDOWN");
  await rejectsWith(
    h.client.resendOtp({ email, purpose: OtpPurpose.LOGIN }),
    Code.ResourceExhausted,
    "OTP_RESEND_COOLDOWN",
  );
  await flushEvents();
  assert.equal(h.otpEvents.filter((e) => e.email === email).length, 2);
});

test("the wait is rounded up: a client that waits retryAfterSeconds is not refused again", async () => {
  const { email } = await registerPending("rudi");
  const prefix = h.config.REDIS_KEY_PREFIX;
  // 1.5 s of cooldown left: "1" would send the client back half a second too early.
  await h.infra.redis.set(`${prefix}otp-resend-cooldown:${email}`, "1", "PX", 1_500);
  const cooling = await rejectsWith(h.client.resendOtp({ email }), Code.ResourceExhausted, "OTP_RESEND_COOLDOWN");
  assert.equal(retryAfterOf(cooling), 2);
  // Likewise the hourly cap, 2.5 s before its window ends.
  await endCooldown(email);
  await h.infra.redis.set(`${prefix}otp-resends:${email}`, String(MAX_RESENDS), "PX", 2_500);
  const capped = await rejectsWith(h.client.resendOtp({ email }), Code.ResourceExhausted, "OTP_RATE_LIMITED");
  assert.equal(retryAfterOf(capped), 3);
});

test("an unknown email, or an account with no code pending, looks the same and is sent nothing", async () => {
  const user = await h.signUp("dora");
  await endCooldown(user.email);
  const subjects = ["nobody.here@example.test", user.email];
  for (const email of subjects) {
    const res = await h.client.resendOtp({ email });
    assert.deepEqual(
      { otpExpiresIn: res.otpExpiresIn, retryAfter: res.retryAfter },
      { otpExpiresIn: h.config.OTP_EXPIRY, retryAfter: h.config.OTP_RESEND_COOLDOWN },
    );
    await rejectsWith(h.client.resendOtp({ email }), Code.ResourceExhausted, "OTP_RESEND_COOLDOWN");
  }
  await flushEvents();
  assert.equal(h.otpEvents.filter((e) => e.email === "nobody.here@example.test").length, 0);
  // Only the sign-up's code: resend never starts a login without the password.
  assert.equal(h.otpEvents.filter((e) => e.email === user.email).length, 1);
  const [row] = await h.infra.sql`select count(*)::int as n from users where email = 'nobody.here@example.test'`;
  assert.equal(row?.n, 0);
});

test("the hourly cap refuses an unknown email and a real pending one at the same call", async () => {
  const { email } = await registerPending("emil");
  const unknown = "emil.unknown@example.test";
  const refusedAt: Record<string, number> = {};
  for (const subject of [email, unknown]) {
    for (let i = 1; i <= MAX_RESENDS + 1; i++) {
      await endCooldown(subject);
      try {
        await h.client.resendOtp({ email: subject });
      } catch (err) {
        const e = await rejectsWith(Promise.reject(err), Code.ResourceExhausted, "OTP_RATE_LIMITED");
        const retryAfter = retryAfterOf(e);
        assert.ok(retryAfter > 0 && retryAfter <= 3600, `retryAfter ${retryAfter}`);
        refusedAt[subject] = i;
        break;
      }
    }
  }
  assert.equal(refusedAt[email], MAX_RESENDS + 1);
  assert.equal(refusedAt[unknown], MAX_RESENDS + 1);
  await flushEvents();
  // The registration's code plus MAX_RESENDS resends.
  assert.equal(h.otpEvents.filter((e) => e.email === email).length, 1 + MAX_RESENDS);
});

test("a resend does not hand out fresh guesses, and a burnt code is not revived", async () => {
  const { email, otp } = await registerPending("finn");
  const wrong = otp === "000000" ? "111111" : "000000";
  for (let i = 1; i < MAX_ATTEMPTS; i++) {
    await rejectsWith(h.client.verifyOtp({ email, otp: wrong }), Code.InvalidArgument, "OTP_INVALID");
  }
  await endCooldown(email);
  await h.client.resendOtp({ email });
  const resent = await h.takeOtp(email);
  const other = resent.otp === "000000" ? "111111" : "000000";
  // One guess was left before the resend, one is left after it.
  await rejectsWith(h.client.verifyOtp({ email, otp: other }), Code.ResourceExhausted, "OTP_LOCKED");
  await rejectsWith(h.client.verifyOtp({ email, otp: resent.otp }), Code.ResourceExhausted, "OTP_LOCKED");

  // Burnt: resending answers as usual but sends nothing; only a new Login/Register issues a code.
  await endCooldown(email);
  await h.client.resendOtp({ email });
  await flushEvents();
  assert.equal(h.otpEvents.filter((e) => e.email === email).length, 2);
});

test("resending a verify_email code renews the pending account's hold on its username", async () => {
  const { email, userId } = await registerPending("gus");
  await h.infra.sql`update users set updated_at = now() - interval '1 hour' where id = ${userId}`;
  await endCooldown(email);
  await h.client.resendOtp({ email });
  const { otp } = await h.takeOtp(email);
  // Without the renewal, this would take the name over and delete gus's account.
  await rejectsWith(
    h.client.register({ email: "other.gus@example.test", username: "GUS", password: PASSWORD }),
    Code.AlreadyExists,
    "USERNAME_TAKEN",
  );
  await h.client.verifyOtp({ email, otp });
});

test("ResendOtp validates its input", async () => {
  await rejectsWith(h.client.resendOtp({ email: "not-an-email" }), Code.InvalidArgument, "INVALID_ARGUMENT");
  await rejectsWith(
    h.client.resendOtp({ email: "x@example.test", purpose: 7 as OtpPurpose }),
    Code.InvalidArgument,
    "INVALID_ARGUMENT",
  );
});
