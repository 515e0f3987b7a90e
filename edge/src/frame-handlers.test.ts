/**
 * The frame-handler table on its own, against a recording stand-in for the
 * chat client and socket auth (the real ones are covered by the WebSocket
 * integration tests): which frames are paced by which bucket, which need a
 * signed-in socket, that the chat requests are forwarded whole, and that
 * each handler answers by returning rather than writing.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import type { CallOptions } from "@connectrpc/connect";
import { type Message, MessageSchema } from "@parley/proto/chat/v1/chat_pb.js";
import { ClientFrameSchema } from "@parley/proto/realtime/v1/realtime_pb.js";
import { UserSchema } from "@parley/proto/user/v1/user_pb.js";
import { appError, Code, ConnectError, unauthenticated } from "@parley/shared/errors.js";
import type { ChatClient } from "./clients.js";
import type { BatchedSends } from "./realtime/batched-sends.js";
import { decodeClientFrame } from "./realtime/frame-codec.js";
import {
  CLOSE_UNAUTHENTICATED,
  FRAME_HANDLERS,
  type FrameAnswer,
  type FrameDeps,
  type FrameScope,
  runFrame,
} from "./realtime/frame-handlers.js";
import type { SocketAuth } from "./realtime/socket-auth.js";
import type { SocketSubscriptions } from "./realtime/socket-subscriptions.js";
import { TypingThrottle } from "./realtime/typing-throttle.js";

const ROOM = "0b8a3e4c-5a51-4c41-9a0e-5a1f1a2b3c4d";
const MSG = "7d0c1c1e-3b7a-4f5e-9d4b-2f0e1a2b3c4d";
const ALICE = "5f2b8c1e-0d3a-4b6c-8e9f-1a2b3c4d5e6f";

/** Every call the handlers make, with the request object they passed. */
interface Call {
  method: string;
  request: unknown;
}

function stage(opts: { signedIn?: boolean; userId?: string; authFails?: ConnectError } = {}) {
  const calls: Call[] = [];
  const message: Message = create(MessageSchema, { id: MSG, roomId: ROOM, seq: 3n });
  const record =
    (method: string, answer: unknown = { message }) =>
    async (request: unknown, _options?: CallOptions) => {
      calls.push({ method, request });
      return answer;
    };
  const chat = {
    editMessage: record("editMessage"),
    deleteMessage: record("deleteMessage"),
    addReaction: record("addReaction"),
    removeReaction: record("removeReaction"),
    sendTyping: record("sendTyping", {}),
    markRead: record("markRead", { lastReadSeq: 3n, unreadCount: 1n }),
  } as unknown as ChatClient;
  const sends: BatchedSends = {
    async send(accessToken, request) {
      calls.push({ method: `send as ${accessToken}`, request });
      return message;
    },
    close: async () => {},
  };
  const auth: SocketAuth = {
    async authenticate(token) {
      if (opts.authFails) throw opts.authFails;
      return {
        userId: token === "bob-token" ? "bob" : ALICE,
        sessionId: "s",
        expiresAt: 0,
        user: create(UserSchema, { id: ALICE }),
      };
    },
    forget() {},
    sweep() {},
  };
  let now = 0;
  const deps: FrameDeps = { auth, chat, sends, heartbeatIntervalSeconds: 25, now: () => now };
  const typing = new TypingThrottle();
  const socket: FrameScope = {
    token: opts.signedIn === false ? undefined : "alice-token",
    userId: opts.signedIn === false ? undefined : (opts.userId ?? ALICE),
    call: () => ({}),
    get subscriptions(): SocketSubscriptions {
      throw new Error("no subscriptions in these tests");
    },
    typing,
  };
  return { calls, message, deps, socket, advance: (ms: number) => (now += ms) };
}

/** A frame as it arrives on the wire, decoded and validated. */
function frame(json: Record<string, unknown>) {
  const decoded = decodeClientFrame(JSON.stringify(json));
  assert.ok(decoded.ok, decoded.ok ? "" : decoded.error.message);
  const { kind } = decoded.frame;
  assert.ok(kind.case !== undefined && kind.case !== "ping");
  return kind;
}

test("the table has a handler for every client frame but ping, paced by the bucket of what it costs", () => {
  const frames = ClientFrameSchema.oneofs[0]?.fields.map((f) => f.localName) ?? [];
  assert.deepEqual(Object.keys(FRAME_HANDLERS).sort(), frames.filter((f) => f !== "ping").sort());
  const paced = Object.fromEntries(Object.entries(FRAME_HANDLERS).map(([kind, handler]) => [kind, handler.pace]));
  assert.deepEqual(paced, {
    authenticate: "authenticate",
    subscribe: "subscribe",
    unsubscribe: undefined,
    send: "acting",
    edit: "acting",
    delete: "acting",
    react: "acting",
    unreact: "acting",
    typing: "acting",
    markRead: "acting",
  });
});

