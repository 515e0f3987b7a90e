/**
 * Parley Web as people use it: the four components as processes serving a
 * fresh build of the app, Debian's Chromium, and the in-process SMTP server
 * for the codes and the notification mail. Two people in two browser
 * contexts, found by roles and labels as a screen reader would.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { runScript } from "@parley/shared/testing.js";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { buildWebApp, launchChromium, type WebBuild } from "../support/browser.js";
import { type RunningSystem, startSystem } from "../support/system.js";
import { api, signUp } from "../support/users.js";
import { createRoom, message, see, signUpInApp, timeline, until } from "./web-app-steps.js";

const root = new URL("../..", import.meta.url).pathname;

let web: WebBuild;
let system: RunningSystem;
let browser: Browser;
const contexts: BrowserContext[] = [];

before(async () => {
  web = await buildWebApp();
  system = await startSystem({ env: { edge: { WEB_DIST_DIR: web.dir } } });
  browser = await launchChromium();
});

after(async () => {
  await Promise.all(contexts.map((c) => c.close()));
  await browser?.close();
  await system?.close();
  await web?.remove();
});

async function person(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  const page = await context.newPage();
  // Deleting asks "Delete this message?"; the person says yes.
  page.on("dialog", (d) => void d.accept());
  return page;
}

/** The messages' texts as the timeline shows them, oldest first. */
function texts(page: Page): Promise<string[]> {
  return timeline(page).locator(".message-text").allInnerTexts();
}

test("two people sign up, chat live in a private room, survive a reload and going offline, and a mail links back", async () => {
  const stamp = Date.now().toString(36);
  const alice = await person();
  const bob = await person();
  const aliceName = `alice_${stamp}`;
  const bobName = `bob_${stamp}`;
  await signUpInApp(alice, system, aliceName);
  await signUpInApp(bob, system, bobName);

  // Alice creates a private room and invites Bob from the user search.
  await createRoom(alice, "Design review", bobName);
  const roomPath = new URL(alice.url()).pathname;
  assert.match(roomPath, /^\/rooms\/[0-9a-f-]{36}$/);

  // Bob sees the room appear without reloading and opens it.
  await bob.getByRole("link", { name: /^Design review/ }).click();
  await until(async () => new URL(bob.url()).pathname, roomPath);

  // Both ways, live.
  const aliceComposer = alice.getByRole("combobox", { name: /^Message/ });
  const bobComposer = bob.getByRole("combobox", { name: /^Message/ });
  await aliceComposer.fill("Hello Bob, the sidebar is in");
  await aliceComposer.press("Enter");
  await see(timeline(bob).getByText("Hello Bob, the sidebar is in"));
  // Typing is seen by the other, and ends with the send.
  await bobComposer.pressSequentially("Looks great", { delay: 20 });
  await see(alice.getByText(`${bobName} is typing…`));
  await bobComposer.pressSequentially(", one thing about the badges");
  await bobComposer.press("Enter");
  await see(timeline(alice).getByText("Looks great, one thing about the badges"));
  await bobComposer.fill("They could use more contrast");
  await bobComposer.press("Enter");
  const contrast = message(alice, bobName, "They could use more contrast");
  await see(contrast);
  await see(alice.getByText(`${bobName} is typing…`), "hidden");

  // Alice replies to it and reacts to it; Bob sees both.
  await contrast.hover();
  await contrast.getByRole("button", { name: "Reply" }).click();
  await aliceComposer.fill("Agreed, fixing it now");
  await aliceComposer.press("Enter");
  const reply = message(bob, aliceName, "Agreed, fixing it now");
  await see(reply.getByRole("button", { name: /Jump to the message this replies to: .*They could use more contrast/ }));
  await contrast.hover();
  await contrast.getByRole("button", { name: "Add reaction" }).click();
  await alice.getByRole("button", { name: "React with 👍" }).click();
  const bobsContrast = message(bob, bobName, "They could use more contrast");
  await see(bobsContrast.getByRole("button", { name: `👍 1, from ${aliceName}` }));

  // Alice edits her first message and deletes her reply; Bob sees both.
  const hello = message(alice, aliceName, "Hello Bob, the sidebar is in");
  await hello.hover();
  await hello.getByRole("button", { name: "Edit" }).click();
  await aliceComposer.fill("Hello Bob, the new sidebar is in");
  await aliceComposer.press("Enter");
  await see(timeline(bob).getByText("Hello Bob, the new sidebar is in (edited)"));
  const aliceReply = message(alice, aliceName, "Agreed, fixing it now");
  await aliceReply.hover();
  await aliceReply.getByRole("button", { name: "Delete" }).click();
  await see(timeline(bob).getByText("Agreed, fixing it now"), "hidden");
  await see(timeline(bob).getByText("This message was deleted."));

  // A message in another room shows as unread in Bob's sidebar while he stays here.
  await createRoom(alice, "Side room", bobName);
  await aliceComposer.fill("Over here when you have a minute");
  await aliceComposer.press("Enter");
  await see(bob.getByRole("link", { name: /^Side room ?, 1 unread / }));
  await until(async () => new URL(bob.url()).pathname, roomPath);
  await alice.getByRole("link", { name: /^Design review/ }).click();
  await see(timeline(alice).getByText("Hello Bob, the new sidebar is in"));

  // A reload keeps everything: session, room, edits, deletes, reactions, replies, the unread count.
  const before = await texts(bob);
  await bob.reload();
  await see(timeline(bob).getByText("Hello Bob, the new sidebar is in (edited)"));
  await until(() => texts(bob), before);
  await see(bobsContrast.getByRole("button", { name: `👍 1, from ${aliceName}` }));
  await see(timeline(bob).getByText("Agreed, fixing it now"), "hidden");
  await see(timeline(bob).getByText("This message was deleted."));
  await see(bob.getByRole("link", { name: /^Side room ?, 1 unread / }));

  // Alice goes offline and sends three messages: pending, not delivered.
  await alice.context().setOffline(true);
  await see(alice.getByRole("status").filter({ hasText: "You're offline." }));
  for (const n of [1, 2, 3]) {
    await aliceComposer.fill(`Sent offline ${n}`);
    await aliceComposer.press("Enter");
  }
  await until(() => timeline(alice).getByRole("article", { name: "Your message, not sent yet" }).count(), 3);
  await see(alice.getByRole("status").filter({ hasText: "3 messages will be sent when you're back." }));
  // Bob hears from her the moment she is back, not before (a live message from him proves his socket works).
  await bobComposer.fill("Still there?");
  await bobComposer.press("Enter");
  await see(timeline(bob).getByText("Still there?"));
  assert.deepEqual(
    (await texts(bob)).filter((t) => t.startsWith("Sent offline")),
    [],
  );

  // Back online: each delivered once, in order, on both sides; nothing left pending.
  await alice.context().setOffline(false);
  const offlineSends = ["Sent offline 1", "Sent offline 2", "Sent offline 3"];
  for (const page of [alice, bob]) {
    await see(timeline(page).getByText("Sent offline 3"));
    await until(() => timeline(page).getByRole("article", { name: "Your message, not sent yet" }).count(), 0);
    await until(async () => (await texts(page)).filter((t) => t.startsWith("Sent offline")), offlineSends);
  }
  await until(() => alice.getByRole("status").filter({ hasText: "offline" }).count(), 0);
  await bob.reload();
  await until(async () => (await texts(bob)).filter((t) => t.startsWith("Sent offline")), offlineSends);

  // Bob leaves; a mention of him becomes a notification mail whose link opens the room.
  await bob.goto("about:blank");
  await aliceComposer.fill(`@${bobName} the badges are fixed`);
  await aliceComposer.press("Enter");
  await see(timeline(alice).getByText("the badges are fixed"));
  const mail = await system.smtp.waitFor(
    (m) => m.envelopeTo.includes(`${bobName}@example.test`) && /badges are fixed/.test(m.parsed.text ?? ""),
  );
  const link = /https?:\/\/\S+\/rooms\/[0-9a-f-]{36}/.exec(mail.parsed.text ?? "")?.[0];
  assert.equal(link, `${system.edgeUrl}${roomPath}`);
  await bob.goto(link);
  await see(bob.getByRole("heading", { name: "Design review" }));
  await see(timeline(bob).getByText("the badges are fixed"));
});

