import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import {
  MessageSchema,
  RoomEventSchema,
  SendMessageResponseSchema,
  SendMessagesResponseSchema,
  StreamEventsResponseSchema,
} from "@parley/proto/chat/v1/chat_pb.js";
import { toItemStatus } from "@parley/shared/errors.js";
import { createLogger } from "@parley/shared/logger.js";
import { encodeMessage } from "@parley/shared/pre-encoded.js";
import { roomNotFound } from "../src/errors.js";
import { startFanout } from "../src/fanout.js";
import { messageToProto } from "../src/mapping.js";
import {
  createRoomEventPublisher,
  encodeEventRun,
  encodeStreamEvents,
  eventRunPayloads,
  publishable,
  roomEventsChannel,
} from "../src/room-events.js";
import { messageCreatedEvent } from "../src/storage/event-log.js";
import type { MessageRow } from "../src/storage/schema.js";
import {
  errorResult,
  messageResult,
  sendMessageResponse,
  sendMessagesResponse,
} from "../src/transport/send-messages-response.js";
import { bearer, type EventStream, type Harness, rejectsWith, startHarness, waitUntil } from "./harness.js";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

/** The room of a binary RoomEvent, as a stream's subscription hands it over. */
const roomOf = (payload: Uint8Array) => fromBinary(RoomEventSchema, payload).roomId;

async function nextMessage(stream: EventStream) {
  const event = await stream.next();
  assert.ok(event.kind.case === "messageCreated", `expected a message, got ${event.kind.case}`);
  return { roomId: event.roomId, message: event.kind.value };
}

describe("StreamEvents", () => {
  test("an edge stream receives messages sent after it subscribed, in seq order", async () => {
    const alice = await h.signIn("alice");
    const { room } = await h.client.createRoom({ name: "live" }, alice.call);
    assert.ok(room);
    const controller = new AbortController();
    const stream = await h.openStream(h, controller.signal);
    const sent = [];
    for (const text of ["a", "b", "c"])
      sent.push((await h.client.sendMessage({ roomId: room.id, text }, alice.call)).message);
    for (const expected of sent) {
      const got = await nextMessage(stream);
      assert.equal(got.roomId, room.id);
      assert.deepEqual(got.message, expected);
    }
    // An idempotent retry is not a new event: the next one is the next message.
    await h.client.sendMessage({ roomId: room.id, text: "d", clientMessageId: "k" }, alice.call);
    await h.client.sendMessage({ roomId: room.id, text: "d", clientMessageId: "k" }, alice.call);
    await h.client.sendMessage({ roomId: room.id, text: "e" }, alice.call);
    assert.equal((await nextMessage(stream)).message.text, "d");
    assert.equal((await nextMessage(stream)).message.text, "e");

    // Cancelling the call frees its subscription.
    controller.abort();
    await waitUntil(() => h.app.fanout.size === 0, 10_000, "subscription released");
  });

  test("the first response is ready, sent once the stream is registered", async () => {
    const alice = await h.signIn();
    const { room } = await h.client.createRoom({ name: "ready" }, alice.call);
    assert.ok(room);
    const controller = new AbortController();
    // openStream asserts that the first response is {ready: true} without an event.
    const stream = await h.openStream(h, controller.signal);
    // Registered by then: a message sent right after ready reaches the stream,
    // with no polling for the registration.
    assert.equal(h.app.fanout.size, 1);
    const { message } = await h.client.sendMessage({ roomId: room.id, text: "right after ready" }, alice.call);
    const got = await nextMessage(stream);
    assert.deepEqual(got.message, message);
    assert.equal(got.roomId, room.id);
    controller.abort();
    await waitUntil(() => h.app.fanout.size === 0, 10_000, "subscription released");
  });

  test("StreamEvents requires a service token", async () => {
    const alice = await h.signIn();
    const attempts = [bearer(alice.token), {}, bearer("garbage")];
    for (const options of attempts) {
      const it = h.client.streamEvents({}, options)[Symbol.asyncIterator]();
      await rejectsWith(it.next(), Code.Unauthenticated, "UNAUTHENTICATED");
    }
    assert.equal(h.app.fanout.size, 0);
  });

  test("a message sent through one instance reaches a stream on another; stopping an instance ends its streams", async () => {
    const other = await h.startInstance();
    const alice = await h.signIn();
    const { room } = await h.client.createRoom({ name: "multi" }, alice.call);
    assert.ok(room);
    const onOther = await h.openStream(other);
    const onFirst = await h.openStream(h);
    const { message } = await h.client.sendMessage({ roomId: room.id, text: "via first" }, alice.call);
    assert.deepEqual((await nextMessage(onOther)).message, message);
    assert.deepEqual((await nextMessage(onFirst)).message, message);
    const viaOther = await other.client.sendMessage({ roomId: room.id, text: "via other" }, alice.call);
    assert.equal(viaOther.message?.seq, 2n, "both instances share one seq per room");
    assert.deepEqual((await nextMessage(onFirst)).message, viaOther.message);
    assert.deepEqual((await nextMessage(onOther)).message, viaOther.message);

    // Shutdown is not held up by open streams; they end so the edge reconnects elsewhere.
    await other.close();
    await rejectsWith(onOther.iterator.next(), Code.Unavailable, "EVENT_FEED_INTERRUPTED");
  });
});

