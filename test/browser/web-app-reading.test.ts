/**
 * Reading a busy room in Parley Web: a room opens at the first unread
 * message, the read marker moves only over what was on screen, the "@"
 * badge counts unread mentions however many messages followed them, and a
 * reply's quote finds its parent however far back. The app runs as in
 * production: the four components as processes serving a fresh build.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Locator, Page } from "playwright-core";
import { startWebStack, type WebStack } from "../support/browser.js";
import { waitUntil } from "../support/system.js";
import { api, signUp } from "../support/users.js";
import { PATIENCE_MS, see, signUpInApp, timeline, until } from "./web-app-steps.js";

let stack: WebStack;

before(async () => {
  stack = await startWebStack();
});

after(() => stack?.close());

type Sender = Awaited<ReturnType<typeof signUp>>;

async function person(): Promise<Page> {
  const context = await stack.browser.newContext({ viewport: { width: 1280, height: 800 } });
  return context.newPage();
}

/** Alice's room with the person signed up in the app as `username`; its id. */
async function roomWith(alice: Sender, username: string, name: string): Promise<string> {
  const found = await api(stack.system, "GET", `/api/users/search?prefix=${username}`, undefined, alice.token);
  const users = found.json.users as { id: string; username: string }[];
  const id = users.find((u) => u.username === username)?.id;
  assert.ok(id, `${username} found`);
  const room = await api(stack.system, "POST", "/api/chats/rooms", { name, memberIds: [id] }, alice.token);
  assert.equal(room.status, 201, JSON.stringify(room.json));
  return (room.json.room as { id: string }).id;
}