test("a direct room turns read-only as the other person is deactivated, live, and writable again on reactivation", async () => {
  const stamp = Date.now().toString(36);
  const erin = await signUp(system, `erin_${stamp}`);
  const frankName = `frank_${stamp}`;
  const frank = await person();
  await signUpInApp(frank, system, frankName);
  const found = await api(system, "GET", `/api/users/search?prefix=${frankName}`, undefined, erin.token);
  const frankId = (found.json.users as { id: string }[] | undefined)?.[0]?.id;
  assert.ok(frankId, JSON.stringify(found.json));
  assert.equal((await api(system, "POST", "/api/chats/direct", { userId: frankId }, erin.token)).status, 201);

  await frank.getByRole("link", { name: new RegExp(`^${erin.username}`) }).click();
  const composer = frank.getByRole("combobox", { name: /^Message/ });
  await see(composer);
  const notice = frank
    .getByRole("status")
    .filter({ hasText: `${erin.username}’s account is deactivated. This conversation is read-only.` });
  const members = frank.getByRole("complementary", { name: "Members" });
  const admin = async (action: string) => {
    const run = await runScript(root, "scripts/admin.ts", ["user", action, erin.username], {
      DATABASE_URL: system.databases.user,
      REDIS_URL: system.env.REDIS_URL ?? "",
      REDIS_KEY_PREFIX: system.env.REDIS_KEY_PREFIX ?? "",
    });
    assert.equal(run.code, 0, run.stderr);
  };

  await admin("deactivate");
  await see(notice);
  await see(composer, "hidden");
  await see(members.getByText("Member · deactivated"));

  await admin("reactivate");
  await see(composer);
  await see(notice, "hidden");
  await see(members.getByText("Member · deactivated"), "hidden");
  await composer.fill("Welcome back");
  await composer.press("Enter");
  await see(message(frank, frankName, "Welcome back"));
});
