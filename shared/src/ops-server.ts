/**
 * What an operator's tools ask every component, over plain HTTP:
 *  - GET /metrics: the process's Prometheus registry (metrics.ts);
 *  - GET /livez: 200 while the event loop answers (a restart would not help otherwise);
 *  - GET /readyz: 200 only while the component can do its work and has not
 *    begun to shut down; 503 otherwise, so a load balancer stops sending work.
 *
 * `handleOpsRequest` serves them on a server a component already has (the
 * mail worker's); `createOpsServer` is the small listener of the gRPC
 * services (METRICS_PORT). The edge serves the same through Fastify routes.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { type Component, httpServerComponent } from "./component.js";
import type { Logger } from "./logger.js";
import { registry } from "./metrics.js";

/** What /readyz asks: may it be sent work now? */
export type ReadyCheck = () => boolean | Promise<boolean>;

/** The exposition text of every metric of the process. */
export async function metricsText(): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { "content-type": contentType, "cache-control": "no-store" });
  res.end(body);
}

/** Answers /metrics, /livez and /readyz (GET or HEAD) and returns true; false for any other request. */
export async function handleOpsRequest(req: IncomingMessage, res: ServerResponse, ready: ReadyCheck): Promise<boolean> {
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  const pathname = (req.url ?? "/").split("?", 1)[0];
  switch (pathname) {
    case "/metrics": {
      const { contentType, body } = await metricsText();
      send(res, 200, contentType, body);
      return true;
    }
    case "/livez":
      send(res, 200, "text/plain; charset=utf-8", "ok\n");
      return true;
    case "/readyz": {
      const ok = await ready();
      send(res, ok ? 200 : 503, "text/plain; charset=utf-8", ok ? "ready\n" : "not ready\n");
      return true;
    }
    default:
      return false;
  }
}

/** An HTTP listener answering only /metrics, /livez and /readyz. */
export function createOpsServer(opts: { ready: ReadyCheck; logger: Logger }): Component {
  const server = createServer((req, res) => {
    handleOpsRequest(req, res, opts.ready).then(
      (handled) => {
        if (!handled) send(res, 404, "text/plain; charset=utf-8", "not found\n");
      },
      (err: unknown) => {
        opts.logger.error({ err, url: req.url }, "ops request failed");
        if (!res.headersSent) send(res, 500, "text/plain; charset=utf-8", "internal error\n");
        else res.destroy();
      },
    );
  });
  return httpServerComponent(server);
}
