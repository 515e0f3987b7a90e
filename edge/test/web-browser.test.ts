/**
 * The web app's edge in real headless Chromium: a page the edge serves under
 * its Content-Security-Policy signs in through the cookie session routes,
 * calls Connect and opens the WebSocket on its own origin without a single
 * CSP violation, while the policy does stop inline script and other origins,
 * and page script cannot read the session cookie.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser } from "playwright-core";
import { bundleForBrowser, launchChromium } from "../../test/support/browser.js";
import { type Edge, type System, startSystem } from "./harness.js";

// A build as Vite writes one, plus an inline script the policy must refuse to run.
const INDEX = `<!doctype html>
<html><head>
<script src="/assets/app-abc123.js"></script>
<script>globalThis.inlineRan = true;</script>
</head><body></body></html>
`;

let system: System;
let web: Edge;
let dist: string;
let browser: Browser;

before(async () => {
  const script = await bundleForBrowser(new URL("./web-page.ts", import.meta.url).pathname);
  dist = await mkdtemp(join(tmpdir(), "parley-web-browser-"));
  await mkdir(join(dist, "assets"));
  await writeFile(join(dist, "index.html"), INDEX);
  await writeFile(join(dist, "assets", "app-abc123.js"), script);
  system = await startSystem();
  web = await system.startEdge({ WEB_DIST_DIR: dist });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await system?.close();
  if (dist) await rm(dist, { recursive: true, force: true });
});

interface PageApi {
  parley: {
    signIn(email: string, otp: string): Promise<{ status: number; body: Record<string, unknown> }>;
    refresh(): Promise<{ status: number; body: Record<string, unknown> }>;
    chat(token: string): Promise<{ username: string; event: { text: string } }>;
    blocked(): Promise<string>;
    violations: string[];
  };
  inlineRan?: boolean;
}

test("a page under the edge's CSP signs in by cookie, calls Connect and opens /ws; script never sees the cookie", async () => {
  const ada = await system.signUp();
  const context = await browser.newContext();
  const tab = await context.newPage();
  const consoleErrors: string[] = [];
  tab.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  // A link from a mail: a client route, answered with the app.
  const res = await tab.goto(`${web.url}/rooms/0b7c6a58-5f0e-4a57-9d55-0f6f3ad2c1e1`);
  assert.equal(res?.status(), 200);
  assert.match((await res?.headerValue("content-security-policy")) ?? "", /connect-src 'self'/);

  const login = await system.api("POST", "/api/users/login", { email: ada.email, password: "correct horse battery" });
  assert.equal(login.status, 200);
  const otp = await system.takeOtp(ada.email);
  const signedIn = await tab.evaluate(
    ([email, code]) => (globalThis as unknown as PageApi).parley.signIn(email, code),
    [ada.email, otp] as const,
  );
  assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
  assert.deepEqual(Object.keys(signedIn.body).sort(), ["accessToken", "expiresIn", "user"]);

  // The browser holds the cookie, page script cannot read it.
  const cookies = await context.cookies(`${web.url}/api/web/refresh`);
  const session = cookies.find((c) => c.name === "parley_refresh");
  assert.ok(session, JSON.stringify(cookies));
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, "Strict");
  assert.equal(session.path, "/api/web");

  const chat = await tab.evaluate(
    (token) => (globalThis as unknown as PageApi).parley.chat(token),
    signedIn.body.accessToken as string,
  );
  assert.equal(chat.username, ada.username);
  assert.equal(chat.event.text, "over Connect, back over /ws");

  // After a reload the page has no token in memory; the cookie buys a new one.
  await tab.reload();
  const refreshed = await tab.evaluate(() => (globalThis as unknown as PageApi).parley.refresh());
  assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
  assert.equal((refreshed.body.user as { id: string }).id, ada.id);
  const rotated = (await context.cookies(`${web.url}/api/web/refresh`)).find((c) => c.name === "parley_refresh");
  assert.ok(rotated && rotated.value !== session.value, "the cookie rotated");

  // None of that broke the policy; the inline script did, and did not run.
  const violations = await tab.evaluate(() => [...(globalThis as unknown as PageApi).parley.violations]);
  assert.deepEqual(violations, ["script-src-elem inline"]);
  assert.equal(await tab.evaluate(() => (globalThis as unknown as PageApi).inlineRan), undefined);
  // The control: another origin is refused and reported, so a violation by the app would have shown.
  assert.equal(await tab.evaluate(() => (globalThis as unknown as PageApi).parley.blocked()), "refused");
  const after = await tab.evaluate(() => [...(globalThis as unknown as PageApi).parley.violations]);
  assert.deepEqual(after, ["script-src-elem inline", "connect-src http://parley-elsewhere.invalid/"]);
  assert.deepEqual(
    consoleErrors.filter((e) => /Content Security Policy/.test(e) && !/inline script|parley-elsewhere/.test(e)),
    [],
  );

  // Script in a document under the cookie's path sees a readable cookie there, but never the session's.
  await context.addCookies([{ name: "readable", value: "1", url: `${web.url}/api/web/` }]);
  await tab.goto(`${web.url}/api/web/nothing-here`);
  assert.equal(await tab.evaluate("document.cookie"), "readable=1");
  await context.close();
});
