/**
 * One WebSocket connection: authentication (token at the upgrade or an
 * `authenticate` frame within the deadline), then frames handled in order,
 * each answered with its `ref`, and room subscriptions fed by the hub. A
 * socket that cannot keep up is closed (1013) rather than buffered for.
 */
import { type CallOptions, Code, ConnectError } from "@connectrpc/connect";
import { MemberChanged_Change, type RoomEvent } from "@parley/proto/chat/v1/chat_pb.js";
import type { ClientFrame, Send, Subscribe } from "@parley/proto/realtime/v1/realtime_pb.js";
import { appError, internal, unauthenticated } from "@parley/shared/errors.js";
import type { Logger } from "@parley/shared/logger.js";
import WebSocket, { type RawData } from "ws";
import type { ChatClient, UserClient } from "../clients.js";
import { bearer, type ClientContext, clientCall } from "../forwarding.js";
import { decodeClientFrame, encodeError, encodeServerFrame, type ServerFrameInit } from "./frame-codec.js";
import type { RoomHub } from "./room-hub.js";
import { RoomSubscription } from "./room-subscription.js";

export const CLOSE_UNAUTHENTICATED = 4401;
export const CLOSE_TRY_AGAIN_LATER = 1013;
export const CLOSE_GOING_AWAY = 1001;

/** Frames queued behind the one being handled before new ones are refused. */
const MAX_QUEUED_FRAMES = 64;
const MAX_SUBSCRIPTIONS = 200;
/** Page sizes for replay (ListMessages) and gap repair (ListEvents): the services' maximums. */
const MESSAGE_PAGE = 200;
const EVENT_PAGE = 500;

export interface SessionDeps {
  user: UserClient;
  chat: ChatClient;
  hub: RoomHub;
  logger: Logger;
  maxBufferedBytes: number;
  authTimeoutMs: number;
}

export class SocketSession {
  readonly id: string;
  /** Cleared by the heartbeat before each ping, set again by the pong. */
  alive = true;
  private token: string | undefined;
  private userId: string | undefined;
  private readonly subscriptions = new Map<string, RoomSubscription>();
  private queue: Promise<void> = Promise.resolve();
  private queued = 0;
  private closed = false;
  private readonly authTimer: NodeJS.Timeout;
  private readonly onClosed: (session: SocketSession) => void;
  private readonly onAuthenticated: (session: SocketSession, userId: string) => void;
  private readonly client: Omit<ClientContext, "authorization">;

  constructor(
    private readonly ws: WebSocket,
    private readonly deps: SessionDeps,
    opts: {
      id: string;
      token?: string | undefined;
      client: Omit<ClientContext, "authorization">;
      onAuthenticated: (session: SocketSession, userId: string) => void;
      onClosed: (session: SocketSession) => void;
    },
  ) {
    this.id = opts.id;
    this.onAuthenticated = opts.onAuthenticated;
    this.onClosed = opts.onClosed;
    this.client = opts.client;
    ws.on("message", (data, isBinary) => this.onMessage(data, isBinary));
    ws.on("pong", () => {
      this.alive = true;
    });
    ws.on("error", (err) => deps.logger.debug({ err: err.message }, "socket error"));
    ws.on("close", () => this.dispose());
    this.authTimer = setTimeout(() => {
      if (this.token === undefined) {
        this.closeWith(
          CLOSE_UNAUTHENTICATED,
          "authentication timeout",
          unauthenticated(`authenticate within ${Math.round(deps.authTimeoutMs / 1000)} s`),
        );
      }
    }, deps.authTimeoutMs);
    const token = opts.token;
    if (token !== undefined) this.enqueue("", () => this.authenticate(token, ""));
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

  ping(): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.ping();
  }

