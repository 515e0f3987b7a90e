import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { ConfigError } from "@parley/shared/config.js";
import { DEFAULT_WEB_DIST_DIR, loadEdgeConfig, parseTrustProxy } from "./config.js";
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
  assert.equal(config.HEARTBEAT_INTERVAL, 25);
  assert.equal(config.WS_SEND_RATE, 20);
  assert.equal(config.WS_SEND_BURST, 40);
  assert.equal(config.WS_AUTHENTICATE_BURST, 5);
  assert.equal(config.WS_AUTHENTICATE_INTERVAL, 10);
  assert.equal(config.TRUST_PROXY, false);
  assert.equal(config.WEB_DIST_DIR, DEFAULT_WEB_DIST_DIR);
  assert.equal(config.WEB_COOKIE_SECURE, undefined);
  assert.equal(config.WEB_COOKIE_MAX_AGE, 30 * 24 * 3600);
});

test("WEB_DIST_DIR: the repository's web/dist by default; absolute; may be missing but not a file", () => {
  assert.equal(DEFAULT_WEB_DIST_DIR, resolve(import.meta.dirname, "../../web/dist"));
  const dir = mkdtempSync(join(tmpdir(), "parley-config-"));
  try {
    writeFileSync(join(dir, "file"), "");
    assert.equal(loadEdgeConfig({ JWT_SECRET: SECRET, WEB_DIST_DIR: dir }).WEB_DIST_DIR, dir);
    assert.equal(
      loadEdgeConfig({ JWT_SECRET: SECRET, WEB_DIST_DIR: join(dir, "later") }).WEB_DIST_DIR,
      join(dir, "later"),
    );
    assert.equal(loadEdgeConfig({ JWT_SECRET: SECRET, WEB_DIST_DIR: "web/dist" }).WEB_DIST_DIR, resolve("web/dist"));
    assert.throws(
      () => loadEdgeConfig({ JWT_SECRET: SECRET, WEB_DIST_DIR: join(dir, "file") }),
      /WEB_DIST_DIR must be a directory/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("WEB_COOKIE_SECURE: true, false or unset; WEB_COOKIE_MAX_AGE: bounded seconds", () => {
  assert.equal(loadEdgeConfig({ JWT_SECRET: SECRET, WEB_COOKIE_SECURE: "TRUE" }).WEB_COOKIE_SECURE, true);
  assert.equal(loadEdgeConfig({ JWT_SECRET: SECRET, WEB_COOKIE_SECURE: "false" }).WEB_COOKIE_SECURE, false);
  assert.throws(() => loadEdgeConfig({ JWT_SECRET: SECRET, WEB_COOKIE_SECURE: "yes" }), /WEB_COOKIE_SECURE must be/);
  assert.throws(() => loadEdgeConfig({ JWT_SECRET: SECRET, WEB_COOKIE_MAX_AGE: "10" }), /WEB_COOKIE_MAX_AGE must be/);
});

test("TRUST_PROXY: off unless set; true, or the proxies to believe", () => {
  assert.deepEqual(parseTrustProxy(undefined), { value: false });
  assert.deepEqual(parseTrustProxy(" false "), { value: false });
  assert.deepEqual(parseTrustProxy("TRUE"), { value: true });
  assert.deepEqual(parseTrustProxy("10.0.0.1, 192.168.0.0/16,::1,loopback"), {
    value: ["10.0.0.1", "192.168.0.0/16", "::1", "loopback"],
  });
  for (const bad of ["2", "yes", "10.0.0.1/33", "proxy.internal", "10.0.0.1/8/1", ","]) {
    assert.ok("problem" in parseTrustProxy(bad), bad);
  }
  assert.deepEqual(loadEdgeConfig({ JWT_SECRET: SECRET, TRUST_PROXY: "127.0.0.1" }).TRUST_PROXY, ["127.0.0.1"]);
});

test("every bad variable is reported at once", () => {
  assert.throws(
    () =>
      loadEdgeConfig({
        JWT_SECRET: "short",
        PORT: "http",
        USER_SVC_URL: "ftp://x",
        WS_MAX_BUFFERED_BYTES: "-1",
        HEARTBEAT_INTERVAL: "0",
        WS_SEND_RATE: "fast",
        TRUST_PROXY: "maybe",
      }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      const names = err.problems.map((p) => p.split(" ")[0]);
      assert.deepEqual(names.sort(), [
        "HEARTBEAT_INTERVAL",
        "JWT_SECRET",
        "PORT",
        "TRUST_PROXY",
        "USER_SVC_URL",
        "WS_MAX_BUFFERED_BYTES",
        "WS_SEND_RATE",
      ]);
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
