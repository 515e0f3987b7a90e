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
});

test("a missing JWT_SECRET and a bad PORT are both named in one ConfigError", () => {
  assert.throws(
    () => readConfig({ PORT: "not-a-port", OTP_EXPIRY: "5" }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /JWT_SECRET is required but missing/);
      assert.match(err.message, /PORT must be an integer from 0 to 65535/);
      assert.match(err.message, /OTP_EXPIRY must be an integer from 30 to 3600/);
      assert.equal(err.problems.length, 3);
      return true;
    },
  );
});

test("a JWT_SECRET shorter than 32 characters is refused", () => {
  assert.throws(() => readConfig({ JWT_SECRET: "too-short" }), /JWT_SECRET must be at least 32 characters long/);
});
