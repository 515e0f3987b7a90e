/**
 * Cross-site request forgery guard for the cookie-authenticated web routes.
 * The cookie is SameSite=Strict, and on top of that a request must carry
 * `x-parley-csrf: 1`, which a form or a link cannot send and a script on
 * another origin can send only after a CORS preflight the edge does not grant
 * for it; and an Origin header, when the browser sends one, must be the
 * edge's own (by the Host the request came to) or one listed in CORS_ORIGINS.
 */
import { Code } from "@connectrpc/connect";
import { appError } from "@parley/shared/errors.js";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { AllowedOrigins } from "../cors.js";

export const CSRF_HEADER = "x-parley-csrf";

function csrfRejected(message: string) {
  return appError(Code.PermissionDenied, "CSRF_REJECTED", message);
}

/** Whether `origin` is the origin `req` was addressed to: same host and port, by the origin's scheme. */
function isOwnOrigin(origin: URL, req: FastifyRequest): boolean {
  try {
    // Parsed with the origin's scheme, so that a default port written out in Host compares equal.
    return new URL(`${origin.protocol}//${req.host}`).host === origin.host;
  } catch {
    return false;
  }
}

export function checkOrigin(req: FastifyRequest, listed: AllowedOrigins): string | undefined {
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  // "*" (CORS_ORIGINS unset outside production) opens the API to other origins, not the cookie.
  if (listed !== "*" && listed.has(origin)) return undefined;
  let parsed: URL | undefined;
  try {
    parsed = new URL(origin);
  } catch {
    parsed = undefined;
  }
  if (parsed && (parsed.protocol === "http:" || parsed.protocol === "https:") && isOwnOrigin(parsed, req)) {
    return undefined;
  }
  return `origin ${origin} may not use the web session; only this site's own pages can`;
}

/** Refuses, as 403 CSRF_REJECTED, every request in `app`'s scope that lacks the proof. */
export function requireCsrfProof(app: FastifyInstance, origins: AllowedOrigins): void {
  app.addHook("onRequest", async (req) => {
    if (req.headers[CSRF_HEADER] !== "1") {
      throw csrfRejected(`send the header "${CSRF_HEADER}: 1" with web session requests`);
    }
    const problem = checkOrigin(req, origins);
    if (problem) throw csrfRejected(problem);
  });
}
