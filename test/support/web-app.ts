/**
 * Parley Web for browser tests: web/ built by Vite into a temporary folder and
 * served by `vite preview`, which proxies /api, /ws and the Connect paths to
 * the system's edge and plays the edge's web session routes over its JSON
 * token routes (web/scripts/web-session-stand-in.ts). Once the edge serves the
 * app itself, tests can open `system.edgeUrl` instead.
 */
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build, mergeConfig, preview } from "vite";
import { webSessionStandIn } from "../../web/scripts/web-session-stand-in.js";
import base from "../../web/vite.config.js";

const webRoot = new URL("../../web/", import.meta.url).pathname;

export interface WebApp {
  url: string;
  close(): Promise<void>;
}

export async function serveWebApp(edgeUrl: string): Promise<WebApp> {
  const outDir = mkdtempSync(join(tmpdir(), "parley-web-"));
  const proxy = {
    "/api": { target: edgeUrl },
    "/ws": { target: edgeUrl, ws: true },
    "/parley.": { target: edgeUrl },
  };
  const config = mergeConfig(base, {
    root: webRoot,
    configFile: false,
    logLevel: "warn",
    build: { outDir, emptyOutDir: true },
    preview: { port: 0, host: "127.0.0.1", proxy },
    plugins: [webSessionStandIn(edgeUrl)],
  });
  await build(config);
  const server = await preview(config);
  const address = server.httpServer.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    async close() {
      await server.close();
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}
