/**
 * One WebSocket connection: authentication (token at the upgrade or an
 * `authenticate` frame within the deadline), then frames handled in order,
 * each answered with its `ref`, and room subscriptions fed by the hub.
 *
 * Bad and slow clients cost little and never the process: a client that
 * stops reading is closed (1013) rather than buffered for; frames that act
 * are rate limited per socket, and a client that keeps flooding is closed
 * (1008); frames over 64 KiB are refused by ws itself (1009); malformed ones
 * get an error frame. A call refused as unauthenticated (the session ended:
 * logout, refresh token reuse) or a token that expires closes the socket
 * (4401): a socket lives no longer than the session and token it was opened
 * with, unless the client authenticates again with a fresh token.
 *
 * Per-socket state is kept small for 10,000s of idle sockets: no timers (the
 * gateway runs one interval for all), no per-socket closures or loggers, and
 * maps and the rate limiter only once they are needed.
 */
import type { Socket } from "node:net";
import { type CallOptions, Code, ConnectError } from "@connectrpc/connect";
import { MemberChanged_Change, type Message, type RoomEvent } from "@parley/proto/chat/v1/chat_pb.js";
import type { ClientFrame, MarkRead, Send, StartTyping, Subscribe } from "@parley/proto/realtime/v1/realtime_pb.js";
import { appError, errorReason, internal, unauthenticated } from "@parley/shared/errors.js";
import type { Logger } from "@parley/shared/logger.js";
import WebSocket, { type RawData } from "ws";
import type { ChatClient } from "../clients.js";
import { bearer, clientCall } from "../forwarding.js";
import type { BatchedSends } from "./batched-sends.js";
import {
  decodeClientFrame,
  encodeError,
  encodeServerFrame,
  type OutFrame,
  type ServerFrameInit,
  textFrame,
} from "./frame-codec.js";
import type { RoomHub } from "./room-hub.js";
import { type EventPage, RoomSubscription, type SubscriptionOwner } from "./room-subscription.js";
import { SendLimiter, type SendRate } from "./send-limiter.js";
import type { SocketAuth, SocketIdentity } from "./socket-auth.js";
import type { WriteCoalescer } from "./write-coalescer.js";

export const CLOSE_UNAUTHENTICATED = 4401;
export const CLOSE_TRY_AGAIN_LATER = 1013;
export const CLOSE_GOING_AWAY = 1001;
const CLOSE_POLICY_VIOLATION = 1008;

/** Why the server ended a subscription (Unsubscribed.reason). */
const REASON_REMOVED = "REMOVED_FROM_ROOM";
const REASON_LEFT = "LEFT_ROOM";
const REASON_RESYNC = "RESYNC_REQUIRED";

/** Frames queued behind the one being handled before new ones are refused. */
const MAX_QUEUED_FRAMES = 64;
const MAX_SUBSCRIPTIONS = 200;
/** Page size for resume and gap repair (ListEvents): the service's maximum. */
const EVENT_PAGE = 500;
/** Typing frames for one room closer together than this are not forwarded (chat-svc throttles at 2 s anyway). */
const TYPING_FORWARD_MS = 1_000;
const MAX_TYPING_ROOMS = 32;

/** Frames that make chat-svc act, and so count against the socket's send rate. */
const RATE_LIMITED = new Set<ClientFrame["kind"]["case"]>([
  "send",
  "edit",
  "delete",
  "react",
  "unreact",
  "typing",
  "markRead",
]);

/**
 * Subscribes have a bucket of their own: each costs a room head and maybe a
 * page of the log, so they cannot be free, but a reconnecting client
 * resubscribes every room it had (up to MAX_SUBSCRIPTIONS) at once.
 */
const SUBSCRIBE_RATE: SendRate = { rate: 20, burst: MAX_SUBSCRIPTIONS + 50 };

/** ws options for every frame: always a text frame, also when given the bytes of one. */
const AS_TEXT = { binary: false } as const;

