/**
 * Parley Web when the network is gone at load, when a screen's files cannot
 * be fetched, and when the account is deactivated under a signed-in page. As in production: the four components
 * as processes serving a fresh build (with its service worker), Debian's
 * Chromium.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { runScript } from "@parley/shared/testing.js";
import type { Page } from "playwright-core";
import { startWebStack, type WebStack } from "../support/browser.js";
import { api, signUp } from "../support/users.js";
import { message, see, signUpInApp, timeline, until } from "./web-app-steps.js";

const root = new URL("../..", import.meta.url).pathname;

let stack: WebStack;

before(async () => {
  stack = await startWebStack();
});

after(() => stack?.close());

async function userId(token: string, username: string): Promise<string> {
  const found = await api(stack.system, "GET", `/api/users/search?prefix=${username}`, undefined, token);
  const id = (found.json.users as { id: string }[] | undefined)?.[0]?.id;
  assert.ok(id, JSON.stringify(found.json));
  return id;
}

/** The room's messages as the server has them, oldest first (ascending seq). */
async function serverTexts(roomId: string, token: string): Promise<string[]> {
  const res = await api(stack.system, "GET", `/api/chats/rooms/${roomId}/messages`, undefined, token);
  assert.equal(res.status, 200, JSON.stringify(res.json));
  return ((res.json.messages as { text: string }[] | undefined) ?? []).map((m) => m.text);
}

/** Messages waiting to be sent (shown under the timeline, or alone while it loads). */
const pending = (page: Page) => page.getByRole("article", { name: "Your message, not sent yet" });

test("a reload while offline keeps the app and its pending message, which goes out once when back online without a reload", async () => {
  const stamp = Date.now().toString(36);
  const gina = await signUp(stack.system, `gina_${stamp}`);
  const hugoName = `hugo_${stamp}`;
  const page = await stack.context.newPage();
  await signUpInApp(page, stack.system, hugoName);
  const hugoId = await userId(gina.token, hugoName);
  const created = await api(
    stack.system,
    "POST",
    "/api/chats/rooms",
    { name: "Field notes", memberIds: [hugoId] },
    gina.token,
  );
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const roomId = (created.json.room as { id: string }).id;
  await api(stack.system, "POST", "/api/chats/messages", { roomId, text: "Before the tunnel" }, gina.token);

  await page.getByRole("link", { name: /^Field notes/ }).click();
  await see(timeline(page).getByText("Before the tunnel"));
  // The service worker has the app: it controls the page once installed.
  await until(() => page.evaluate<boolean>("navigator.serviceWorker.controller !== null"), true);

  await stack.context.setOffline(true);
  const composer = page.getByRole("combobox", { name: /^Message/ });
  await composer.fill("Written in the tunnel");
  await composer.press("Enter");
  await see(pending(page).filter({ hasText: "Written in the tunnel" }));

  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(err.message));
  await page.reload();
  // Still Hugo's app at the room's address, offline, with the message waiting: not the sign-in page.
  await see(page.getByRole("navigation", { name: "Rooms" }));
  await see(page.getByRole("status").filter({ hasText: "You're offline. 1 message will be sent when you're back." }));
  assert.equal(new URL(page.url()).pathname, `/rooms/${roomId}`);
  // The logo is served from the service worker's cache too (not a broken image).
  const logos = () =>
    page.evaluate<boolean[]>(
      `[...document.images].filter((i) => new URL(i.src).pathname === "/icon.svg").map((i) => i.naturalWidth > 0)`,
    );
  await until(logos, [true]);
  assert.deepEqual(await serverTexts(roomId, gina.token), ["Before the tunnel"]);

  // Back online, no reload: the session resumes, the room loads and the message is delivered, once.
  await stack.context.setOffline(false);
  await see(message(page, hugoName, "Written in the tunnel"));
  await see(timeline(page).getByText("Before the tunnel"));
  await until(() => pending(page).count(), 0);
  await until(() => serverTexts(roomId, gina.token), ["Before the tunnel", "Written in the tunnel"]);
  await see(page.getByRole("status").filter({ hasText: "offline" }), "hidden");
  // Live again: what Gina sends now shows up.
  await api(stack.system, "POST", "/api/chats/messages", { roomId, text: "Welcome back" }, gina.token);
  await see(timeline(page).getByText("Welcome back"));
  assert.deepEqual(await serverTexts(roomId, gina.token), [
    "Before the tunnel",
    "Written in the tunnel",
    "Welcome back",
  ]);
  assert.deepEqual(errors, []);
});