/** Sends as `from`, waiting out the send budget when it runs dry; the message's id. */
async function send(from: Sender, roomId: string, text: string, parentId?: string): Promise<string> {
  for (;;) {
    const sent = await api(stack.system, "POST", "/api/chats/messages", { roomId, text, parentId }, from.token);
    if (sent.status === 429) {
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    assert.equal(sent.status, 201, JSON.stringify(sent.json));
    return (sent.json.message as { id: string }).id;
  }
}

/** Someone's read marker in the room, as the room's members show it. */
async function markerOf(alice: Sender, roomId: string, username: string): Promise<number> {
  const { json } = await api(stack.system, "GET", `/api/chats/rooms/${roomId}`, undefined, alice.token);
  const search = await api(stack.system, "GET", `/api/users/search?prefix=${username}`, undefined, alice.token);
  const id = (search.json.users as { id: string; username: string }[]).find((u) => u.username === username)?.id;
  const members = (json.room as { members: { userId: string; lastReadSeq: string }[] }).members;
  return Number(members.find((m) => m.userId === id)?.lastReadSeq ?? -1);
}

/** Whether the element is (at least partly) inside the timeline's visible area. */
async function onScreen(page: Page, locator: Locator): Promise<boolean> {
  const [box, view] = await Promise.all([locator.boundingBox(), timeline(page).boundingBox()]);
  return !!box && !!view && box.y + box.height > view.y && box.y < view.y + view.height;
}

/** The message texts inside the timeline's visible area. */
function textsOnScreen(page: Page): Promise<string[]> {
  return timeline(page).evaluate((log) => {
    const view = log.getBoundingClientRect();
    return [...log.querySelectorAll(".message-text")]
      .filter((el) => {
        const r = el.getBoundingClientRect();
        return r.bottom > view.top && r.top < view.bottom;
      })
      .map((el) => el.textContent ?? "");
  });
}

/** A message's text in the timeline (not a reply's quote of it). */
const messageText = (page: Page, text: string) =>
  timeline(page).locator(".message-text", { hasText: new RegExp(`^${text}$`) });

const settle = () => new Promise((r) => setTimeout(r, 1500));

test("a room with unread messages opens at the first of them, and the read marker follows only what was on screen", async () => {
  const stamp = Date.now().toString(36);
  const alice = await signUp(stack.system, `alice_${stamp}`);
  const bobName = `bob_${stamp}`;
  const bob = await person();
  await signUpInApp(bob, stack.system, bobName);
  const roomId = await roomWith(alice, bobName, "Long read");
  for (let i = 1; i <= 40; i++) await send(alice, roomId, i === 2 ? `m2 for @${bobName}` : `m${i}`);

  const link = bob.getByRole("link", { name: /^Long read/ });
  await see(bob.getByRole("link", { name: /^Long read ?, 40 unread, mentions you/ }));
  await link.click();
  await see(timeline(bob).getByText("New messages"));
  const first = await textsOnScreen(bob);
  assert.equal(first[0], "m1", "the first unread at the top");
  assert.ok(first.includes(`m2 for @${bobName}`), "the mention is on screen");
  assert.ok(!first.includes("m40"), "the newest is further down");
  const jump = bob.getByRole("button", { name: /^\d+ new messages/ });
  await see(jump);
  await settle();
  const marker = await markerOf(alice, roomId, bobName);
  const lastShown = Number(first.at(-1)?.slice(1));
  assert.ok(marker >= 2 && marker <= lastShown, `read up to what was shown (m${lastShown}), not beyond: ${marker}`);

  await jump.click();
  await until(() => onScreen(bob, messageText(bob, "m40")), true);
  await until(() => markerOf(alice, roomId, bobName), 40);
  await see(jump, "hidden");

  // More unread than a page holds: the room opens at the first of them (m41) from a fresh load, and
  // scrolling down brings every later one on screen in turn, the read marker following.
  await bob.goto(`${stack.system.edgeUrl}/settings/profile`);
  for (let i = 41; i <= 160; i++) await send(alice, roomId, `m${i}`);
  await see(bob.getByRole("link", { name: /^Long read ?, 120 unread(?!, mentions)/ }));
  await bob.getByRole("link", { name: /^Long read/ }).click();
  await see(timeline(bob).getByText("New messages"));
  const opened = await textsOnScreen(bob);
  assert.equal(
    opened.find((t) => /^m\d+$/.test(t) && Number(t.slice(1)) > 40),
    "m41",
    "opened at the first unread",
  );
  await see(bob.getByRole("button", { name: /^99\+ new messages/ }));
  await settle();
  const early = await markerOf(alice, roomId, bobName);
  assert.ok(early >= 40 && early < 80, `the read marker stays by what was shown: ${early}`);

  const seen = new Set<string>();
  for (let step = 0; step < 200 && !seen.has("m160"); step++) {
    for (const t of await textsOnScreen(bob)) seen.add(t);
    await timeline(bob).evaluate((log) => {
      log.scrollTop += log.clientHeight / 2;
    });
    await new Promise((r) => setTimeout(r, 60));
  }
  for (let i = 41; i <= 160; i++) assert.ok(seen.has(`m${i}`), `m${i} came on screen`);
  await until(() => markerOf(alice, roomId, bobName), 160);
});

test("the @ badge stays while an unread message mentions the user, live and after a reload", async () => {
  const stamp = Date.now().toString(36);
  const alice = await signUp(stack.system, `alice_${stamp}`);
  const bobName = `bob_${stamp}`;
  const bob = await person();
  await signUpInApp(bob, stack.system, bobName);
  const roomId = await roomWith(alice, bobName, "Mentions");
  await send(alice, roomId, `Hi @${bobName}`);
  await send(alice, roomId, "anything else");

  const badge = (page: Page) => page.getByRole("link", { name: /^Mentions/ }).locator(".badge");
  await see(bob.getByRole("link", { name: /^Mentions ?, 2 unread, mentions you/ }));
  assert.equal((await badge(bob).textContent())?.trim(), "@ 2");
  assert.match((await badge(bob).getAttribute("class")) ?? "", /\bmention\b/);

  await bob.reload();
  await see(bob.getByRole("link", { name: /^Mentions ?, 2 unread, mentions you/ }));
  assert.equal((await badge(bob).textContent())?.trim(), "@ 2");

  // Live, a third message keeps it; reading the room takes it away.
  await send(alice, roomId, "and one more");
  await see(bob.getByRole("link", { name: /^Mentions ?, 3 unread, mentions you/ }));
  await bob.getByRole("link", { name: /^Mentions/ }).click();
  await see(timeline(bob).getByText("and one more"));
  await see(bob.getByRole("link", { name: /^Mentions(?! ?, \d+ unread)/ }));
  await bob.goto(`${stack.system.edgeUrl}/settings/profile`);
  await send(alice, roomId, "no mention here");
  await see(bob.getByRole("link", { name: /^Mentions ?, 1 unread(?!, mentions)/ }));
  assert.equal((await badge(bob).textContent())?.trim(), "1");
});

test("a reply's quote jumps to a parent far back, loading older pages until it is there", async () => {
  const stamp = Date.now().toString(36);
  const alice = await signUp(stack.system, `alice_${stamp}`);
  const bobName = `bob_${stamp}`;
  const bob = await person();
  await signUpInApp(bob, stack.system, bobName);
  const roomId = await roomWith(alice, bobName, "Archive");
  let parent = "";
  for (let i = 1; i <= 200; i++) {
    const id = await send(alice, roomId, i === 198 ? "r198 answers r5" : `r${i}`, i === 198 ? parent : undefined);
    if (i === 5) parent = id;
  }
  // Bob reads to the end first, so the room then opens at its newest.
  await bob.getByRole("link", { name: /^Archive/ }).click();
  await see(timeline(bob));
  await waitUntil(
    async () => {
      await timeline(bob).evaluate((log) => {
        log.scrollTop = log.scrollHeight;
      });
      return (await markerOf(alice, roomId, bobName)) === 200;
    },
    PATIENCE_MS,
    () => "Bob read to the end",
  );
  await bob.reload();
  await see(timeline(bob).getByText("r198 answers r5"));
  assert.ok(!(await textsOnScreen(bob)).includes("r5"));

  await timeline(bob).locator(".reply-quote").click();
  await see(timeline(bob).locator(".message.highlighted").locator(".message-text", { hasText: /^r5$/ }));
  assert.ok(await onScreen(bob, messageText(bob, "r5")), "the parent is on screen");
});