/** What every session of a gateway shares: one object, not one per socket. */
export interface SessionContext {
  auth: SocketAuth;
  chat: ChatClient;
  /** Where `send` frames go: chat-svc, in batches shared by every socket. */
  sends: BatchedSends;
  hub: RoomHub;
  logger: Logger;
  maxBufferedBytes: number;
  /** How long a backlog waits for a client that takes nothing before it is closed as not reading. */
  drainGraceMs: number;
  /** Told in `ready`. */
  heartbeatIntervalSeconds: number;
  sendRate: SendRate;
  /** Broadcast frames go through it: one write per socket per turn. */
  writes: WriteCoalescer;
  /** Monotonic milliseconds. */
  now(): number;
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
function onSocketClose(this: WebSocket): void {
  sessionOf(this)?.dispose();
}

export class SocketSession implements SubscriptionOwner {
  /** Cleared by the heartbeat before each ping, set again by the pong. */
  alive = true;
  /** When the socket was accepted (ctx.now()), for the authentication deadline. */
  readonly openedAt: number;
  private token: string | undefined;
  private _userId: string | undefined;
  private _sessionId: string | undefined;
  /** Epoch milliseconds at which the token expires. */
  private tokenExpiresAt = Number.POSITIVE_INFINITY;
  private subscriptions: Map<string, RoomSubscription> | undefined;
  private queue: Promise<void> | undefined;
  private queued = 0;
  private closed = false;
  private limiter: SendLimiter | undefined;
  private subscribeLimiter: SendLimiter | undefined;
  private typingSentAt: Map<string, number> | undefined;
  /** Shared by every subscription paging a backlog while the socket drains. */
  private draining: Promise<void> | undefined;
  /**
   * Each subscription's room head when membership was checked for it: a
   * left/removed event at or before it is history the client is replaying
   * (they have come back since), not the end of the subscription.
   */
  private readonly memberAsOf = new WeakMap<RoomSubscription, bigint>();

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
    (ws as WebSocket & { [SESSION]?: SocketSession })[SESSION] = this;
    ws.on("message", onSocketMessage);
    ws.on("pong", onSocketPong);
    ws.on("error", onSocketError);
    ws.on("close", onSocketClose);
    if (token !== undefined) this.enqueue("", () => this.authenticate(token, ""));
  }

  get userId(): string | undefined {
    return this._userId;
  }

