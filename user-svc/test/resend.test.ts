/**
 * ResendOtp: a fresh code for a flow already under way, behind a cooldown and
 * an hourly cap, and indistinguishable for emails without an account.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "@parley/proto/rpc/v1/error_pb.js";
import { errorReason } from "@parley/shared/errors.js";
import { MAX_ATTEMPTS, MAX_RESENDS, MAX_SENDS } from "../src/storage/otp-store.js";
import { type Harness, OtpPurpose, PASSWORD, rejectsWith, startHarness, waitFor } from "./harness.js";

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
  // A resend's mail is enqueued after its reply: wait for that first.
  await h.app.settled();
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

/** What a caller can see of one ResendOtp call: the whole reply, or the error's code, reason, message and details. */
async function outcome(call: Promise<unknown>) {
  try {
    return { reply: await call };
  } catch (err) {
    const e = ConnectError.from(err);
    const { retryAfterSeconds, ...metadata } = e.findDetails(ErrorInfoSchema)[0]?.metadata ?? {};
    // The wait counts down from call to call: that it is there and in range is what all must share.
    const retryAfter = Number(retryAfterSeconds);
    assert.ok(retryAfter > 0 && retryAfter <= 3600, `retryAfter ${retryAfter}`);
    return { code: e.code, reason: errorReason(e), message: e.rawMessage, metadata };
  }
}

test("known and unknown emails get the same answers, whatever state the account is in", async () => {
  const pending = await registerPending("hugo");
  const verified = await h.signUp("ines");
  // A pending code, but the account's hourly code cap already used up by Register and Login.
  const capped = await registerPending("jara");
  await h.infra.redis.set(`${h.config.REDIS_KEY_PREFIX}otp-sends:${capped.userId}`, String(MAX_SENDS), "EX", 3600);
  const subjects = ["nobody.at.all@example.test", pending.email, verified.email, capped.email];

  const seen = [];
  for (const email of subjects) {
    await endCooldown(email);
    const sent = await outcome(h.client.resendOtp({ email }));
    const cooling = await outcome(h.client.resendOtp({ email, purpose: OtpPurpose.LOGIN }));
    await endCooldown(email);
    await h.infra.redis.set(`${h.config.REDIS_KEY_PREFIX}otp-resends:${email}`, String(MAX_RESENDS), "EX", 3600);
    const capReached = await outcome(h.client.resendOtp({ email }));
    seen.push([sent, cooling, capReached]);
  }
  const [unknown, ...known] = seen;
  assert.deepEqual(
    unknown?.map((o) => ("reply" in o ? o.reply : o.reason)),
    [
      {
        $typeName: "parley.user.v1.ResendOtpResponse",
        otpExpiresIn: h.config.OTP_EXPIRY,
        retryAfter: h.config.OTP_RESEND_COOLDOWN,
      },
      "OTP_RESEND_COOLDOWN",
      "OTP_RATE_LIMITED",
    ],
  );
  for (const [i, answers] of known.entries()) assert.deepEqual(answers, unknown, subjects[i + 1]);

  // Only the pending account below its cap was mailed.
  await flushEvents();
  const mails = (email: string) => h.otpEvents.filter((e) => e.email === email).length;
  assert.deepEqual(
    subjects.map(mails),
    [0, 2, 1, 1],
    "unknown: none; pending: sign-up + resend; verified: sign-up; capped: sign-up",
  );
});

/** Holds the account's row lock, as a concurrent Login or Register would, until `work` is done. */
async function withRowLocked(userId: string, work: () => Promise<void>): Promise<void> {
  await h.infra.sql.begin(async (tx) => {
    await tx`select id from users where id = ${userId} for update`;
    await work();
  });
}

/** Resolves once some session of this test's database waits for a lock: the resend's work, behind ours. */
async function resendWaitsForLock(): Promise<void> {
  await waitFor(async () => {
    const [row] = await h.infra.sql`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock'`;
    return (row?.n ?? 0) > 0 ? true : undefined;
  });
}

// Deadlines on the calls below only turn a reply that waits for the row lock into a failure instead of a hang.
const DEADLINE = { timeoutMs: 5_000 };

test("the reply does not wait for the account's work, which still mails the code", async () => {
  const { email, userId } = await registerPending("kira");
  const unknown = "kira.unknown@example.test";
  await endCooldown(email);
  await withRowLocked(userId, async () => {
    const known = await h.client.resendOtp({ email }, DEADLINE);
    const stranger = await h.client.resendOtp({ email: unknown }, DEADLINE);
    assert.deepEqual(known, stranger);
    // Answered, while the work for the account cannot have got past its row lock.
    await resendWaitsForLock();
    assert.equal(h.otpEvents.filter((e) => e.email === email).length, 1, "only the sign-up's code so far");
  });
  const event = await h.takeOtp(email);
  assert.equal(event.userId, userId);
  assert.equal(event.purpose, OtpPurpose.VERIFY_EMAIL);
  await h.client.verifyOtp({ email, otp: event.otp });
});

test("shutting down waits for the resends it has answered, so none is lost", async () => {
  const { email, userId } = await registerPending("lena");
  await endCooldown(email);
  const second = await h.startSecondInstance();
  let closing: Promise<void> | undefined;
  await withRowLocked(userId, async () => {
    await second.client.resendOtp({ email }, DEADLINE);
    await resendWaitsForLock();
    closing = second.close();
    // Released only once the instance takes no more connections, so its close is under way.
    await waitFor(
      () =>
        new Promise<true | undefined>((resolve) => {
          const socket = connect(second.port, "127.0.0.1");
          socket.once("connect", () => {
            socket.destroy();
            resolve(undefined);
          });
          socket.once("error", () => resolve(true));
        }),
    );
  });
  await closing;
  const event = await h.takeOtp(email);
  assert.equal(event.userId, userId);
  await h.client.verifyOtp({ email, otp: event.otp });
});