  private dispose(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.authTimer);
    for (const sub of this.subscriptions.values()) this.drop(sub);
    this.subscriptions.clear();
    this.onClosed(this);
  }

  /** Writes a frame unless the client has fallen too far behind, in which case it is disconnected. */
  private write(frame: string): boolean {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) return false;
    if (this.ws.bufferedAmount > this.deps.maxBufferedBytes) {
      this.deps.logger.info({ buffered: this.ws.bufferedAmount }, "closing a socket that is not keeping up");
      this.closeWith(CLOSE_TRY_AGAIN_LATER, "backpressure: client too slow");
      return false;
    }
    this.ws.send(frame);
    return true;
  }

  private reply(ref: string, kind: ServerFrameInit["kind"]): void {
    this.write(encodeServerFrame({ ref, kind }));
  }

  private sendError(err: unknown, ref: string): void {
    let ce: ConnectError;
    if (err instanceof ConnectError) {
      ce = err;
    } else {
      this.deps.logger.error({ err }, "unexpected error handling a frame");
      ce = internal();
    }
    this.write(encodeError(ce, ref));
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    if (isBinary) {
      this.sendError(appError(Code.InvalidArgument, "BINARY_FRAME", "frames must be JSON text, not binary"), "");
      return;
    }
    const decoded = decodeClientFrame(String(data));
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
    this.enqueue(frame.ref, () => this.handle(frame));
  }

  /** Frames are handled one at a time, in arrival order, so replies and subscriptions never race. */
  private enqueue(ref: string, task: () => Promise<void>): void {
    if (this.queued >= MAX_QUEUED_FRAMES) {
      this.sendError(appError(Code.ResourceExhausted, "TOO_MANY_FRAMES", "too many frames awaiting an answer"), ref);
      return;
    }
    this.queued++;
    this.queue = this.queue
      .then(() => (this.closed ? undefined : task()))
      .catch((err: unknown) => this.sendError(err, ref))
      .finally(() => {
        this.queued--;
      });
  }

  private async handle(frame: ClientFrame): Promise<void> {
    const { ref, kind } = frame;
    if (kind.case === "authenticate") return this.authenticate(kind.value.token, ref);
    if (this.token === undefined) throw unauthenticated("authenticate first");
    switch (kind.case) {
      case "subscribe":
        return this.subscribe(kind.value, ref);
      case "unsubscribe":
        this.unsubscribe(kind.value.roomId);
        return this.reply(ref, { case: "unsubscribed", value: { roomId: kind.value.roomId } });
      case "send":
        return this.send(kind.value, ref);
      default:
        throw appError(Code.InvalidArgument, "INVALID_FRAME", "unknown frame");
    }
  }

  /** Call options for a call made for this socket's user. */
  private auth(token = this.token): CallOptions {
    return clientCall({ ...this.client, authorization: token === undefined ? undefined : bearer(token) });
  }

  /** The identity is whatever user-svc says the token belongs to. */
  private async authenticate(token: string, ref: string): Promise<void> {
    let user: Awaited<ReturnType<UserClient["getProfile"]>>["user"];
    try {
      ({ user } = await this.deps.user.getProfile({}, this.auth(token)));
    } catch (err) {
      if (err instanceof ConnectError && err.code === Code.Unauthenticated) {
        this.closeWith(CLOSE_UNAUTHENTICATED, "unauthenticated", err, ref);
        return;
      }
      throw err;
    }
    if (!user) throw internal();
    if (this.userId !== undefined && user.id !== this.userId) {
      throw appError(Code.PermissionDenied, "USER_MISMATCH", "a socket stays signed in as the same user");
    }
    const first = this.userId === undefined;
    this.token = token;
    this.userId = user.id;
    clearTimeout(this.authTimer);
    this.reply(ref, { case: "ready", value: { user } });
    if (first) this.onAuthenticated(this, user.id);
  }

  private async subscribe({ roomId, afterSeq }: Subscribe, ref: string): Promise<void> {
    this.unsubscribe(roomId);
    if (this.subscriptions.size >= MAX_SUBSCRIPTIONS) {
      throw appError(Code.ResourceExhausted, "TOO_MANY_SUBSCRIPTIONS", `at most ${MAX_SUBSCRIPTIONS} rooms per socket`);
    }
    const { chat } = this.deps;
    const sub: RoomSubscription = new RoomSubscription({
      roomId,
      fetchMessages: (after) => chat.listMessages({ roomId, afterSeq: after, limit: MESSAGE_PAGE }, this.auth()),
      fetchEvents: (after) => chat.listEvents({ roomId, afterEventSeq: after, limit: EVENT_PAGE }, this.auth()),
      send: (frame) => this.write(frame),
      onDelivered: (event) => this.afterDelivery(sub, event),
      onCatchUpError: (err) => this.onCatchUpError(sub, err),
      onTruncated: () =>
        this.endSubscription(
          sub,
          appError(
            Code.Aborted,
            "RESYNC_REQUIRED",
            "missed events are no longer available; reload the room and subscribe again",
          ),
        ),
    });
    // Registered before asking for the head, so no live event falls between the two.
    this.subscriptions.set(roomId, sub);
    this.deps.hub.add(sub);
    let head: { headSeq: bigint; headEventSeq: bigint };
    try {
      const { room } = await chat.getRoom({ roomId }, this.auth());
      head = { headSeq: room?.headSeq ?? 0n, headEventSeq: room?.headEventSeq ?? 0n };
    } catch (err) {
      if (this.subscriptions.get(roomId) === sub) this.unsubscribe(roomId);
      throw err;
    }
    if (sub.isClosed) return;
    this.reply(ref, { case: "subscribed", value: { roomId, headSeq: head.headSeq } });
    sub.start(head, afterSeq);
  }

  /** A member who left or was removed stops receiving the room at once. */
  private afterDelivery(sub: RoomSubscription, event: RoomEvent): void {
    if (event.kind.case !== "memberChanged") return;
    const { userId, change } = event.kind.value;
    if (userId !== this.userId || (change !== MemberChanged_Change.LEFT && change !== MemberChanged_Change.REMOVED)) {
      return;
    }
    this.endSubscription(sub);
  }

  /** Ends a subscription the server gave up on, telling the client why. */
  private endSubscription(sub: RoomSubscription, err?: ConnectError): void {
    if (this.subscriptions.get(sub.roomId) !== sub) {
      // Already replaced or ended: the client has nothing to be told.
      this.drop(sub);
      return;
    }
    this.unsubscribe(sub.roomId);
    if (err) this.sendError(err, "");
    this.reply("", { case: "unsubscribed", value: { roomId: sub.roomId } });
  }

  private unsubscribe(roomId: string): void {
    const sub = this.subscriptions.get(roomId);
    if (!sub) return;
    this.subscriptions.delete(roomId);
    this.drop(sub);
  }

  private drop(sub: RoomSubscription): void {
    sub.close();
    this.deps.hub.remove(sub);
  }

  private onCatchUpError(sub: RoomSubscription, err: unknown): void {
    const ce = ConnectError.from(err);
    const lostAccess = [Code.Unauthenticated, Code.PermissionDenied, Code.NotFound].includes(ce.code);
    if (!lostAccess) {
      this.deps.logger.warn({ err: ce.message, roomId: sub.roomId }, "catch-up failed; will retry on the next event");
      return;
    }
    // The socket may no longer read this room.
    this.endSubscription(sub, ce);
  }

  private async send({ roomId, text, clientMessageId }: Send, ref: string): Promise<void> {
    const { message } = await this.deps.chat.sendMessage({ roomId, text, clientMessageId }, this.auth());
    this.reply(ref, { case: "ack", value: message ? { message } : {} });
  }
}