describe("event bytes", () => {
  test("a channel message's events are handed on as they were published, and a stream response built from them is what toBinary builds", () => {
    const events = ["a", "b", "c"].map((roomId, i) =>
      create(RoomEventSchema, {
        roomId,
        eventSeq: BigInt(i + 1),
        occurredAt: timestampFromDate(new Date(1_700_000_000_000 + i)),
        kind: { case: "messageDeleted", value: { messageId: `m-${i}`, seq: BigInt(i + 7), deletedBy: "u" } },
      }),
    );
    const payloads = events.map((e) => publishable(e).payload);
    const received = eventRunPayloads(encodeEventRun("instance", payloads));
    assert.deepEqual(
      received.map((p) => Buffer.from(p)),
      payloads.map((p) => Buffer.from(p)),
    );
    const response = encodeStreamEvents(received);
    assert.deepEqual(
      Buffer.from(response),
      Buffer.from(toBinary(StreamEventsResponseSchema, create(StreamEventsResponseSchema, { events }))),
    );
    assert.deepEqual(fromBinary(StreamEventsResponseSchema, response).events, events);
    assert.equal(encodeStreamEvents([]).length, 0);
  });

  const row: MessageRow = {
    id: "5f0c1c1e-3b7a-4f5e-9d4b-2f0e1a2b3c4d",
    roomId: "0b8a3e4c-5a51-4c41-9a0e-5a1f1a2b3c4d",
    seq: 300n,
    senderId: "1d0c1c1e-3b7a-4f5e-9d4b-2f0e1a2b3c4d",
    senderUsername: "alice",
    text: "hi @bob, é 👍",
    clientMessageId: "c-1",
    parentId: "6f0c1c1e-3b7a-4f5e-9d4b-2f0e1a2b3c4d",
    mentions: ["bob"],
    editedAt: null,
    deletedAt: null,
    createdAt: new Date(1_700_000_000_123),
  };

  test("a sent message's event, built around the message's bytes, is what toBinary builds", () => {
    const message = messageToProto(row);
    const logged = messageCreatedEvent(row.roomId, 4_242n, row.createdAt, toBinary(MessageSchema, message));
    const event = create(RoomEventSchema, {
      roomId: row.roomId,
      eventSeq: 4_242n,
      occurredAt: timestampFromDate(row.createdAt),
      kind: { case: "messageCreated", value: message },
    });
    assert.deepEqual(Buffer.from(logged.payload), Buffer.from(toBinary(RoomEventSchema, event)));
  });

  test("SendMessages and SendMessage answers built from stored bytes are what toBinary builds", () => {
    const encoded = toBinary(MessageSchema, messageToProto(row));
    const failure = toItemStatus(roomNotFound("0b8a3e4c-5a51-4c41-9a0e-5a1f1a2b3c4d"));
    const reactions = [{ emoji: "👍", userIds: ["u1"] }];
    const response = sendMessagesResponse([
      messageResult({ row, reactions: [], encoded }),
      errorResult(failure),
      // A message stored by an earlier send carries no bytes: mapped and encoded here.
      messageResult({ row, reactions }),
    ]);
    const expected = create(SendMessagesResponseSchema, {
      results: [
        { outcome: { case: "message", value: messageToProto(row) } },
        { outcome: { case: "error", value: failure } },
        { outcome: { case: "message", value: messageToProto(row, reactions) } },
      ],
    });
    const bytes = encodeMessage(SendMessagesResponseSchema, response);
    assert.deepEqual(Buffer.from(bytes), Buffer.from(toBinary(SendMessagesResponseSchema, expected)));
    assert.deepEqual(fromBinary(SendMessagesResponseSchema, bytes), expected);

    const single = encodeMessage(SendMessageResponseSchema, sendMessageResponse({ row, reactions: [], encoded }));
    const expectedSingle = create(SendMessageResponseSchema, { message: messageToProto(row) });
    assert.deepEqual(Buffer.from(single), Buffer.from(toBinary(SendMessageResponseSchema, expectedSingle)));
  });
});

