/**
 * axe-core on every screen of Parley Web, light and dark: no serious or
 * critical violation (contrast, names, roles, landmarks ...). The app runs as
 * in production: the four components as processes serving a fresh build.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import AxeBuilder from "@axe-core/playwright";
import type { Page } from "playwright-core";
import { startWebStack, type WebStack } from "../support/browser.js";
import { api, otpFrom, signUp } from "../support/users.js";
import { createRoom, see, timeline } from "./web-app-steps.js";

let stack: WebStack;

before(async () => {
  stack = await startWebStack();
});

after(() => stack?.close());

const checked: string[] = [];
const found: string[] = [];

/** Runs axe on what the page shows now, in both colour schemes; records serious and critical violations. */
async function audit(page: Page, screen: string): Promise<void> {
  for (const colorScheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme });
    const { violations } = await new AxeBuilder({ page }).analyze();
    for (const v of violations) {
      if (v.impact !== "serious" && v.impact !== "critical") continue;
      const where = v.nodes.map((n) => `${n.target.join(" ")}: ${n.failureSummary ?? ""}`).join("\n      ");
      found.push(`${screen} (${colorScheme}): ${v.impact} ${v.id}: ${v.help}\n      ${where}`);
    }
    checked.push(`${screen} (${colorScheme})`);
  }
  await page.emulateMedia({ colorScheme: "light" });
}

test("every screen, light and dark, has no serious or critical axe violation", async () => {
  const stamp = Date.now().toString(36);
  const friend = await signUp(stack.system, `friend_${stamp}`);
  const username = `ada_${stamp}`;
  const email = `${username}@example.test`;
  const page = await stack.context.newPage();

  await page.goto(`${stack.system.edgeUrl}/login`);
  await see(page.getByRole("heading", { name: "Log in" }));
  await audit(page, "login");

  await page.goto(`${stack.system.edgeUrl}/signup`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill("correct horse battery");
  await audit(page, "signup");
  await page.getByRole("button", { name: "Sign up" }).click();
  await see(page.getByLabel("Code"));
  await audit(page, "verify");
  const mail = await stack.system.smtp.waitFor((m) => m.envelopeTo.includes(email));
  await page.getByLabel("Code").fill(otpFrom(mail.parsed.text));
  await see(page.getByRole("navigation", { name: "Rooms" }));
  await audit(page, "empty state");

  await page.getByRole("button", { name: "New room" }).click();
  await see(page.getByRole("dialog", { name: "Create a room" }));
  await audit(page, "create room");
  await page.getByRole("button", { name: "Cancel" }).click();
  await createRoom(page, "Accessible room", friend.username);
  const composer = page.getByRole("combobox", { name: /^Message/ });
  await composer.fill(`Hello @${friend.username}, see https://example.com/a11y`);
  await composer.press("Enter");
  await see(timeline(page).getByRole("link", { name: "https://example.com/a11y" }));
  // A wide window shows the members beside the timeline; the room alone first.
  await page.getByRole("button", { name: "Hide members" }).click();
  await see(page.getByRole("complementary", { name: "Members" }), "hidden");
  await audit(page, "room");
  await page.getByRole("button", { name: /^\d+ members$/ }).click();
  await see(page.getByRole("button", { name: `Remove ${friend.username} from the room` }));
  await audit(page, "member list");

  await page.getByRole("button", { name: "Browse rooms" }).click();
  await see(page.getByRole("dialog"));
  await audit(page, "room directory");
  await page.getByRole("button", { name: "Close" }).click();

  await page.getByRole("button", { name: "New direct message" }).click();
  await see(page.getByRole("dialog"));
  await audit(page, "direct message picker");
  await page.getByRole("button", { name: "Close" }).click();

  await page.getByRole("link", { name: "Settings" }).click();
  await see(page.getByLabel("Display name"));
  await audit(page, "profile settings");
  await page.getByRole("link", { name: "Sessions" }).click();
  await see(page.getByText("This browser"));
  await audit(page, "sessions");

  // Removed from a room while in it.
  const search = await api(stack.system, "GET", `/api/users/search?prefix=${username}`, undefined, friend.token);
  const myId = (search.json.users as { id: string }[] | undefined)?.[0]?.id;
  assert.ok(myId, JSON.stringify(search.json));
  const created = await api(
    stack.system,
    "POST",
    "/api/chats/rooms",
    { name: "Brief visit", visibility: "private", memberIds: [myId] },
    friend.token,
  );
  const briefId = (created.json.room as { id: string }).id;
  await page.getByRole("link", { name: /^Brief visit/ }).click();
  await see(page.getByRole("heading", { name: "Brief visit" }));
  await api(stack.system, "DELETE", `/api/chats/rooms/${briefId}/members/${myId}`, undefined, friend.token);
  await see(page.getByRole("heading", { name: "You were removed from this room" }));
  await audit(page, "removed from a room");

  await page.getByRole("link", { name: /^Accessible room/ }).click();
  await see(timeline(page));
  await stack.context.setOffline(true);
  await composer.fill("Written offline");
  await composer.press("Enter");
  await see(page.getByRole("status").filter({ hasText: "You're offline." }));
  await audit(page, "offline banner");
  await stack.context.setOffline(false);

  assert.equal(checked.length, 26, checked.join(", "));
  assert.deepEqual(found, []);
});
