/**
 * The web app at /: the files `npm run build -w web` writes to WEB_DIST_DIR,
 * and index.html for the app's own routes (/rooms/:id, /login…) so that a
 * reload or a link from a mail opens the app there.
 *
 * - /assets/* are content-hashed: cached for a year, immutable.
 * - Everything else (index.html, the service worker, the manifest) is
 *   `no-cache`: revalidated on every use, so a new build is seen at once.
 * - A GET that is not for the server (/api, /ws, Connect's /parley.*), asks
 *   for HTML and names no file gets index.html; anything else that names no
 *   file keeps the JSON 404 of the API.
 * - Without a build, the app's pages answer 503 with what to run.
 * - Text (scripts, styles, HTML) goes out compressed, brotli or gzip.
 */
import { stat } from "node:fs/promises";
import { isAbsolute, join, relative, sep } from "node:path";
import zlib from "node:zlib";
import fastifyCompress from "@fastify/compress";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { installPageHeaders } from "./page-headers.js";

export interface WebAppOptions {
  /** WEB_DIST_DIR: absolute. */
  root: string;
}

const IMMUTABLE = "public, max-age=31536000, immutable";
const REVALIDATE = "no-cache";
const INDEX = "index.html";

/** The server's own paths: never a file, never the app (their unknown routes stay JSON 404s). */
export function isServerPath(path: string): boolean {
  return (
    path === "/api" ||
    path.startsWith("/api/") ||
    path === "/ws" ||
    path.startsWith("/ws/") ||
    path.startsWith("/parley.")
  );
}

/** Whether the request's Accept names text/html (browsers' navigations do; fetch() and curl do not). */
export function acceptsHtml(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  return accept.split(",").some((range) => {
    const [type, ...params] = range.split(";").map((p) => p.trim().toLowerCase());
    return type === "text/html" && !params.some((p) => /^q=0(\.0*)?$/.test(p));
  });
}

async function isFile(path: string): Promise<boolean> {
  const found = await stat(path).catch(() => undefined);
  return found?.isFile() === true;
}

const NOT_BUILT = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Parley: the web app is not built</title></head>
<body>
<h1>The web app is not built yet</h1>
<p>Run <code>npm run build -w web</code> in the Parley repository, then reload this page.</p>
<p>The API (<code>/api</code>, Connect, <code>/ws</code>) works without it.</p>
</body>
</html>
`;

export async function webAppRoutes(app: FastifyInstance, opts: WebAppOptions): Promise<void> {
  const { root } = opts;
  const assets = join(root, "assets") + sep;
  if (!(await isFile(join(root, INDEX)))) {
    app.log.warn(`no web app in ${root}: its pages answer 503 until \`npm run build -w web\` writes it`);
  }
  await installPageHeaders(app);
  // Brotli at quality 5 compresses a bundle about as well as gzip -9 in a fraction of the time of the default 11.
  await app.register(fastifyCompress, {
    encodings: ["br", "gzip"],
    brotliOptions: { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } },
  });
  await app.register(fastifyStatic, {
    root,
    // Only reply.sendFile: the route below decides what a path is.
    serve: false,
    // A missing build is reported once by the edge and answered 503, not warned about by the plugin.
    suppressWarning: true,
    cacheControl: false,
    index: false,
    setHeaders: (reply, path) => {
      reply.header("cache-control", path.startsWith(assets) ? IMMUTABLE : REVALIDATE);
    },
  });

  async function sendAppShell(reply: FastifyReply): Promise<FastifyReply> {
    if (!(await isFile(join(root, INDEX)))) {
      return reply.code(503).header("cache-control", "no-store").type("text/html; charset=utf-8").send(NOT_BUILT);
    }
    return reply.sendFile(INDEX);
  }

  app.get("/*", async (req: FastifyRequest, reply: FastifyReply) => {
    const raw = req.url.split("?")[0] ?? "/";
    if (isServerPath(raw)) return reply.callNotFound();
    if (raw === "/") return sendAppShell(reply);
    let path: string;
    try {
      path = decodeURI(raw);
    } catch {
      return reply.callNotFound();
    }
    // Only a choice between the shell and sendFile, which refuses what lies outside the root.
    const onDisk = join(root, path);
    const fromRoot = relative(root, onDisk);
    const inside = fromRoot !== ".." && !fromRoot.startsWith(`..${sep}`) && !isAbsolute(fromRoot);
    if (inside && acceptsHtml(req.headers.accept) && !(await isFile(onDisk))) return sendAppShell(reply);
    return reply.sendFile(path);
  });
}
