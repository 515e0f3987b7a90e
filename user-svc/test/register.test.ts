/**
 * Registration and the first verification: the happy path end to end through
 * the outbox and RabbitMQ, uniqueness of verified identities, retries of
 * pending registrations, and the validation wired from proto.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { verify } from "@node-rs/argon2";
import { ErrorInfoSchema } from "@parley/proto/rpc/v1/error_pb.js";
import { errorReason } from "@parley/shared/errors.js";
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

test("a verified username cannot be registered again, whatever its case", async () => {
  await h.signUp("carol");
  await rejectsWith(
    h.client.register({ email: "someone.else@example.test", username: "CAROL", password: PASSWORD }),
    Code.AlreadyExists,
    "USERNAME_TAKEN",
  );
  // Nor by the holder's own email: a new email asking for a taken name hears the same.
  await rejectsWith(
    h.client.register({ email: "carol@example.test", username: "Carol", password: PASSWORD }),
    Code.AlreadyExists,
    "USERNAME_TAKEN",
  );
  const [row] = await h.infra.sql`select count(*)::int as n from users where username_key = 'carol'`;
  assert.equal(row?.n, 1);
});

/** A call's answer as a client sees it: the response's fields, or the error's code, reason, message and details. */
async function answerOf(call: Promise<object>, fields: (res: object) => unknown = (res) => res): Promise<string> {
  return call.then(
    (res) => `ok ${JSON.stringify(fields(res))}`,
    (err: unknown) => {
      const e = ConnectError.from(err);
      return `${Code[e.code]} ${errorReason(e)} ${e.rawMessage} ${JSON.stringify(e.findDetails(ErrorInfoSchema)[0]?.metadata)}`;
    },
  );
}