test("the frames that act carry ChatService's requests and forward them whole", async () => {
  const { calls, message, deps, socket } = stage();
  const cases: [Record<string, unknown>, string, FrameAnswer["reply"]][] = [
    [
      { send: { roomId: ROOM, text: "hi", clientMessageId: "c-1" } },
      "send as alice-token",
      { case: "ack", value: { message } },
    ],
    [
      { edit: { roomId: ROOM, messageId: MSG, text: "fixed" } },
      "editMessage",
      { case: "messageAck", value: { message } },
    ],
    [{ delete: { roomId: ROOM, messageId: MSG } }, "deleteMessage", { case: "messageAck", value: { message } }],
    [
      { react: { roomId: ROOM, messageId: MSG, emoji: "👍" } },
      "addReaction",
      { case: "messageAck", value: { message } },
    ],
    [
      { unreact: { roomId: ROOM, messageId: MSG, emoji: "👍" } },
      "removeReaction",
      { case: "messageAck", value: { message } },
    ],
    [
      { markRead: { roomId: ROOM, seq: "3" } },
      "markRead",
      { case: "readAck", value: { roomId: ROOM, lastReadSeq: 3n, unreadCount: 1n } },
    ],
  ];
  for (const [json, method, reply] of cases) {
    const kind = frame(json);
    calls.length = 0;
    const answer = await runFrame(kind, socket, deps);
    assert.deepEqual(answer, { reply }, method);
    assert.equal(calls.length, 1, method);
    assert.equal(calls[0]?.method, method);
    // The very message decoded from the frame: whatever chat.proto gives it reaches chat-svc.
    assert.equal(calls[0]?.request, kind.value, method);
  }
});

test("only authenticate is handled before the socket is signed in", async () => {
  const { calls, deps, socket } = stage({ signedIn: false });
  for (const [kind, value] of Object.entries({
    subscribe: { roomId: ROOM },
    unsubscribe: { roomId: ROOM },
    send: { roomId: ROOM, text: "hi" },
    typing: { roomId: ROOM },
    markRead: { roomId: ROOM, seq: "1" },
  })) {
    await assert.rejects(runFrame(frame({ [kind]: value }), socket, deps), (err: unknown) => {
      assert.ok(err instanceof ConnectError);
      assert.equal(err.code, Code.Unauthenticated);
      assert.equal(err.rawMessage, "authenticate first");
      return true;
    });
  }
  assert.equal(calls.length, 0);
  const answer = await runFrame(frame({ authenticate: { token: "alice-token" } }), socket, deps);
  assert.equal(answer?.signIn?.token, "alice-token");
  assert.equal(answer?.signIn?.identity.userId, ALICE);
  assert.deepEqual(answer?.reply, {
    case: "ready",
    value: { user: create(UserSchema, { id: ALICE }), heartbeatInterval: 25 },
  });
});

test("authenticate: a refused token answers with closing 4401; another user's token is refused", async () => {
  const refused = stage({ signedIn: false, authFails: unauthenticated() });
  const answer = await runFrame(frame({ authenticate: { token: "bad" } }), refused.socket, refused.deps);
  assert.equal(answer?.close?.code, CLOSE_UNAUTHENTICATED);
  assert.equal(answer?.close?.error.code, Code.Unauthenticated);
  assert.equal(answer?.reply, undefined);

  // Sessions that cannot be checked are worth retrying: an error, not a close.
  const down = stage({ authFails: appError(Code.Unavailable, "SESSIONS_UNAVAILABLE", "try again") });
  await assert.rejects(runFrame(frame({ authenticate: { token: "t" } }), down.socket, down.deps), /try again/);

  const { socket, deps } = stage();
  await assert.rejects(runFrame(frame({ authenticate: { token: "bob-token" } }), socket, deps), /same user/);
});

test("typing is forwarded at most once a second per room and never answered", async () => {
  const { calls, deps, socket, advance } = stage();
  const typing = frame({ typing: { roomId: ROOM } });
  assert.equal(await runFrame(typing, socket, deps), undefined);
  assert.equal(await runFrame(typing, socket, deps), undefined);
  assert.equal(calls.length, 1);
  advance(1_000);
  await runFrame(typing, socket, deps);
  assert.deepEqual(
    calls.map((c) => c.method),
    ["sendTyping", "sendTyping"],
  );
});
