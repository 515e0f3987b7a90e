/**
 * Parley Web in real Chromium against the whole system: two people sign up
 * through the UI with codes from SMTP and chat in a private room, with every
 * live feature seen from the other side, a reload, sends made offline, and
 * a notification mail's link; axe-core checks each screen on the way.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "../support/browser.js";
import { type RunningSystem, startSystem } from "../support/system.js";
import { otpFrom } from "../support/users.js";
import { serveWebApp, type WebApp } from "../support/web-app.js";

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

let system: RunningSystem;
let app: WebApp;
let browser: Browser;

before(async () => {
  system = await startSystem();
  app = await serveWebApp(system.edgeUrl);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await app?.close();
  await system?.close();
});

interface AxeResult {
  violations: { id: string; impact: string | null; nodes: { target: unknown }[] }[];
}

/** axe-core on the page as it is, in the light and the dark theme: no serious or critical violation. */
async function checkA11y(page: Page, screen: string): Promise<void> {
  // evaluate() runs outside the page's CSP, which would refuse an injected script tag.
  await page.evaluate(axeSource);
  for (const colorScheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme });
    const result = (await page.evaluate(() =>
      (globalThis as unknown as { axe: { run(): Promise<unknown> } }).axe.run(),
    )) as AxeResult;
    const bad = result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => JSON.stringify(n.target)).join(", ")}`);
    assert.deepEqual(bad, [], `accessibility on ${screen} (${colorScheme})`);
  }
  await page.emulateMedia({ colorScheme: "light" });
}

async function codeFor(email: string, after: number): Promise<string> {
  const mail = await system.smtp.waitFor(
    (m) =>
      m.envelopeTo.includes(email) && system.smtp.mails.indexOf(m) >= after && /\b\d{6}\b/.test(m.parsed.text ?? ""),
    // A loaded machine (the suite runs files side by side) can take a while to hash, queue and mail.
    60_000,
  );
  return otpFrom(mail.parsed.text);
}

async function signUp(page: Page, name: string, checks = false): Promise<{ email: string; username: string }> {
  const email = `${name}@example.test`;
  await page.goto(`${app.url}/signup`);
  if (checks) await checkA11y(page, "sign up");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Username").fill(name);
  await page.getByLabel("Password").fill("correct horse battery");
  const mailsBefore = system.smtp.mails.length;
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByLabel("Code").waitFor();
  if (checks) await checkA11y(page, "verify");
  await page.getByLabel("Code").fill(await codeFor(email, mailsBefore));
  await page.getByRole("navigation", { name: "Rooms" }).waitFor();
  return { email, username: name };
}

const log = (page: Page) => page.getByRole("log", { name: "Messages" });
const composer = (page: Page) => page.getByRole("combobox", { name: /^Message / });

async function send(page: Page, text: string): Promise<void> {
  await composer(page).fill(text);
  await composer(page).press("Enter");
}

/** Opens "New room" with a name and one person invited by searching for them; leaves the dialog open. */
async function newRoomWith(page: Page, name: string, invite: string): Promise<void> {
  await page.getByRole("button", { name: "New room" }).click();
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Invite people").fill(invite.slice(0, 5));
  await page
    .getByRole("dialog")
    .getByRole("button", { name: new RegExp(invite) })
    .click();
}

/** The texts of the messages in the timeline, in order. */
async function texts(page: Page): Promise<string[]> {
  return log(page).locator(".message-text").allTextContents();
}

test("two people chat live in the web app, through a reload, an outage and a mail link", async () => {
  const aliceContext = await browser.newContext();
  const bobContext = await browser.newContext();
  const a = await aliceContext.newPage();
  const b = await bobContext.newPage();

  try {
    await a.goto(`${app.url}/login`);
    await checkA11y(a, "log in");
    const alice = await signUp(a, "alice_web", true);
    const bob = await signUp(b, "bob_web");
    await checkA11y(a, "empty app");

    // Alice makes a private room and invites Bob by searching for him.
    await newRoomWith(a, "Plans", "bob_web");
    await checkA11y(a, "create room");
    await a.getByRole("button", { name: "Create room" }).click();
    await log(a).waitFor();
    const roomId = decodeURIComponent(new URL(a.url()).pathname.split("/").pop() as string);

    // Bob's room list finds the room he was added to on its own.
    await b.getByRole("link", { name: /^Plans/ }).click({ timeout: 30_000 });
    await log(b).waitFor();

    // Both ways, live.
    await send(a, "hello bob");
    await log(b).getByText("hello bob").waitFor();
    await send(b, `hi @${alice.username}`);
    await log(a)
      .locator(".message", { hasText: `hi @${alice.username}` })
      .waitFor();
    assert.equal(await log(a).locator(".mention-me").textContent(), `@${alice.username}`);

    // Typing is seen (the SDK announces typing at most every 3 s, and Bob's last notice came with his message).
    await b.waitForTimeout(3_100);
    await composer(b).pressSequentially("wait", { delay: 20 });
    await a.getByText("bob_web is typing…").waitFor();
    await composer(b).fill("");

    // A reply quotes its parent; a reaction, an edit and a delete are seen by the other.
    const bobsMessage = log(a)
      .locator(".message", { hasText: `hi @${alice.username}` })
      .first();
    await bobsMessage.hover();
    await bobsMessage.getByRole("button", { name: "Reply" }).click();
    await send(a, "a reply");
    await log(b)
      .locator(".reply-quote", { hasText: `hi @${alice.username}` })
      .waitFor();
    await bobsMessage.hover();
    await bobsMessage.getByRole("button", { name: "Add reaction" }).click();
    await a.getByRole("button", { name: "React with 👍" }).click();
    await log(b)
      .getByRole("button", { name: /👍 1, from alice_web/ })
      .waitFor();
    await checkA11y(a, "room");

    const hello = log(b).locator(".message", { hasText: "hello bob" });
    const mine = log(a).locator(".message", { hasText: "hello bob" });
    await mine.hover();
    await mine.getByRole("button", { name: "Edit" }).click();
    await composer(a).fill("hello bob, edited");
    await composer(a).press("Enter");
    await hello.getByText("(edited)").waitFor();
    assert.match(String(await hello.textContent()), /hello bob, edited/);
    a.once("dialog", (d) => void d.accept());
    const reply = log(a).locator(".message", { hasText: "a reply" });
    await reply.hover();
    await reply.getByRole("button", { name: "Delete" }).click();
    await log(b).getByText("This message was deleted.").waitFor();

    // An unread badge on another room.
    await newRoomWith(a, "Other", "bob_web");
    await a.getByRole("button", { name: "Create room" }).click();
    await log(a).waitFor();
    await b.getByRole("link", { name: /^Other/ }).waitFor({ timeout: 30_000 });
    await send(a, `news for @${bob.username}`);
    await b.getByRole("link", { name: /^Other\s?, 1 unread, mentions you/ }).waitFor({ timeout: 30_000 });

    // A reload keeps everything.
    await b.goto(`${app.url}/rooms/${encodeURIComponent(roomId)}`);
    await log(b).getByText("hello bob, edited").waitFor();
    assert.deepEqual(await texts(b), [
      "hello bob, edited (edited)",
      `hi @${alice.username}`,
      "This message was deleted.",
    ]);

    // Alice goes offline and sends three messages: pending, then delivered once, in order.
    await a.getByRole("link", { name: /^Plans/ }).click();
    await log(a)
      .locator(".message", { hasText: `hi @${alice.username}` })
      .first()
      .waitFor();
    await aliceContext.setOffline(true);
    for (const text of ["one", "two", "three"]) await send(a, text);
    await a.getByText(/You're offline\. 3 messages will be sent/).waitFor();
    assert.equal(await log(a).getByText("Pending: will be sent when you're back online").count(), 3);
    await aliceContext.setOffline(false);
    await log(b).getByText("three").waitFor({ timeout: 30_000 });
    await log(a).locator(".message.pending").first().waitFor({ state: "detached", timeout: 30_000 });
    const seen = (await texts(b)).filter((t) => ["one", "two", "three"].includes(t));
    assert.deepEqual(seen, ["one", "two", "three"]);

    // Settings and sessions pass axe too.
    await a.getByRole("link", { name: "Settings" }).click();
    await a.getByLabel("Display name").waitFor();
    await checkA11y(a, "profile");
    await a.getByRole("link", { name: "Sessions" }).click();
    await a.getByText("This browser").waitFor();
    await checkA11y(a, "sessions");

    // Bob leaves; what Alice sends next is mailed to him, and the mail's link opens the room after signing in.
    await bobContext.close();
    const mailsBefore = system.smtp.mails.length;
    await a.getByRole("link", { name: /^Plans/ }).click();
    await send(a, "are you there?");
    const mail = await system.smtp.waitFor(
      (m) =>
        m.envelopeTo.includes(bob.email) &&
        system.smtp.mails.indexOf(m) >= mailsBefore &&
        (m.parsed.text ?? "").includes("/rooms/"),
      60_000,
    );
    const link = new URL(/(https?:\/\/\S+\/rooms\/[^\s)>\]]+)/.exec(mail.parsed.text ?? "")?.[1] ?? "");
    assert.equal(decodeURIComponent(link.pathname), `/rooms/${roomId}`);
    const again = await (await browser.newContext()).newPage();
    await again.goto(`${app.url}${link.pathname}`);
    await again.getByLabel("Email").fill(bob.email);
    await again.getByLabel("Password").fill("correct horse battery");
    const loginMails = system.smtp.mails.length;
    await again.getByRole("button", { name: "Continue" }).click();
    await again.getByLabel("Code").fill(await codeFor(bob.email, loginMails));
    await log(again).getByText("are you there?").waitFor();
    assert.equal(new URL(again.url()).pathname, link.pathname);

    await aliceContext.close();
  } catch (err) {
    // What each browser showed when it failed, to look at.
    for (const [who, page] of [
      ["alice", a],
      ["bob", b],
    ] as const) {
      await page.screenshot({ path: join(tmpdir(), `parley-web-chat-${who}.png`) }).catch(() => undefined);
    }
    throw err;
  }
});
