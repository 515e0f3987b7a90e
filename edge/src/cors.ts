/**
 * CORS for browser apps on other origins (Connect-Web and REST). The header
 * lists come from Connect so that its protocol headers are always allowed.
 */
import { cors } from "@connectrpc/connect";
import type { FastifyInstance } from "fastify";

export type AllowedOrigins = "*" | ReadonlySet<string>;

/** CORS_ORIGINS as a policy: a list, or any origin when unset outside production. */
export function allowedOrigins(list: string | undefined, nodeEnv: string): AllowedOrigins {
  if (list === undefined) return nodeEnv === "production" ? new Set() : "*";
  const origins = list
    .split(",")
    .map((o) => o.trim().replace(/\/$/, ""))
    .filter((o) => o !== "");
  return origins.includes("*") ? "*" : new Set(origins);
}

const allowMethods = cors.allowedMethods.join(", ");
const allowHeaders = [...cors.allowedHeaders, "Authorization"].join(", ");
// Retry-After so that a browser app can honour a 429.
const exposeHeaders = [...cors.exposedHeaders, "Retry-After"].join(", ");

/** Whether a request from `origin` may be answered to the page that sent it. */
export function allows(origins: AllowedOrigins, origin: string | undefined): origin is string {
  return origin !== undefined && origin !== "" && (origins === "*" || origins.has(origin));
}

/** The headers an actual (not preflight) response to an allowed origin carries. */
export function corsResponseHeaders(origin: string): Record<string, string> {
  return { "access-control-allow-origin": origin, vary: "Origin", "access-control-expose-headers": exposeHeaders };
}

export function installCors(app: FastifyInstance, origins: AllowedOrigins): void {
  app.addHook("onRequest", (req, reply, done) => {
    const origin = req.headers.origin;
    if (!allows(origins, origin)) return done();
    if (req.method === "OPTIONS" && req.headers["access-control-request-method"]) {
      reply.header("access-control-allow-origin", origin);
      reply.header("vary", "Origin");
      reply
        .header("access-control-allow-methods", allowMethods)
        .header("access-control-allow-headers", allowHeaders)
        .header("access-control-max-age", "7200")
        .code(204)
        .send();
      return;
    }
    reply.headers(corsResponseHeaders(origin));
    done();
  });
}
