/**
 * GET /ws: accepts sockets (authenticated by socket-auth.ts), feeds them from
 * the one chat-svc event stream through the room hub (room events) and the
 * user feed (the rooms each user gains and loses), and runs the only
 * timers sockets need, each one timer for all of them: the heartbeat (a
 * protocol ping and a `heartbeat` frame in one write, spread over the
 * interval by timer-wheel.ts; a socket that missed the last pong is
 * terminated, one whose token expired is closed) and, while any socket has
 * yet to authenticate, the authentication deadline.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Socket } from "node:net";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { bearerToken } from "@parley/shared/auth.js";
import { unauthenticated } from "@parley/shared/errors.js";
import type { Logger } from "@parley/shared/logger.js";
import type { Authenticator } from "@parley/shared/sessions.js";
import type WebSocket from "ws";
import type { ChatClient, UserClient } from "../clients.js";
import type { ServiceTokenSource } from "../service-token.js";
import { createBatchedSends } from "./batched-sends.js";
import { type EventStream, startEventStream } from "./event-stream.js";
import { encodeServerFrame, heartbeatFrame } from "./frame-codec.js";
import { CLOSE_UNAUTHENTICATED } from "./frame-handlers.js";
import { SUBSCRIBE_BURST } from "./frame-pacing.js";
import { startPresenceReporter } from "./presence.js";
import { RoomHub } from "./room-hub.js";
import type { SendRate } from "./send-limiter.js";
import { createSocketAuth } from "./socket-auth.js";
import { CLOSE_GOING_AWAY, type SessionContext, SocketSession } from "./socket-session.js";
import { startTimerWheel } from "./timer-wheel.js";
import { UserFeed } from "./user-feed.js";
import { createWriteCoalescer } from "./write-coalescer.js";

export interface RealtimeGatewayOptions {
  /** For the profile sent in `ready`. */
  user: UserClient;
  chat: ChatClient;
  /** Verifies socket tokens and checks their sessions (Redis). */
  authenticator: Authenticator;
  serviceToken: ServiceTokenSource;
  logger: Logger;
  maxBufferedBytes: number;
  /** Between heartbeats (and pings); a socket that misses a pong is gone after at most two. */
  heartbeatMs: number;
  sendRate: SendRate;
  /** `authenticate` frames per socket: a token refresh now and then, not a Redis lookup per frame. */
  authenticateRate: SendRate;
  /** Subscribes a second after the burst (SUBSCRIBE_BURST). */
  subscribeRate: number;
  authTimeoutMs?: number;
  presenceIntervalMs?: number;
  /** How long a client may take nothing of a backlog before it is closed as not reading; defaults to heartbeatMs. */
  drainGraceMs?: number;
}

export interface RealtimeGateway {
  readonly hub: RoomHub;
  readonly feed: UserFeed;
  readonly events: EventStream;
  readonly sessionCount: number;
  accept(ws: WebSocket, req: UpgradeRequest): void;
  /** Closes (4401) this edge's sockets of these sessions, which have ended (session-ends.ts). */
  endSessions(sessionIds: readonly string[]): void;
  /** The sessions of this edge's authenticated sockets (session-ends.ts checks them after a reconnect). */
  openSessions(): Iterable<string>;
  /** A user's profile changed through this edge: new sockets get it fresh in `ready`. */
  profileChanged(userId: string): void;
  close(): Promise<void>;
}

export interface UpgradeRequest {
  url: string;
  ip: string;
  headers: IncomingHttpHeaders;
  /** The upgraded TCP socket, which ws now owns (see SocketSession.write). */
  socket?: Socket;
}

/** The token given at the upgrade: `Authorization: Bearer …` or `?token=`; "" when one is given but unusable. */
export function upgradeToken(req: { url: string; headers: IncomingHttpHeaders }): string | undefined {
  const header = req.headers.authorization;
  if (header !== undefined) return ownCopy(bearerToken(new Headers({ authorization: header })) ?? "");
  if (!req.url.includes("token=")) return undefined;
  const token = new URL(req.url, "http://edge").searchParams.get("token");
  return token === null ? undefined : ownCopy(token);
}

/**
 * A string that does not share memory with the one it was cut from: a token
 * sliced out of the upgrade URL or header would keep all of it alive for as
 * long as the socket holds the token.
 */
function ownCopy(text: string): string {
  return Buffer.from(text, "utf8").toString("utf8");
}

