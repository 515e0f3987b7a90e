/** What a person does in Parley Web, shared by the browser tests of the app (and the bench's web section). */
import assert from "node:assert/strict";
import type { TestSmtpServer } from "@parley/shared/testing.js";
import type { Locator, Page } from "playwright-core";
import { waitUntil } from "../support/system.js";
import { otpFrom } from "../support/users.js";

/** How long a person waits for the app before the test says it failed (generous: the machine may be loaded). */
export const PATIENCE_MS = 30_000;

/** The room's timeline: an ARIA log named Messages. */
export function timeline(page: Page): Locator {
  return page.getByRole("log", { name: "Messages" });
}

/** A message in the timeline by its sender and (part of) its text; a reply quoting it is not it. */
export function message(page: Page, sender: string, text: string): Locator {
  return timeline(page)
    .getByRole("article", { name: new RegExp(`^${sender}, `) })
    .filter({ has: page.locator("p", { hasText: text }) });
}

/** Waits until `locator` matches exactly one visible element (or, with `hidden`, none). */
export async function see(locator: Locator, state: "visible" | "hidden" = "visible"): Promise<void> {
  try {
    await locator.waitFor({ state, timeout: PATIENCE_MS });
  } catch (err) {
    // What a screen reader would have found instead.
    const page = await locator
      .page()
      .locator("body")
      .ariaSnapshot({ timeout: 5000 })
      .catch(() => "");
    throw new Error(`${err instanceof Error ? err.message : String(err)}\nthe page:\n${page}`);
  }
}

/** Polls `read` until it equals `expected`; fails with the last value read. */
export async function until<T>(read: () => Promise<T>, expected: T): Promise<void> {
  let last: T | undefined;
  await waitUntil(
    async () => {
      last = await read();
      try {
        assert.deepEqual(last, expected);
        return true;
      } catch {
        return false;
      }
    },
    PATIENCE_MS,
    () => `expected ${JSON.stringify(expected)}, last saw ${JSON.stringify(last)}`,
  );
}

/** Creates a room from the sidebar, inviting one person found by the user search; waits for its timeline. */
export async function createRoom(page: Page, name: string, invite: string): Promise<void> {
  await page.getByRole("button", { name: "New room" }).click();
  const dialog = page.getByRole("dialog", { name: "Create a room" });
  await dialog.getByLabel("Name").fill(name);
  await dialog.getByRole("radio", { name: /^Private/ }).check();
  await dialog.getByLabel("Invite people").fill(invite);
  await dialog.getByRole("button", { name: new RegExp(`^${invite}`) }).click();
  // The chosen person shows under the "Invite people" label, beside the search field it was found with.
  const chosen = dialog.getByRole("list", { name: "Chosen people" });
  await see(chosen.getByText(invite));
  const [label, chips, field] = await Promise.all(
    [dialog.getByText("Invite people", { exact: true }), chosen, dialog.getByLabel("Invite people")].map((l) =>
      l.boundingBox(),
    ),
  );
  assert.ok(label && chips && field, "label, chosen people and search field are on screen");
  assert.ok(label.y + label.height <= chips.y && chips.y + chips.height <= field.y, "label, then chips, then field");
  await dialog.getByRole("button", { name: "Create room" }).click();
  await see(page.getByRole("heading", { name }));
  await see(timeline(page));
}

/** Signs up on /signup with the code from the mail, and waits for the signed-in app. */
export async function signUpInApp(
  page: Page,
  app: { edgeUrl: string; smtp: TestSmtpServer },
  username: string,
): Promise<{ email: string }> {
  const email = `${username}@example.test`;
  await page.goto(`${app.edgeUrl}/signup`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Sign up" }).click();
  const mail = await app.smtp.waitFor((m) => m.envelopeTo.includes(email));
  await page.getByLabel("Code").fill(otpFrom(mail.parsed.text));
  await see(page.getByRole("navigation", { name: "Rooms" }));
  return { email };
}
