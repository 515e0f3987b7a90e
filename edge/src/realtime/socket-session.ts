/**
 * One WebSocket connection and everything written to it: authentication
 * (token at the upgrade or an `authenticate` frame within the deadline),
 * frames decoded, paced (frame-pacing.ts) and handled in order
 * (frame-queue.ts) by the table in frame-handlers.ts, whose answers are
 * written here with the frame's `ref`; the room subscriptions
 * (socket-subscriptions.ts) write through it too.
 *
 * Bad and slow clients cost little and never the process: a client that
 * stops reading is closed (1013) rather than buffered for; paced frames over
 * their bucket are refused, and a client that keeps flooding is closed
 * (1008); frames over 64 KiB are refused by ws itself (1009); malformed ones
 * get an error frame. A call refused as unauthenticated (the session ended:
 * logout, refresh token reuse) or a token that expires closes the socket
 * (4401): a socket lives no longer than the session and token it was opened
 * with, unless the client authenticates again with a fresh token.
 *
 * Per-socket state is kept small for 10,000s of idle sockets: no timers (the
 * gateway runs one interval for all), no per-socket closures or loggers, and
 * subscriptions, pacing and the typing throttle only once they are needed.
 */
import type { Socket } from "node:net";
import { type CallOptions, Code, ConnectError } from "@connectrpc/connect";
import { appError, internal, unauthenticated } from "@parley/shared/errors.js";
import type { Logger } from "@parley/shared/logger.js";
import WebSocket, { type RawData } from "ws";
import { bearer, clientCall } from "../forwarding.js";
import { decodeClientFrame, encodeError, encodeServerFrame, type OutFrame, textFrame } from "./frame-codec.js";
import {
  authenticate,
  CLOSE_UNAUTHENTICATED,
  type FrameAnswer,
  type FrameDeps,
  type FrameScope,
  frameHandler,
  runFrame,
} from "./frame-handlers.js";
import { FramePacing, flooding, type PaceRates, rateLimited } from "./frame-pacing.js";
import { FrameQueue } from "./frame-queue.js";
import type { RoomHub } from "./room-hub.js";
import { SocketSubscriptions } from "./socket-subscriptions.js";
import { TypingThrottle } from "./typing-throttle.js";
import type { WriteCoalescer } from "./write-coalescer.js";
import { frameReceived, frameSent, socketClosed, socketsOpen } from "./ws-metrics.js";

export const CLOSE_TRY_AGAIN_LATER = 1013;
export const CLOSE_GOING_AWAY = 1001;
const CLOSE_POLICY_VIOLATION = 1008;

/** Frames queued behind the one being handled before new ones are refused. */
const MAX_QUEUED_FRAMES = 64;

/** ws options for every frame: always a text frame, also when given the bytes of one. */
const AS_TEXT = { binary: false } as const;

const PONG: FrameAnswer = { reply: { case: "pong", value: {} } };

/** What every session of a gateway shares: one object, not one per socket. */
export interface SessionContext extends FrameDeps {
  hub: RoomHub;
  logger: Logger;
  maxBufferedBytes: number;
  /** How long a backlog waits for a client that takes nothing before it is closed as not reading. */
  drainGraceMs: number;
  rates: PaceRates;
  /** Broadcast frames go through it: one write per socket per turn. */
  writes: WriteCoalescer;
  authenticated(session: SocketSession, userId: string): void;
  closed(session: SocketSession): void;
}

const SESSION = Symbol("parley.session");

function sessionOf(ws: WebSocket): SocketSession | undefined {
  return (ws as WebSocket & { [SESSION]?: SocketSession })[SESSION];
}

// Shared listeners (`this` is the socket), so a socket costs no closures.
function onSocketMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  sessionOf(this)?.received(data, isBinary);
}
function onSocketPong(this: WebSocket): void {
  const session = sessionOf(this);
  if (session) session.alive = true;
}
function onSocketError(this: WebSocket, err: Error): void {
  sessionOf(this)?.socketError(err);
}
function onSocketClose(this: WebSocket, code: number): void {
  socketClosed(code);
  sessionOf(this)?.dispose();
}

