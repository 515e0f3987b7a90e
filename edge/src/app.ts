/**
 * The edge, built from its dependencies: REST under /api (its OpenAPI
 * document at /api/openapi.json, browsable at /api/docs), Connect for
 * browsers under /parley.*, the WebSocket at /ws, /healthz and the ops
 * endpoints (/metrics, /livez, /readyz), all in one
 * Fastify server in front of user-svc and chat-svc. main.ts listens; tests
 * listen on port 0.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import websocket from "@fastify/websocket";
import { createTokenKeys } from "@parley/shared/auth.js";
import type { Component } from "@parley/shared/component.js";
import type { Logger } from "@parley/shared/logger.js";
import { metricsText } from "@parley/shared/ops-server.js";
import { connectRedis, type Redis } from "@parley/shared/redis.js";
import { createAuthenticator } from "@parley/shared/sessions.js";
import { nameRequestSpan, tracingEnabled } from "@parley/shared/trace-context.js";
import Fastify, { type FastifyBaseLogger, LogController } from "fastify";
import { withAccountEvents } from "./account-events.js";
import { createServiceClients, type ServiceClients } from "./clients.js";
import type { EdgeConfig } from "./config.js";
import { connectContextValues, connectRoutes } from "./connect.js";
import { strictJsonOptions } from "./connect-request-errors.js";
import { allowedOrigins, installCors } from "./cors.js";
import { checkHealth } from "./health.js";
import { installHttpMetrics } from "./http-metrics.js";
import { type OpenApiDocument, openApiDocument } from "./openapi/document.js";
import { apiReference, referenceRoutes } from "./openapi/reference.js";
import { createRealtimeGateway, type RealtimeGateway } from "./realtime/gateway.js";
import { watchSessionEnds } from "./realtime/session-ends.js";
import { chatRoutes } from "./rest/chats.js";
import { acceptEmptyJsonBodies, frameworkErrors, installErrorHandlers } from "./rest/errors.js";
import { addRoutes } from "./rest/route.js";
import { userRoutes } from "./rest/users.js";
import { createServiceTokenSource } from "./service-token.js";
import { webSessionRoutes, webSessionRouteTable } from "./web/session-cookie.js";
import { webAppRoutes } from "./web/static.js";

export const MAX_BODY_BYTES = 64 * 1024;

export interface AppDeps {
  config: Pick<
    EdgeConfig,
    | "NODE_ENV"
    | "USER_SVC_URL"
    | "CHAT_SVC_URL"
    | "JWT_SECRET"
    | "REDIS_URL"
    | "REDIS_KEY_PREFIX"
    | "WS_MAX_BUFFERED_BYTES"
    | "HEARTBEAT_INTERVAL"
    | "WS_SEND_RATE"
    | "WS_SEND_BURST"
    | "WS_AUTHENTICATE_BURST"
    | "WS_AUTHENTICATE_INTERVAL"
    | "WS_SUBSCRIBE_RATE"
    | "CORS_ORIGINS"
    | "TRUST_PROXY"
    | "WEB_DIST_DIR"
    | "WEB_COOKIE_SECURE"
    | "WEB_COOKIE_MAX_AGE"
  >;
  logger: Logger;
  /** Defaults to gRPC clients for USER_SVC_URL and CHAT_SVC_URL. */
  clients?: ServiceClients;
  /** Sessions; defaults to a connection to REDIS_URL, closed with the app. */
  redis?: Redis;
  /** WebSocket timings; tests shorten them. Defaults: HEARTBEAT_INTERVAL, 10 s, 30 s, HEARTBEAT_INTERVAL. */
  heartbeatMs?: number;
  authTimeoutMs?: number;
  presenceIntervalMs?: number;
  drainGraceMs?: number;
}

export interface App extends Component {
  realtime: RealtimeGateway;
  /** What GET /api/openapi.json answers. */
  openApi: OpenApiDocument;
  /** Every route Fastify registered (HEAD ones included), as its onRoute hook saw them. */
  routes: readonly { method: string; url: string }[];
  /** Shutdown has begun (main.ts): /readyz answers 503 from now on, so a load balancer sends no new clients. */
  drain(): void;
}

