/**
 * The edge, built from its dependencies: REST under /api, Connect for
 * browsers under /parley.*, the WebSocket at /ws and /healthz, all in one
 * Fastify server in front of user-svc and chat-svc.
 */
import type { AddressInfo } from "node:net";
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import websocket from "@fastify/websocket";
import type { Logger } from "@parley/shared/logger.js";
import Fastify, { type FastifyBaseLogger, LogController } from "fastify";
import { createServiceClients, type ServiceClients } from "./clients.js";
import type { EdgeConfig } from "./config.js";
import { connectContextValues, connectRoutes } from "./connect.js";
import { allowedOrigins, installCors } from "./cors.js";
import { checkHealth } from "./health.js";
import { createRealtimeGateway, type RealtimeGateway } from "./realtime/gateway.js";
import { chatRoutes } from "./rest/chats.js";
import { installErrorHandlers } from "./rest/errors.js";
import { userRoutes } from "./rest/users.js";
import { createServiceTokenSource } from "./service-token.js";

export const MAX_BODY_BYTES = 64 * 1024;

export interface AppDeps {
  config: Pick<
    EdgeConfig,
    | "PORT"
    | "HOST"
    | "NODE_ENV"
    | "USER_SVC_URL"
    | "CHAT_SVC_URL"
    | "JWT_SECRET"
    | "WS_MAX_BUFFERED_BYTES"
    | "CORS_ORIGINS"
  >;
  logger: Logger;
  /** Defaults to gRPC clients for USER_SVC_URL and CHAT_SVC_URL. */
  clients?: ServiceClients;
  /** WebSocket timings; tests shorten them. */
  heartbeatMs?: number;
  authTimeoutMs?: number;
}

export interface RunningApp {
  port: number;
  realtime: RealtimeGateway;
  close(): Promise<void>;
}

export async function startApp(deps: AppDeps): Promise<RunningApp> {
  const { config, logger } = deps;
  const ownClients = deps.clients === undefined;
  const clients =
    deps.clients ?? createServiceClients({ userSvcUrl: config.USER_SVC_URL, chatSvcUrl: config.CHAT_SVC_URL, logger });

  const httpLogger: FastifyBaseLogger = logger.child({ component: "http" });
  const app = Fastify({
    loggerInstance: httpLogger,
    bodyLimit: MAX_BODY_BYTES,
    // Failures are logged where they are mapped; a line per request is noise at this level.
    logController: new LogController({ disableRequestLogging: true }),
  });
  installErrorHandlers(app, logger);
  installCors(app, allowedOrigins(config.CORS_ORIGINS, config.NODE_ENV));

  const wsLogger = logger.child({ component: "ws" });
  const realtime = createRealtimeGateway({
    user: clients.user,
    chat: clients.chat,
    serviceToken: createServiceTokenSource(config.JWT_SECRET),
    logger: wsLogger,
    maxBufferedBytes: config.WS_MAX_BUFFERED_BYTES,
    ...(deps.heartbeatMs !== undefined ? { heartbeatMs: deps.heartbeatMs } : {}),
    ...(deps.authTimeoutMs !== undefined ? { authTimeoutMs: deps.authTimeoutMs } : {}),
  });

  try {
    await app.register(websocket, {
      options: { maxPayload: MAX_BODY_BYTES },
      // Socket errors are the client's doing (bad framing, oversized frames): ws has already closed with the right code.
      errorHandler: (err, socket) => {
        wsLogger.debug({ err: err.message }, "socket error");
        if (socket.readyState === socket.OPEN) socket.close(1011, "internal error");
      },
    });
    app.route({
      method: "GET",
      url: "/ws",
      handler: (_req, reply) =>
        reply
          .code(426)
          .header("upgrade", "websocket")
          .send({
            error: { code: "failed_precondition", message: "use a WebSocket upgrade", reason: "UPGRADE_REQUIRED" },
          }),
      wsHandler: (socket, req) => realtime.accept(socket, req),
    });

    app.get("/healthz", async (_req, reply) => {
      const [user, chat] = await Promise.all([checkHealth(clients.userTransport), checkHealth(clients.chatTransport)]);
      const ok = user === "serving" && chat === "serving";
      // 503 until both services answer, so "healthy" means requests can succeed.
      return reply.code(ok ? 200 : 503).send({
        status: ok ? "ok" : "unavailable",
        services: { user, chat },
        events: realtime.events.connected ? "open" : "connecting",
      });
    });

    userRoutes(app, clients.user);
    chatRoutes(app, clients.chat);

    // Its own plugin scope: it replaces the body parsers for Connect's content types there only.
    await app.register(fastifyConnectPlugin, {
      routes: connectRoutes(clients),
      contextValues: connectContextValues,
      grpc: false,
      readMaxBytes: MAX_BODY_BYTES,
    });

    await app.listen({ port: config.PORT, host: config.HOST });
  } catch (err) {
    // Whatever started must stop, or the process would never exit.
    await realtime.close();
    await app.close();
    if (ownClients) clients.close();
    throw err;
  }
  const port = (app.server.address() as AddressInfo).port;

  return {
    port,
    realtime,
    async close() {
      await realtime.close();
      await app.close();
      if (ownClients) clients.close();
    },
  };
}