export function createRealtimeGateway(opts: RealtimeGatewayOptions): RealtimeGateway {
  const { logger } = opts;
  const authTimeoutMs = opts.authTimeoutMs ?? 10_000;
  const hub = new RoomHub();
  const feed = new UserFeed<SocketSession>();
  const sessions = new Set<SocketSession>();
  /** Sockets still to authenticate, oldest first (a Set keeps insertion order). */
  const unauthenticatedSessions = new Set<SocketSession>();
  const events = startEventStream({
    chat: opts.chat,
    serviceToken: opts.serviceToken,
    logger,
    // A user's own feed is told only RoomAccess events: room events pay one comparison for it.
    onEvent: (event) =>
      event.kind.case === "roomAccess" ? feed.dispatch(event.roomId, event.kind.value) : hub.dispatch(event),
    onOpen: () => {
      hub.resyncAll();
      feed.stale();
    },
  });
  const presence = startPresenceReporter({
    chat: opts.chat,
    serviceToken: opts.serviceToken,
    logger,
    ...(opts.presenceIntervalMs !== undefined ? { intervalMs: opts.presenceIntervalMs } : {}),
  });

  const auth = createSocketAuth({ authenticator: opts.authenticator, user: opts.user });
  const sends = createBatchedSends({ chat: opts.chat, serviceToken: opts.serviceToken });
  const ctx: SessionContext = {
    auth,
    chat: opts.chat,
    sends,
    hub,
    logger,
    maxBufferedBytes: opts.maxBufferedBytes,
    drainGraceMs: opts.drainGraceMs ?? opts.heartbeatMs,
    heartbeatIntervalSeconds: Math.max(1, Math.round(opts.heartbeatMs / 1000)),
    rates: {
      acting: opts.sendRate,
      subscribe: { rate: opts.subscribeRate, burst: SUBSCRIBE_BURST },
      authenticate: opts.authenticateRate,
    },
    writes: createWriteCoalescer(),
    now: () => performance.now(),
    authenticated(session, userId) {
      unauthenticatedSessions.delete(session);
      feed.add(userId, session);
      presence.opened(userId);
    },
    closed(session) {
      sessions.delete(session);
      heartbeat.delete(session);
      unauthenticatedSessions.delete(session);
      if (session.userId !== undefined) {
        feed.remove(session.userId, session);
        presence.closed(session.userId);
      }
    },
  };

  const heartbeat = startTimerWheel<SocketSession>(opts.heartbeatMs, (slot) => {
    const beat = heartbeatFrame(
      encodeServerFrame({ kind: { case: "heartbeat", value: { serverTime: timestampNow() } } }),
    );
    const now = Date.now();
    for (const session of slot) {
      try {
        session.tick(now, beat);
      } catch (err) {
        // One socket's trouble must not stop the others' heartbeats (nor escape the timer and end the process).
        logger.warn({ err: err instanceof Error ? err.message : String(err) }, "heartbeat failed for a socket");
        session.terminate();
      }
    }
  });

  // Once per heartbeat interval, not per wheel slot: it walks the whole profile cache.
  const profileSweep = setInterval(() => auth.sweep(), opts.heartbeatMs);
  profileSweep.unref();

  // Runs only while some socket has yet to authenticate.
  let authSweep: NodeJS.Timeout | undefined;
  const sweepAuth = () => {
    const deadline = ctx.now() - authTimeoutMs;
    for (const session of unauthenticatedSessions) {
      if (session.openedAt > deadline) break;
      unauthenticatedSessions.delete(session);
      if (session.isAuthenticated || session.isClosed) continue;
      session.closeWith(
        CLOSE_UNAUTHENTICATED,
        "authentication timeout",
        unauthenticated(`authenticate within ${Math.round(authTimeoutMs / 1000)} s`),
      );
    }
    if (unauthenticatedSessions.size === 0 && authSweep) {
      clearInterval(authSweep);
      authSweep = undefined;
    }
  };

  return {
    hub,
    feed,
    events,
    get sessionCount() {
      return sessions.size;
    },
    accept(ws, req) {
      const session = new SocketSession(ws, req.socket, ctx, upgradeToken(req), req.ip, req.headers["user-agent"]);
      if (session.isClosed) return;
      sessions.add(session);
      heartbeat.add(session);
      unauthenticatedSessions.add(session);
      if (!authSweep) {
        authSweep = setInterval(sweepAuth, Math.max(10, Math.min(1_000, authTimeoutMs / 4)));
        authSweep.unref();
      }
    },
    endSessions(sessionIds) {
      const ended = new Set(sessionIds);
      for (const session of sessions) {
        if (session.sessionId !== undefined && ended.has(session.sessionId)) {
          session.closeWith(
            CLOSE_UNAUTHENTICATED,
            "session ended",
            unauthenticated("the session has ended; sign in again"),
          );
        }
      }
    },
    *openSessions() {
      for (const session of sessions) {
        if (session.sessionId !== undefined) yield session.sessionId;
      }
    },
    profileChanged(userId) {
      auth.forget(userId);
    },
    async close() {
      heartbeat.stop();
      clearInterval(profileSweep);
      if (authSweep) clearInterval(authSweep);
      for (const session of [...sessions]) session.closeWith(CLOSE_GOING_AWAY, "server shutting down");
      await Promise.all([presence.close(), events.close(), sends.close()]);
    },
  };
}
