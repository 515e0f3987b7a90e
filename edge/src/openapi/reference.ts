/**
 * GET /api/openapi.json and the browsable reference at /api/docs: Swagger UI
 * from the swagger-ui-dist package, served by the edge itself (no CDN) under
 * the web app's Content-Security-Policy, so its page runs no inline script.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import zlib from "node:zlib";
import fastifyCompress from "@fastify/compress";
import type { FastifyInstance } from "fastify";
import type { RestRoute } from "../rest/route.js";
import { addRoutes } from "../rest/route.js";
import { installPageHeaders } from "../web/page-headers.js";
import type { OpenApiDocument } from "./document.js";

const require = createRequire(import.meta.url);

function file(contentType: string, path: string) {
  return { contentType, body: readFileSync(path) };
}

/** The reference's routes, in the route table like every other; `document` is read when one is asked for. */
export function referenceRoutes(document: () => OpenApiDocument): RestRoute[] {
  const files = {
    page: file("text/html; charset=utf-8", new URL("./docs-page/index.html", import.meta.url).pathname),
    start: file("text/javascript; charset=utf-8", new URL("./docs-page/docs.js", import.meta.url).pathname),
    bundle: file("text/javascript; charset=utf-8", require.resolve("swagger-ui-dist/swagger-ui-bundle.js")),
    css: file("text/css; charset=utf-8", require.resolve("swagger-ui-dist/swagger-ui.css")),
  };
  const serve = (path: string, summary: string, operationId: string, f: { contentType: string; body: Buffer }) =>
    ({
      method: "GET",
      path,
      summary,
      auth: "none",
      operationId,
      statuses: [200],
      response: { kind: "document", contentType: f.contentType.split(";")[0] ?? f.contentType, description: summary },
      // The files are those of this edge's build: revalidating hourly is plenty.
      handler: async (_req, reply) =>
        reply.header("cache-control", "public, max-age=3600").type(f.contentType).send(f.body),
    }) satisfies RestRoute;
  return [
    {
      method: "GET",
      path: "/api/openapi.json",
      summary: "This OpenAPI document",
      auth: "none",
      operationId: "openApiDocument",
      statuses: [200],
      response: { kind: "document", contentType: "application/json", description: "The OpenAPI 3.1 document." },
      handler: async (_req, reply) => reply.header("cache-control", "no-cache").send(document()),
    },
    serve("/api/docs", "The browsable API reference", "apiReferencePage", files.page),
    serve("/api/docs/docs.js", "The reference page's start-up script", "apiReferenceScript", files.start),
    serve("/api/docs/swagger-ui-bundle.js", "Swagger UI", "swaggerUiBundle", files.bundle),
    serve("/api/docs/swagger-ui.css", "Swagger UI's styles", "swaggerUiStyles", files.css),
  ];
}

/** Serves `routes` (referenceRoutes) with the pages' security headers, compressed. */
export async function apiReference(app: FastifyInstance, opts: { routes: readonly RestRoute[] }): Promise<void> {
  await installPageHeaders(app);
  await app.register(fastifyCompress, {
    encodings: ["br", "gzip"],
    brotliOptions: { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } },
  });
  addRoutes(app, opts.routes);
}
