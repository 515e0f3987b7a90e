/**
 * `npm run build`: every component, the migrate command and the gRPC health
 * probe bundled to plain JavaScript with esbuild, so an image runs them with
 * `node` alone (no TypeScript compiler at run time). The workspace code
 * (@parley/*) is bundled; every npm package stays external and is loaded from
 * node_modules, where the image installs the production dependencies.
 *
 * Files a module finds beside itself at run time (drizzle migrations, mail
 * templates, the web app, the descriptor set) stay where they are in the
 * repository: each bundled module's `import.meta.url` is rewritten to the URL
 * its source file had, so `new URL("../drizzle", import.meta.url)` means the
 * same folder in the bundle as under tsx. The image copies those folders.
 */
import { readFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";
import { TRACING_PRELOAD } from "./tracing-preload.js";

const root = fileURLToPath(new URL("..", import.meta.url));

/** What `npm run build` writes, relative to the repository root. */
export const bundles = [
  { entry: "edge/src/main.ts", outfile: "edge/dist/main.js" },
  { entry: "user-svc/src/main.ts", outfile: "user-svc/dist/main.js" },
  { entry: "chat-svc/src/main.ts", outfile: "chat-svc/dist/main.js" },
  { entry: "mail-worker/src/main.ts", outfile: "mail-worker/dist/main.js" },
  { entry: "scripts/migrate.ts", outfile: "dist/migrate.js" },
  { entry: "scripts/health-probe.ts", outfile: "dist/health-probe.js" },
] as const;

/** Node 20.19 is the oldest release the build machines run; the image runs a newer LTS. */
const TARGET = "node20.19";

/** Bundles @parley/* workspace packages; leaves every other bare import to node_modules. */
const externalPackages: Plugin = {
  name: "external-packages",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith("@parley/") ? undefined : { external: true }));
  },
};

/** Rewrites `import.meta.url` in each source file to that file's own URL, seen from the bundle. */
function sourceFileUrls(outfile: string): Plugin {
  const outDir = dirname(join(root, outfile));
  return {
    name: "source-file-urls",
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, async (args) => {
        const source = await readFile(args.path, "utf8");
        if (!source.includes("import.meta.url")) return undefined;
        const fromBundle = relative(outDir, args.path).split(sep).join("/");
        return {
          contents: source.replaceAll(
            "import.meta.url",
            `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`,
          ),
          loader: "ts",
        };
      });
    },
  };
}

export async function buildAll(): Promise<void> {
  for (const { entry, outfile } of bundles) {
    await build({
      absWorkingDir: root,
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      target: TARGET,
      sourcemap: "linked",
      logLevel: "warning",
      plugins: [externalPackages, sourceFileUrls(outfile)],
    });
  }
  await build({
    absWorkingDir: root,
    entryPoints: [TRACING_PRELOAD.source],
    outdir: TRACING_PRELOAD.outdir,
    bundle: true,
    splitting: true,
    platform: "node",
    format: "esm",
    target: TARGET,
    sourcemap: "linked",
    logLevel: "warning",
    plugins: [externalPackages],
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildAll();
  process.stdout.write(`built ${[...bundles.map((b) => b.outfile), TRACING_PRELOAD.built].join(", ")}\n`);
}
