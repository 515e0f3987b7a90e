/**
 * Builds web/dist, which the edge serves at `/`. `npm run dev -w web`
 * proxies the API, the socket and the Connect paths to a running stack
 * (PARLEY_EDGE_URL, default http://localhost:3000).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

const edge = process.env.PARLEY_EDGE_URL ?? "http://localhost:3000";
const proxy = {
  "/api": { target: edge },
  "/ws": { target: edge, ws: true },
  "/parley.": { target: edge },
};

/** Emits sw.js with the app shell to precache: index.html, the entry chunk with its imports and CSS, the icons. */
function serviceWorker(): Plugin {
  return {
    name: "parley-service-worker",
    apply: "build",
    generateBundle(_options, bundle) {
      const shell = new Set<string>(["/", "/manifest.webmanifest", "/icon.svg", "/icon-192.png"]);
      for (const file of Object.values(bundle)) {
        if (file.type !== "chunk" || !file.isEntry) continue;
        for (const name of [file.fileName, ...file.imports, ...(file.viteMetadata?.importedCss ?? [])])
          shell.add(`/${name}`);
      }
      const list = [...shell].sort();
      const version = createHash("sha256").update(list.join("\n")).digest("hex").slice(0, 12);
      const source = readFileSync(new URL("./sw/service-worker.js", import.meta.url), "utf8")
        .replace("__VERSION__", version)
        .replace("__PRECACHE__", JSON.stringify(list));
      this.emitFile({ type: "asset", fileName: "sw.js", source });
    },
  };
}

export default defineConfig({
  plugins: [react(), serviceWorker()],
  resolve: {
    alias: [
      {
        find: "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js",
        replacement: fileURLToPath(new URL("./src/data/validate-descriptor-stub.ts", import.meta.url)),
      },
    ],
  },
  server: { proxy },
  preview: { proxy },
  build: { target: "es2022", assetsInlineLimit: 0 },
});
