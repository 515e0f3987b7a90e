/**
 * Login: a password check that tells nothing about which accounts exist,
 * followed by an emailed code whose purpose depends on the account's state.
 */
import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { after, before, test } from "node:test";
import { Code } from "@connectrpc/connect";
import { bearer, type Harness, OtpPurpose, PASSWORD, rejectsWith, startHarness } from "./harness.js";

let h: Harness;

before(async () => {
  h = await startHarness();
});

after(async () => {
  await h?.close();
});

test("unknown account and wrong password get the same code and message", async () => {
  const user = await h.signUp("heidi");
  const unknownEmail = await rejectsWith(
    h.client.login({ identifier: { case: "email", value: "nobody@example.test" }, password: PASSWORD }),
    Code.Unauthenticated,
    "INVALID_CREDENTIALS",
  );
  const unknownName = await rejectsWith(
    h.client.login({ identifier: { case: "username", value: "nobody" }, password: PASSWORD }),
    Code.Unauthenticated,
    "INVALID_CREDENTIALS",
  );
  const wrongPassword = await rejectsWith(
    h.client.login({ identifier: { case: "email", value: user.email }, password: "not the password" }),
    Code.Unauthenticated,
    "INVALID_CREDENTIALS",
  );
  assert.equal(unknownEmail.rawMessage, wrongPassword.rawMessage);
  assert.equal(unknownName.rawMessage, wrongPassword.rawMessage);
});

test("an unknown account costs a password hash check, like a wrong password", async () => {
  const user = await h.signUp("ivan");
  const timed = async (call: () => Promise<unknown>) => {
    const started = performance.now();
    await call().catch(() => {});
    return performance.now() - started;
  };
  // Alternated, so both kinds see the same load from whatever else runs on the machine.
  const wrongTimes: number[] = [];
  const unknownTimes: number[] = [];
  for (let i = 0; i < 7; i++) {
    wrongTimes.push(
      await timed(() =>
        h.client.login({ identifier: { case: "email", value: user.email }, password: "not the password" }),
      ),
    );
    unknownTimes.push(
      await timed(() =>
        h.client.login({ identifier: { case: "email", value: "ghost@example.test" }, password: "not the password" }),
      ),
    );
  }
  const median = (times: number[]) => times.sort((a, b) => a - b)[3] ?? 0;
  const wrong = median(wrongTimes);
  const unknown = median(unknownTimes);
  // Without the dummy hash an unknown account answers in a few ms against tens for argon2.
  assert.ok(unknown > wrong * 0.5, `unknown ${unknown.toFixed(1)} ms vs wrong password ${wrong.toFixed(1)} ms`);
});

test("login by email or username (any case) → LOGIN code → verify → token", async () => {
  const user = await h.signUp("Judy");
  for (const identifier of [
    { case: "email" as const, value: "JUDY@example.test" },
    { case: "username" as const, value: "jUdY" },
  ]) {
    const res = await h.client.login({ identifier, password: user.password });
    assert.equal(res.otpExpiresIn, h.config.OTP_EXPIRY);
    const event = await h.takeOtp(user.email);
    assert.equal(event.purpose, OtpPurpose.LOGIN);
    assert.equal(event.userId, user.userId);
    const verified = await h.client.verifyOtp({ email: user.email, otp: event.otp });
    assert.equal(verified.user?.id, user.userId);
    const profile = await h.client.getProfile({}, bearer(verified.accessToken));
    assert.equal(profile.user?.username, "Judy");
  }
});

test("login to an unverified account is answered as an unknown one and sends nothing; registering again continues", async () => {
  const email = "kim@example.test";
  await h.client.register({ email, username: "kim", password: PASSWORD });
  await h.takeOtp(email);
  for (const identifier of [
    { case: "email" as const, value: email },
    { case: "username" as const, value: "kim" },
  ]) {
    await rejectsWith(h.client.login({ identifier, password: PASSWORD }), Code.Unauthenticated, "INVALID_CREDENTIALS");
  }
  // The way on is another registration, which mails a fresh code.
  await h.client.register({ email, username: "kim", password: PASSWORD });
  const event = await h.takeOtp(email);
  assert.equal(event.purpose, OtpPurpose.VERIFY_EMAIL);
  const verified = await h.client.verifyOtp({ email, otp: event.otp });
  assert.equal(verified.user?.verified, true);
  assert.equal(h.otpEvents.filter((e) => e.email === email).length, 2, "the refused logins mailed nothing");
});

test("a login code does not outlive a newer one", async () => {
  const user = await h.signUp("leo");
  await h.client.login({ identifier: { case: "email", value: user.email }, password: user.password });
  const first = await h.takeOtp(user.email);
  await h.client.login({ identifier: { case: "email", value: user.email }, password: user.password });
  const second = await h.takeOtp(user.email);
  if (first.otp !== second.otp) {
    await rejectsWith(h.client.verifyOtp({ email: user.email, otp: first.otp }), Code.InvalidArgument, "OTP_INVALID");
  }
  await h.client.verifyOtp({ email: user.email, otp: second.otp });
});
