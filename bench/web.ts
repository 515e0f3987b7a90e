/**
 * The bench's `web` section: Parley Web in Debian's Chromium against the
 * running edge, which serves a fresh build of the app.
 *  - initial JS+CSS: what the browser fetches to show the login page, and a
 *    signed-in room (lazy chunks included), as served and gzipped;
 *  - navigation: loading /rooms/<id> until the room's latest message is shown;
 *  - live: another user's send (a bare WebSocket client in Node) to the
 *    message in the page's DOM, beside a bare WebSocket in the same page
 *    receiving the same event (the baseline: what rendering adds);
 *  - room switch: a click in the sidebar until the other room's latest message is shown;
 *  - a 10,000-message room (seeded straight into chat-svc's database) scrolled
 *    to its first message: DOM nodes stay bounded, no long task over 50 ms.
 * Browser sessions are planted like the bench users: a session created in
 * Redis the way VerifyOtp creates one, its refresh token in the app's cookie.
 */
import { gzipSync } from "node:zlib";
import { Redis } from "ioredis";
import type { BrowserContext, Page } from "playwright-core";
import postgres from "postgres";
import WebSocket from "ws";
import { SESSION_COOKIE, SESSION_COOKIE_PATH } from "../edge/src/web/session-cookie.js";
import { launchChromium } from "../test/support/browser.js";
import { createSession } from "../user-svc/src/storage/sessions.js";
import type { BenchUser } from "./fixtures.js";
import { ms, ratio, summarize } from "./stats.js";

export interface WebBenchOptions {
  edgeUrl: string;
  wsUrl: string;
  chatDatabaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  /** Two users: the reader in the browser and the sender. */
  users: readonly [BenchUser, BenchUser];
  quick: boolean;
  log: (msg: string) => void;
}

type Rows = string[][];

/**
 * What the functions run in the page use of it (the bench is typed for
 * Node, without the DOM library), and what they leave there for the bench.
 */
interface InPage {
  document: {
    body: unknown;
    querySelector(selector: string): { textContent: string | null; click(): void } | null;
    getElementsByTagName(name: string): { length: number };
  };
  MutationObserver: new (
    callback: (records: { addedNodes: Iterable<{ textContent: string | null }> }[]) => void,
  ) => { observe(target: unknown, options: object): void; disconnect(): void };
  PerformanceObserver: new (
    callback: (list: { getEntries(): { duration: number }[] }) => void,
  ) => { observe(options: { type: string; buffered: boolean }): void };
  requestAnimationFrame(callback: () => void): number;
  NativeWebSocket: typeof WebSocket;
  bare: Record<string, number>;
  appReceived: Record<string, number>;
  shown: Record<string, number>;
  longTasks: number[];
  shownAt: number;
}

/**
 * Runs before the app: notes when each "live N" event reaches the app's own
 * WebSocket (before the SDK sees it), so rendering is timed from the frame
 * the app got, not from another socket's. A string: tsx would rewrite a function.
 */
const APP_SOCKET_PROBE = `(() => {
  const received = {};
  globalThis.appReceived = received;
  const Native = WebSocket;
  globalThis.NativeWebSocket = Native;
  globalThis.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      this.addEventListener("message", (e) => {
        if (typeof e.data !== "string") return;
        const at = performance.timeOrigin + performance.now();
        for (const m of e.data.matchAll(/"text":"(live \\d+)"/g)) received[m[1]] ??= at;
      });
    }
  };
})();`;

/** Runs before the app: notes performance.now() (ms since the navigation began) when `text` is first in the log. */
function shownProbe(text: string): string {
  return `(() => {
  const observer = new MutationObserver(() => {
    if (!document.querySelector('[role="log"]')?.textContent?.includes(${JSON.stringify(text)})) return;
    globalThis.shownAt = performance.now();
    observer.disconnect();
  });
  observer.observe(document, { childList: true, subtree: true, characterData: true });
})();`;
}

const BIG_ROOM = 10_000;
const LIVE_MESSAGES = 200;

