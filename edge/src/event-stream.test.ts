/**
 * The shared event stream's reconnect loop, against a scripted stand-in for
 * the StreamEvents call (the real one is covered by the integration tests).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import type { CallOptions } from "@connectrpc/connect";
import {
  type RoomEvent,
  RoomEventSchema,
  type StreamEventsResponse,
  StreamEventsResponseSchema,
} from "@parley/proto/chat/v1/chat_pb.js";
import { createLogger } from "@parley/shared/logger.js";
import type { ChatClient } from "./clients.js";
import { startEventStream } from "./realtime/event-stream.js";

const logger = createLogger("edge-test", "silent");

function event(roomId: string): RoomEvent {
  return create(RoomEventSchema, { roomId });
}

async function until(check: () => boolean, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 5));
  }
}

type StreamEvents = (req: unknown, options: CallOptions) => AsyncGenerator<StreamEventsResponse>;

/** A stream over a scripted StreamEvents call, counting its opens and the rooms of its events. */
function watch(streamEvents: StreamEvents, settleMs: number) {
  const seen = { opens: 0, events: [] as string[] };
  const stream = startEventStream({
    chat: { streamEvents } as unknown as ChatClient,
    serviceToken: { get: async () => "t" },
    logger,
    onEvent: (e) => seen.events.push(e.roomId),
    onOpen: () => seen.opens++,
    settleMs,
  });
  return { stream, seen };
}

/** Until the call is aborted (the stream closed). */
const untilAborted = (options: CallOptions) =>
  new Promise<void>((resolve) => options.signal?.addEventListener("abort", () => resolve()));

test("reconnects after failures and ends, presents the service token, and reports each open", async () => {
  const tokens: string[] = [];
  let calls = 0;
  const chat = {
    async *streamEvents(_req: unknown, options: CallOptions): AsyncGenerator<StreamEventsResponse> {
      calls++;
      tokens.push(new Headers(options.headers).get("authorization") ?? "");
      if (calls === 1) throw new Error("connection refused");
      yield create(StreamEventsResponseSchema, { events: [event(`r${calls}`)] });
      if (calls === 2) return; // the server ended the stream
      // The third stream stays open until aborted.
      await untilAborted(options);
    },
  } as unknown as ChatClient;
  const events: string[] = [];
  let opens = 0;
  const stream = startEventStream({
    chat,
    serviceToken: { get: async () => "svc-token" },
    logger,
    onEvent: (e) => events.push(e.roomId),
    onOpen: () => opens++,
    minBackoffMs: 1,
    maxBackoffMs: 5,
  });
  await until(() => events.length === 2);
  assert.deepEqual(events, ["r2", "r3"]);
  assert.equal(opens, 2);
  assert.equal(stream.connected, true);
  assert.ok(tokens.every((t) => t === "Bearer svc-token"));
  await stream.close();
  assert.equal(stream.connected, false);
  assert.equal(calls, 3);
});

test("a call that neither fails nor answers counts as open once it settles", async () => {
  // biome-ignore lint/correctness/useYield: the call never answers, which is the point
  const { stream, seen } = watch(async function* (_req, options) {
    await untilAborted(options);
  }, 20);
  assert.equal(stream.connected, false);
  await until(() => seen.opens === 1);
  assert.equal(stream.connected, true);
  await stream.close();
});

test("a stream counted open on a guess catches up again once chat-svc confirms it", async () => {
  let confirm: (() => void) | undefined;
  const { stream, seen } = watch(async function* (_req, options) {
    // Slower to answer than the settle time: registered only when `ready` comes.
    await new Promise<void>((resolve) => {
      confirm = resolve;
    });
    yield create(StreamEventsResponseSchema, {});
    yield create(StreamEventsResponseSchema, { events: [event("r1")] });
    await untilAborted(options);
  }, 20);
  await until(() => seen.opens === 1 && confirm !== undefined);
  confirm?.();
  await until(() => seen.events.length === 1);
  assert.equal(seen.opens, 2, "once on the guess, once when confirmed");
  assert.equal(stream.connected, true);
  await stream.close();
});

test("headers followed by ready (as grpc-js sends them) open the stream once", async () => {
  const { stream, seen } = watch(async function* (_req, options) {
    options.onHeader?.(new Headers({ "content-type": "application/grpc" }));
    yield create(StreamEventsResponseSchema, {});
    yield create(StreamEventsResponseSchema, { events: [event("r1")] });
    await untilAborted(options);
  }, 10_000);
  await until(() => seen.events.length === 1);
  assert.equal(seen.opens, 1);
  await stream.close();
});