test("a signed-in page whose account is deactivated says so on the sign-in page", async () => {
  const name = `ivy_${Date.now().toString(36)}`;
  const context = await stack.browser.newContext({ viewport: { width: 1280, height: 800 } });
  const ivy = await context.newPage();
  try {
    await signUpInApp(ivy, stack.system, name);
    const run = await runScript(root, "scripts/admin.ts", ["user", "deactivate", name], {
      DATABASE_URL: stack.system.databases.user,
      REDIS_URL: stack.system.env.REDIS_URL ?? "",
      REDIS_KEY_PREFIX: stack.system.env.REDIS_KEY_PREFIX ?? "",
    });
    assert.equal(run.code, 0, run.stderr);
    await see(ivy.getByRole("status").filter({ hasText: "This account has been deactivated." }));
    await see(ivy.getByRole("heading", { name: "Log in" }));
  } finally {
    await context.close();
  }
});

test("a screen whose files cannot be fetched offers a retry, which loads it", async () => {
  // No service worker here: the chunk comes from the network, which fails it once.
  const context = await stack.browser.newContext({ viewport: { width: 1280, height: 800 }, serviceWorkers: "block" });
  try {
    let reachable = false;
    await context.route("**/assets/AccountScreens-*", (route) =>
      reachable ? route.continue() : route.abort("internetdisconnected"),
    );
    const page = await context.newPage();
    await page.goto(`${stack.system.edgeUrl}/login`);
    const alert = page.getByRole("alert").filter({ hasText: "This part of Parley could not be loaded." });
    await see(alert);
    reachable = true;
    await alert.getByRole("button", { name: "Try again" }).click();
    await see(page.getByRole("heading", { name: "Log in" }));
  } finally {
    await context.close();
  }
});

test("a page resumed offline as one account, whose cookie meanwhile belongs to another, starts over as that one and sends nothing as them", async () => {
  const stamp = Date.now().toString(36);
  const owner = await signUp(stack.system, `lena_${stamp}`);
  const kim = await signUp(stack.system, `kim_${stamp}`);
  const context = await stack.browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const first = await context.newPage();
    const jayName = `jay_${stamp}`;
    await signUpInApp(first, stack.system, jayName);
    const memberIds = [await userId(owner.token, jayName), kim.id];
    const created = await api(
      stack.system,
      "POST",
      "/api/chats/rooms",
      { name: "Shared desk", memberIds },
      owner.token,
    );
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const roomId = (created.json.room as { id: string }).id;
    await first.getByRole("link", { name: /^Shared desk/ }).click();
    await see(first.getByRole("combobox", { name: /^Message/ }));
    await until(() => first.evaluate<boolean>("navigator.serviceWorker.controller !== null"), true);

    await context.setOffline(true);
    await first.getByRole("combobox", { name: /^Message/ }).fill("Only Jay says this");
    await first.getByRole("combobox", { name: /^Message/ }).press("Enter");
    await see(pending(first).filter({ hasText: "Only Jay says this" }));
    await first.reload();
    await see(first.getByRole("status").filter({ hasText: "1 message will be sent" }));

    // Meanwhile the browser's cookie became Kim's (another tab signed her in), and the network comes back.
    const edge = new URL(stack.system.edgeUrl);
    await context.addCookies([
      {
        name: "parley_refresh",
        value: kim.refreshToken,
        domain: edge.hostname,
        path: "/api/web",
        httpOnly: true,
        sameSite: "Strict",
      },
    ]);
    await context.setOffline(false);

    // The tab's refresh gets Kim's grant: it becomes Kim's app, and Jay's message stays his, unsent.
    await see(first.getByText(`@${kim.username}`));
    await see(first.getByRole("heading", { name: "Shared desk" }));
    await see(pending(first), "hidden");
    await new Promise((r) => setTimeout(r, 2000));
    assert.deepEqual(await serverTexts(roomId, owner.token), []);
  } finally {
    await context.close();
  }
});
