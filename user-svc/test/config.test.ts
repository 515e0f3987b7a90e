import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "@parley/shared/config.js";
import { readConfig } from "../src/config.js";

test("defaults apply with only JWT_SECRET set", () => {
  const config = readConfig({ JWT_SECRET: "s".repeat(32) });
  assert.equal(config.PORT, 50051);
  assert.equal(config.HOST, "0.0.0.0");
  assert.equal(config.DATABASE_URL, "postgres://postgres@127.0.0.1:5432/parley_user");
  assert.equal(config.OTP_EXPIRY, 300);
  assert.equal(config.ACCESS_TOKEN_TTL, 900);
  assert.equal(config.SESSION_TTL, 30 * 24 * 60 * 60);
  assert.equal(config.AMQP_NAMESPACE, "parley");
  assert.equal(config.REDIS_KEY_PREFIX, "parley:");
  assert.equal(config.OTP_RESEND_COOLDOWN, 60);
  assert.equal(config.REGISTER_NOTICE_INTERVAL, 24 * 60 * 60);
  assert.deepEqual(config.RATE_LIMIT_LOGIN_PER_IP, { points: 20, durationSeconds: 600 });
  assert.deepEqual(config.RATE_LIMIT_RESEND_OTP_PER_ACCOUNT, { points: 5, durationSeconds: 600 });
});

test('rate limits are read as "<calls>/<seconds>"', () => {
  const config = readConfig({ JWT_SECRET: "s".repeat(32), RATE_LIMIT_VERIFY_OTP_PER_IP: " 7 / 30 " });
  assert.deepEqual(config.RATE_LIMIT_VERIFY_OTP_PER_IP, { points: 7, durationSeconds: 30 });
});

test("bad rate limits are reported together with every other bad variable", () => {
  assert.throws(
    () =>
      readConfig({
        PORT: "nope",
        RATE_LIMIT_LOGIN_PER_IP: "20",
        RATE_LIMIT_REGISTER_PER_ACCOUNT: "0/60",
        RATE_LIMIT_RESEND_OTP_PER_IP: "5/-1",
      }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /JWT_SECRET is required/);
      assert.match(err.message, /PORT must be/);
      assert.match(err.message, /RATE_LIMIT_LOGIN_PER_IP must be "<calls>\/<seconds>".*got "20"/);
      assert.match(err.message, /RATE_LIMIT_REGISTER_PER_ACCOUNT must be/);
      assert.match(err.message, /RATE_LIMIT_RESEND_OTP_PER_IP must be/);
      assert.equal(err.problems.length, 5);
      return true;
    },
  );
});

test("a missing JWT_SECRET and a bad PORT are both named in one ConfigError", () => {
  assert.throws(
    () => readConfig({ PORT: "not-a-port", OTP_EXPIRY: "5", REGISTER_NOTICE_INTERVAL: "10" }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /JWT_SECRET is required but missing/);
      assert.match(err.message, /PORT must be an integer from 0 to 65535/);
      assert.match(err.message, /OTP_EXPIRY must be an integer from 30 to 3600/);
      assert.match(err.message, /REGISTER_NOTICE_INTERVAL must be an integer from 60 to 2592000/);
      assert.equal(err.problems.length, 4);
      return true;
    },
  );
});

test("a JWT_SECRET shorter than 32 characters is refused", () => {
  assert.throws(() => readConfig({ JWT_SECRET: "too-short" }), /JWT_SECRET must be at least 32 characters long/);
});
