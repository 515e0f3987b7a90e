/**
 * Rate limits per client address and per account, shared through Redis by
 * every instance.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "@parley/proto/rpc/v1/error_pb.js";
import { createTokenKeys, SERVICE_TOKEN_HEADER } from "@parley/shared/auth.js";
import { errorReason } from "@parley/shared/errors.js";
import { type Harness, PASSWORD, rejectsWith, startHarness } from "./harness.js";

let h: Harness;

before(async () => {
  h = await startHarness({
    RATE_LIMIT_LOGIN_PER_IP: "3/600",
    RATE_LIMIT_LOGIN_PER_ACCOUNT: "4/600",
    RATE_LIMIT_VERIFY_OTP_PER_ACCOUNT: "3/600",
    RATE_LIMIT_RESEND_OTP_PER_IP: "2/600",
    RATE_LIMIT_RESEND_OTP_PER_ACCOUNT: "3/600",
    RATE_LIMIT_REGISTER_PER_ACCOUNT: "2/600",
  });
});

after(async () => {
  await h?.close();
});

/** A call the edge forwards for a client at `ip`. */
const from = (ip: string) => h.fromEdge({ "x-client-ip": ip });

function login(email: string, ip: string, client = h.client) {
  return client.login({ identifier: { case: "email", value: email }, password: "not the password" }, from(ip));
}

async function assertRateLimited(call: Promise<unknown>, windowSeconds: number): Promise<void> {
  const err = await rejectsWith(call, Code.ResourceExhausted, "RATE_LIMITED");
  const retryAfter = Number(err.findDetails(ErrorInfoSchema)[0]?.metadata.retryAfterSeconds);
  assert.ok(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= windowSeconds, `retryAfter ${retryAfter}`);
  // A person reads when, not just "later".
  assert.match(err.rawMessage, /^too many requests; try again in (about )?\d+ (seconds?|minutes|hours)$/);
}

test("per client address: the 4th login from one IP is refused, other IPs are not", async () => {
  for (let i = 0; i < 3; i++) {
    await rejectsWith(login(`ip${i}@example.test`, "203.0.113.1"), Code.Unauthenticated, "INVALID_CREDENTIALS");
  }
  await assertRateLimited(login("ip3@example.test", "203.0.113.1"), 600);
  // Refused before the password is even looked at: a right password does not help.
  await assertRateLimited(
    h.client.login({ identifier: { case: "email", value: "x@example.test" }, password: PASSWORD }, from("203.0.113.1")),
    600,
  );
  await rejectsWith(login("ip3@example.test", "203.0.113.2"), Code.Unauthenticated, "INVALID_CREDENTIALS");
});

test("x-client-ip is believed only from a caller with the edge's service token", async () => {
  // A direct caller forging a fresh address per call stays in its peer's bucket (127.0.0.1): the 4th is refused.
  const forged = (i: number) =>
    h.client.login(
      { identifier: { case: "email", value: `forged${i}@example.test` }, password: "not the password" },
      { headers: { "x-client-ip": `203.0.113.${100 + i}` } },
    );
  const peerCount = await h.infra.redis.get(`${h.config.REDIS_KEY_PREFIX}rate:login:ip:127.0.0.1`);
  assert.equal(peerCount, null, "nothing in this file logs in from the peer address unforwarded before this test");
  for (let i = 0; i < 3; i++) await rejectsWith(forged(i), Code.Unauthenticated, "INVALID_CREDENTIALS");
  await assertRateLimited(forged(3), 600);
  assert.equal(await h.infra.redis.get(`${h.config.REDIS_KEY_PREFIX}rate:login:ip:203.0.113.103`), null);

  // The edge, with its token, is believed: each forwarded address is its own client.
  for (let i = 0; i < 4; i++) {
    await rejectsWith(
      login(`vouched${i}@example.test`, `203.0.113.${110 + i}`),
      Code.Unauthenticated,
      "INVALID_CREDENTIALS",
    );
  }

  // A token that does not verify (another secret) is refused, not quietly taken for a direct call.
  const stranger = await createTokenKeys(randomBytes(32).toString("hex")).issueService("edge", 60);
  await rejectsWith(
    h.client.login(
      { identifier: { case: "email", value: "stranger@example.test" }, password: "not the password" },
      { headers: { "x-client-ip": "203.0.113.120", [SERVICE_TOKEN_HEADER]: stranger } },
    ),
    Code.Unauthenticated,
    "SERVICE_TOKEN_INVALID",
  );
});

test("per account: many addresses guessing one account's password are stopped", async () => {
  const victim = "victim@example.test";
  for (let i = 0; i < 4; i++) {
    await rejectsWith(login(victim, `198.51.100.${10 + i}`), Code.Unauthenticated, "INVALID_CREDENTIALS");
  }
  await assertRateLimited(login("VICTIM@Example.test", "198.51.100.99"), 600);
  // Another account from the same addresses is fine.
  await rejectsWith(login("bystander@example.test", "198.51.100.10"), Code.Unauthenticated, "INVALID_CREDENTIALS");
});

test("concurrent calls cannot slip past a limit", async () => {
  const results = await Promise.allSettled(
    Array.from({ length: 12 }, (_, i) => login(`swarm${i}@example.test`, "203.0.113.50")),
  );
  const reasons = results.map((r) => (r.status === "rejected" ? errorReason(ConnectError.from(r.reason)) : "OK"));
  assert.equal(reasons.filter((r) => r === "INVALID_CREDENTIALS").length, 3, reasons.join(" "));
  assert.equal(reasons.filter((r) => r === "RATE_LIMITED").length, 9, reasons.join(" "));
});

