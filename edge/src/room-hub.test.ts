/**
 * The hub's short reorder window: events of one room that overtook an earlier
 * one (committed on different chat-svc instances) go out in event_seq order
 * without every subscriber fetching the gap.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { type RoomEvent, RoomEventSchema } from "@parley/proto/chat/v1/chat_pb.js";
import type { OutFrame } from "./realtime/frame-codec.js";
import { RoomHub } from "./realtime/room-hub.js";

const event = (seq: number, roomId = "r") => create(RoomEventSchema, { roomId, eventSeq: BigInt(seq) });
const typing = (roomId = "r") => create(RoomEventSchema, { roomId, kind: { case: "typing", value: { userId: "u" } } });

function listener(roomId = "r") {
  const got: { seq: number; frame: OutFrame }[] = [];
  let resyncs = 0;
  return {
    got,
    seqs: () => got.map((g) => g.seq),
    resyncs: () => resyncs,
    l: {
      roomId,
      onEvent: (e: RoomEvent, frame: OutFrame) => got.push({ seq: Number(e.eventSeq), frame }),
      onResync: () => {
        resyncs++;
      },
    },
  };
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("an event that overtook an earlier one waits for it, then both go out in order", () => {
  const hub = new RoomHub(1_000);
  const a = listener();
  const b = listener();
  hub.add(a.l);
  hub.add(b.l);
  hub.dispatch(event(1));
  hub.dispatch(event(3));
  hub.dispatch(event(4));
  assert.deepEqual(a.seqs(), [1]);
  assert.equal(hub.heldCount("r"), 2);
  hub.dispatch(typing()); // ephemeral: never held
  assert.deepEqual(a.seqs(), [1, 0]);
  hub.dispatch(event(2));
  assert.deepEqual(a.seqs(), [1, 0, 2, 3, 4]);
  assert.deepEqual(b.seqs(), a.seqs());
  assert.equal(hub.heldCount("r"), 0);
  // Encoded once for all listeners.
  assert.ok(a.got.every((g, i) => Object.is(g.frame, b.got[i]?.frame)));
  // Late duplicates pass through for the subscriptions to drop.
  hub.dispatch(event(3));
  assert.deepEqual(a.seqs().slice(-1), [3]);
});

test("a gap that outlasts the window is released as is, for the subscriptions to repair", async () => {
  const hub = new RoomHub(20);
  const a = listener();
  hub.add(a.l);
  hub.dispatch(event(1));
  hub.dispatch(event(4));
  hub.dispatch(event(3));
  await wait(60);
  assert.deepEqual(a.seqs(), [1, 3, 4]);
  hub.dispatch(event(5));
  assert.deepEqual(a.seqs(), [1, 3, 4, 5], "what follows the gap flows again");
});

test("rooms are independent; a room's last listener leaving drops its state", async () => {
  const hub = new RoomHub(20);
  const a = listener("a");
  const b = listener("b");
  hub.add(a.l);
  hub.add(b.l);
  hub.dispatch(event(1, "a"));
  hub.dispatch(event(3, "a"));
  hub.dispatch(event(7, "b"));
  assert.deepEqual([a.seqs(), b.seqs()], [[1], [7]]);
  hub.remove(a.l);
  assert.equal(hub.heldCount("a"), 0);
  assert.equal(hub.listenerCount(), 1);
  await wait(40);
  assert.deepEqual(a.seqs(), [1], "nothing after leaving");
});

test("too much held is not a reordering: released at once", () => {
  const hub = new RoomHub(60_000);
  const a = listener();
  hub.add(a.l);
  hub.dispatch(event(1));
  for (let seq = 3; seq <= 300; seq++) hub.dispatch(event(seq));
  assert.equal(a.seqs().length > 250, true);
  assert.deepEqual(a.seqs().slice(0, 4), [1, 3, 4, 5]);
});

test("a resync releases what is held and tells every listener", () => {
  const hub = new RoomHub(60_000);
  const a = listener();
  hub.add(a.l);
  hub.dispatch(event(1));
  hub.dispatch(event(3));
  hub.resyncAll();
  assert.deepEqual(a.seqs(), [1, 3]);
  assert.equal(a.resyncs(), 1);
  // After a resync the order starts over from whatever comes next.
  hub.dispatch(event(9));
  assert.deepEqual(a.seqs(), [1, 3, 9]);
});