  get isAuthenticated(): boolean {
    return this.token !== undefined;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The session of the token the socket authenticated with; undefined until it has. */
  get sessionId(): string | undefined {
    return this.token === undefined ? undefined : this._sessionId;
  }

  /** Closes the socket with `code`, after an error frame when `err` is given. */
  closeWith(code: number, reason: string, err?: ConnectError, ref = ""): void {
    if (this.closed) return;
    if (err && this.ws.readyState === WebSocket.OPEN) this.ws.send(encodeError(err, ref));
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
    if (this.token !== undefined && nowMs >= this.tokenExpiresAt) {
      this.closeWith(
        CLOSE_UNAUTHENTICATED,
        "token expired",
        unauthenticated("the access token has expired; authenticate again with a fresh one"),
      );
      return;
    }
    this.alive = false;
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (this.token !== undefined) this.write(heartbeat);
    else this.ws.ping();
  }

  /** @internal ws 'close' */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.subscriptions) {
      for (const sub of this.subscriptions.values()) this.drop(sub);
      this.subscriptions = undefined;
    }
    this.typingSentAt = undefined;
    this.ctx.closed(this);
  }

  /** @internal ws 'error': the client's doing (bad framing, oversized frame); ws closes with the right code. */
  socketError(err: Error): void {
    this.ctx.logger.debug({ err: err.message, user: this._userId }, "socket error");
  }

  /** Writes a frame unless the client has fallen too far behind, in which case it is disconnected. */
  write(frame: OutFrame): boolean {
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
    return true;
  }

  /** 1013: the client is not taking what it is sent, and the edge will not hold more of it. */
  private closeTooSlow(buffered: number): void {
    this.ctx.logger.info({ buffered, user: this._userId }, "closing a socket that is not keeping up");
    this.closeWith(CLOSE_TRY_AGAIN_LATER, "backpressure: client too slow");
  }

  private reply(ref: string, kind: ServerFrameInit["kind"]): void {
    this.write(encodeServerFrame({ ref, kind }));
  }

  private sendError(err: unknown, ref: string): void {
    let ce: ConnectError;
    if (err instanceof ConnectError) {
      ce = err;
    } else {
      this.ctx.logger.error({ err }, "unexpected error handling a frame");
      ce = internal();
    }
    this.write(encodeError(ce, ref));
  }

  /** A frame's call failed: an ended session closes the socket, anything else is reported. */
  private failed(err: unknown, ref: string): void {
    if (this.closed) return;
    if (err instanceof ConnectError && err.code === Code.Unauthenticated && this.token !== undefined) {
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
      this.sendError(appError(Code.InvalidArgument, "BINARY_FRAME", "frames must be JSON text, not binary"), "");
      return;
    }
    const decoded = decodeClientFrame(data.toString());
    if (!decoded.ok) {
      this.sendError(decoded.error, decoded.ref);
      return;
    }
    const frame = decoded.frame;
    // Pings are answered at once, authenticated or not, whatever is queued.
    if (frame.kind.case === "ping") {
      this.reply(frame.ref, { case: "pong", value: {} });
      return;
    }
    const limiter = RATE_LIMITED.has(frame.kind.case)
      ? this.sendLimiter()
      : frame.kind.case === "subscribe"
        ? this.subscribesLimiter()
        : undefined;
    if (limiter) {
      const verdict = limiter.take(this.ctx.now());
      if (verdict !== "ok") {
        const { rate, burst } = limiter.limit;
        const noun = frame.kind.case === "subscribe" ? "subscribes" : "frames";
        this.refuse(
          verdict,
          frame.ref,
          appError(Code.ResourceExhausted, "RATE_LIMITED", `at most ${rate} ${noun} per second (bursts of ${burst})`, {
            retryAfterSeconds: "1",
          }),
        );
        return;
      }
    }
    this.enqueue(frame.ref, () => this.handle(frame));
  }

  private subscribesLimiter(): SendLimiter {
    this.subscribeLimiter ??= new SendLimiter(SUBSCRIBE_RATE, this.ctx.now());
    return this.subscribeLimiter;
  }

  private sendLimiter(): SendLimiter {
    this.limiter ??= new SendLimiter(this.ctx.sendRate, this.ctx.now());
    return this.limiter;
  }

  /** Answers a frame refused for the client's pace; a client that keeps at it is closed. */
  private refuse(verdict: "limited" | "flood", ref: string, err: ConnectError): void {
    if (verdict === "flood") {
      this.ctx.logger.info({ user: this._userId }, "closing a socket that keeps flooding");
      this.closeWith(
        CLOSE_POLICY_VIOLATION,
        "too many frames",
        appError(Code.ResourceExhausted, "FLOODING", "too many frames, too fast; the connection is closed"),
        ref,
      );
      return;
    }
    this.sendError(err, ref);
  }

  /** Frames are handled one at a time, in arrival order, so replies and subscriptions never race. */
  private enqueue(ref: string, task: () => Promise<void>): void {
    if (this.queued >= MAX_QUEUED_FRAMES) {
      this.refuse(
        this.sendLimiter().strike(this.ctx.now()),
        ref,
        appError(Code.ResourceExhausted, "TOO_MANY_FRAMES", "too many frames awaiting an answer"),
      );
      return;
    }
    this.queued++;
    const next: Promise<void> = (this.queue ?? Promise.resolve())
      .then(() => (this.closed ? undefined : task()))
      .catch((err: unknown) => this.failed(err, ref))
      .finally(() => {
        this.queued--;
        // An idle socket holds no promise.
        if (this.queue === next) this.queue = undefined;
      });
    this.queue = next;
  }

  private async handle(frame: ClientFrame): Promise<void> {
    const { ref, kind } = frame;
    if (kind.case === "authenticate") return this.authenticate(kind.value.token, ref);
    const token = this.token;
    if (token === undefined) throw unauthenticated("authenticate first");
    switch (kind.case) {
      case "subscribe":
        return this.subscribe(kind.value, ref);
      case "unsubscribe":
        this.unsubscribe(kind.value.roomId);
        return this.reply(ref, { case: "unsubscribed", value: { roomId: kind.value.roomId } });
      case "send":
        return this.send(kind.value, ref, token);
      case "edit": {
        const { roomId, messageId, text } = kind.value;
        return this.messageAck(ref, this.ctx.chat.editMessage({ roomId, messageId, text }, this.auth()));
      }
      case "delete": {
        const { roomId, messageId } = kind.value;
        return this.messageAck(ref, this.ctx.chat.deleteMessage({ roomId, messageId }, this.auth()));
      }
      case "react": {
        const { roomId, messageId, emoji } = kind.value;
        return this.messageAck(ref, this.ctx.chat.addReaction({ roomId, messageId, emoji }, this.auth()));
      }
      case "unreact": {
        const { roomId, messageId, emoji } = kind.value;
        return this.messageAck(ref, this.ctx.chat.removeReaction({ roomId, messageId, emoji }, this.auth()));
      }
      case "typing":
        return this.typing(kind.value);
      case "markRead":
        return this.markRead(kind.value, ref);
      default:
        throw appError(Code.InvalidArgument, "INVALID_FRAME", "unknown frame");
    }
  }

  /** Call options for a call made for this socket's user. */
  private auth(token = this.token): CallOptions {
    return clientCall({
      authorization: token === undefined ? undefined : bearer(token),
      ip: this.ip,
      userAgent: this.userAgent,
    });
  }

  /** The identity is the verified token's, while its session is live; see socket-auth.ts. */
  private async authenticate(token: string, ref: string): Promise<void> {
    let identity: SocketIdentity;
    try {
      identity = await this.ctx.auth.authenticate(token, this.auth(token));
    } catch (err) {
      if (err instanceof ConnectError && err.code === Code.Unauthenticated) {
        this.closeWith(CLOSE_UNAUTHENTICATED, "unauthenticated", err, ref);
        return;
      }
      throw err;
    }
    // Closed while the token was checked: announcing presence now would never be undone.
    if (this.closed) return;
    if (this._userId !== undefined && identity.userId !== this._userId) {
      throw appError(Code.PermissionDenied, "USER_MISMATCH", "a socket stays signed in as the same user");
    }
    const first = this._userId === undefined;
    this.token = token;
    this._userId = identity.userId;
    this._sessionId = identity.sessionId;
    this.tokenExpiresAt = identity.expiresAt;
    // Counted before `ready` is written: writing it may close a client far
    // behind, and that closing must find the count it takes away.
    if (first) this.ctx.authenticated(this, identity.userId);
    this.reply(ref, {
      case: "ready",
      value: { user: identity.user, heartbeatInterval: this.ctx.heartbeatIntervalSeconds },
    });
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

  fetchEvents(roomId: string, afterEventSeq: bigint): Promise<EventPage> {
    return this.ctx.chat.listEvents({ roomId, afterEventSeq, limit: EVENT_PAGE }, this.auth());
  }

  /**
   * Registers the subscription before asking where the room is, so no live
   * event falls between the two; then answers `subscribed` and starts
   * delivery after `afterEventSeq` (0: from the room's head, nothing
   * replayed). A resume point the log no longer covers, or one beyond the
   * room's head, answers `truncated` and continues from the head.
   */
  private async subscribe({ roomId, afterEventSeq }: Subscribe, ref: string): Promise<void> {
    this.unsubscribe(roomId);
    this.subscriptions ??= new Map();
    if (this.subscriptions.size >= MAX_SUBSCRIPTIONS) {
      throw appError(Code.ResourceExhausted, "TOO_MANY_SUBSCRIPTIONS", `at most ${MAX_SUBSCRIPTIONS} rooms per socket`);
    }
    const sub = new RoomSubscription(roomId, this);
    this.subscriptions.set(roomId, sub);
    this.ctx.hub.add(sub);
    let headSeq: bigint;
    let headEventSeq: bigint;
    let page: EventPage | undefined;
    try {
      const [got, events] = await Promise.all([
        this.ctx.chat.getRoomHead({ roomId }, this.auth()),
        afterEventSeq > 0n ? this.fetchEvents(roomId, afterEventSeq) : undefined,
      ]);
      headSeq = got.headSeq;
      headEventSeq = got.headEventSeq;
      this.memberAsOf.set(sub, got.headEventSeq);
      // The two reads are separate snapshots: the later head is the truer one.
      if (events?.headEventSeq !== undefined && events.headEventSeq > headEventSeq) headEventSeq = events.headEventSeq;
      page = events;
    } catch (err) {
      if (this.subscriptions?.get(roomId) === sub) this.unsubscribe(roomId);
      throw err;
    }
    if (sub.isClosed) return;
    const truncated = page !== undefined && (page.truncated || afterEventSeq > headEventSeq);
    this.reply(ref, { case: "subscribed", value: { roomId, headSeq, headEventSeq, truncated } });
    if (page && !truncated) sub.start(afterEventSeq, page);
    else sub.start(headEventSeq);
  }

  /** A member who left or was removed stops receiving the room at once. */
  delivered(sub: RoomSubscription, event: RoomEvent): void {
    if (event.kind.case !== "memberChanged") return;
    const { userId, change } = event.kind.value;
    if (userId !== this._userId || event.eventSeq <= (this.memberAsOf.get(sub) ?? 0n)) return;
    if (change === MemberChanged_Change.REMOVED) this.endSubscription(sub, REASON_REMOVED);
    else if (change === MemberChanged_Change.LEFT) this.endSubscription(sub, REASON_LEFT);
  }

  /** The room's log no longer has what the subscription missed: the client reloads and subscribes again. */
  truncated(sub: RoomSubscription): void {
    this.endSubscription(sub, REASON_RESYNC);
  }

  catchUpFailed(sub: RoomSubscription, err: unknown): void {
    const ce = ConnectError.from(err);
    if (ce.code === Code.Unauthenticated) {
      this.failed(ce, "");
      return;
    }
    if (ce.code === Code.PermissionDenied || ce.code === Code.NotFound) {
      // The socket may no longer read this room.
      this.endSubscription(sub, errorReason(ce));
      return;
    }
    this.ctx.logger.warn({ err: ce.message, roomId: sub.roomId }, "catch-up failed; will retry on the next event");
  }

  /** Ends a subscription the server gave up on, telling the client why. */
  private endSubscription(sub: RoomSubscription, reason: string): void {
    if (this.subscriptions?.get(sub.roomId) !== sub) {
      // Already replaced or ended: the client has nothing to be told.
      this.drop(sub);
      return;
    }
    this.unsubscribe(sub.roomId);
    this.reply("", { case: "unsubscribed", value: { roomId: sub.roomId, reason } });
  }

  private unsubscribe(roomId: string): void {
    const sub = this.subscriptions?.get(roomId);
    if (!sub) return;
    this.subscriptions?.delete(roomId);
    this.drop(sub);
  }

  private drop(sub: RoomSubscription): void {
    sub.close();
    this.ctx.hub.remove(sub);
  }

  private async send({ roomId, text, clientMessageId, parentId }: Send, ref: string, token: string): Promise<void> {
    const message = await this.ctx.sends.send(token, { roomId, text, clientMessageId, parentId });
    this.reply(ref, { case: "ack", value: { message } });
  }

  /** Edit, delete, react and unreact all answer with the message as it now is. */
  private async messageAck(ref: string, call: Promise<{ message?: Message }>): Promise<void> {
    const { message } = await call;
    this.reply(ref, { case: "messageAck", value: message ? { message } : {} });
  }

  /** Forwarded at most once a second per room; answered only when it fails. */
  private async typing({ roomId }: StartTyping): Promise<void> {
    const now = this.ctx.now();
    this.typingSentAt ??= new Map();
    const last = this.typingSentAt.get(roomId);
    if (last !== undefined && now - last < TYPING_FORWARD_MS) return;
    if (this.typingSentAt.size >= MAX_TYPING_ROOMS) this.typingSentAt.clear();
    this.typingSentAt.set(roomId, now);
    await this.ctx.chat.sendTyping({ roomId }, this.auth());
  }

  private async markRead({ roomId, seq }: MarkRead, ref: string): Promise<void> {
    const res = await this.ctx.chat.markRead({ roomId, seq }, this.auth());
    this.reply(ref, {
      case: "readAck",
      value: { roomId, lastReadSeq: res.lastReadSeq, unreadCount: res.unreadCount },
    });
  }
}
