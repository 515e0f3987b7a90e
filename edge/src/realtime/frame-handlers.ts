/**
 * What each client frame does, as a table: its pacing bucket, whether it
 * needs a signed-in socket, and a handler that returns the frame's answer
 * (the reply, and what the connection must do around it) rather than writing
 * to the socket. The frames that act carry ChatService's own request
 * messages and are forwarded whole, so a field added to one in chat.proto
 * reaches chat-svc without an edit here.
 *
 * `ping` is not in the table: the connection answers it at once, ahead of
 * queued frames, signed in or not.
 */
import type { CallOptions } from "@connectrpc/connect";
import type { Message } from "@parley/proto/chat/v1/chat_pb.js";
import type { ClientFrame } from "@parley/proto/realtime/v1/realtime_pb.js";
import { appError, Code, ConnectError, unauthenticated } from "@parley/shared/errors.js";
import { inSpan, SpanKind, tracingEnabled } from "@parley/shared/trace-context.js";
import type { ChatClient } from "../clients.js";
import type { BatchedSends } from "./batched-sends.js";
import type { ServerFrameInit } from "./frame-codec.js";
import type { Bucket } from "./frame-pacing.js";
import type { SocketAuth, SocketIdentity } from "./socket-auth.js";
import type { SocketSubscriptions } from "./socket-subscriptions.js";
import type { TypingThrottle } from "./typing-throttle.js";

export const CLOSE_UNAUTHENTICATED = 4401;

export type ServerFrameKind = ServerFrameInit["kind"];

/** A handler's answer to its frame; undefined: nothing is sent. */
export interface FrameAnswer {
  /** Sent with the frame's `ref`. */
  reply?: ServerFrameKind;
  /** From now on the socket is this identity's, with this token; applied before `reply` is sent. */
  signIn?: { token: string; identity: SocketIdentity };
  /** Runs right after `reply` is sent: what must follow it on the wire. */
  afterReply?: () => void;
  /** Instead of a reply: `error` is sent and the socket closed with `code`. */
  close?: { code: number; reason: string; error: ConnectError };
}

/** What a handler may know of its socket: who it is and its per-socket state, not how to write to it. */
export interface FrameScope {
  /** The token the socket signed in with; undefined until it has. */
  readonly token: string | undefined;
  readonly userId: string | undefined;
  /** Call options for a call made for the socket's user, with its token or the one given. */
  call(token?: string): CallOptions;
  readonly subscriptions: SocketSubscriptions;
  readonly typing: TypingThrottle;
}

interface SignedInScope extends FrameScope {
  readonly token: string;
}

/** What every socket's handlers share. */
export interface FrameDeps {
  auth: SocketAuth;
  chat: ChatClient;
  /** Where `send` frames go: chat-svc, in batches shared by every socket. */
  sends: BatchedSends;
  /** Told in `ready`. */
  heartbeatIntervalSeconds: number;
  /** Monotonic milliseconds. */
  now(): number;
}

type Kind = Exclude<ClientFrame["kind"], { case: undefined } | { case: "ping" }>;
export type FrameCase = Kind["case"];
type ValueOf<C extends FrameCase> = Extract<Kind, { case: C }>["value"];
type Answer = Promise<FrameAnswer | undefined>;

export interface FrameHandler<V> {
  /** The bucket the frame is paced by; undefined: not paced. */
  readonly pace: Bucket | undefined;
  run(value: V, socket: FrameScope, deps: FrameDeps): Answer;
}

type FrameHandlers = { readonly [C in FrameCase]: FrameHandler<ValueOf<C>> };

function isSignedIn(socket: FrameScope): socket is SignedInScope {
  return socket.token !== undefined;
}

/** A frame only a signed-in socket may send. */
function signedIn<V>(
  pace: Bucket | undefined,
  handle: (value: V, socket: SignedInScope, deps: FrameDeps) => Answer,
): FrameHandler<V> {
  return {
    pace,
    run(value, socket, deps) {
      return isSignedIn(socket) ? handle(value, socket, deps) : Promise.reject(unauthenticated("authenticate first"));
    },
  };
}