export class SocketSession implements FrameScope {
  /** Cleared by the heartbeat before each ping, set again by the pong. */
  alive = true;
  /** When the socket was accepted (ctx.now()), for the authentication deadline. */
  readonly openedAt: number;
  private _token: string | undefined;
  private _userId: string | undefined;
  private _sessionId: string | undefined;
  /** Epoch milliseconds at which the token expires. */
  private tokenExpiresAt = Number.POSITIVE_INFINITY;
  private closed = false;
  private queue: FrameQueue | undefined;
  private pacing: FramePacing | undefined;
  private _subscriptions: SocketSubscriptions | undefined;
  private _typing: TypingThrottle | undefined;
  /** Shared by every subscription paging a backlog while the socket drains. */
  private draining: Promise<void> | undefined;

  constructor(
    private readonly ws: WebSocket,
    /** The TCP socket `ws` runs on, for broadcast frames; without it they go through ws. */
    private readonly raw: Socket | undefined,
    private readonly ctx: SessionContext,
    token: string | undefined,
    private readonly ip: string,
    private readonly userAgent: string | undefined,
  ) {
    this.openedAt = ctx.now();
    socketsOpen.inc();
    (ws as WebSocket & { [SESSION]?: SocketSession })[SESSION] = this;
    ws.on("message", onSocketMessage);
    ws.on("pong", onSocketPong);
    ws.on("error", onSocketError);
    ws.on("close", onSocketClose);
    // The upgrade's token is the socket's first authentication, not a frame: it is not paced.
    if (token !== undefined) this.enqueue("", () => authenticate(token, this, ctx));
  }

  get token(): string | undefined {
    return this._token;
  }

  get userId(): string | undefined {
    return this._userId;
  }

  get isAuthenticated(): boolean {
    return this._token !== undefined;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The session of the token the socket authenticated with; undefined until it has. */
  get sessionId(): string | undefined {
    return this._token === undefined ? undefined : this._sessionId;
  }

  get subscriptions(): SocketSubscriptions {
    this._subscriptions ??= new SocketSubscriptions(this, this.ctx);
    return this._subscriptions;
  }

  get typing(): TypingThrottle {
    this._typing ??= new TypingThrottle();
    return this._typing;
  }

  /** Call options for a call made for this socket's user. */
  call(token = this._token): CallOptions {
    return clientCall({
      authorization: token === undefined ? undefined : bearer(token),
      ip: this.ip,
      userAgent: this.userAgent,
    });
  }

  /** Closes the socket with `code`, after an error frame when `err` is given. */
  closeWith(code: number, reason: string, err?: ConnectError, ref = ""): void {
    if (this.closed) return;
    if (err && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(encodeError(err, ref));
      frameSent("error").inc();
    }
    this.dispose();
    this.ws.close(code, reason);
  }

  terminate(): void {
    this.dispose();
    this.ws.terminate();
  }

  /**
   * The gateway's periodic visit: a socket that did not answer the last ping
   * is dead; one whose token has expired is closed; the others are pinged
   * and, once authenticated, sent `heartbeat` (encoded once for all, the ping
   * in the same write).
   */
  tick(nowMs: number, heartbeat: OutFrame): void {
    if (this.closed) return;
    if (!this.alive) {
      this.ctx.logger.debug({ user: this._userId }, "terminating a socket that missed its pong");
      this.terminate();
      return;
    }
    if (this._token !== undefined && nowMs >= this.tokenExpiresAt) {
      this.closeWith(
        CLOSE_UNAUTHENTICATED,
        "token expired",
        unauthenticated("the access token has expired; authenticate again with a fresh one"),
      );
      return;
    }
    this.alive = false;
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (this._token !== undefined) this.write(heartbeat, "heartbeat");
    else this.ws.ping();
  }

  /** @internal ws 'close' */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    socketsOpen.dec();
    this._subscriptions?.closeAll();
    this._subscriptions = undefined;
    this._typing = undefined;
    this.ctx.closed(this);
  }

