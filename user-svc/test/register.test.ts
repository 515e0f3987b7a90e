/**
 * Registration and the first verification: the happy path end to end through
 * the outbox and RabbitMQ, uniqueness of verified identities, retries of
 * pending registrations, and the validation wired from proto.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { verify } from "@node-rs/argon2";
import { ErrorInfoSchema } from "@parley/proto/rpc/v1/error_pb.js";
import { bearer, type Harness, OtpPurpose, PASSWORD, rejectsWith, startHarness, waitFor } from "./harness.js";

let h: Harness;

before(async () => {
  h = await startHarness();
});

after(async () => {
  await h?.close();
});

test("register → OTP event → verify → token → GetProfile", async () => {
  const reg = await h.client.register({ email: "Alice@Example.test", username: "Alice", password: PASSWORD });
  assert.match(reg.userId, /^[0-9a-f-]{36}$/);
  assert.equal(reg.otpExpiresIn, 300);

  const event = await h.takeOtp("alice@example.test");
  assert.equal(event.userId, reg.userId);
  assert.equal(event.username, "Alice");
  assert.equal(event.purpose, OtpPurpose.VERIFY_EMAIL);
  assert.equal(event.expiresIn, 300);
  assert.match(event.otp, /^\d{6}$/);

  const verified = await h.client.verifyOtp({ email: "alice@example.test", otp: event.otp });
  assert.ok(verified.accessToken);
  assert.equal(verified.expiresIn, 900);
  assert.equal(verified.user?.id, reg.userId);
  assert.equal(verified.user?.email, "alice@example.test");
  assert.equal(verified.user?.username, "Alice");
  assert.equal(verified.user?.verified, true);

  const profile = await h.client.getProfile({}, bearer(verified.accessToken));
  assert.equal(profile.user?.id, reg.userId);
  assert.equal(profile.user?.email, "alice@example.test");
  assert.equal(profile.user?.verified, true);
  assert.ok(profile.user?.createdAt);
  const created = timestampDate(profile.user.createdAt);
  assert.ok(Math.abs(Date.now() - created.getTime()) < 60_000, `createdAt ${created.toISOString()}`);
});

test("the password is stored only as an argon2id hash", async () => {
  const { userId } = await h.client.register({ email: "hash@example.test", username: "hashy", password: PASSWORD });
  const [row] = await h.infra.sql`select password_hash from users where id = ${userId}`;
  const stored = String(row?.password_hash);
  assert.match(stored, /^\$argon2id\$/);
  assert.ok(!stored.includes(PASSWORD));
  assert.equal(await verify(stored, PASSWORD), true);
});

test("user.registered is emitted once, on the first verification only", async () => {
  const user = await h.signUp("bob");
  const first = await waitFor(() => h.registeredEvents.find((e) => e.userId === user.userId));
  assert.deepEqual({ email: first.email, username: first.username }, { email: "bob@example.test", username: "bob" });

  // A later login verification must not announce the account again.
  await h.client.login({ identifier: { case: "email", value: user.email }, password: user.password });
  const { otp } = await h.takeOtp(user.email);
  await h.client.verifyOtp({ email: user.email, otp });
  // Flushing the outbox then waiting for a later marker event proves anything earlier was delivered.
  const marker = await h.signUp("bob_marker");
  await waitFor(() => h.registeredEvents.find((e) => e.userId === marker.userId));
  assert.equal(h.registeredEvents.filter((e) => e.userId === user.userId).length, 1);
});

test("a verified email or username cannot be registered again, whatever its case", async () => {
  await h.signUp("carol");
  await rejectsWith(
    h.client.register({ email: "Carol@Example.TEST", username: "carol_two", password: PASSWORD }),
    Code.AlreadyExists,
    "EMAIL_TAKEN",
  );
  await rejectsWith(
    h.client.register({ email: "someone.else@example.test", username: "CAROL", password: PASSWORD }),
    Code.AlreadyExists,
    "USERNAME_TAKEN",
  );
  const [row] = await h.infra.sql`select count(*)::int as n from users where username_key = 'carol'`;
  assert.equal(row?.n, 1);
});

test("re-registering an unverified email replaces it, and only the newest code works", async () => {
  const email = "dave@example.test";
  const first = await h.client.register({ email, username: "dave", password: PASSWORD });
  const firstCode = (await h.takeOtp(email)).otp;
  const second = await h.client.register({ email: "DAVE@example.test", username: "dave_2", password: `${PASSWORD}!` });
  assert.equal(second.userId, first.userId);
  const secondEvent = await h.takeOtp(email);
  assert.equal(secondEvent.username, "dave_2");

  if (firstCode !== secondEvent.otp) {
    await rejectsWith(h.client.verifyOtp({ email, otp: firstCode }), Code.InvalidArgument, "OTP_INVALID");
  }
  const verified = await h.client.verifyOtp({ email, otp: secondEvent.otp });
  assert.equal(verified.user?.username, "dave_2");
  // The retry's password is the one that counts.
  await rejectsWith(
    h.client.login({ identifier: { case: "email", value: email }, password: PASSWORD }),
    Code.Unauthenticated,
    "INVALID_CREDENTIALS",
  );
  await h.client.login({ identifier: { case: "email", value: email }, password: `${PASSWORD}!` });
  await h.takeOtp(email);
});

test("an unverified account holds its username only while its code can still be used", async () => {
  const holder = await h.client.register({ email: "erin@example.test", username: "erin", password: PASSWORD });
  await h.takeOtp("erin@example.test");
  await rejectsWith(
    h.client.register({ email: "other.erin@example.test", username: "Erin", password: PASSWORD }),
    Code.AlreadyExists,
    "USERNAME_TAKEN",
  );

  // Age the pending claim past OTP_EXPIRY (what time would do).
  await h.infra.sql`update users set updated_at = now() - interval '1 hour' where id = ${holder.userId}`;
  const taker = await h.client.register({ email: "other.erin@example.test", username: "Erin", password: PASSWORD });
  assert.notEqual(taker.userId, holder.userId);
  const rows = await h.infra.sql`select id from users where email in ('erin@example.test', 'other.erin@example.test')`;
  assert.deepEqual(
    rows.map((r) => r.id),
    [taker.userId],
  );
  await h.takeOtp("other.erin@example.test");
});

test("common passwords and passwords equal to the username or email are refused", async () => {
  const cases = [
    { email: "frank@example.test", username: "frank", password: "password123" },
    { email: "frank@example.test", username: "frank", password: "QwertyUiop" },
    { email: "frank@example.test", username: "frank_the_tank", password: "Frank_The_Tank" },
    { email: "frank.longname@example.test", username: "frank", password: "frank.longname@example.test" },
    { email: "frank.longname@example.test", username: "frank", password: "frank.longname" },
    { email: "frank@example.test", username: "frank", password: "aaaaaaaaaaaa" },
  ];
  for (const req of cases) {
    const err = await rejectsWith(h.client.register(req), Code.InvalidArgument, "WEAK_PASSWORD");
    assert.match(err.rawMessage, /^password:/);
  }
  const [row] = await h.infra.sql`select count(*)::int as n from users where username_key like 'frank%'`;
  assert.equal(row?.n, 0);
});

test("malformed email, username, password and otp are refused naming the field", async () => {
  const bad = [
    { call: () => h.client.register({ email: "not-an-email", username: "gina", password: PASSWORD }), field: "email" },
    {
      call: () => h.client.register({ email: "gina@example.test", username: "g!", password: PASSWORD }),
      field: "username",
    },
    {
      call: () => h.client.register({ email: "gina@example.test", username: "gina", password: "short" }),
      field: "password",
    },
    { call: () => h.client.verifyOtp({ email: "gina@example.test", otp: "12345" }), field: "otp" },
    { call: () => h.client.verifyOtp({ email: "gina@example.test", otp: "abcdef" }), field: "otp" },
    { call: () => h.client.verifyOtp({ email: "nope", otp: "123456" }), field: "email" },
    { call: () => h.client.login({ identifier: { case: undefined }, password: "x" }), field: "identifier" },
  ];
  for (const { call, field } of bad) {
    const err = await rejectsWith(call(), Code.InvalidArgument, "INVALID_ARGUMENT");
    const info = err.findDetails(ErrorInfoSchema)[0];
    assert.ok(info && field in info.metadata, `${field} not named in ${JSON.stringify(info?.metadata)}`);
  }
});