test("VerifyOtp per account: code guessing from many addresses is limited", async () => {
  const email = "guessed@example.test";
  await h.client.register({ email, username: "guessed", password: PASSWORD });
  const { otp } = await h.takeOtp(email);
  const wrong = otp === "000000" ? "111111" : "000000";
  for (let i = 0; i < 3; i++) {
    await rejectsWith(
      h.client.verifyOtp({ email, otp: wrong }, from(`192.0.2.${i}`)),
      Code.InvalidArgument,
      "OTP_INVALID",
    );
  }
  await assertRateLimited(h.client.verifyOtp({ email, otp }, from("192.0.2.200")), 600);
});

test("Register per account: retries of one email are limited, and a refused one sends nothing", async () => {
  const email = "retry@example.test";
  await h.client.register({ email, username: "retry_one", password: PASSWORD }, from("192.0.2.10"));
  await h.client.register({ email, username: "retry_two", password: PASSWORD }, from("192.0.2.11"));
  await assertRateLimited(
    h.client.register({ email, username: "retry_three", password: PASSWORD }, from("192.0.2.12")),
    600,
  );
  const [row] = await h.infra.sql`select username from users where email = ${email}`;
  assert.equal(row?.username, "retry_two");
  // A later sign-up's code arriving proves the earlier ones were delivered.
  await h.signUp("retry_marker");
  assert.equal(h.otpEvents.filter((e) => e.email === email).length, 2);
});

test("without x-client-ip the TCP peer address is the bucket, not a shared 'unknown' one", async () => {
  await h.client.resendOtp({ email: "peer1@example.test" });
  await h.client.resendOtp({ email: "peer2@example.test" });
  await assertRateLimited(h.client.resendOtp({ email: "peer3@example.test" }), 600);
  const prefix = h.config.REDIS_KEY_PREFIX;
  assert.equal(await h.infra.redis.get(`${prefix}rate:resend_otp:ip:127.0.0.1`), "3");
  assert.deepEqual(await h.infra.redis.keys(`${prefix}rate:resend_otp:ip:unknown*`), []);
  // A forwarded address has its own bucket.
  await h.client.resendOtp({ email: "peer3@example.test" }, from("2001:db8::1"));
});

test("limits are shared by every instance through Redis", async () => {
  const second = await h.startSecondInstance();
  try {
    await rejectsWith(login("shared@example.test", "203.0.113.77"), Code.Unauthenticated, "INVALID_CREDENTIALS");
    await rejectsWith(
      login("shared2@example.test", "203.0.113.77", second.client),
      Code.Unauthenticated,
      "INVALID_CREDENTIALS",
    );
    await rejectsWith(login("shared3@example.test", "203.0.113.77"), Code.Unauthenticated, "INVALID_CREDENTIALS");
    await assertRateLimited(login("shared4@example.test", "203.0.113.77", second.client), 600);
  } finally {
    await second.close();
  }
});

test("an IPv6 client is counted by its /64, an IPv4-mapped one as its IPv4 address", async () => {
  await h.client.resendOtp({ email: "six1@example.test" }, from("2001:db8:aa:1::1"));
  await h.client.resendOtp({ email: "six2@example.test" }, from("2001:db8:aa:1:ffff:ffff:ffff:fffe"));
  // Another address, and another spelling, in the same /64.
  await assertRateLimited(h.client.resendOtp({ email: "six3@example.test" }, from("2001:DB8:AA:1:0::3")), 600);
  const prefix = h.config.REDIS_KEY_PREFIX;
  assert.equal(await h.infra.redis.get(`${prefix}rate:resend_otp:ip:2001:db8:aa:1::/64`), "3");
  // The next /64 is another client.
  await h.client.resendOtp({ email: "six3@example.test" }, from("2001:db8:aa:2::1"));

  await h.client.resendOtp({ email: "mapped1@example.test" }, from("::ffff:203.0.113.200"));
  await h.client.resendOtp({ email: "mapped2@example.test" }, from("203.0.113.200"));
  await assertRateLimited(h.client.resendOtp({ email: "mapped3@example.test" }, from("::FFFF:CB00:71C8")), 600);
  assert.equal(await h.infra.redis.get(`${prefix}rate:resend_otp:ip:203.0.113.200`), "3");
});

test("ResendOtp's limits refuse a known and an unknown email at the same calls", async () => {
  const known = "limits.known@example.test";
  await h.client.register({ email: known, username: "limits_known", password: PASSWORD });
  await h.takeOtp(known);
  const answers = [];
  for (const [i, email] of [known, "limits.unknown@example.test"].entries()) {
    // Registering started the cooldown: both start from no cooldown running.
    await h.infra.redis.del(`${h.config.REDIS_KEY_PREFIX}otp-resend-cooldown:${email}`);
    const reasons = [];
    // Three calls from one address (per address limit 2), then one from another (per account limit 3).
    for (const ip of [`192.0.2.${60 + i}`, `192.0.2.${60 + i}`, `192.0.2.${60 + i}`, `192.0.2.${70 + i}`]) {
      const reason = await h.client.resendOtp({ email }, from(ip)).then(
        () => "OK",
        (err: unknown) => {
          const e = ConnectError.from(err);
          return `${Code[e.code]} ${errorReason(e)} ${e.rawMessage}`;
        },
      );
      reasons.push(reason);
    }
    answers.push(reasons);
  }
  const [forKnown, forUnknown] = answers;
  assert.deepEqual(forKnown, forUnknown);
  assert.deepEqual(
    forKnown?.map((a) => a.split(" ").slice(0, 2).join(" ")),
    ["OK", "ResourceExhausted OTP_RESEND_COOLDOWN", "ResourceExhausted RATE_LIMITED", "ResourceExhausted RATE_LIMITED"],
  );
});
