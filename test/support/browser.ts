/**
 * What browser tests and the bench need around a browser: Debian's Chromium
 * driven by playwright-core, scripts bundled by esbuild for a page, and the
 * web app built fresh for the edge to serve.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { type Browser, type BrowserContext, chromium } from "playwright-core";
import { type RunningSystem, startSystem } from "./system.js";

const root = new URL("../..", import.meta.url).pathname;

/** Debian's Chromium, headless; the flags keep it from phoning home or updating itself mid-run. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
}

/** `entry` (a .ts file) bundled by esbuild into one script a page can load. */
export async function bundleForBrowser(entry: string): Promise<string> {
  const bundle = await build({ entryPoints: [entry], bundle: true, format: "iife", platform: "browser", write: false });
  return bundle.outputFiles[0]?.text ?? "";
}

export interface ServedPage {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `entry` bundled as /page.js, loaded by an empty page at `url`, from
 * its own origin (so its calls to the edge are cross-origin, as from an app
 * deployed elsewhere).
 */
export async function serveBundle(entry: string): Promise<ServedPage> {
  const script = await bundleForBrowser(entry);
  const server = createServer((req, res) => {
    if (req.url === "/page.js") {
      res.writeHead(200, { "content-type": "text/javascript" }).end(script);
    } else {
      res.writeHead(200, { "content-type": "text/html" }).end('<!doctype html><script src="/page.js"></script>');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface WebBuild {
  /** The built app, for the edge's WEB_DIST_DIR. */
  dir: string;
  remove(): Promise<void>;
}

/**
 * The web app built now from the working tree into a directory of its own.
 * Always fresh (a stale web/dist would test yesterday's app), and private to
 * the caller, so test files running side by side never rebuild under each
 * other's edge (so Vite's one-build-per-project lock, which guards a shared
 * outDir, is bypassed). A build takes a second or two.
 */
export async function buildWebApp(): Promise<WebBuild> {
  const dir = await mkdtemp(join(tmpdir(), "parley-web-dist-"));
  const vite = spawn(
    process.execPath,
    [
      join(root, "node_modules/vite/bin/vite.js"),
      "build",
      "--outDir",
      dir,
      "--emptyOutDir",
      "--logLevel",
      "warn",
      "--bypass-lock",
    ],
    { cwd: join(root, "web"), stdio: ["ignore", "pipe", "pipe"] },
  );
  const output: string[] = [];
  for (const stream of [vite.stdout, vite.stderr]) stream.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  const [code] = (await once(vite, "exit")) as [number | null];
  if (code !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`vite build failed (exit ${code}):\n${output.join("")}`);
  }
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Parley Web as in production (a fresh build served by the four components as processes) and a Chromium context. */
export interface WebStack {
  system: RunningSystem;
  browser: Browser;
  context: BrowserContext;
  close(): Promise<void>;
}

export async function startWebStack(viewport = { width: 1280, height: 800 }): Promise<WebStack> {
  const web = await buildWebApp();
  const system = await startSystem({ env: { edge: { WEB_DIST_DIR: web.dir } } });
  const browser = await launchChromium();
  const context = await browser.newContext({ viewport });
  return {
    system,
    browser,
    context,
    async close() {
      await context.close();
      await browser.close();
      await system.close();
      await web.remove();
    },
  };
}