export async function build(deps: AppDeps): Promise<App> {
  const { config, logger } = deps;
  const ownClients = deps.clients === undefined;
  const serviceToken = createServiceTokenSource(config.JWT_SECRET);
  const clients =
    deps.clients ??
    createServiceClients({ userSvcUrl: config.USER_SVC_URL, chatSvcUrl: config.CHAT_SVC_URL, logger, serviceToken });
  const ownRedis = deps.redis === undefined;
  const redis = deps.redis ?? connectRedis(config.REDIS_URL, logger, "edge");
  const closeConnections = async () => {
    if (ownClients) clients.close();
    if (ownRedis) redis.disconnect();
  };

  let draining = false;
  const httpLogger: FastifyBaseLogger = logger.child({ component: "http" });
  const origins = allowedOrigins(config.CORS_ORIGINS, config.NODE_ENV);
  const app = Fastify({
    loggerInstance: httpLogger,
    bodyLimit: MAX_BODY_BYTES,
    // req.ip is the socket's peer unless TRUST_PROXY says which proxies' X-Forwarded-For to believe.
    trustProxy: config.TRUST_PROXY,
    // Failures are logged where they are mapped; a line per request is noise at this level.
    logController: new LogController({ disableRequestLogging: true }),
    frameworkErrors: frameworkErrors(origins),
  });
  installHttpMetrics(app);
  installErrorHandlers(app, logger);
  installCors(app, origins);
  if (tracingEnabled()) {
    // The HTTP instrumentation's span knows the path, not the route it matched ("POST /api/users/register").
    app.addHook("onRequest", (req, _reply, done) => {
      if (req.routeOptions.url !== undefined) nameRequestSpan(req.method, req.routeOptions.url);
      done();
    });
  }
  const routes: { method: string; url: string }[] = [];
  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });

  const wsLogger = logger.child({ component: "ws" });
  const authenticator = createAuthenticator({
    keys: createTokenKeys(config.JWT_SECRET),
    redis,
    prefix: config.REDIS_KEY_PREFIX,
  });
  const realtime = createRealtimeGateway({
    user: clients.user,
    chat: clients.chat,
    authenticator,
    serviceToken,
    logger: wsLogger,
    maxBufferedBytes: config.WS_MAX_BUFFERED_BYTES,
    heartbeatMs: deps.heartbeatMs ?? config.HEARTBEAT_INTERVAL * 1000,
    sendRate: { rate: config.WS_SEND_RATE, burst: config.WS_SEND_BURST },
    authenticateRate: { rate: 1 / config.WS_AUTHENTICATE_INTERVAL, burst: config.WS_AUTHENTICATE_BURST },
    subscribeRate: config.WS_SUBSCRIBE_RATE,
    ...(deps.authTimeoutMs !== undefined ? { authTimeoutMs: deps.authTimeoutMs } : {}),
    ...(deps.drainGraceMs !== undefined ? { drainGraceMs: deps.drainGraceMs } : {}),
    ...(deps.presenceIntervalMs !== undefined ? { presenceIntervalMs: deps.presenceIntervalMs } : {}),
  });
  const sessionEnds = watchSessionEnds({
    redis,
    prefix: config.REDIS_KEY_PREFIX,
    authenticator,
    gateway: realtime,
    logger: wsLogger,
  });

  try {
    const user = withAccountEvents(clients.user, { profileChanged: realtime.profileChanged });
    // The route table: what Fastify serves under /api and what the OpenAPI document describes.
    const apiRoutes = [...userRoutes(user), ...chatRoutes(clients.chat)];
    const webRoutes = webSessionRouteTable({
      user,
      secure: config.WEB_COOKIE_SECURE ?? config.NODE_ENV === "production",
      maxAgeSeconds: config.WEB_COOKIE_MAX_AGE,
    });
    const docRoutes = referenceRoutes(() => openApi);
    const openApi = openApiDocument([...apiRoutes, ...webRoutes, ...docRoutes]);

    await app.register(websocket, {
      // A frame over 64 KiB closes the socket with 1009. The gateway tracks its own sockets.
      options: { maxPayload: MAX_BODY_BYTES, clientTracking: false },
      // Only reached if accepting a socket throws: socket errors (bad framing, oversized frames) go to its session.
      errorHandler: (err, socket) => {
        wsLogger.debug({ err: err.message }, "socket error");
        if (socket.readyState === socket.OPEN) socket.close(1011, "internal error");
      },
    });
    // An upgrade is routed through Fastify with a ServerResponse attached to its socket; that response (and
    // through it the request: headers, token, a logger) would otherwise stay pinned for the socket's lifetime.
    const upgradeResponses = new WeakMap<IncomingMessage, ServerResponse>();
    app.route({
      method: "GET",
      url: "/ws",
      onRequest: (req, reply, done) => {
        if (req.ws) upgradeResponses.set(req.raw, reply.raw);
        done();
      },
      handler: (_req, reply) =>
        reply
          .code(426)
          .header("upgrade", "websocket")
          .send({
            error: { code: "failed_precondition", message: "use a WebSocket upgrade", reason: "UPGRADE_REQUIRED" },
          }),
      wsHandler: (socket, req) => {
        // The plugin's error listener holds the request and reply for the socket's lifetime; the session has its own.
        socket.removeAllListeners("error");
        upgradeResponses.get(req.raw)?.detachSocket(req.raw.socket);
        upgradeResponses.delete(req.raw);
        realtime.accept(socket, { url: req.url, ip: req.ip, headers: req.headers, socket: req.raw.socket });
      },
    });

    const health = async () => {
      const [user, chat] = await Promise.all([checkHealth(clients.userTransport), checkHealth(clients.chatTransport)]);
      // Sockets cannot be accepted without the sessions in Redis.
      const sessions = redis.status === "ready" ? "ready" : "unavailable";
      const ok = user === "serving" && chat === "serving" && sessions === "ready";
      return { ok, services: { user, chat }, sessions };
    };
    app.get("/healthz", async (_req, reply) => {
      const { ok, services, sessions } = await health();
      // 503 until both services answer, so "healthy" means requests can succeed.
      return reply.code(ok ? 200 : 503).send({
        status: ok ? "ok" : "unavailable",
        services,
        events: realtime.events.connected ? "open" : "connecting",
        sessions,
      });
    });
    // The ops endpoints every component has (shared/ops-server.ts); /healthz stays for what already asks it.
    app.get("/livez", (_req, reply) => reply.header("cache-control", "no-store").type("text/plain").send("ok\n"));
    app.get("/readyz", async (_req, reply) => {
      const ok = !draining && (await health()).ok;
      return reply
        .code(ok ? 200 : 503)
        .header("cache-control", "no-store")
        .type("text/plain")
        .send(ok ? "ready\n" : "not ready\n");
    });
    app.get("/metrics", async (_req, reply) => {
      const { contentType, body } = await metricsText();
      return reply.header("cache-control", "no-store").type(contentType).send(body);
    });

    // Their own scope, for the JSON parser that takes an empty body as {}
    // (Connect's plugin sets its own parsers and may not meet a replaced one).
    await app.register(async (rest) => {
      acceptEmptyJsonBodies(rest);
      addRoutes(rest, apiRoutes);
      await rest.register(webSessionRoutes, { routes: webRoutes, origins });
    });
    await app.register(apiReference, { routes: docRoutes });
    await app.register(webAppRoutes, { root: config.WEB_DIST_DIR });

    // Its own plugin scope: it replaces the body parsers for Connect's content types there only.
    await app.register(fastifyConnectPlugin, {
      routes: connectRoutes({ user, chat: clients.chat }),
      contextValues: connectContextValues,
      jsonOptions: strictJsonOptions,
      grpc: false,
      readMaxBytes: MAX_BODY_BYTES,
    });
    await app.ready();
    return {
      openApi,
      routes,
      async listen({ host, port }) {
        await app.listen({ host, port });
        const address = app.server.address();
        return typeof address === "object" && address !== null ? address.port : port;
      },
      realtime,
      drain() {
        draining = true;
      },
      async close() {
        await sessionEnds.close();
        await realtime.close();
        await app.close();
        await closeConnections();
      },
    };
  } catch (err) {
    // Whatever started must stop, or the process would never exit.
    await sessionEnds.close();
    await realtime.close();
    await app.close();
    await closeConnections();
    throw err;
  }
}
