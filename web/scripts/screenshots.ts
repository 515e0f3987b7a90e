/**
 * Drives the app in Chromium through every screen and saves screenshots at
 * 1280×800 and 390×844, light and dark, into web/screenshots/ (git-ignored)
 * to look at. Two users sign up through the UI with codes from the dev
 * mailbox, then chat in a private room.
 *
 *   node --import tsx web/scripts/screenshots.ts [appUrl] [mailboxUrl]
 * appUrl defaults to http://localhost:3000 (the edge), mailboxUrl to http://localhost:3003.
 */
import { mkdirSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "../../test/support/browser.js";

const app = process.argv[2] ?? "http://localhost:3000";
const mailbox = process.argv[3] ?? "http://localhost:3003";
const out = new URL("../screenshots/", import.meta.url).pathname;
mkdirSync(out, { recursive: true });

const SIZES = [
  { name: "wide", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
] as const;
const SCHEMES = ["light", "dark"] as const;

async function codeFor(email: string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const list = (await (await fetch(`${mailbox}/mailbox`)).json()) as { id: string; to?: string; subject?: string }[];
    for (const mail of [...list].reverse()) {
      const raw = await (await fetch(`${mailbox}/mailbox/${encodeURIComponent(mail.id)}`)).text();
      if (!raw.includes(email)) continue;
      const code = /\b(\d{6})\b/.exec(raw.split("\n\n").slice(1).join("\n\n"))?.[1];
      if (code) return code;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no code mailed to ${email}`);
}

async function shoot(page: Page, name: string): Promise<void> {
  for (const size of SIZES) {
    await page.setViewportSize({ width: size.width, height: size.height });
    for (const scheme of SCHEMES) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.waitForTimeout(150);
      await page.screenshot({ path: `${out}${name}-${size.name}-${scheme}.png` });
    }
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

async function signUp(page: Page, email: string, username: string): Promise<void> {
  await page.goto(`${app}/signup`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByLabel("Code").waitFor();
  await page.getByLabel("Code").fill(await codeFor(email));
  await page.getByRole("navigation", { name: "Rooms" }).waitFor();
}

let pages: Page[] = [];

async function main(browser: Browser): Promise<void> {
  const stamp = Date.now().toString(36);
  const alice = { email: `alice-${stamp}@example.com`, username: `alice_${stamp}` };
  const bob = { email: `bob-${stamp}@example.com`, username: `bob_${stamp}` };

  const a = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  const b = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  pages = [a, b];
  for (const p of [a, b]) p.on("console", (m) => m.type() === "error" && console.log(`console: ${m.text()}`));

  // Each page load first asks whether a session is alive ("Loading…"): shot once the form is there.
  await a.goto(`${app}/login`);
  await a.getByRole("button", { name: "Log in" }).waitFor();
  await shoot(a, "01-login");
  await a.goto(`${app}/signup`);
  await a.getByRole("button", { name: "Sign up" }).waitFor();
  await shoot(a, "02-signup");
  await signUp(b, bob.email, bob.username);
  await a.goto(`${app}/signup`);
  await a.getByLabel("Email").fill(alice.email);
  await a.getByLabel("Username").fill(alice.username);
  await a.getByLabel("Password").fill("correct horse battery");
  await a.getByRole("button", { name: "Sign up" }).click();
  await a.getByLabel("Code").waitFor();
  await shoot(a, "03-verify");
  await a.getByLabel("Code").fill(await codeFor(alice.email));
  await a.getByRole("navigation", { name: "Rooms" }).waitFor();
  await shoot(a, "04-empty");

  await a.getByRole("button", { name: "New room" }).click();
  await a.getByLabel("Name").fill("Design review");
  await a.getByLabel("Topic (optional)").fill("Screens, flows and the odd pixel");
  await a.getByLabel("Invite people").fill(bob.username.slice(0, 8));
  await a.getByRole("button", { name: new RegExp(bob.username) }).click();
  await shoot(a, "05-create-room");
  await a.getByRole("button", { name: "Create room" }).click();
  await a.getByRole("log", { name: "Messages" }).waitFor();

  const composerA = a.getByRole("combobox", { name: /^Message/ });
  await composerA.fill("Hello Bob! The new sidebar is in: https://example.com/design");
  await composerA.press("Enter");
  await b.reload();
  await b.getByRole("link", { name: /Design review/ }).click();
  const composerB = b.getByRole("combobox", { name: /^Message/ });
  await composerB.fill(`Looks great @${alice.username}, one thing about the badges`);
  await composerB.press("Enter");
  await composerB.fill("They could use more contrast in dark mode.");
  await composerB.press("Enter");
  await a.getByRole("log").getByText("They could use more contrast").waitFor();
  await a.getByRole("log").getByText("They could use more contrast").hover();
  await a.getByRole("button", { name: "Add reaction" }).last().click();
  await a.getByRole("button", { name: "React with 👍" }).click();
  await a.getByRole("button", { name: "Reply" }).last().click();
  await composerA.fill("Agreed, fixing it now");
  await composerA.press("Enter");
  await b.getByRole("log").getByText("Agreed, fixing it now").waitFor();
  // The SDK sends a typing notice at most every 3 s.
  await b.waitForTimeout(3100);
  await composerB.pressSequentially("typing…", { delay: 30 });
  await a.getByText(/is typing/).waitFor();
  await a.mouse.move(0, 0);
  await shoot(a, "06-room");
  await composerA.fill("@");
  await composerA.pressSequentially(bob.username.slice(0, 3));
  await shoot(a, "07-mention-autocomplete");
  await composerA.fill("");

  // The member list opens beside the room on a wide screen, over it on a phone.
  const members = a.getByRole("button", { name: /^\d+ members$/ });
  for (const size of SIZES) {
    await a.setViewportSize({ width: size.width, height: size.height });
    if ((await members.getAttribute("aria-pressed")) !== "true") await members.click();
    for (const scheme of SCHEMES) {
      await a.emulateMedia({ colorScheme: scheme });
      await a.screenshot({ path: `${out}08-members-${size.name}-${scheme}.png` });
    }
  }
  await a.setViewportSize({ width: 1280, height: 800 });
  await a.getByRole("button", { name: "Browse rooms" }).click();
  await shoot(a, "09-directory");
  await a.getByRole("button", { name: "Close" }).click();
  await a.getByRole("button", { name: "New direct message" }).click();
  await shoot(a, "10-new-dm");
  await a.getByRole("button", { name: "Close" }).click();
  await a.getByRole("link", { name: "Settings" }).click();
  await a.getByLabel("Display name").fill("Alice Liddell");
  await a.getByLabel("Status").fill("Reviewing designs");
  await a.getByRole("button", { name: "Save profile" }).click();
  await a.getByText("Saved.").waitFor();
  await shoot(a, "11-profile");
  await a.getByRole("link", { name: "Sessions" }).click();
  await a.getByText("This browser").waitFor();
  await shoot(a, "12-sessions");
  await a.setViewportSize({ width: 390, height: 844 });
  await a.goto(`${app}/`);
  await a.getByRole("navigation", { name: "Rooms" }).waitFor();
  // shoot() leaves the page in the last scheme it took (dark).
  await a.emulateMedia({ colorScheme: "light" });
  await a.screenshot({ path: `${out}13-home-phone-light.png` });
  await a.emulateMedia({ colorScheme: "dark" });
  await a.screenshot({ path: `${out}13-home-phone-dark.png` });
  await a.emulateMedia({ colorScheme: "light" });
  await a.setViewportSize({ width: 1280, height: 800 });

  await a.getByRole("link", { name: /Design review/ }).click();
  await a.getByRole("log").getByText("Agreed, fixing it now").waitFor();
  await a.context().setOffline(true);
  await composerA.fill("Sent while offline");
  await composerA.press("Enter");
  await a
    .getByText(/offline/i)
    .first()
    .waitFor();
  await shoot(a, "14-offline");
  await a.context().setOffline(false);
}

const browser = await launchChromium();
try {
  await main(browser);
  console.log(`screenshots in ${out}`);
} catch (err) {
  for (const [i, p] of pages.entries()) await p.screenshot({ path: `${out}failure-${i}.png` }).catch(() => undefined);
  throw err;
} finally {
  await browser.close();
}