/** Edit, delete, react and unreact all answer with the message as it now is. */
async function messageAck(call: Promise<{ message?: Message }>): Answer {
  const { message } = await call;
  return { reply: { case: "messageAck", value: message ? { message } : {} } };
}

/**
 * Checks the token (socket-auth.ts) and answers `ready`; a token that does
 * not verify, or whose session has ended, closes the socket. A socket stays
 * signed in as the same user: another user's token is refused.
 */
export async function authenticate(token: string, socket: FrameScope, deps: FrameDeps): Answer {
  let identity: SocketIdentity;
  try {
    identity = await deps.auth.authenticate(token, socket.call(token));
  } catch (err) {
    if (err instanceof ConnectError && err.code === Code.Unauthenticated) {
      return { close: { code: CLOSE_UNAUTHENTICATED, reason: "unauthenticated", error: err } };
    }
    throw err;
  }
  if (socket.userId !== undefined && identity.userId !== socket.userId) {
    throw appError(Code.PermissionDenied, "USER_MISMATCH", "a socket stays signed in as the same user");
  }
  return {
    signIn: { token, identity },
    reply: { case: "ready", value: { user: identity.user, heartbeatInterval: deps.heartbeatIntervalSeconds } },
  };
}

export const FRAME_HANDLERS: FrameHandlers = {
  authenticate: { pace: "authenticate", run: ({ token }, socket, deps) => authenticate(token, socket, deps) },

  subscribe: signedIn("subscribe", async ({ roomId, afterEventSeq }, socket) => {
    const subscribed = await socket.subscriptions.subscribe(roomId, afterEventSeq);
    if (!subscribed) return undefined;
    const { headSeq, headEventSeq, truncated, start } = subscribed;
    return { reply: { case: "subscribed", value: { roomId, headSeq, headEventSeq, truncated } }, afterReply: start };
  }),

  unsubscribe: signedIn(undefined, async ({ roomId }, socket) => {
    socket.subscriptions.unsubscribe(roomId);
    return { reply: { case: "unsubscribed", value: { roomId } } };
  }),

  send: signedIn("acting", async (request, socket, deps) => {
    const message = await deps.sends.send(socket.token, request);
    return { reply: { case: "ack", value: { message } } };
  }),

  edit: signedIn("acting", (request, socket, deps) => messageAck(deps.chat.editMessage(request, socket.call()))),

  delete: signedIn("acting", (request, socket, deps) => messageAck(deps.chat.deleteMessage(request, socket.call()))),

  react: signedIn("acting", (request, socket, deps) => messageAck(deps.chat.addReaction(request, socket.call()))),

  unreact: signedIn("acting", (request, socket, deps) => messageAck(deps.chat.removeReaction(request, socket.call()))),

  // Forwarded at most once a second per room; answered only when it fails.
  typing: signedIn("acting", async (request, socket, deps) => {
    if (socket.typing.admit(request.roomId, deps.now())) await deps.chat.sendTyping(request, socket.call());
    return undefined;
  }),

  markRead: signedIn("acting", async (request, socket, deps) => {
    const { lastReadSeq, unreadCount } = await deps.chat.markRead(request, socket.call());
    return { reply: { case: "readAck", value: { roomId: request.roomId, lastReadSeq, unreadCount } } };
  }),
};

/** The table's handler for a frame's kind. */
export function frameHandler<C extends FrameCase>(kind: { case: C }): FrameHandler<ValueOf<C>> {
  return FRAME_HANDLERS[kind.case];
}

/**
 * Runs the frame's handler; with tracing on, in a span of its own that
 * starts a trace: a frame is a request, the connection it came on is not
 * (its upgrade request's context would otherwise hold every frame for hours).
 */
export function runFrame<C extends FrameCase>(
  kind: { case: C; value: ValueOf<C> },
  socket: FrameScope,
  deps: FrameDeps,
): Answer {
  if (!tracingEnabled()) return frameHandler(kind).run(kind.value, socket, deps);
  return inSpan(
    `ws ${kind.case}`,
    { kind: SpanKind.SERVER, root: true, attributes: { "parley.frame": kind.case } },
    () => frameHandler(kind).run(kind.value, socket, deps),
  );
}
