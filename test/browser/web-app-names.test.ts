/**
 * Display names cannot pass one person off as another: the API refuses names
 * that hide (blank, invisible or control characters) or pose as a @username,
 * and Parley Web shows the @username beside any display name that differs
 * from it, in the timeline and the member list. With SCREENSHOT_DIR set, the
 * room is saved as a 1280x800 light and a 390x844 dark screenshot there.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startWebStack, type WebStack } from "../support/browser.js";
import { api, signUp } from "../support/users.js";
import { see, signUpInApp, timeline } from "./web-app-steps.js";

let stack: WebStack;

before(async () => {
  stack = await startWebStack();
});

after(() => stack?.close());

test("the API refuses display names that hide or pose as a username, http avatars and multi-line room names", async () => {
  const user = await signUp(stack.system, `hider_${Date.now().toString(36)}`);
  for (const displayName of ["   ", "\u200B", "a\nb", "\u202Eeve", "@someone"]) {
    const res = await api(stack.system, "PATCH", "/api/users/profile", { displayName }, user.token);
    assert.equal(res.status, 400, `${JSON.stringify(displayName)}: ${JSON.stringify(res.json)}`);
    const error = res.json.error as { code: string; message: string };
    assert.equal(error.code, "invalid_argument");
    assert.match(error.message, /^display_name: /);
  }
  const http = await api(stack.system, "PATCH", "/api/users/profile", { avatarUrl: "http://x.test/a.png" }, user.token);
  assert.equal(http.status, 400, JSON.stringify(http.json));
  const room = await api(stack.system, "POST", "/api/chats/rooms", { name: "a\nb" }, user.token);
  assert.equal(room.status, 400, JSON.stringify(room.json));
  assert.match((room.json.error as { message: string }).message, /^name: /);
});

test("a display name copying another person's shows with the @username that tells them apart", async () => {
  const stamp = Date.now().toString(36);
  const carolName = `carol_${stamp}`;
  const page = await stack.context.newPage();
  await signUpInApp(page, stack.system, carolName);
  const bob = await signUp(stack.system, `bob_${stamp}`);
  const ann = await signUp(stack.system, `ann_${stamp}`);
  const found = await api(stack.system, "GET", `/api/users/search?prefix=${carolName}`, undefined, ann.token);
  const carolId = (found.json.users as { id: string; username: string }[]).find((u) => u.username === carolName)?.id;
  assert.ok(carolId, JSON.stringify(found.json));

  // Bob takes Carol's username as his display name; Ann takes none.
  for (const [who, displayName] of [
    [bob, carolName],
    [ann, ""],
  ] as const) {
    const res = await api(stack.system, "PATCH", "/api/users/profile", { displayName }, who.token);
    assert.equal(res.status, 200, JSON.stringify(res.json));
  }
  const created = await api(
    stack.system,
    "POST",
    "/api/chats/rooms",
    { name: `Who is who ${stamp}`, visibility: "private", memberIds: [bob.id, carolId] },
    ann.token,
  );
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const roomId = (created.json.room as { id: string }).id;
  for (const [who, text] of [
    [ann, "I have no display name"],
    [bob, "I am Bob, but my display name is Carol's username"],
  ] as const) {
    const sent = await api(stack.system, "POST", "/api/chats/messages", { roomId, text }, who.token);
    assert.ok(sent.status === 200 || sent.status === 201, JSON.stringify(sent.json));
  }

  await page.goto(`${stack.system.edgeUrl}/rooms/${roomId}`);
  const composer = page.getByRole("combobox", { name: /^Message/ });
  await composer.fill("I am the real Carol");
  await composer.press("Enter");

  // Bob's name is followed by his @username; Carol's and Ann's are their usernames alone.
  const articles = timeline(page).getByRole("article");
  await see(articles.filter({ hasText: "I am the real Carol" }));
  const bobs = articles.filter({ hasText: "my display name is Carol's username" });
  await see(bobs);
  assert.equal(await bobs.getAttribute("aria-label").then((l) => l?.split(", ")[0]), `${carolName} (@${bob.username})`);
  assert.equal(await bobs.locator(".message-sender").textContent(), carolName);
  assert.equal(await bobs.locator(".message-handle").textContent(), `@${bob.username}`);
  const anns = articles.filter({ hasText: "I have no display name" });
  assert.equal(await anns.locator(".message-sender").textContent(), ann.username);
  assert.equal(await anns.locator(".message-handle").count(), 0);
  const carols = articles.filter({ hasText: "I am the real Carol" });
  assert.equal(await carols.locator(".message-handle").count(), 0);

  // A reply quoting Bob names him the same way.
  await bobs.hover();
  await bobs.getByRole("button", { name: "Reply" }).click();
  await composer.fill("Who are you, then?");
  await composer.press("Enter");
  const reply = articles.filter({ hasText: "Who are you, then?" });
  await see(reply);
  assert.equal(await reply.locator(".reply-quote-sender").textContent(), `${carolName} @${bob.username}`);

  // The member list too.
  const list = page.getByRole("complementary", { name: "Members" });
  if (!(await list.isVisible())) await page.getByRole("button", { name: "3 members" }).click();
  const members = list.getByRole("listitem");
  await see(members.filter({ hasText: `@${bob.username}` }));
  // The name alone, without the presence a screen reader hears after it.
  const bobsName = members.filter({ hasText: `@${bob.username}` }).locator(".member-name");
  assert.equal(await bobsName.evaluate((e) => e.firstChild?.textContent), carolName);
  assert.equal(await members.locator(".member-handle").count(), 1);

  // A direct room is called after the other person: Bob's shows his @username beside the name he copied, in the
  // room list and under the room's title.
  const dm = await api(stack.system, "POST", "/api/chats/direct", { userId: carolId }, bob.token);
  assert.ok(dm.status === 200 || dm.status === 201, JSON.stringify(dm.json));
  const dmId = (dm.json.room as { id: string }).id;
  const sentDm = await api(stack.system, "POST", "/api/chats/messages", { roomId: dmId, text: "psst" }, bob.token);
  assert.ok(sentDm.status === 200 || sentDm.status === 201, JSON.stringify(sentDm.json));
  const dmRow = page.locator(`a.room-item[href="/rooms/${dmId}"]`);
  await see(dmRow);
  await see(dmRow.locator(".message-handle"));
  assert.equal(await dmRow.locator(".message-handle").textContent(), `@${bob.username} · `);
  await dmRow.click();
  await see(page.locator(".room-title").getByText(`@${bob.username}`));

  const dir = process.env.SCREENSHOT_DIR;
  if (dir) {
    await page.goto(`${stack.system.edgeUrl}/rooms/${roomId}`);
    await see(timeline(page).getByText("I am the real Carol"));
    await page.screenshot({ path: join(dir, "names-1280-light.png") });
    const phone = await stack.browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: "dark" });
    const state = await stack.context.storageState();
    await phone.addCookies(state.cookies);
    const small = await phone.newPage();
    await small.goto(`${stack.system.edgeUrl}/rooms/${roomId}`);
    await see(timeline(small).getByText("I am the real Carol"));
    await small.screenshot({ path: join(dir, "names-390-dark.png") });
    await phone.close();
  }
});

test("a refused sign-up or profile says what is wrong as a sentence, under the field it is about", async () => {
  const stamp = Date.now().toString(36);
  const taken = await signUp(stack.system, `taken_${stamp}`);
  const context = await stack.browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await context.newPage();
    await page.goto(`${stack.system.edgeUrl}/signup`);
    await page.getByLabel("Email").fill(`other_${stamp}@example.test`);
    await page.getByLabel("Username").fill(taken.username);
    await page.getByLabel("Password").fill("correct horse battery");
    await page.getByRole("button", { name: "Sign up" }).click();
    const username = page.getByRole("textbox", { name: "Username" });
    await see(page.getByText("This username is taken."));
    assert.equal(await username.getAttribute("aria-invalid"), "true");
    assert.match((await username.getAttribute("aria-describedby")) ?? "", /username-error/);
    assert.equal(await page.locator("#username-error").textContent(), "This username is taken.");

    // The password is judged once the name is free: it contains the username.
    const name = `fresh_${stamp}`;
    await username.fill(name);
    await page.getByLabel("Password").fill(`${name}1234567`);
    await page.getByRole("button", { name: "Sign up" }).click();
    await see(
      page.locator("#password-error", {
        hasText: "The password is too easy to guess (it contains the username or the name in the email address).",
      }),
    );

    await signUpInApp(page, stack.system, `named_${stamp}`);
    await page.goto(`${stack.system.edgeUrl}/settings/profile`);
    await page.getByLabel("Display name").fill(`@${taken.username}`);
    await page.getByRole("button", { name: "Save profile" }).click();
    await see(page.locator("#display_name-error"));
    assert.equal(
      await page.locator("#display_name-error").textContent(),
      "Display name must not start with @, which marks a username.",
    );
    if (process.env.SCREENSHOT_DIR) {
      await page.screenshot({ path: join(process.env.SCREENSHOT_DIR, "profile-field-error.png") });
    }
  } finally {
    await context.close();
  }
});
