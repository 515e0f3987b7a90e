/**
 * The web app's side of the edge: the build served at / with its cache
 * rules, the fallback to index.html for the app's routes, the security
 * headers on its pages, and the cookie session routes under /api/web.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  type ApiOptions,
  type ApiResponse,
  assertError,
  type Edge,
  type SignedUp,
  type System,
  startSystem,
} from "./harness.js";

const INDEX = '<!doctype html><html><head><script type="module" src="/assets/app-abc123.js"></script></head></html>\n';
const CSP =
  "default-src 'self';script-src 'self';style-src 'self';connect-src 'self';img-src 'self' https: data:;" +
  "object-src 'none';base-uri 'none';frame-ancestors 'none';form-action 'self'";
const BIG_SCRIPT = `${Array.from({ length: 2000 }, (_, i) => `export const v${i} = ${i};`).join("\n")}\n`;
const HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

let system: System;
let dist: string;
let web: Edge;

before(async () => {
  system = await startSystem();
  dist = await mkdtemp(join(tmpdir(), "parley-web-dist-"));
  await mkdir(join(dist, "assets"));
  await writeFile(join(dist, "index.html"), INDEX);
  await writeFile(join(dist, "assets", "app-abc123.js"), "console.log('app');\n");
  await writeFile(join(dist, "assets", "vendor-def456.js"), BIG_SCRIPT);
  await writeFile(join(dist, "sw.js"), "self.addEventListener('fetch', () => {});\n");
  await writeFile(join(dist, "manifest.webmanifest"), '{"name":"Parley"}\n');
  web = await system.startEdge({ WEB_DIST_DIR: dist });
});

after(async () => {
  await system?.close();
  if (dist) await rm(dist, { recursive: true, force: true });
});

async function get(path: string, accept?: string, edge: Edge = web) {
  const res = await fetch(`${edge.url}${path}`, { headers: accept ? { accept } : {} });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/**
 * A GET with the path and headers sent exactly as written (fetch would resolve
 * dot segments, and add Cache-Control: no-cache to a conditional request).
 */
