/**
 * Two tabs of one browser share the refresh cookie, which rotates on every
 * use; a rotated one sent again is taken for a stolen copy and ends the
 * session. Both tabs refreshing at the same moment (reloaded together, as a
 * browser restoring its tabs does) must leave the session alive. Parley Web
 * as in production: the four components as processes serving a fresh build.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Browser, BrowserContext, Page, Route } from "playwright-core";
import { buildWebApp, launchChromium, type WebBuild } from "../support/browser.js";
import { type RunningSystem, startSystem } from "../support/system.js";
import { see, signUpInApp } from "./web-app-steps.js";

let web: WebBuild;
let system: RunningSystem;
let browser: Browser;
let context: BrowserContext;

before(async () => {
  web = await buildWebApp();
  system = await startSystem({ env: { edge: { WEB_DIST_DIR: web.dir } } });
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
});

after(async () => {
  await context?.close();
  await browser?.close();
  await system?.close();
  await web?.remove();
});

/** How long a held refresh waits for the other tab's: longer than both reloads take to send theirs. */
const HOLD_MS = 1500;

const signedIn = (page: Page) => see(page.getByRole("navigation", { name: "Rooms" }));

test("two tabs refreshing the cookie at the same moment both stay signed in, and the session lives on", async () => {
  const first = await context.newPage();
  await signUpInApp(first, system, `tabs_${Date.now().toString(36)}`);
  const second = await context.newPage();
  await second.goto(`${system.edgeUrl}/`);
  await signedIn(second);

  // Every refresh the server answers, and whether any was refused.
  const answers: number[] = [];
  context.on("response", (res) => {
    if (new URL(res.url()).pathname === "/api/web/refresh") answers.push(res.status());
  });

  // Refreshes are held until two are waiting (then sent together, as in the
  // worst timing), or HOLD_MS passed: tabs that take turns send the second
  // only after the first is answered.
  let held: Route[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const release = () => {
    clearTimeout(timer);
    for (const r of held) void r.continue();
    held = [];
  };
  await context.route("**/api/web/refresh", (route) => {
    held.push(route);
    if (held.length >= 2) release();
    else timer = setTimeout(release, HOLD_MS);
  });

  await Promise.all([first.reload(), second.reload()]);
  await Promise.all([signedIn(first), signedIn(second)]);
  await context.unroute("**/api/web/refresh");
  assert.ok(answers.length >= 1, "the tabs refreshed");
  assert.deepEqual(
    answers.filter((s) => s !== 200),
    [],
    "no refresh was refused",
  );

  // The session was not ended: each tab, reloaded, is brought back by the cookie again.
  for (const page of [first, second]) {
    await page.reload();
    await signedIn(page);
    assert.equal(new URL(page.url()).pathname.startsWith("/login"), false);
  }
  assert.deepEqual(
    answers.filter((s) => s !== 200),
    [],
  );
});