describe("fanout", () => {
  test("a subscriber that falls behind is ended with STREAM_OVERFLOW without holding up the others", async () => {
    const channel = roomEventsChannel(`${h.config.REDIS_KEY_PREFIX}overflow:`);
    const fanout = startFanout({
      redis: h.infra.redis,
      channel,
      origin: "this-instance",
      logger: createLogger("test", "silent"),
      queueLimit: 3,
    });
    try {
      await waitUntil(() => fanout.live, 10_000, "fanout subscribed");
      const slow = fanout.subscribe(new AbortController().signal);
      const fast = fanout.subscribe(new AbortController().signal);
      // An async generator's body, and so its registration, runs on the first pull.
      const slowFirst = slow.next();
      const fastFirst = fast.next();
      assert.equal(fanout.size, 2);
      const publish = (n: number) =>
        h.infra.redis.publish(
          channel,
          encodeEventRun("another-instance", [
            toBinary(RoomEventSchema, create(RoomEventSchema, { roomId: `room-${n}` })),
          ]),
        );
      // The fast subscriber keeps up: each event is taken before the next is published.
      const fastGot: string[] = [];
      for (let n = 1; n <= 10; n++) {
        await publish(n);
        const r = n === 1 ? await fastFirst : await fast.next();
        assert.equal(r.done, false);
        fastGot.push(...r.value.map(roomOf));
      }
      assert.deepEqual(
        fastGot,
        Array.from({ length: 10 }, (_, i) => `room-${i + 1}`),
      );

      await waitUntil(() => fanout.size === 1, 10_000, "slow subscriber dropped");
      const slowGot = await slowFirst;
      assert.equal(slowGot.done, false);
      assert.deepEqual(slowGot.value.map(roomOf), ["room-1"]);
      await rejectsWith(slow.next(), Code.ResourceExhausted, "STREAM_OVERFLOW");
    } finally {
      await fanout.close();
    }
  });
  test("an instance's own events reach its streams at once and once: the echo from Redis is skipped", async () => {
    const channel = roomEventsChannel(`${h.config.REDIS_KEY_PREFIX}local:`);
    const logger = createLogger("test", "silent");
    const fanout = startFanout({ redis: h.infra.redis, channel, origin: "me", logger, queueLimit: 100 });
    const publisher = createRoomEventPublisher({
      redis: h.infra.redis,
      prefix: `${h.config.REDIS_KEY_PREFIX}local:`,
      logger,
      origin: "me",
      local: (events) => fanout.deliverLocal(events),
    });
    // What another instance's edges see of the same channel.
    const other = startFanout({ redis: h.infra.redis, channel, origin: "other", logger, queueLimit: 100 });
    const event = (roomId: string) => publishable(create(RoomEventSchema, { roomId }));
    try {
      await waitUntil(() => fanout.live && other.live, 10_000, "fanouts subscribed");
      const mine = fanout.subscribe(new AbortController().signal);
      const theirs = other.subscribe(new AbortController().signal);
      const mineFirst = mine.next();
      const theirsFirst = theirs.next();
      publisher.publish([event("a"), event("b")]);
      const got = await mineFirst;
      assert.deepEqual(got.value?.map(roomOf), ["a", "b"]);
      assert.deepEqual((await theirsFirst).value?.map(roomOf), ["a", "b"], "other instances get them through Redis");
      // Another instance's run comes through Redis; the echo of ours never comes again.
      await h.infra.redis.publish(channel, encodeEventRun("other", [event("c").payload]));
      assert.deepEqual((await mine.next()).value?.map(roomOf), ["c"]);
      await publisher.close();
    } finally {
      await fanout.close();
      await other.close();
    }
  });
});
