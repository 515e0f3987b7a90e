/**
 * Parley Web on a phone and at the edges of its layout: nothing wider than
 * the screen whatever the names and messages, a way back from a room one was
 * removed from, avatars that fail to load, Enter on a touch keyboard, and an
 * edit that does not look like typing. The app runs as in production: the
 * four components as processes serving a fresh build, Debian's Chromium.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { ParleyClient } from "@parley/client";
import type { BrowserContext, Page } from "playwright-core";
import { startWebStack, type WebStack } from "../support/browser.js";
import { api, sdkFor, signUp } from "../support/users.js";
import { message, see, signUpInApp, timeline, until } from "./web-app-steps.js";

const PHONE = { width: 390, height: 844 };
const SMALL_PHONE = { width: 360, height: 740 };
const DESKTOP = { width: 1280, height: 800 };

let stack: WebStack;
const contexts: BrowserContext[] = [];
const clients: ParleyClient[] = [];

before(async () => {
  stack = await startWebStack();
});

after(async () => {
  for (const c of clients) c.close();
  await Promise.all(contexts.map((c) => c.close()));
  await stack?.close();
});

async function person(options: { viewport: { width: number; height: number }; hasTouch?: boolean }): Promise<Page> {
  const context = await stack.browser.newContext(options);
  contexts.push(context);
  return context.newPage();
}

type Account = Awaited<ReturnType<typeof signUp>>;

async function idOf(username: string, asker: Account): Promise<string> {
  const found = await api(stack.system, "GET", `/api/users/search?prefix=${username}`, undefined, asker.token);
  const id = (found.json.users as { id: string; username: string }[] | undefined)?.find(
    (u) => u.username === username,
  )?.id;
  assert.ok(id, JSON.stringify(found.json));
  return id;
}

async function createRoom(owner: Account, name: string, memberIds: string[]): Promise<string> {
  const created = await api(
    stack.system,
    "POST",
    "/api/chats/rooms",
    { name, visibility: "private", memberIds },
    owner.token,
  );
  assert.equal(created.status, 201, JSON.stringify(created.json));
  return (created.json.room as { id: string }).id;
}

async function send(sender: Account, roomId: string, text: string): Promise<void> {
  const sent = await api(stack.system, "POST", "/api/chats/messages", { roomId, text }, sender.token);
  assert.equal(sent.status, 201, JSON.stringify(sent.json));
}

/** The little of the page's DOM these tests read (the tests compile without the DOM's types). */
interface InPage {
  innerWidth: number;
  document: {
    documentElement: { scrollWidth: number };
    body: { scrollWidth: number };
    activeElement: unknown;
    querySelectorAll(selector: string): Iterable<{ getBoundingClientRect(): { right: number } }>;
  };
}

const PARTS = {
  items: ".room-item",
  badges: ".badge",
  times: ".room-time",
  actions: ".sidebar-actions button",
};

/** How far the page and the sidebar's parts reach, against the window's width. */
function overflow(page: Page) {
  // No named functions in here: the test's compiler would name them with a helper the page does not have.
  return page.evaluate((parts) => {
    const { document, innerWidth } = globalThis as unknown as InPage;
    const reach: Record<string, number> = {};
    for (const [part, selector] of Object.entries(parts)) {
      let right = 0;
      for (const e of document.querySelectorAll(selector)) right = Math.max(right, e.getBoundingClientRect().right);
      reach[part] = Math.ceil(right);
    }
    return {
      width: innerWidth,
      scrollWidth: document.documentElement.scrollWidth,
      bodyScrollWidth: document.body.scrollWidth,
      reach,
    };
  }, PARTS);
}

function assertFits(seen: Awaited<ReturnType<typeof overflow>>, where: string): void {
  const { width } = seen;
  assert.ok(seen.scrollWidth <= width, `${where}: page ${seen.scrollWidth} px wide in ${width}`);
  assert.ok(seen.bodyScrollWidth <= width, `${where}: body ${seen.bodyScrollWidth} px wide in ${width}`);
  for (const part of Object.keys(PARTS)) {
    const right = seen.reach[part] ?? Number.NaN;
    assert.ok(right > 0 && right <= width, `${where}: ${part} reach ${right} px in ${width}: ${JSON.stringify(seen)}`);
  }
}

