import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { RoomEventSchema, type StreamEventsResponse } from "@parley/proto/chat/v1/chat_pb.js";
import { createLogger } from "@parley/shared/logger.js";
import { startFanout } from "../src/fanout.js";
import { roomEventsChannel } from "../src/room-events.js";
import { bearer, type Harness, type Instance, rejectsWith, startHarness, waitUntil } from "./harness.js";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

type EventIterator = AsyncIterator<StreamEventsResponse>;

/** Opens StreamEvents as the edge does and waits until `on` has registered it. */
async function openStream(on: Instance, signal?: AbortSignal): Promise<EventIterator> {
  const before = on.app.fanout.size;
  const it = on.client.streamEvents({}, await h.serviceCall(signal))[Symbol.asyncIterator]();
  // The call starts with the first pull; keep that pull for the caller.
  const first = it.next();
  first.catch(() => {});
  await waitUntil(() => on.app.fanout.size > before, 10_000, "stream registered");
  let pulled = false;
  return {
    next() {
      if (pulled) return it.next();
      pulled = true;
      return first;
    },
  };
}

async function nextEvent(it: EventIterator) {
  const r = await it.next();
  assert.equal(r.done, false, "the stream ended");
  const event = r.value.event;
  assert.ok(event && event.kind.case === "messageCreated");
  return { roomId: event.roomId, message: event.kind.value };
}

describe("StreamEvents", () => {
  test("an edge stream receives messages sent after it subscribed, in seq order", async () => {
    const alice = await h.signIn("alice");
    const { room } = await h.client.createRoom({ name: "live" }, alice.call);
    assert.ok(room);
    const controller = new AbortController();
    const stream = await openStream(h, controller.signal);
    const sent = [];
    for (const text of ["a", "b", "c"])
      sent.push((await h.client.sendMessage({ roomId: room.id, text }, alice.call)).message);
    for (const expected of sent) {
      const got = await nextEvent(stream);
      assert.equal(got.roomId, room.id);
      assert.deepEqual(got.message, expected);
    }
    // An idempotent retry is not a new event: the next one is the next message.
    await h.client.sendMessage({ roomId: room.id, text: "d", clientMessageId: "k" }, alice.call);
    await h.client.sendMessage({ roomId: room.id, text: "d", clientMessageId: "k" }, alice.call);
    await h.client.sendMessage({ roomId: room.id, text: "e" }, alice.call);
    assert.equal((await nextEvent(stream)).message.text, "d");
    assert.equal((await nextEvent(stream)).message.text, "e");

    // Cancelling the call frees its subscription.
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
    const onOther = await openStream(other);
    const onFirst = await openStream(h);
    const { message } = await h.client.sendMessage({ roomId: room.id, text: "via first" }, alice.call);
    assert.deepEqual((await nextEvent(onOther)).message, message);
    assert.deepEqual((await nextEvent(onFirst)).message, message);
    const viaOther = await other.client.sendMessage({ roomId: room.id, text: "via other" }, alice.call);
    assert.equal(viaOther.message?.seq, 2n, "both instances share one seq per room");
    assert.deepEqual((await nextEvent(onFirst)).message, viaOther.message);
    assert.deepEqual((await nextEvent(onOther)).message, viaOther.message);

    // Shutdown is not held up by open streams; they end so the edge reconnects elsewhere.
    await other.close();
    await rejectsWith(onOther.next(), Code.Unavailable, "EVENT_FEED_INTERRUPTED");
  });
});

describe("fanout", () => {
  test("a subscriber that falls behind is ended with STREAM_OVERFLOW without holding up the others", async () => {
    const channel = roomEventsChannel(`${h.config.REDIS_KEY_PREFIX}overflow:`);
    const fanout = startFanout({
      redis: h.infra.redis,
      channel,
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
          Buffer.from(toBinary(RoomEventSchema, create(RoomEventSchema, { roomId: `room-${n}` }))),
        );
      // The fast subscriber keeps up: each event is taken before the next is published.
      const fastGot: string[] = [];
      for (let n = 1; n <= 10; n++) {
        await publish(n);
        const r = n === 1 ? await fastFirst : await fast.next();
        assert.equal(r.done, false);
        fastGot.push(r.value.roomId);
      }
      assert.deepEqual(
        fastGot,
        Array.from({ length: 10 }, (_, i) => `room-${i + 1}`),
      );

      await waitUntil(() => fanout.size === 1, 10_000, "slow subscriber dropped");
      const slowGot = await slowFirst;
      assert.equal(slowGot.done, false);
      assert.equal(slowGot.value.roomId, "room-1");
      await rejectsWith(slow.next(), Code.ResourceExhausted, "STREAM_OVERFLOW");
    } finally {
      await fanout.close();
    }
  });
});
