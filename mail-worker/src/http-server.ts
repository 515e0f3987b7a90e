/**
 * The worker's small HTTP surface: a health check, /metrics, /livez and
 * /readyz (shared/ops-server.ts; ready while consuming and not shutting
 * down); the unsubscribe link of
 * notification mails (GET /unsubscribe?token=… asks, and only a POST, the
 * page's button or a mail client's one-click unsubscribe of RFC 8058,
 * unsubscribes: link scanners and prefetchers GET every link in a mail, and
 * must not switch anyone's mail off); and in dev mailbox mode the mailbox
 * itself (GET /mailbox lists mails, GET /mailbox/:id returns one as raw .eml
 * text).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { type Component, httpServerComponent } from "@parley/shared/component.js";
import type { Logger } from "@parley/shared/logger.js";
import { handleOpsRequest, type ReadyCheck } from "@parley/shared/ops-server.js";
import type { Mailbox } from "./mailbox.js";
import type { UnsubscribePage } from "./templates/render.js";

export function createHttpServer(opts: {
  mailbox: Mailbox | undefined;
  /** What /healthz reports; unhealthy (503) while not `healthy`, with `status` saying why. */
  health: () => Promise<{ healthy: boolean; status: string } & Record<string, unknown>>;
  /** What /readyz reports. */
  ready: ReadyCheck;
  /** Whether the token names a user, changing nothing. */
  isUnsubscribeToken: (token: string) => boolean;
  /** Unsubscribes the user the token names; false for an invalid token. */
  unsubscribe: (token: string) => Promise<boolean>;
  /** The HTML pages of the unsubscribe link. */
  unsubscribePage: (page: UnsubscribePage) => string;
  logger: Logger;
}): Component {
  const { mailbox, logger } = opts;

  function json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
    res.end(JSON.stringify(body));
  }

  function html(res: ServerResponse, status: number, body: string): void {
    res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    res.end(body);
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { pathname, searchParams } = new URL(req.url ?? "/", "http://worker");
    if (pathname === "/unsubscribe") {
      if (req.method !== "GET" && req.method !== "POST") {
        res.setHeader("allow", "GET, POST");
        return json(res, 405, { error: "method not allowed" });
      }
      const token = searchParams.get("token") ?? "";
      // One-click POSTs carry "List-Unsubscribe=One-Click" as their body, the page's form none; the token is in the URL.
      req.resume();
      if (req.method === "GET") {
        if (!opts.isUnsubscribeToken(token)) return html(res, 400, opts.unsubscribePage({ state: "invalid" }));
        const action = `?${new URLSearchParams({ token })}`;
        return html(res, 200, opts.unsubscribePage({ state: "confirm", action }));
      }
      const ok = await opts.unsubscribe(token);
      return html(res, ok ? 200 : 400, opts.unsubscribePage({ state: ok ? "done" : "invalid" }));
    }
    if (await handleOpsRequest(req, res, opts.ready)) return;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      return json(res, 405, { error: "method not allowed" });
    }
    if (pathname === "/healthz") {
      const health = await opts.health();
      return json(res, health.healthy ? 200 : 503, health);
    }
    if (pathname === "/mailbox" || pathname.startsWith("/mailbox/")) {
      if (!mailbox) return json(res, 404, { error: "no dev mailbox: mail is sent over SMTP" });
      if (pathname === "/mailbox") {
        const limit = Number(searchParams.get("limit") ?? 100);
        return json(res, 200, await mailbox.list(Number.isInteger(limit) && limit > 0 ? Math.min(limit, 1000) : 100));
      }
      const raw = await mailbox.read(pathname.slice("/mailbox/".length));
      if (raw === undefined) return json(res, 404, { error: "no such mail" });
      // text/plain rather than message/rfc822 so that a browser shows it instead of downloading it.
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
      res.end(raw);
      return;
    }
    json(res, 404, { error: "not found" });
  }

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      logger.error({ err, url: req.url }, "HTTP request failed");
      if (!res.headersSent) json(res, 500, { error: "internal error" });
      else res.destroy();
    });
  });
  return httpServerComponent(server);
}
