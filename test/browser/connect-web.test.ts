/**
 * Browser clients in real headless Chromium: a page served from another
 * origin uses Connect-Web against the edge (CORS included) and a WebSocket
 * for live events.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Browser } from "playwright-core";
import { launchChromium, type ServedPage, serveBundle } from "../support/browser.js";
import { type RunningSystem, startSystem } from "../support/system.js";
import { signUp } from "../support/users.js";

let system: RunningSystem;
let browser: Browser;
let page: ServedPage;

before(async () => {
  page = await serveBundle(new URL("./client.ts", import.meta.url).pathname);
  system = await startSystem();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await system?.close();
  await page?.close();
});

test("a page on another origin talks Connect-Web and WebSocket to the edge", async () => {
  const { token, username } = await signUp(system, "carol");
  const tab = await browser.newPage();
  await tab.goto(page.url);
  const result = await tab.evaluate(
    ([edge, t]) =>
      (globalThis as unknown as { parley: { run(e: string, t: string): Promise<unknown> } }).parley.run(edge, t),
    [system.edgeUrl, token] as const,
  );
  const { event, ...rest } = result as { event: { messageCreated: { seq: string; text: string } } };
  assert.deepEqual(rest, {
    unauthenticated: "unauthenticated",
    internalMethod: "PermissionDenied: ChatService.SendMessages is not available here",
    username,
    history: [{ seq: 1, text: "hi from Chromium" }],
  });
  assert.equal(event.messageCreated.seq, "1");
  assert.equal(event.messageCreated.text, "hi from Chromium");
  await tab.close();
});
