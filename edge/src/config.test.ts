import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "@parley/shared/config.js";
import { loadEdgeConfig } from "./config.js";
import { allowedOrigins } from "./cors.js";

const SECRET = "x".repeat(32);

test("defaults", () => {
  const config = loadEdgeConfig({ JWT_SECRET: SECRET });
  assert.equal(config.PORT, 3000);
  assert.equal(config.HOST, "0.0.0.0");
  assert.equal(config.USER_SVC_URL, "http://127.0.0.1:50051");
  assert.equal(config.CHAT_SVC_URL, "http://127.0.0.1:50052");
  assert.equal(config.WS_MAX_BUFFERED_BYTES, 1024 * 1024);
  assert.equal(config.CORS_ORIGINS, undefined);
});

test("every bad variable is reported at once", () => {
  assert.throws(
    () => loadEdgeConfig({ JWT_SECRET: "short", PORT: "http", USER_SVC_URL: "ftp://x", WS_MAX_BUFFERED_BYTES: "-1" }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      const names = err.problems.map((p) => p.split(" ")[0]);
      assert.deepEqual(names.sort(), ["JWT_SECRET", "PORT", "USER_SVC_URL", "WS_MAX_BUFFERED_BYTES"]);
      return true;
    },
  );
  assert.throws(() => loadEdgeConfig({}), /JWT_SECRET is required/);
});

test("CORS origins: a list, *, or any origin outside production when unset", () => {
  assert.equal(allowedOrigins(undefined, "development"), "*");
  assert.equal(allowedOrigins(undefined, "test"), "*");
  assert.deepEqual(allowedOrigins(undefined, "production"), new Set());
  assert.deepEqual(
    allowedOrigins("https://a.test, https://b.test/", "production"),
    new Set(["https://a.test", "https://b.test"]),
  );
  assert.equal(allowedOrigins("https://a.test,*", "production"), "*");
});
