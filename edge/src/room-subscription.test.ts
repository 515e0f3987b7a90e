/**
 * The cursor mechanism (resume by event_seq, gap repair, duplicate
 * suppression) and the hub's fan-out, against an in-memory room event log.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { MessageSchema, type RoomEvent, RoomEventSchema } from "@parley/proto/chat/v1/chat_pb.js";
import type { OutFrame } from "./realtime/frame-codec.js";
import { RoomHub } from "./realtime/room-hub.js";
import { type EventPage, RoomSubscription } from "./realtime/room-subscription.js";

const ROOM = "room-1";

interface FrameJson {
  event: {
    roomId: string;
    eventSeq?: string;
    messageCreated?: { seq: string };
    messageEdited?: { seq: string };
    messageDeleted?: { seq: string };
    reactionChanged?: unknown;
    typing?: unknown;
  };
}

type Kind = "message" | "edit" | "delete" | "reaction";

/** "m3" for message 3 created, "edit3"/"del3" for its edit/deletion, "reaction@7" at event_seq 7, "typing". */
function label(frame: OutFrame): string {
  const { event } = JSON.parse(typeof frame === "string" ? frame : frame.payload.toString()) as FrameJson;
  assert.equal(event.roomId, ROOM);
  if (event.messageCreated) return `m${event.messageCreated.seq}`;
  if (event.messageEdited) return `edit${event.messageEdited.seq}`;
  if (event.messageDeleted) return `del${event.messageDeleted.seq}`;
  if (event.reactionChanged) return `reaction@${event.eventSeq}`;
  return "typing";
}