  /** @internal ws 'error': the client's doing (bad framing, oversized frame); ws closes with the right code. */
  socketError(err: Error): void {
    this.ctx.logger.debug({ err: err.message, user: this._userId }, "socket error");
  }

  /**
   * Writes a frame unless the client has fallen too far behind, in which case
   * it is disconnected. `type` (the frame's kind) is what it is counted as.
   */
  write(frame: OutFrame, type: string): boolean {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) return false;
    const behind = this.raw ? this.ctx.writes.queuedBefore(this.raw) : this.ws.bufferedAmount;
    if (behind > this.ctx.maxBufferedBytes) {
      this.closeTooSlow(behind);
      return false;
    }
    try {
      // Straight onto the socket ws writes to, one write per turn with
      // whatever else this socket is sent in it: with compression off ws
      // frames nothing asynchronously, and what ws itself writes meanwhile (a
      // close frame) is queued behind ours, so nothing is interleaved.
      if (this.raw?.writable)
        this.ctx.writes.write(this.raw, typeof frame === "string" ? textFrame(frame) : frame.wire);
      else if (typeof frame === "string") this.ws.send(frame, AS_TEXT);
      else {
        if (frame.ping) this.ws.ping();
        this.ws.send(frame.payload, AS_TEXT);
      }
    } catch (err) {
      // Not expected from an open socket; a socket that cannot be written to is of no use.
      this.ctx.logger.warn({ err: err instanceof Error ? err.message : String(err) }, "socket write failed");
      this.terminate();
      return false;
    }
    frameSent(type).inc();
    return true;
  }

  /**
   * Resolves once the client has taken what it was sent, so that a backlog
   * goes out no faster than the client reads it: the edge holds at most about
   * WS_MAX_BUFFERED_BYTES for the socket and one page of the log, and a
   * reading client is never cut off for being sent much at once. A client
   * that has not taken it within `drainGraceMs` (a heartbeat interval) is
   * too slow: closed with 1013, as a live write would close it.
   */
  caughtUp(): Promise<void> {
    const raw = this.raw;
    // writableNeedDrain: a write was refused room, so 'drain' is sure to come
    // once the buffer empties (always so past half the bound, which config
    // keeps above Node's 16 KiB write buffer).
    if (this.closed || !raw?.writableNeedDrain || raw.writableLength <= this.ctx.maxBufferedBytes / 2) {
      return Promise.resolve();
    }
    this.draining ??= new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        raw.off("drain", done);
        raw.off("close", done);
        this.draining = undefined;
        resolve();
      };
      const timer = setTimeout(() => {
        this.closeTooSlow(raw.writableLength);
        done();
      }, this.ctx.drainGraceMs);
      raw.on("drain", done);
      raw.on("close", done);
    });
    return this.draining;
  }

  /** A call failed: an ended session closes the socket, anything else is reported. */
  failed(err: unknown, ref = ""): void {
    if (this.closed) return;
    if (err instanceof ConnectError && err.code === Code.Unauthenticated && this._token !== undefined) {
      this.closeWith(CLOSE_UNAUTHENTICATED, "unauthenticated", err, ref);
      return;
    }
    this.sendError(err, ref);
  }

  /** @internal ws 'message': whatever arrives, an answer or a close, never an exception out of the listener. */
  received(data: RawData, isBinary: boolean): void {
    try {
      this.receive(data, isBinary);
    } catch (err) {
      this.sendError(err, "");
    }
  }

  private receive(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    if (isBinary) {
      frameReceived("binary").inc();
      this.sendError(appError(Code.InvalidArgument, "BINARY_FRAME", "frames must be JSON text, not binary"), "");
      return;
    }
    const decoded = decodeClientFrame(data.toString());
    if (!decoded.ok) {
      frameReceived("invalid").inc();
      this.sendError(decoded.error, decoded.ref);
      return;
    }
    const { ref, kind } = decoded.frame;
    frameReceived(kind.case ?? "unknown").inc();
    if (kind.case === undefined) return;
    // Pings are answered at once, authenticated or not, whatever is queued.
    if (kind.case === "ping") {
      this.answer(ref, PONG);
      return;
    }
    const bucket = frameHandler(kind).pace;
    if (bucket !== undefined) {
      this.pacing ??= new FramePacing(this.ctx.rates);
      const verdict = this.pacing.take(bucket, this.ctx.now());
      if (verdict !== "ok") {
        this.refuse(verdict, ref, rateLimited(bucket, this.ctx.rates[bucket]));
        return;
      }
    }
    this.enqueue(ref, () => runFrame(kind, this, this.ctx));
  }

  /** Queues a frame's handler; its answer, or its failure, is written with `ref`. */
  private enqueue(ref: string, handle: () => Promise<FrameAnswer | undefined>): void {
    this.queue ??= new FrameQueue(MAX_QUEUED_FRAMES);
    const queued = this.queue.push(
      () => (this.closed ? undefined : handle().then((answer) => this.answer(ref, answer))),
      (err) => this.failed(err, ref),
    );
    if (!queued) {
      this.pacing ??= new FramePacing(this.ctx.rates);
      this.refuse(
        this.pacing.strike(this.ctx.now()),
        ref,
        appError(Code.ResourceExhausted, "TOO_MANY_FRAMES", "too many frames awaiting an answer"),
      );
    }
  }

  /** Carries out a handler's answer. */
  private answer(ref: string, answer: FrameAnswer | undefined): void {
    // Closed while the frame was handled: a sign-in now would announce presence never to be undone.
    if (answer === undefined || this.closed) return;
    const { reply, signIn, afterReply, close } = answer;
    if (close) {
      this.closeWith(close.code, close.reason, close.error, ref);
      return;
    }
    if (signIn) {
      const { token, identity } = signIn;
      const first = this._userId === undefined;
      this._token = token;
      this._userId = identity.userId;
      this._sessionId = identity.sessionId;
      this.tokenExpiresAt = identity.expiresAt;
      // Counted before `ready` is written: writing it may close a client far
      // behind, and that closing must find the count it takes away.
      if (first) this.ctx.authenticated(this, identity.userId);
    }
    if (reply) this.write(encodeServerFrame({ ref, kind: reply }), reply.case ?? "reply");
    afterReply?.();
  }

  /** Answers a frame refused for the client's pace; a client that keeps at it is closed. */
  private refuse(verdict: "limited" | "flood", ref: string, err: ConnectError): void {
    if (verdict === "flood") {
      this.ctx.logger.info({ user: this._userId }, "closing a socket that keeps flooding");
      this.closeWith(CLOSE_POLICY_VIOLATION, "too many frames", flooding(), ref);
      return;
    }
    this.sendError(err, ref);
  }

  /** 1013: the client is not taking what it is sent, and the edge will not hold more of it. */
  private closeTooSlow(buffered: number): void {
    this.ctx.logger.info({ buffered, user: this._userId }, "closing a socket that is not keeping up");
    this.closeWith(CLOSE_TRY_AGAIN_LATER, "backpressure: client too slow");
  }

  private sendError(err: unknown, ref: string): void {
    let ce: ConnectError;
    if (err instanceof ConnectError) {
      ce = err;
    } else {
      this.ctx.logger.error({ err }, "unexpected error handling a frame");
      ce = internal();
    }
    this.write(encodeError(ce, ref), "error");
  }
}
