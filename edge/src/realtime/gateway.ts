/**
 * GET /ws: accepts sockets, feeds them from the one chat-svc event stream
 * through the room hub, and keeps them honest with a heartbeat (a socket that
 * misses a pong is terminated).
 */
import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { bearerToken } from "@parley/shared/auth.js";
import type { Logger } from "@parley/shared/logger.js";
import type WebSocket from "ws";
import type { ChatClient, UserClient } from "../clients.js";
import type { ServiceTokenSource } from "../service-token.js";
import { type EventStream, startEventStream } from "./event-stream.js";
import { startPresenceReporter } from "./presence.js";
import { RoomHub } from "./room-hub.js";
import { CLOSE_GOING_AWAY, SocketSession } from "./socket-session.js";

export interface RealtimeGatewayOptions {
  user: UserClient;
  chat: ChatClient;
  serviceToken: ServiceTokenSource;
  logger: Logger;
  maxBufferedBytes: number;
  heartbeatMs?: number;
  authTimeoutMs?: number;
  presenceIntervalMs?: number;
}

export interface RealtimeGateway {
  readonly hub: RoomHub;
  readonly events: EventStream;
  readonly sessionCount: number;
  accept(ws: WebSocket, req: UpgradeRequest): void;
  close(): Promise<void>;
}

export interface UpgradeRequest {
  url: string;
  ip: string;
  headers: IncomingHttpHeaders;
}

/** The token given at the upgrade: `Authorization: Bearer …` or `?token=`; "" when one is given but unusable. */
export function upgradeToken(req: { url: string; headers: IncomingHttpHeaders }): string | undefined {
  const header = req.headers.authorization;
  if (header !== undefined) return bearerToken(new Headers({ authorization: header })) ?? "";
  return new URL(req.url, "http://edge").searchParams.get("token") ?? undefined;
}

export function createRealtimeGateway(opts: RealtimeGatewayOptions): RealtimeGateway {
  const { logger } = opts;
  const hub = new RoomHub();
  const sessions = new Set<SocketSession>();
  const events = startEventStream({
    chat: opts.chat,
    serviceToken: opts.serviceToken,
    logger,
    onEvent: (event) => hub.dispatch(event),
    onOpen: () => hub.resyncAll(),
  });
  const heartbeat = setInterval(() => {
    for (const session of sessions) {
      if (!session.alive) {
        logger.debug("terminating a socket that missed its pong");
        session.terminate();
        continue;
      }
      session.alive = false;
      session.ping();
    }
  }, opts.heartbeatMs ?? 30_000);
  heartbeat.unref();
  const presence = startPresenceReporter({
    chat: opts.chat,
    serviceToken: opts.serviceToken,
    logger,
    ...(opts.presenceIntervalMs !== undefined ? { intervalMs: opts.presenceIntervalMs } : {}),
  });

  return {
    hub,
    events,
    get sessionCount() {
      return sessions.size;
    },
    accept(ws, req) {
      const id = randomUUID();
      const session = new SocketSession(
        ws,
        {
          user: opts.user,
          chat: opts.chat,
          hub,
          logger: logger.child({ socket: id }),
          maxBufferedBytes: opts.maxBufferedBytes,
          authTimeoutMs: opts.authTimeoutMs ?? 10_000,
        },
        {
          id,
          token: upgradeToken(req),
          client: { ip: req.ip, userAgent: req.headers["user-agent"] },
          onAuthenticated: (s, userId) => presence.opened(s.id, userId),
          onClosed: (s) => {
            sessions.delete(s);
            presence.closed(s.id);
          },
        },
      );
      sessions.add(session);
    },
    async close() {
      clearInterval(heartbeat);
      for (const session of [...sessions]) session.closeWith(CLOSE_GOING_AWAY, "server shutting down");
      await Promise.all([presence.close(), events.close()]);
    },
  };
}
