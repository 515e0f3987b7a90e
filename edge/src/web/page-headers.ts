/**
 * The security headers on everything the web app is made of (its pages, the
 * service worker, scripts, styles): a strict Content-Security-Policy that
 * allows no inline script or style and nothing from other origins but images,
 * and the usual hardening around it. Helmet writes them; the policy is ours.
 */
import helmet from "@fastify/helmet";
import type { FastifyInstance } from "fastify";

/**
 * connect-src 'self' covers the app's own WebSocket: CSP Level 3 (§6.7.2.8,
 * "Does url match expression in origin with redirect count?") lets 'self'
 * match ws: and wss: URLs on the page's host and port. Browsers that predate
 * that rule would need the ws(s) origin listed; edge/test/web-browser.test.ts
 * checks Chromium.
 */
export const CONTENT_SECURITY_POLICY = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  connectSrc: ["'self'"],
  // Avatars are URLs on any https host; data: for inline icons.
  imgSrc: ["'self'", "https:", "data:"],
  objectSrc: ["'none'"],
  baseUri: ["'none'"],
  frameAncestors: ["'none'"],
  formAction: ["'self'"],
};

// Powerful features the app never asks for; anything not listed keeps the browser's default.
const PERMISSIONS_POLICY = [
  "accelerometer=()",
  "camera=()",
  "geolocation=()",
  "gyroscope=()",
  "magnetometer=()",
  "microphone=()",
  "payment=()",
  "usb=()",
].join(", ");

/** Adds the headers to every response of the routes in `app`'s scope. */
export async function installPageHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
    xFrameOptions: { action: "deny" },
    referrerPolicy: { policy: "no-referrer" },
    // HSTS belongs to whoever terminates TLS; sent over plain HTTP it is ignored anyway.
    strictTransportSecurity: false,
  });
  app.addHook("onRequest", async (_req, reply) => {
    reply.header("permissions-policy", PERMISSIONS_POLICY);
  });
}
