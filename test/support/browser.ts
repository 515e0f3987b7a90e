/**
 * Browser tests' set-up: a script bundled by esbuild and served with an empty
 * page from its own origin (so calls to the edge are cross-origin, as from a
 * deployed app), and Debian's Chromium driven by playwright-core.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { build } from "esbuild";
import { type Browser, chromium } from "playwright-core";

export interface ServedPage {
  url: string;
  close(): Promise<void>;
}

/** Serves `entry` (a .ts file) bundled for the browser as /page.js, loaded by the page at `url`. */
export async function serveBundle(entry: string): Promise<ServedPage> {
  const bundle = await build({ entryPoints: [entry], bundle: true, format: "iife", platform: "browser", write: false });
  const script = bundle.outputFiles[0]?.text ?? "";
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

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
  });
}