async function rest<T>(edgeUrl: string, method: string, path: string, token: string, body?: unknown): Promise<T> {
  const res = await fetch(`${edgeUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** A browser context signed in as `user` through the app's own cookie, as after a sign-in. */
async function signedIn(context: BrowserContext, opts: WebBenchOptions, user: BenchUser): Promise<void> {
  const redis = new Redis(opts.redisUrl);
  const { refreshToken } = await createSession(redis, {
    prefix: opts.redisPrefix,
    userId: user.id,
    ttlSeconds: 3600,
    client: { ip: "127.0.0.1", userAgent: "bench" },
  }).finally(() => redis.disconnect());
  await context.addCookies([
    {
      name: SESSION_COOKIE,
      value: refreshToken,
      domain: new URL(opts.edgeUrl).hostname,
      path: SESSION_COOKIE_PATH,
      httpOnly: true,
      sameSite: "Strict",
    },
  ]);
}

/**
 * Writes `count` messages from `sender` into a room in one statement, as
 * chat-svc would have stored them; each reads "<label> <seq>: …".
 */
async function seedMessages(
  chatDatabaseUrl: string,
  roomId: string,
  sender: BenchUser,
  count: number,
  label: string,
): Promise<void> {
  const sql = postgres(chatDatabaseUrl, { max: 1, onnotice: () => {} });
  try {
    await sql.begin(async (tx) => {
      const [room] = await tx<{ head: string }[]>`
        select head_seq::text as head from rooms where id = ${roomId} for update`;
      const head = BigInt(room?.head ?? "0");
      await tx`
        insert into messages (room_id, seq, sender_id, sender_username, text, created_at)
        select ${roomId}, ${head.toString()}::bigint + n, ${sender.id}, ${sender.username},
               ${label} || ' ' || (${head.toString()}::bigint + n) || ': ' || repeat('lorem ipsum ', 1 + n % 7),
               now() - make_interval(secs => ${count} - n)
        from generate_series(1, ${count}) as n`;
      await tx`update rooms set head_seq = head_seq + ${count} where id = ${roomId}`;
    });
  } finally {
    await sql.end();
  }
}

async function initialAssets(context: BrowserContext, url: string, ready: (page: Page) => Promise<void>) {
  const page = await context.newPage();
  const assets = new Map<string, { served: number; gzipped: number }>();
  const pending: Promise<void>[] = [];
  page.on("response", (res) => {
    const type = res.request().resourceType();
    if (type !== "script" && type !== "stylesheet") return;
    pending.push(
      (async () => {
        const [sizes, body] = await Promise.all([res.request().sizes(), res.body()]);
        assets.set(res.url(), { served: sizes.responseBodySize, gzipped: gzipSync(body).length });
      })(),
    );
  });
  await page.goto(url);
  await ready(page);
  await Promise.all(pending);
  await page.close();
  const sum = (k: "served" | "gzipped") => [...assets.values()].reduce((n, a) => n + a[k], 0) / 1024;
  return { served: sum("served"), gzipped: sum("gzipped"), files: assets.size };
}

export async function webPhase(opts: WebBenchOptions): Promise<Rows> {
  const rows: Rows = [];
  const [reader, sender] = opts.users;
  const { log, edgeUrl } = opts;
  const browser = await launchChromium();
  try {
    // Two rooms they share; the second gets the 10,000 messages later.
    const room = (name: string) =>
      rest<{ room: { id: string } }>(edgeUrl, "POST", "/api/chats/rooms", sender.token, {
        name,
        visibility: "ROOM_VISIBILITY_PRIVATE",
        memberIds: [reader.id],
      }).then((r) => r.room.id);
    const live = await room("web bench live");
    const other = await room("web bench other");
    await seedMessages(opts.chatDatabaseUrl, live, sender, 100, "live-history");
    await seedMessages(opts.chatDatabaseUrl, other, sender, 100, "other");
    // Read: a room with unread messages opens at the first of them, and these figures are of opening at the newest.
    const readAll = (roomId: string) =>
      rest(edgeUrl, "POST", `/api/chats/rooms/${roomId}/read`, reader.token, { seq: "1000000000" });
    await Promise.all([readAll(live), readAll(other)]);

    log("web: initial JS+CSS");
    const cold = await browser.newContext({ serviceWorkers: "block" });
    const login = await initialAssets(cold, `${edgeUrl}/login`, (p) =>
      p.getByRole("heading", { name: "Log in" }).waitFor(),
    );
    await cold.close();
    const coldSignedIn = await browser.newContext({ serviceWorkers: "block" });
    await signedIn(coldSignedIn, opts, reader);
    const roomLoad = await initialAssets(coldSignedIn, `${edgeUrl}/rooms/${live}`, (p) =>
      p.getByRole("log", { name: "Messages" }).getByText("live-history 100:").waitFor(),
    );
    await coldSignedIn.close();
    const kb = (v: number) => `${v.toFixed(1)} KB`;
    rows.push([
      "web: login page JS+CSS, gzipped (as served)",
      `${kb(login.gzipped)} (${kb(login.served)})`,
      "",
      "",
      "≤ 150 KB",
    ]);
    rows.push([
      `web: signed-in room JS+CSS (${roomLoad.files} files), gzipped (as served)`,
      `${kb(roomLoad.gzipped)} (${kb(roomLoad.served)})`,
      "",
      "",
      "≤ 150 KB",
    ]);

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await signedIn(context, opts, reader);
    await context.addInitScript({ content: APP_SOCKET_PROBE });
    const page = await context.newPage();

    log("web: navigation to a room's latest messages");
    // Timed in the page from the navigation's start (Playwright's waits poll up to 500 ms apart, too coarse).
    const navigating = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await signedIn(navigating, opts, reader);
    await navigating.addInitScript({ content: shownProbe("live-history 100:") });
    const navPage = await navigating.newPage();
    const navigations: number[] = [];
    for (let i = 0; i < (opts.quick ? 3 : 10); i++) {
      await navPage.goto(`${edgeUrl}/rooms/${live}`);
      await navPage.getByRole("log", { name: "Messages" }).getByText("live-history 100:").waitFor();
      navigations.push(await navPage.evaluate(() => (globalThis as unknown as InPage).shownAt));
    }
    await navigating.close();
    const nav = summarize(navigations);
    rows.push(["web: navigation → latest messages shown, p50 / max", `${ms(nav.p50)} / ${ms(nav.max)}`, "", "", ""]);

    log(`web: ${LIVE_MESSAGES} live messages from another user`);
    await page.goto(`${edgeUrl}/rooms/${live}`);
    await page.getByRole("log", { name: "Messages" }).getByText("live-history 100:").waitFor();
    // The page's own bare WebSocket, subscribed to the same room: when the event reached this browser.
    await page.evaluate(
      ([wsUrl, token, roomId]) =>
        new Promise<void>((resolve, reject) => {
          const bare: Record<string, number> = {};
          const w = globalThis as unknown as InPage;
          w.bare = bare;
          const ws = new w.NativeWebSocket(`${wsUrl}?token=${encodeURIComponent(token)}`);
          ws.onerror = () => reject(new Error("bare WebSocket failed"));
          ws.onmessage = (e) => {
            const text = String(e.data);
            const frame = JSON.parse(text);
            if (frame.ready) ws.send(JSON.stringify({ ref: "s", subscribe: { roomId } }));
            if (frame.subscribed) resolve();
            const body = frame.event?.messageCreated?.text;
            if (typeof body === "string" && bare[body] === undefined)
              bare[body] = performance.timeOrigin + performance.now();
          };
        }),
      [opts.wsUrl, reader.token, live] as const,
    );
    // Rendered: the first DOM change that puts the message's text in the log.
    await page.evaluate(() => {
      const shown: Record<string, number> = {};
      const w = globalThis as unknown as InPage;
      w.shown = shown;
      new w.MutationObserver((records) => {
        const at = performance.timeOrigin + performance.now();
        for (const r of records)
          for (const node of r.addedNodes)
            for (const m of node.textContent?.matchAll(/live \d+/g) ?? []) shown[m[0]] ??= at;
      }).observe(w.document.body, { childList: true, subtree: true, characterData: true });
    });
    const ws = new WebSocket(`${opts.wsUrl}?token=${encodeURIComponent(sender.token)}`);
    await new Promise<void>((resolve, reject) => {
      ws.on("message", (data) => String(data).includes('"ready"') && resolve());
      ws.on("error", reject);
    });
    const sentAt = new Map<string, number>();
    for (let i = 0; i < LIVE_MESSAGES; i++) {
      const text = `live ${i}`;
      sentAt.set(text, performance.timeOrigin + performance.now());
      ws.send(JSON.stringify({ send: { roomId: live, text, clientMessageId: `web-bench-${i}` } }));
      await new Promise((r) => setTimeout(r, 50));
    }
    await page
      .getByRole("log", { name: "Messages" })
      .getByText(`live ${LIVE_MESSAGES - 1}`, { exact: true })
      .waitFor();
    ws.close();
    const { bare, shown, received } = await page.evaluate(() => {
      const g = globalThis as unknown as InPage;
      return { bare: g.bare, shown: g.shown, received: g.appReceived };
    });
    const toBare: number[] = [];
    const toShown: number[] = [];
    const added: number[] = [];
    for (const [text, at] of sentAt) {
      const b = bare[text];
      const s = shown[text];
      const r = received[text];
      if (b === undefined || s === undefined || r === undefined) continue;
      toBare.push(b - at);
      toShown.push(s - at);
      added.push(s - r);
    }
    const [liveShown, liveBare, liveAdded] = [summarize(toShown), summarize(toBare), summarize(added)];
    rows.push([
      `web: send → rendered (${liveShown.count}/${LIVE_MESSAGES}), p50`,
      ms(liveShown.p50),
      ms(liveBare.p50),
      ratio(liveShown.p50, liveBare.p50),
      "",
    ]);
    rows.push([
      "web: send → rendered, p99",
      ms(liveShown.p99),
      ms(liveBare.p99),
      ratio(liveShown.p99, liveBare.p99),
      "",
    ]);
    rows.push([
      "web: rendering adds (app's frame in → in the DOM), p50 / p99",
      `${ms(liveAdded.p50)} / ${ms(liveAdded.p99)}`,
      "",
      "",
      "≤ 5 ms p50",
    ]);

    log("web: room switch");
    const switches: number[] = [];
    for (let i = 0; i < (opts.quick ? 4 : 20); i++) {
      const [to, latest] = i % 2 === 0 ? [other, "other 100:"] : [live, `live ${LIVE_MESSAGES - 1}`];
      switches.push(await whenShownAfterClick(page, to, latest));
    }
    const sw = summarize(switches);
    rows.push(["web: room switch (click → latest shown), p50 / max", `${ms(sw.p50)} / ${ms(sw.max)}`, "", "", ""]);

    log(`web: a ${BIG_ROOM}-message room scrolled to the top`);
    await seedMessages(opts.chatDatabaseUrl, other, sender, BIG_ROOM - 100, "other");
    await readAll(other);
    const big = await scrollToTop(context, `${edgeUrl}/rooms/${other}`, `other ${BIG_ROOM}:`);
    await page.close();
    await context.close();
    rows.push([
      `web: ${BIG_ROOM}-message room to the top: DOM nodes at start / max`,
      `${big.nodesAtStart} / ${big.maxNodes}`,
      "",
      "",
      "bounded",
    ]);
    rows.push([
      "web: … longest task while scrolling (tasks > 50 ms)",
      `${ms(big.longest)} (${big.longTasks})`,
      "",
      "",
      "none > 50 ms",
    ]);
    rows.push(["web: … reached the first message in", ms(big.elapsed), "", "", ""]);
  } finally {
    await browser.close();
  }
  return rows;
}

/** Clicks the sidebar's link to `roomId`; the time until `latest` is in its log, measured in the page. */
function whenShownAfterClick(page: Page, roomId: string, latest: string): Promise<number> {
  return page.evaluate(
    ([id, wanted]) =>
      new Promise<number>((resolve, reject) => {
        const w = globalThis as unknown as InPage;
        const link = w.document.querySelector(`a[href="/rooms/${id}"]`);
        if (!link) return reject(new Error(`no link to ${id}`));
        // No named inner functions here: tsx would wrap them in a helper the page does not have.
        const observer = new w.MutationObserver(() => {
          if (!w.document.querySelector('[role="log"]')?.textContent?.includes(wanted)) return;
          observer.disconnect();
          resolve(performance.now() - started);
        });
        observer.observe(w.document.body, { childList: true, subtree: true, characterData: true });
        const started = performance.now();
        link.click();
      }),
    [roomId, latest] as const,
  );
}

/** Opens the room, then keeps scrolling its log to the top until the room's beginning is shown. */
async function scrollToTop(context: BrowserContext, url: string, latest: string) {
  const page = await context.newPage();
  await page.addInitScript(() => {
    const tasks: number[] = [];
    const w = globalThis as unknown as InPage;
    w.longTasks = tasks;
    new w.PerformanceObserver((list) => {
      for (const e of list.getEntries()) tasks.push(e.duration);
    }).observe({ type: "longtask", buffered: true });
  });
  await page.goto(url);
  const log = page.getByRole("log", { name: "Messages" });
  await log.getByText(latest).waitFor();
  const nodes = () => page.evaluate(() => (globalThis as unknown as InPage).document.getElementsByTagName("*").length);
  const nodesAtStart = await nodes();
  // Long tasks of the first load are not the scroll's.
  await page.evaluate(() => {
    (globalThis as unknown as InPage).longTasks.length = 0;
  });
  const started = Date.now();
  let maxNodes = nodesAtStart;
  const start = log.getByText("This is the beginning of the room.");
  while (!(await start.isVisible())) {
    if (Date.now() - started > 300_000) throw new Error("the room's beginning was not reached in 5 minutes");
    // As a person flinging the wheel: one big scroll up, then a frame to let the app react.
    await page.mouse.move(640, 400);
    await page.mouse.wheel(0, -5000);
    await page.evaluate(
      () => new Promise((r) => (globalThis as unknown as InPage).requestAnimationFrame(() => setTimeout(r, 0))),
    );
    maxNodes = Math.max(maxNodes, await nodes());
  }
  const elapsed = Date.now() - started;
  const longTasks = await page.evaluate(() => [...(globalThis as unknown as InPage).longTasks]);
  await page.close();
  return {
    nodesAtStart,
    maxNodes,
    elapsed,
    longTasks: longTasks.filter((d) => d > 50).length,
    longest: longTasks.length ? Math.max(...longTasks) : 0,
  };
}
