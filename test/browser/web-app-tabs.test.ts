/**
 * Two tabs of one browser share the refresh cookie, which rotates on every
 * use; a rotated one sent again is taken for a stolen copy and ends the
 * session. Both tabs refreshing at the same moment (reloaded together, as a
 * browser restoring its tabs does) must leave the session alive. Parley Web
 * as in production: the four components as processes serving a fresh build.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Page, Route } from "playwright-core";
import { startWebStack, type WebStack } from "../support/browser.js";
import { see, signUpInApp } from "./web-app-steps.js";

let stack: WebStack;

before(async () => {
  stack = await startWebStack();
});

after(() => stack?.close());

/** How long a held refresh waits for the other tab's: longer than both reloads take to send theirs. */
const HOLD_MS = 1500;

const signedIn = (page: Page) => see(page.getByRole("navigation", { name: "Rooms" }));

test("two tabs refreshing the cookie at the same moment both stay signed in, and the session lives on", async () => {
  const first = await stack.context.newPage();
  await signUpInApp(first, stack.system, `tabs_${Date.now().toString(36)}`);
  const second = await stack.context.newPage();
  await second.goto(`${stack.system.edgeUrl}/`);
  await signedIn(second);

  // Every refresh the server answers, and whether any was refused.
  const answers: number[] = [];
  stack.context.on("response", (res) => {
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
  await stack.context.route("**/api/web/refresh", (route) => {
    held.push(route);
    if (held.length >= 2) release();
    else timer = setTimeout(release, HOLD_MS);
  });

  await Promise.all([first.reload(), second.reload()]);
  await Promise.all([signedIn(first), signedIn(second)]);
  await stack.context.unroute("**/api/web/refresh");
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