/** A room's event log, a subscription wired to it and a hub, recording what the socket got. */
function setup(opts: { events?: number; pageSize?: number; gate?: boolean; truncateBefore?: bigint } = {}) {
  const log: RoomEvent[] = [];
  let messages = 0;
  const pageSize = opts.pageSize ?? 200;
  const delivered: string[] = [];
  const fetches: string[] = [];
  /** The subscription's waits for its socket to take what it was sent. */
  const waits = { count: 0 };
  let inFlight = 0;
  let maxInFlight = 0;
  const gates: (() => void)[] = [];
  let truncated = false;
  /** Events committed but not yet readable (a transaction still committing elsewhere). */
  let readableUpTo: bigint | undefined;
  const hub = new RoomHub();

  /** Commits an event to the room's log; publishes it live unless lost. */
  const commit = (o: { kind?: Kind; publish?: boolean } = {}) => {
    const eventSeq = BigInt(log.length + 1);
    const kind = o.kind ?? "message";
    let event: RoomEvent;
    if (kind === "message") {
      messages++;
      const m = create(MessageSchema, { id: `m${messages}`, roomId: ROOM, seq: BigInt(messages) });
      event = create(RoomEventSchema, { roomId: ROOM, eventSeq, kind: { case: "messageCreated", value: m } });
    } else if (kind === "edit") {
      const m = create(MessageSchema, { id: `m${messages}`, roomId: ROOM, seq: BigInt(messages), text: "edited" });
      event = create(RoomEventSchema, { roomId: ROOM, eventSeq, kind: { case: "messageEdited", value: m } });
    } else if (kind === "delete") {
      event = create(RoomEventSchema, {
        roomId: ROOM,
        eventSeq,
        kind: { case: "messageDeleted", value: { messageId: `m${messages}`, seq: BigInt(messages) } },
      });
    } else {
      event = create(RoomEventSchema, {
        roomId: ROOM,
        eventSeq,
        kind: { case: "reactionChanged", value: { emoji: "+1" } },
      });
    }
    log.push(event);
    if (o.publish ?? true) hub.dispatch(event);
    return event;
  };
  for (let i = 0; i < (opts.events ?? 0); i++) commit({ publish: false });

  const gate = async () => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    if (opts.gate) await new Promise<void>((resolve) => gates.push(resolve));
    inFlight--;
  };
  const readPage = (after: bigint): EventPage => {
    if (opts.truncateBefore !== undefined && after + 1n < opts.truncateBefore) {
      return { events: [], hasMore: false, truncated: true };
    }
    const readable = log.filter((e) => readableUpTo === undefined || e.eventSeq <= readableUpTo);
    const newer = readable.filter((e) => e.eventSeq > after);
    return { events: newer.slice(0, pageSize), hasMore: newer.length > pageSize, truncated: false };
  };
  const sub = new RoomSubscription(ROOM, {
    async fetchEvents(roomId, after) {
      assert.equal(roomId, ROOM);
      fetches.push(`events>${after}`);
      await gate();
      return readPage(after);
    },
    async caughtUp() {
      waits.count++;
    },
    write(frame) {
      delivered.push(label(frame));
      return true;
    },
    delivered() {},
    catchUpFailed(_sub, err) {
      throw err;
    },
    truncated() {
      truncated = true;
    },
  });
  hub.add(sub);
  const head = () => BigInt(log.length);
  return {
    hub,
    sub,
    log,
    delivered,
    fetches,
    waits,
    commit,
    head,
    readPage,
    hideAfter: (seq: bigint | undefined) => {
      readableUpTo = seq;
    },
    release: () => gates.shift()?.(),
    pendingFetches: () => gates.length,
    maxInFlight: () => maxInFlight,
    wasTruncated: () => truncated,
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

async function until(check: () => boolean, timeoutMs = 2_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
  assert.ok(check(), "condition not reached");
}

const typing = () => create(RoomEventSchema, { roomId: ROOM, kind: { case: "typing", value: { userId: "u" } } });

test("from the head (afterEventSeq 0): no replay, then live events in order", async () => {
  const t = setup({ events: 3 });
  t.sub.start(t.head());
  t.commit();
  t.commit({ kind: "reaction" });
  await settle();
  assert.deepEqual(t.delivered, ["m4", "reaction@5"]);
  assert.deepEqual(t.fetches, []);
});

test("resume replays every kind of missed event in log order, exactly once, then live ones", async () => {
  const t = setup();
  t.commit(); // 1 m1
  t.commit(); // 2 m2 — the client has seen up to here
  t.commit({ kind: "edit" }); // 3 edit2
  t.commit({ kind: "reaction" }); // 4
  t.commit({ kind: "delete" }); // 5 del2
  t.commit(); // 6 m3
  // The socket fetched the first page itself, alongside GetRoom.
  t.sub.start(2n, t.readPage(2n));
  await until(() => t.delivered.length === 4);
  t.commit({ kind: "edit" }); // 7 live
  await settle();
  assert.deepEqual(t.delivered, ["edit2", "reaction@4", "del2", "m3", "edit3"]);
  assert.deepEqual(t.fetches, [], "the prefetched page was used, nothing fetched again");
});

test("events committed while subscribing are delivered once, whether seen live or in the log", async () => {
  const t = setup({ events: 4 });
  const firstPage = t.readPage(1n); // 2..4
  t.commit(); // 5 published while the subscription was registered but not started
  t.sub.start(1n, firstPage);
  await until(() => t.delivered.length === 4);
  await settle();
  assert.deepEqual(t.delivered, ["m2", "m3", "m4", "m5"]);
  assert.deepEqual(t.fetches, ["events>4"]);
});

test("duplicates are dropped", async () => {
  const t = setup({ events: 2 });
  t.sub.start(t.head());
  const e = t.commit();
  t.hub.dispatch(e);
  t.hub.dispatch(t.log[0] as RoomEvent);
  await settle();
  assert.deepEqual(t.delivered, ["m3"]);
});

test("a gap is repaired from the event log before anything newer is delivered", async () => {
  const t = setup({ events: 5 });
  t.sub.start(t.head());
  t.commit({ publish: false }); // 6 lost
  const seven = t.commit({ kind: "reaction", publish: false }); // 7 lost
  t.commit(); // 8 arrives: gap after 5
  await until(() => t.delivered.length === 3);
  t.commit();
  t.hub.dispatch(seven); // a late duplicate
  await settle();
  assert.deepEqual(t.delivered, ["m6", "reaction@7", "m7", "m8"]);
  assert.deepEqual(t.fetches, ["events>5"]);
});

test("events from two instances arriving out of order are delivered in event_seq order, once", async () => {
  const t = setup({ events: 1 });
  t.sub.start(t.head());
  const two = t.commit({ publish: false });
  t.commit(); // 3 overtakes 2
  await until(() => t.delivered.length === 2);
  t.hub.dispatch(two); // 2 finally arrives
  await settle();
  assert.deepEqual(t.delivered, ["m2", "m3"]);
});

test("a late event delivered live brings the newer ones seen before it", async () => {
  const t = setup({ events: 1, gate: true });
  t.sub.start(t.head());
  const two = t.commit({ publish: false });
  t.commit(); // 3: gap, a fetch starts and waits
  await settle();
  t.hideAfter(1n); // …and finds nothing readable yet
  t.release();
  await until(() => t.pendingFetches() === 1); // one idle retry is pending
  t.hideAfter(undefined);
  t.hub.dispatch(two);
  t.release();
  await until(() => t.delivered.length === 2);
  await settle();
  assert.deepEqual(t.delivered, ["m2", "m3"]);
});

test("an event seen live before the log shows it is fetched again shortly", async () => {
  const t = setup({ events: 1 });
  t.sub.start(t.head());
  t.hideAfter(1n);
  t.commit({ publish: false }); // 2 still committing
  t.commit(); // 3 seen
  await until(() => t.fetches.length >= 2);
  t.hideAfter(undefined);
  await until(() => t.delivered.length === 2);
  assert.deepEqual(t.delivered, ["m2", "m3"]);
});

test("catch-up is single-flight and picks up events that arrive while it runs", async () => {
  const t = setup({ events: 1, gate: true });
  t.sub.start(t.head());
  t.commit({ publish: false }); // 2 lost
  t.commit(); // 3: gap, a fetch starts and waits
  t.commit(); // 4 during the fetch
  t.commit(); // 5 during the fetch
  await settle();
  assert.equal(t.pendingFetches(), 1);
  t.release();
  // The first page already held 2..5; a second look finds nothing newer.
  await until(() => t.pendingFetches() === 1);
  t.release();
  await until(() => t.pendingFetches() === 0);
  await settle();
  assert.deepEqual(t.delivered, ["m2", "m3", "m4", "m5"]);
  assert.equal(t.maxInFlight(), 1);
  t.commit();
  await settle();
  assert.deepEqual(t.delivered, ["m2", "m3", "m4", "m5", "m6"]);
});

test("resume pages through the log until done", async () => {
  const t = setup({ events: 450, pageSize: 200 });
  t.sub.start(10n);
  t.hub.resyncAll();
  await until(() => t.delivered.length === 440);
  assert.deepEqual(
    t.delivered,
    Array.from({ length: 440 }, (_, i) => `m${i + 11}`),
  );
  assert.deepEqual(t.fetches, ["events>10", "events>210", "events>410"]);
  assert.equal(t.waits.count, 440, "every replayed event waits for the socket to take it before the next");

  const u = setup({ events: 450, pageSize: 200 });
  u.sub.start(10n, u.readPage(10n));
  await until(() => u.delivered.length === 440);
  assert.equal(u.delivered.at(-1), "m450");
  assert.deepEqual(u.fetches, ["events>210", "events>410"]);
});

test("events seen before the head was known are not lost", async () => {
  const t = setup({ events: 3 });
  const head = t.head();
  // Registered in the hub, head not known yet: 4 is committed and published.
  t.commit();
  t.sub.start(head);
  await until(() => t.delivered.length === 1);
  assert.deepEqual(t.delivered, ["m4"]);
});

test("resync catches up on events published while the stream was down", async () => {
  const t = setup();
  t.sub.start(t.head());
  t.commit({ publish: false });
  t.commit({ kind: "reaction", publish: false });
  await settle();
  assert.deepEqual(t.delivered, []);
  t.hub.resyncAll();
  await until(() => t.delivered.length === 2);
  assert.deepEqual(t.delivered, ["m1", "reaction@2"]);
});

test("ephemeral events are delivered at once, but only after start", async () => {
  const t = setup({ events: 1, gate: true });
  t.hub.dispatch(typing());
  t.sub.start(t.head());
  t.hub.dispatch(typing());
  t.commit({ publish: false });
  t.commit(); // gap: catch-up waits at the gate
  t.hub.dispatch(typing());
  await settle();
  assert.deepEqual(t.delivered, ["typing", "typing"]);
  t.release();
  await until(() => t.delivered.length === 4);
  assert.deepEqual(t.delivered, ["typing", "typing", "m2", "m3"]);
});

test("a gap the log no longer covers ends the subscription", async () => {
  const t = setup({ events: 1, truncateBefore: 5n });
  t.sub.start(t.head());
  for (let i = 0; i < 4; i++) t.commit({ publish: false });
  t.commit();
  await until(() => t.wasTruncated());
  assert.ok(t.sub.isClosed);
  t.commit();
  await settle();
  assert.deepEqual(t.delivered, []);
});

test("a closed subscription delivers nothing", async () => {
  const t = setup();
  t.sub.start(t.head());
  t.sub.close();
  t.commit();
  t.hub.resyncAll();
  await settle();
  assert.deepEqual(t.delivered, []);
  assert.deepEqual(t.fetches, []);
});

test("the hub encodes each event once for all of a room's listeners, and only for that room", () => {
  const hub = new RoomHub();
  const seen: { room: string; frame: OutFrame }[] = [];
  const listener = (roomId: string) => ({
    roomId,
    onEvent: (_e: RoomEvent, frame: OutFrame) => seen.push({ room: roomId, frame }),
    onResync() {},
  });
  const a = listener("a");
  const b = listener("a");
  const c = listener("b");
  for (const l of [a, b, c]) hub.add(l);
  assert.equal(hub.listenerCount("a"), 2);
  hub.dispatch(create(RoomEventSchema, { roomId: "a", eventSeq: 1n }));
  assert.equal(seen.length, 2);
  assert.ok(seen.every((s) => s.room === "a"));
  assert.ok(Object.is(seen[0]?.frame, seen[1]?.frame));
  hub.remove(a);
  hub.remove(b);
  assert.equal(hub.listenerCount("a"), 0);
  assert.equal(hub.listenerCount(), 1);
});
