/**
 * Browser clients in real headless Chromium: a page served from another
 * origin uses Connect-Web against the edge (CORS included) and a WebSocket
 * for live events.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { build } from "esbuild";
import { type Browser, chromium } from "playwright-core";
import { type RunningSystem, startSystem } from "../support/system.js";
import { signUp } from "../support/users.js";

let system: RunningSystem;
let browser: Browser;
let page: Server;
let pageUrl: string;

before(async () => {
  const bundle = await build({
    entryPoints: [new URL("./client.ts", import.meta.url).pathname],
    bundle: true,
    format: "iife",
    platform: "browser",
    write: false,
  });
  const script = bundle.outputFiles[0]?.text ?? "";
  page = createServer((req, res) => {
    if (req.url === "/client.js") {
      res.writeHead(200, { "content-type": "text/javascript" }).end(script);
    } else {
      res.writeHead(200, { "content-type": "text/html" }).end('<!doctype html><script src="/client.js"></script>');
    }
  });
  await new Promise<void>((resolve) => page.listen(0, "127.0.0.1", resolve));
  pageUrl = `http://127.0.0.1:${(page.address() as AddressInfo).port}/`;
  system = await startSystem();
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
  });
});

after(async () => {
  await browser?.close();
  await system?.close();
  await new Promise((resolve) => page?.close(resolve));
});

test("a page on another origin talks Connect-Web and WebSocket to the edge", async () => {
  const { token, username } = await signUp(system, "carol");
  const tab = await browser.newPage();
  await tab.goto(pageUrl);
  const result = await tab.evaluate(
    ([edge, t]) =>
      (globalThis as unknown as { parley: { run(e: string, t: string): Promise<unknown> } }).parley.run(edge, t),
    [system.edgeUrl, token] as const,
  );
  const { event, ...rest } = result as { event: { messageCreated: { seq: string; text: string } } };
  assert.deepEqual(rest, {
    unauthenticated: "unauthenticated",
    internalMethod: "PermissionDenied: ChatService.SendMessages is not available here",
    username,
    history: [{ seq: 1, text: "hi from Chromium" }],
  });
  assert.equal(event.messageCreated.seq, "1");
  assert.equal(event.messageCreated.text, "hi from Chromium");
  await tab.close();
});
