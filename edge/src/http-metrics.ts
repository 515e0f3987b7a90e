/**
 * Rate, errors and duration of every HTTP request the edge answers (REST,
 * Connect, the web app, /healthz), by method, route and status, from one
 * Fastify hook. The route is the pattern it matched (`/api/rooms/:roomId`),
 * never the raw URL, so the series stay few whatever clients send; a request
 * no route matched counts under "unmatched".
 */
import { counter, DURATION_BUCKETS, histogram } from "@parley/shared/metrics.js";
import type { FastifyInstance } from "fastify";

const requests = counter<"method" | "route" | "status">({
  name: "parley_http_requests_total",
  help: "HTTP requests the edge answered, by method, route pattern and status code",
  labelNames: ["method", "route", "status"],
});

const seconds = histogram<"method" | "route">({
  name: "parley_http_request_duration_seconds",
  help: "How long the edge took to answer HTTP requests, by method and route pattern",
  labelNames: ["method", "route"],
  buckets: DURATION_BUCKETS,
});

/** Methods outside these count as "other": the label stays bounded whatever clients send. */
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

export function installHttpMetrics(app: FastifyInstance): void {
  app.addHook("onResponse", (req, reply, done) => {
    const route = req.routeOptions.url ?? "unmatched";
    const method = METHODS.has(req.method) ? req.method : "other";
    requests.labels(method, route, String(reply.statusCode)).inc();
    seconds.labels(method, route).observe(reply.elapsedTime / 1000);
    done();
  });
}
