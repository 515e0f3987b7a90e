import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, int, loadConfig, oneOf, port, str, url } from "./config.js";

const spec = {
  PORT: port(3000),
  DATABASE_URL: url({ protocols: ["postgres", "postgresql"] }),
  JWT_SECRET: str({ minLength: 32 }),
  OTP_EXPIRY: int({ default: 300, min: 30, max: 3600 }),
  NODE_ENV: oneOf(["development", "production", "test"], "development"),
};

test("defaults apply and values parse", () => {
  const config = loadConfig(spec, { DATABASE_URL: "postgres://localhost/x", JWT_SECRET: "s".repeat(32) });
  assert.deepEqual(config, {
    PORT: 3000,
    DATABASE_URL: "postgres://localhost/x",
    JWT_SECRET: "s".repeat(32),
    OTP_EXPIRY: 300,
    NODE_ENV: "development",
  });
  assert.ok(Object.isFrozen(config));
});

test("every bad or missing variable is named in one error", () => {
  assert.throws(
    () =>
      loadConfig(spec, {
        PORT: "http",
        DATABASE_URL: "mysql://localhost/x",
        OTP_EXPIRY: "5",
        NODE_ENV: "staging",
      }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.problems.length, 5);
      assert.match(err.message, /PORT must be an integer from 0 to 65535 \(got "http"\)/);
      assert.match(err.message, /DATABASE_URL must be a postgres or postgresql URL/);
      assert.match(err.message, /JWT_SECRET is required but missing/);
      assert.match(err.message, /OTP_EXPIRY must be an integer from 30 to 3600/);
      assert.match(err.message, /NODE_ENV must be one of development, production, test/);
      return true;
    },
  );
});

test("a short secret is refused with its minimum", () => {
  assert.throws(
    () => loadConfig(spec, { DATABASE_URL: "postgres://h/d", JWT_SECRET: "short" }),
    /JWT_SECRET must be at least 32 characters long/,
  );
});
