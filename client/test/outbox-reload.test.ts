/**
 * A send queued while offline survives a page reload: real Chromium, the
 * outbox in IndexedDB, the socket through a proxy that refuses connections
 * until the test lets them through. The message is delivered once, with the
 * clientMessageId it was given before the reload.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { launchChromium, type ServedPage, serveBundle } from "../../test/support/browser.js";
import { api, signUp } from "../../test/support/users.js";
import { type Harness, startHarness, until } from "./harness.js";

interface PageState {
  connection: string;
  pending: { clientMessageId: string; text: string; status: string }[];
  messages: { id: string; seq: number; text: string; clientMessageId: string }[];
}
interface PageApi {
  open(options: { edgeUrl: string; wsUrl: string; token: string; userId: string }): Promise<void>;
  state(roomId: string): PageState;
  send(roomId: string, text: string): Promise<string>;
  loadTimeline(roomId: string): Promise<void>;
}
/** Calls the page's `parley[method](...args)` (the function runs in the page, so it names nothing of ours). */
function call<K extends keyof PageApi>(
  tab: Page,
  method: K,
  ...args: Parameters<PageApi[K]>
): Promise<Awaited<ReturnType<PageApi[K]>>> {
  return tab.evaluate(
    ([m, a]) => (globalThis as unknown as { parley: Record<string, (...x: unknown[]) => unknown> }).parley[m]?.(...a),
    [method, args] as [string, unknown[]],
  ) as Promise<Awaited<ReturnType<PageApi[K]>>>;
}

let h: Harness;
let browser: Browser;
let site: ServedPage;

before(async () => {
  site = await serveBundle(new URL("./browser-page.ts", import.meta.url).pathname);
  h = await startHarness();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await h?.close();
  await site?.close();
});

test("a message sent offline is still sent, once, after the page is reloaded", async () => {
  const alice = await signUp(h.system, "alice");
  const created = await api(h.system, "POST", "/api/chats/rooms", { name: "offline" }, alice.token);
  assert.equal(created.status, 201);
  const roomId = (created.json.room as { id: string }).id;
  const options = {
    edgeUrl: h.system.edgeUrl,
    wsUrl: `ws://127.0.0.1:${h.proxy.port}/ws`,
    token: alice.token,
    userId: alice.id,
  };
  const tab: Page = await browser.newPage();
  const state = () => call(tab, "state", roomId);

  h.proxy.refuse(true);
  await tab.goto(site.url);
  await call(tab, "open", options);
  const clientMessageId = await call(tab, "send", roomId, "written on a train");
  assert.deepEqual((await state()).pending, [{ clientMessageId, text: "written on a train", status: "queued" }]);
  assert.notEqual((await state()).connection, "open");

  await tab.reload();
  await call(tab, "open", options);
  assert.deepEqual(
    (await state()).pending,
    [{ clientMessageId, text: "written on a train", status: "queued" }],
    "still queued after the reload",
  );

  h.proxy.refuse(false);
  await call(tab, "loadTimeline", roomId);
  let last: PageState | undefined;
  await until(
    "delivered after the reload",
    async () => {
      last = await state();
      return last.pending.length === 0 && last.messages.length === 1;
    },
    20_000,
  );
  assert.deepEqual(
    last?.messages.map((m) => [m.seq, m.text, m.clientMessageId]),
    [[1, "written on a train", clientMessageId]],
  );
  const history = await api(h.system, "GET", `/api/chats/rooms/${roomId}/messages`, undefined, alice.token);
  const stored = history.json.messages as { text: string; clientMessageId: string }[];
  assert.deepEqual(
    stored.map((m) => [m.text, m.clientMessageId]),
    [["written on a train", clientMessageId]],
    "stored once",
  );
  // Nothing is left in IndexedDB to send again on the next load.
  await tab.reload();
  await call(tab, "open", options);
  assert.deepEqual((await state()).pending, []);
  await tab.close();
});