test("on a phone, long names and previews never make the page wider than the screen", async () => {
  const stamp = Date.now().toString(36);
  const friend = await signUp(stack.system, `longfriend_${stamp}`);
  const page = await person({ viewport: PHONE });
  const meName = `narrow_${stamp}`;
  await signUpInApp(page, stack.system, meName);
  const meId = await idOf(meName, friend);
  const profile = await api(
    stack.system,
    "PATCH",
    "/api/users/profile",
    { displayName: "Maximiliana Wolfeschlegelsteinhausenbergerdorff-Longname" },
    friend.token,
  );
  assert.equal(profile.status, 200, JSON.stringify(profile.json));

  const longRoom = await createRoom(friend, `L${"o".repeat(55)}ng room ${stamp}`, [meId]);
  await send(friend, longRoom, `A link https://example.com/${"path".repeat(40)}?q=1 and <b>not bold</b>`);
  const spacedRoom = await createRoom(friend, `Project Apollo planning and everything else ${stamp}`, [meId]);
  await send(friend, spacedRoom, "An ordinary sentence that is far too long to fit on one line of a phone screen.");
  const direct = await api(stack.system, "POST", "/api/chats/direct", { userId: meId }, friend.token);
  assert.equal(direct.status, 201, JSON.stringify(direct.json));
  await send(friend, (direct.json.room as { id: string }).id, "x".repeat(300));

  // Each shows unread, with its time and badge on screen.
  await see(page.getByRole("link", { name: /^Lo+ng room .*, 1 unread/ }));
  await see(page.getByRole("link", { name: /^Project Apollo .*, 1 unread/ }));
  await see(page.getByRole("link", { name: /^Maximiliana .*, 1 unread/ }));
  await until(() => page.locator(".sidebar .badge").count(), 3);

  for (const viewport of [PHONE, SMALL_PHONE]) {
    await page.setViewportSize(viewport);
    assertFits(await overflow(page), `room list at ${viewport.width} px`);
    await see(page.getByRole("button", { name: "Browse rooms" }));
  }

  // Inside the room too, the composer's placeholder (the room's name) stays one line.
  await page.getByRole("link", { name: /^Lo+ng room/ }).click();
  await see(timeline(page).getByText("not bold"));
  for (const viewport of [SMALL_PHONE, PHONE]) {
    await page.setViewportSize(viewport);
    const seen = await page.evaluate(() => (globalThis as unknown as InPage).document.documentElement.scrollWidth);
    assert.ok(seen <= viewport.width, `room at ${viewport.width} px: page ${seen} px wide`);
    // Nor does the timeline scroll sideways (the sender's long name and the link in the message).
    const log = await timeline(page).evaluate((e) => [e.scrollWidth, e.clientWidth]);
    assert.ok((log[0] ?? 0) <= (log[1] ?? 0), `timeline at ${viewport.width} px: ${log[0]} px in ${log[1]}`);
    const box = await page.getByRole("combobox", { name: /^Message/ }).boundingBox();
    assert.ok(box && box.height <= 50, `one-line composer, not ${JSON.stringify(box)}`);
  }

  // On a desktop the sidebar keeps its width.
  await page.setViewportSize(DESKTOP);
  const sidebar = await page.getByRole("navigation", { name: "Rooms" }).boundingBox();
  assert.equal(sidebar?.width, 290);
});

test("removed from the room on screen: it says so, and leads back to the room list (phone and desktop)", async () => {
  const stamp = Date.now().toString(36);
  const owner = await signUp(stack.system, `owner_${stamp}`);
  const page = await person({ viewport: PHONE });
  const meName = `kicked_${stamp}`;
  await signUpInApp(page, stack.system, meName);
  const meId = await idOf(meName, owner);
  const rooms = [
    await createRoom(owner, `Phone room ${stamp}`, [meId]),
    await createRoom(owner, `Desk room ${stamp}`, [meId]),
  ];

  for (const [i, viewport] of [PHONE, DESKTOP].entries()) {
    const roomId = rooms[i] as string;
    const name = i === 0 ? `Phone room ${stamp}` : `Desk room ${stamp}`;
    await page.setViewportSize(viewport);
    await page.goto(`${stack.system.edgeUrl}/rooms/${roomId}`);
    await see(page.getByRole("heading", { name }));
    await see(timeline(page));

    const removed = await api(
      stack.system,
      "DELETE",
      `/api/chats/rooms/${roomId}/members/${meId}`,
      undefined,
      owner.token,
    );
    assert.equal(removed.status, 200, JSON.stringify(removed.json));

    await see(page.getByRole("heading", { name: "You were removed from this room" }));
    await see(page.getByText(`An owner or admin of “${name}” removed you.`));
    await page.getByRole("link", { name: "Back to your rooms" }).click();
    await until(async () => new URL(page.url()).pathname, "/");
    const list = page.getByRole("navigation", { name: "Rooms" });
    await see(list);
    await see(list.getByRole("link", { name: new RegExp(`^${name}`) }), "hidden");
  }

  // A room that was never the user's says that, and has the way back too.
  await page.setViewportSize(PHONE);
  await page.goto(`${stack.system.edgeUrl}/rooms/00000000-0000-4000-8000-000000000000`);
  await see(page.getByRole("heading", { name: "This room isn't available" }));
  await page.getByRole("link", { name: "Back to rooms" }).click();
  await see(page.getByRole("navigation", { name: "Rooms" }));
});