function rawGet(path: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${web.url}/`, { path, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", reject);
    req.end();
  });
}

function assertPageHeaders(headers: Headers, what: string) {
  assert.equal(headers.get("content-security-policy"), CSP, what);
  assert.equal(headers.get("x-content-type-options"), "nosniff", what);
  assert.equal(headers.get("referrer-policy"), "no-referrer", what);
  assert.equal(headers.get("x-frame-options"), "DENY", what);
  assert.match(headers.get("permissions-policy") ?? "", /camera=\(\), geolocation=\(\)/, what);
}

describe("the web app at /", () => {
  test("index.html is never cached and carries the CSP and security headers", async () => {
    const res = await get("/", HTML);
    assert.equal(res.status, 200);
    assert.equal(res.text, INDEX);
    assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
    assert.equal(res.headers.get("cache-control"), "no-cache");
    assert.ok(res.headers.get("etag"), "revalidation needs a validator");
    assertPageHeaders(res.headers, "/");
    // Also for clients that do not say they want HTML.
    assert.equal((await get("/")).text, INDEX);
  });

  test("hashed assets are cached for a year; the service worker and manifest are not", async () => {
    const asset = await get("/assets/app-abc123.js");
    assert.equal(asset.status, 200);
    assert.equal(asset.text, "console.log('app');\n");
    assert.match(asset.headers.get("content-type") ?? "", /javascript/);
    assert.equal(asset.headers.get("cache-control"), "public, max-age=31536000, immutable");
    for (const path of ["/sw.js", "/manifest.webmanifest"]) {
      const res = await get(path);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get("cache-control"), "no-cache", path);
      assertPageHeaders(res.headers, path);
    }
    // A validator makes the no-cache files cheap to revalidate.
    const etag = (await get("/sw.js")).headers.get("etag") ?? "";
    assert.equal((await rawGet("/sw.js", { "if-none-match": etag })).status, 304);
  });

  test("text goes out compressed to clients that accept it, and whole to those that do not", async () => {
    for (const encoding of ["br", "gzip"]) {
      const res = await fetch(`${web.url}/assets/vendor-def456.js`, { headers: { "accept-encoding": encoding } });
      assert.equal(res.headers.get("content-encoding"), encoding);
      assert.match(res.headers.get("vary") ?? "", /accept-encoding/i);
      assert.equal(res.headers.get("cache-control"), "public, max-age=31536000, immutable");
      assert.equal(await res.text(), BIG_SCRIPT);
    }
    const plain = await rawGet("/assets/vendor-def456.js", {});
    assert.equal(plain.status, 200);
    assert.equal(plain.text, BIG_SCRIPT);
  });

  test("the app's routes fall back to index.html for a browser", async () => {
    for (const path of [
      "/rooms/0b7c6a58-5f0e-4a57-9d55-0f6f3ad2c1e1",
      "/login",
      "/settings/profile",
      "/verify?email=a",
    ]) {
      const res = await get(path, HTML);
      assert.equal(res.status, 200, path);
      assert.equal(res.text, INDEX, path);
      assert.equal(res.headers.get("cache-control"), "no-cache", path);
      assertPageHeaders(res.headers, path);
    }
    const head = await fetch(`${web.url}/rooms/1`, { method: "HEAD", headers: { accept: HTML } });
    assert.equal(head.status, 200);
  });

  test("what is not the app keeps the API's JSON 404", async () => {
    const cases: [string, string, string | undefined][] = [
      ["GET", "/api/nope", HTML],
      ["GET", "/api", HTML],
      ["POST", "/api/nope", undefined],
      ["GET", "/parley.user.v1.UserService/Nope", HTML],
      // Not asking for HTML: a missing file, not a page.
      ["GET", "/rooms/1", "application/json"],
      ["GET", "/assets/app-missing.js", "*/*"],
      // Asking for HTML but explicitly refusing it.
      ["GET", "/rooms/1", "text/html;q=0, application/json"],
      ["POST", "/rooms/1", HTML],
    ];
    for (const [method, path, accept] of cases) {
      const res = await fetch(`${web.url}${path}`, { method, headers: accept ? { accept } : {} });
      const json = (await res.json()) as ApiResponse["json"];
      assertError({ status: res.status, json }, 404, "not_found", "ROUTE_NOT_FOUND");
    }
    // The API's own routes are untouched.
    assert.equal((await get("/ws", HTML)).status, 426);
    assertError(
      await system.api("GET", "/api/users/profile", undefined, undefined, { baseUrl: web.url }),
      401,
      "unauthenticated",
    );
  });

  test("nothing outside the build is served", async () => {
    await writeFile(join(dist, "..", "parley-secret.txt"), "TOP-SECRET-CONTENT\n");
    try {
      const paths = [
        "/../parley-secret.txt",
        "/%2e%2e/parley-secret.txt",
        "/assets/../../parley-secret.txt",
        "/..%2fparley-secret.txt",
      ];
      for (const path of paths) {
        for (const accept of [HTML, "*/*"]) {
          const res = await rawGet(path, { accept });
          assert.doesNotMatch(res.text, /TOP-SECRET-CONTENT/, `${path} ${accept}`);
          // A browser asking for a page may get the app; anything else is refused.
          if (res.status === 200) assert.equal(res.text, INDEX, `${path} ${accept}`);
        }
      }
    } finally {
      await rm(join(dist, "..", "parley-secret.txt"), { force: true });
    }
  });

  test("without a build the edge still starts and its pages say what to run", async () => {
    const missing = await system.startEdge({ WEB_DIST_DIR: join(dist, "not-built") });
    try {
      for (const path of ["/", "/rooms/1"]) {
        const res = await get(path, HTML, missing);
        assert.equal(res.status, 503, path);
        assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
        assert.match(res.text, /npm run build -w web/);
        assert.equal(res.headers.get("cache-control"), "no-store");
        assertPageHeaders(res.headers, path);
      }
      assertError(
        await system.api("GET", "/api/nope", undefined, undefined, { baseUrl: missing.url }),
        404,
        "not_found",
        "ROUTE_NOT_FOUND",
      );
      assert.equal((await fetch(`${missing.url}/healthz`)).status, 200);
    } finally {
      await missing.close();
    }
  });
});

const COOKIE = "parley_refresh";

interface WebResponse extends ApiResponse {
  /** The session cookie this response sets, by its raw Set-Cookie line. */
  setCookie: string | undefined;
  /** Its value ("" when cleared). */
  cookie: string | undefined;
}

async function webCall(
  path: string,
  opts: { cookie?: string; body?: unknown; headers?: Record<string, string>; edge?: Edge } = {},
) {
  const edge = opts.edge ?? web;
  const headers: Record<string, string> = {
    "x-parley-csrf": "1",
    ...(opts.cookie === undefined ? {} : { cookie: `${COOKIE}=${opts.cookie}` }),
    ...opts.headers,
  };
  const res: ApiResponse = await system.api("POST", path, opts.body, undefined, {
    baseUrl: edge.url,
    headers,
  } as ApiOptions);
  const setCookie = res.headers.getSetCookie().find((c) => c.startsWith(`${COOKIE}=`));
  const cookie = setCookie?.slice(COOKIE.length + 1).split(";")[0];
  return { ...res, setCookie, cookie } as WebResponse;
}

/** Login by password, then the web session from the mailed code. */
async function webSignIn(user: SignedUp, edge: Edge = web): Promise<WebResponse> {
  const login = await system.api("POST", "/api/users/login", { email: user.email, password: "correct horse battery" });
  assert.equal(login.status, 200, JSON.stringify(login.json));
  const otp = await system.takeOtp(user.email);
  return webCall("/api/web/session", { body: { email: user.email, otp, purpose: "login" }, edge });
}

function assertCleared(res: WebResponse) {
  assert.ok(res.setCookie, "the cookie is cleared");
  assert.equal(res.cookie, "");
  assert.match(res.setCookie, /Expires=Thu, 01 Jan 1970|Max-Age=0/);
  assert.match(res.setCookie, /Path=\/api\/web/);
}

describe("the web session cookie", () => {
  let ada: SignedUp;
  before(async () => {
    ada = await system.signUp();
  });

  test("sign-in sets an httpOnly SameSite=Strict cookie and answers without the refresh token", async () => {
    const res = await webSignIn(ada);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.deepEqual(Object.keys(res.json).sort(), ["accessToken", "expiresIn", "user"]);
    assert.equal((res.json.user as { id: string }).id, ada.id);
    assert.ok(res.cookie && res.cookie.length > 20, "a refresh token in the cookie");
    assert.doesNotMatch(JSON.stringify(res.json), new RegExp(res.cookie), "the body never holds the refresh token");
    const attributes = (res.setCookie ?? "").split(";").map((a) => a.trim());
    assert.ok(attributes.includes("HttpOnly"), res.setCookie);
    assert.ok(attributes.includes("SameSite=Strict"), res.setCookie);
    assert.ok(attributes.includes("Path=/api/web"), res.setCookie);
    assert.ok(attributes.includes(`Max-Age=${30 * 24 * 3600}`), res.setCookie);
    assert.ok(!attributes.includes("Secure"), "not Secure outside production unless configured");
    // The access token is a working one.
    const profile = await system.api("GET", "/api/users/profile", undefined, res.json.accessToken as string);
    assert.equal(profile.status, 200);
  });

  test("a wrong code is the JSON path's error, and no cookie", async () => {
    const login = await system.api("POST", "/api/users/login", { email: ada.email, password: "correct horse battery" });
    assert.equal(login.status, 200);
    const otp = await system.takeOtp(ada.email);
    const wrong = otp === "000000" ? "111111" : "000000";
    const res = await webCall("/api/web/session", { body: { email: ada.email, otp: wrong, purpose: "login" } });
    assertError(res, 400, "invalid_argument", "OTP_INVALID");
    assert.equal(res.setCookie, undefined);
    const right = await webCall("/api/web/session", { body: { email: ada.email, otp, purpose: "login" } });
    assert.equal(right.status, 200, JSON.stringify(right.json));
    assert.ok(right.cookie);
    assertError(
      await webCall("/api/web/session", { body: { email: "not an email", otp: "1" } }),
      400,
      "invalid_argument",
    );
  });

  test("refresh demands the CSRF header and a same-site Origin", async () => {
    const { cookie } = await webSignIn(ada);
    assert.ok(cookie);
    const noHeader = await webCall("/api/web/refresh", { cookie, headers: { "x-parley-csrf": "" } });
    assertError(noHeader, 403, "permission_denied", "CSRF_REJECTED");
    for (const origin of ["http://evil.example", "null", `${web.url}.evil.example`, "ftp://127.0.0.1"]) {
      const foreign = await webCall("/api/web/refresh", { cookie, headers: { origin } });
      assertError(foreign, 403, "permission_denied", "CSRF_REJECTED");
    }
    const sessionRes = await webCall("/api/web/session", { body: {}, headers: { origin: "http://evil.example" } });
    assertError(sessionRes, 403, "permission_denied", "CSRF_REJECTED");
    const logoutRes = await webCall("/api/web/logout", { cookie, headers: { "x-parley-csrf": "true" } });
    assertError(logoutRes, 403, "permission_denied", "CSRF_REJECTED");
    // None of the refused ones spent the cookie.
    const own = await webCall("/api/web/refresh", { cookie, headers: { origin: web.url } });
    assert.equal(own.status, 200, JSON.stringify(own.json));
  });

  test("an origin listed in CORS_ORIGINS may use it; Secure when configured", async () => {
    const edge = await system.startEdge({
      WEB_DIST_DIR: dist,
      CORS_ORIGINS: "https://app.example",
      WEB_COOKIE_SECURE: "true",
    });
    try {
      const signed = await webSignIn(ada, edge);
      assert.equal(signed.status, 200);
      assert.ok(
        (signed.setCookie ?? "")
          .split(";")
          .map((a) => a.trim())
          .includes("Secure"),
        signed.setCookie,
      );
      const res = await webCall("/api/web/refresh", {
        cookie: signed.cookie,
        headers: { origin: "https://app.example" },
        edge,
      });
      assert.equal(res.status, 200, JSON.stringify(res.json));
      const other = await webCall("/api/web/refresh", {
        cookie: res.cookie,
        headers: { origin: "https://other.example" },
        edge,
      });
      assertError(other, 403, "permission_denied", "CSRF_REJECTED");
    } finally {
      await edge.close();
    }
  });

  test("refresh rotates the cookie; replaying the old one is refused and ends the session", async () => {
    const signed = await webSignIn(ada);
    const first = await webCall("/api/web/refresh", { cookie: signed.cookie });
    assert.equal(first.status, 200, JSON.stringify(first.json));
    assert.deepEqual(Object.keys(first.json).sort(), ["accessToken", "expiresIn", "user"]);
    assert.equal((first.json.user as { username: string }).username, ada.username);
    assert.ok(first.cookie && first.cookie !== signed.cookie, "a new refresh token");
    assert.ok(first.setCookie?.includes("HttpOnly"));
    const second = await webCall("/api/web/refresh", { cookie: first.cookie });
    assert.equal(second.status, 200);
    assert.ok(second.cookie && second.cookie !== first.cookie);

    // The spent cookie, as a copy taken earlier would present it.
    const replay = await webCall("/api/web/refresh", { cookie: signed.cookie });
    assertError(replay, 401, "unauthenticated", "REFRESH_TOKEN_REUSED");
    assertCleared(replay);
    // Like the JSON path: the whole session is over, the current cookie and its access token too.
    assertError(await webCall("/api/web/refresh", { cookie: second.cookie }), 401, "unauthenticated");
    const profile = await system.api("GET", "/api/users/profile", undefined, second.json.accessToken as string);
    assertError(profile, 401, "unauthenticated");
  });

  test("without a cookie there is nothing to refresh", async () => {
    const res = await webCall("/api/web/refresh");
    assertError(res, 401, "unauthenticated", "WEB_SESSION_MISSING");
    assertCleared(res);
  });

  test("logout ends the session and clears the cookie; logging out again is fine", async () => {
    const signed = await webSignIn(ada);
    const res = await webCall("/api/web/logout", { cookie: signed.cookie });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.deepEqual(res.json, {});
    assertCleared(res);
    assertError(
      await system.api("GET", "/api/users/profile", undefined, signed.json.accessToken as string),
      401,
      "unauthenticated",
    );
    assertError(await webCall("/api/web/refresh", { cookie: signed.cookie }), 401, "unauthenticated");
    const again = await webCall("/api/web/logout", { cookie: signed.cookie });
    assert.equal(again.status, 200);
    assertCleared(again);
  });

  test("logout-all ends every session of the user, JSON ones included", async () => {
    const bob = await system.signUp();
    const signed = await webSignIn(bob);
    const res = await webCall("/api/web/logout-all", { cookie: signed.cookie });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal(res.json.sessionsEnded, 2);
    assertCleared(res);
    assertError(await system.api("GET", "/api/users/profile", undefined, bob.token), 401, "unauthenticated");
    assertError(await webCall("/api/web/logout-all", { cookie: signed.cookie }), 401, "unauthenticated");
  });
});