test("registering a verified email answers as a new email does, and so does everything the caller can try next", async () => {
  const owner = await h.signUp("gwen");
  const stranger = await h.signUp("stranger");
  const password = "another horse battery staple";
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  const registered = (res: object) => {
    const r = res as { userId: string; otpExpiresIn: number };
    return { userId: UUID.test(r.userId), otpExpiresIn: r.otpExpiresIn, fields: Object.keys(r).sort() };
  };
  const journeys: string[][] = [];
  for (const [i, email] of ["Gwen@Example.TEST", "nobody.yet@example.test"].entries()) {
    const answers: string[] = [];
    const name = `gwen_alt_${i}`;
    const reg = await h.client.register({ email, username: name, password });
    answers.push(await answerOf(Promise.resolve(reg), registered));
    // The id leads nowhere: neither a profile nor the account that has the email.
    assert.notEqual(reg.userId, owner.userId);
    answers.push(await answerOf(h.client.getUser({ userId: reg.userId }, bearer(stranger.accessToken))));
    // Guessing the code: incorrect, with the same tries left, with or without a purpose.
    answers.push(await answerOf(h.client.verifyOtp({ email, otp: "000000" })));
    answers.push(await answerOf(h.client.verifyOtp({ email, otp: "000001", purpose: OtpPurpose.VERIFY_EMAIL })));
    // The password just given does not sign in (an unverified account is not one yet).
    answers.push(await answerOf(h.client.login({ identifier: { case: "email", value: email }, password })));
    // The name is held from other emails, as a pending account holds it...
    answers.push(
      await answerOf(h.client.register({ email: `other${i}@example.test`, username: name, password: PASSWORD })),
    );
    // ...until the same email registers again with another name, which frees it.
    answers.push(await answerOf(h.client.register({ email, username: `${name}_b`, password }), registered));
    answers.push(
      await answerOf(
        h.client.register({ email: `other${i}@example.test`, username: name, password: PASSWORD }),
        registered,
      ),
    );
    // A resend is answered alike (the registration started the cooldown).
    const resend = await answerOf(h.client.resendOtp({ email }));
    answers.push(resend.split(" ").slice(0, 2).join(" "));
    // The newest code burns after five wrong guesses, then stays burnt.
    for (let guess = 0; guess < 6; guess++) {
      answers.push(await answerOf(h.client.verifyOtp({ email, otp: `99999${guess}` })));
    }
    journeys.push(answers.map((a) => a.replaceAll(`gwen_alt_${i}`, "NAME").replaceAll(`other${i}`, "OTHER")));
  }
  const [existing, fresh] = journeys;
  assert.deepEqual(existing, fresh);
  assert.deepEqual(
    fresh?.map((a) => a.split(" ").slice(0, 2).join(" ")),
    [
      'ok {"userId":true,"otpExpiresIn":300,"fields":["$typeName","otpExpiresIn","userId"]}',
      "NotFound USER_NOT_FOUND",
      "InvalidArgument OTP_INVALID",
      "InvalidArgument OTP_INVALID",
      "Unauthenticated INVALID_CREDENTIALS",
      "AlreadyExists USERNAME_TAKEN",
      'ok {"userId":true,"otpExpiresIn":300,"fields":["$typeName","otpExpiresIn","userId"]}',
      'ok {"userId":true,"otpExpiresIn":300,"fields":["$typeName","otpExpiresIn","userId"]}',
      "ResourceExhausted OTP_RESEND_COOLDOWN",
      ...Array<string>(4).fill("InvalidArgument OTP_INVALID"),
      "ResourceExhausted OTP_LOCKED",
      "ResourceExhausted OTP_LOCKED",
    ],
  );

  // The account is untouched: its name and password still sign in.
  await h.client.login({ identifier: { case: "username", value: "gwen" }, password: owner.password });
  const login = await h.takeOtp(owner.email);
  assert.equal(login.purpose, OtpPurpose.LOGIN);
  const verified = await h.client.verifyOtp({ email: owner.email, otp: login.otp });
  assert.equal(verified.user?.username, "gwen");

  // The holder is told, once for both attempts; no code went to them for either.
  const marker = await h.signUp("gwen_marker");
  await waitFor(() => h.registeredEvents.find((e) => e.userId === marker.userId));
  assert.deepEqual(
    h.attemptEvents.filter((e) => e.email === owner.email).map((e) => ({ ...e })),
    [
      {
        $typeName: "parley.events.v1.UserRegistrationAttempted",
        userId: owner.userId,
        email: owner.email,
        username: "gwen",
      },
    ],
  );
  assert.deepEqual(
    h.otpEvents.filter((e) => e.email === owner.email).map((e) => OtpPurpose[e.purpose]),
    ["VERIFY_EMAIL", "LOGIN"],
    "the sign-up's code and the login's, nothing for the attempts",
  );
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

test("common passwords, passwords containing the username or email name, and repeated patterns are refused", async () => {
  const cases = [
    { email: "frank@example.test", username: "frank", password: "password123" },
    { email: "frank@example.test", username: "frank", password: "QwertyUiop" },
    { email: "frank@example.test", username: "frank_the_tank", password: "Frank_The_Tank" },
    { email: "frank.longname@example.test", username: "frank", password: "frank.longname@example.test" },
    { email: "frank.longname@example.test", username: "frank", password: "frank.longname" },
    { email: "frank@example.test", username: "frank", password: "aaaaaaaaaaaa" },
    // Built from the username or the email's local part, in any case.
    { email: "frank@example.test", username: "frank_dev", password: "frank_dev1234567" },
    { email: "frank@example.test", username: "frank_dev", password: "FRANK_DEVfrank_dev" },
    { email: "frank.longname@example.test", username: "frank", password: "frank.longnamefrank.longname!" },
    { email: "fr.anklin@example.test", username: "fra", password: "xxfra2024yyzz" },
    // One short pattern, repeated.
    { email: "frank@example.test", username: "frank", password: "ababababab" },
    { email: "frank@example.test", username: "frank", password: "xyz1xyz1xyz1" },
  ];
  for (const req of cases) {
    const err = await rejectsWith(h.client.register(req), Code.InvalidArgument, "WEAK_PASSWORD");
    // Says why, so that the next try is better.
    assert.match(err.rawMessage, /^password: the password is too easy to guess \(it .+\)$/);
  }
  const [row] = await h.infra.sql`select count(*)::int as n from users where username_key like 'frank%'`;
  assert.equal(row?.n, 0);
  // A local part under three characters is no hint: "jo" is in too many words.
  await h.client.register({ email: "jo@example.test", username: "jojo_ok", password: "jo enjoys long walks" });
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

test("a resend renews a verified email's decoy code and the name it holds, as it renews a pending registration, and mails nothing", async () => {
  const owner = await h.signUp("hana");
  const prefix = h.config.REDIS_KEY_PREFIX;
  await h.client.register({ email: owner.email, username: "hana_alt", password: PASSWORD });
  const keys = [
    `${prefix}otp:${owner.userId}:verify_email`,
    `${prefix}username-hold:hana_alt`,
    `${prefix}username-hold-of:${owner.email}`,
  ];
  // Nearly expired, and the cooldown the registration started is over.
  for (const key of keys) assert.equal(await h.infra.redis.pexpire(key, 3_000), 1, key);
  await h.infra.redis.del(`${prefix}otp-resend-cooldown:${owner.email}`);
  await h.client.resendOtp({ email: owner.email });
  await h.app.settled();
  for (const key of keys) {
    const ttl = await h.infra.redis.pttl(key);
    assert.ok(ttl > 290_000, `${key} renewed to OTP_EXPIRY (${ttl} ms left)`);
  }
  await rejectsWith(
    h.client.register({ email: "someone.new@example.test", username: "hana_alt", password: PASSWORD }),
    Code.AlreadyExists,
    "USERNAME_TAKEN",
  );
  const marker = await h.signUp("hana_marker");
  await waitFor(() => h.registeredEvents.find((e) => e.userId === marker.userId));
  assert.equal(h.otpEvents.filter((e) => e.email === owner.email).length, 1, "only the sign-up's code");
});