test("an avatar that fails to load shows the initial; the profile form says a non-https URL is wrong before saving", async () => {
  const stamp = Date.now().toString(36);
  const friend = await signUp(stack.system, `pic_${stamp}`);
  const page = await person({ viewport: DESKTOP });
  // The picture host answers 404 for one picture and a real image for the other.
  await page.context().route("https://avatars.example.test/**", (route) =>
    route.request().url().endsWith("/ok.svg")
      ? route.fulfill({
          status: 200,
          contentType: "image/svg+xml",
          body: '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8" fill="red"/></svg>',
        })
      : route.fulfill({ status: 404, contentType: "text/plain", body: "not found" }),
  );
  const meName = `zed_${stamp}`;
  await signUpInApp(page, stack.system, meName);
  const meId = await idOf(meName, friend);
  await api(
    stack.system,
    "PATCH",
    "/api/users/profile",
    { avatarUrl: "https://avatars.example.test/ok.svg" },
    friend.token,
  );
  await createRoom(friend, `Pictures ${stamp}`, [meId]);

  await page.getByRole("link", { name: "Settings" }).click();
  const field = page.getByLabel("Avatar URL");
  await field.fill("https://avatars.example.test/missing.png");
  await page.getByRole("button", { name: "Save profile" }).click();
  await see(page.getByText("Saved."));

  const footer = page.locator(".sidebar-footer .avatar");
  await until(() => footer.locator("img").count(), 0);
  await until(() => footer.textContent(), "Z");

  await page.getByRole("link", { name: /^Pictures/ }).click();
  const members = page.getByRole("complementary", { name: "Members" });
  await see(members);
  const mine = members.locator(".member").filter({ hasText: "(you)" }).locator(".avatar");
  await until(() => mine.locator("img").count(), 0);
  await until(() => mine.textContent(), "Z");
  // A picture that loads is shown.
  const theirs = members.locator(".member").filter({ hasText: friend.username }).locator(".avatar img");
  await until(
    () =>
      theirs.evaluate((img) => {
        const loaded = img as unknown as { complete: boolean; naturalWidth: number };
        return loaded.complete && loaded.naturalWidth > 0;
      }),
    true,
  );

  // An http link is refused in the form, before it is sent.
  await page.getByRole("link", { name: "Settings" }).click();
  await field.fill("http://avatars.example.test/ok.svg");
  await page.getByLabel("Status").focus();
  await see(page.getByText("Must be an https link (starting with https://) to a picture"));
  assert.equal(await field.getAttribute("aria-invalid"), "true");
  await page.getByRole("button", { name: "Save profile" }).click();
  const saved = await api(stack.system, "GET", `/api/users/${meId}`, undefined, friend.token);
  assert.equal((saved.json.user as { avatarUrl: string }).avatarUrl, "https://avatars.example.test/missing.png");
  assert.equal(
    await field.evaluate((e) => e === (globalThis as unknown as InPage).document.activeElement),
    true,
    "the wrong field has the focus",
  );
});

test("on a touch screen Enter starts a new line and Send sends; editing a message does not show as typing", async () => {
  const stamp = Date.now().toString(36);
  const friend = await signUp(stack.system, `watcher_${stamp}`);
  const page = await person({ viewport: PHONE, hasTouch: true });
  const meName = `thumb_${stamp}`;
  await signUpInApp(page, stack.system, meName);
  const roomId = await createRoom(friend, `Thumbs ${stamp}`, [await idOf(meName, friend)]);

  // The friend's own client, recording each moment it saw the user typing.
  const watcher = sdkFor(stack.system, friend);
  clients.push(watcher);
  const typingSeen: number[] = [];
  watcher.subscribe(() => {
    const room = watcher.getSnapshot().roomsById.get(roomId);
    if (room?.typing.some((t) => t.username === meName)) typingSeen.push(Date.now());
  });
  await watcher.start();
  await watcher.loadTimeline(roomId);

  await page.getByRole("link", { name: new RegExp(`^Thumbs ${stamp}`) }).click();
  const composer = page.getByRole("combobox", { name: /^Message/ });
  await composer.pressSequentially("first line");
  await composer.press("Enter");
  await composer.pressSequentially("second line");
  assert.equal(await composer.inputValue(), "first line\nsecond line");
  assert.equal(await timeline(page).locator(".message").count(), 0, "Enter sent nothing");
  await until(async () => typingSeen.length > 0, true);
  await page.getByRole("button", { name: "Send" }).click();
  const sent = message(page, meName, "first line");
  await see(sent);
  assert.equal(await sent.locator(".message-text").textContent(), "first line\nsecond line");

  // Past the SDK's typing throttle, so an edit that did send typing would be heard; the friend's typing state ends first.
  await new Promise((resolve) => setTimeout(resolve, 3_500));
  await until(async () => watcher.getSnapshot().roomsById.get(roomId)?.typing.length ?? 0, 0);
  const editStarted = Date.now();
  await sent.click();
  await sent.getByRole("button", { name: "Edit" }).click();
  await until(() => composer.inputValue(), "first line\nsecond line");
  await composer.fill("");
  await composer.pressSequentially("first line, edited");
  await page.getByRole("button", { name: "Save" }).click();
  await until(
    async () =>
      watcher
        .getSnapshot()
        .roomsById.get(roomId)
        ?.messages.some((m) => m.text === "first line, edited") ?? false,
    true,
  );
  // A typing notice sent with the edit's keystrokes arrives before the edit itself, on the same socket.
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.deepEqual(
    typingSeen.filter((t) => t >= editStarted),
    [],
    "the friend saw the user typing while they edited",
  );
});
