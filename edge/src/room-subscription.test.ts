/**
 * The cursor mechanism (resume, gap repair, duplicate suppression) and the
 * hub's fan-out, against an in-memory room: its messages and its event log.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { type Message, MessageSchema, type RoomEvent, RoomEventSchema } from "@parley/proto/chat/v1/chat_pb.js";
import { RoomHub } from "./realtime/room-hub.js";
import { type EventPage, type MessagePage, RoomSubscription } from "./realtime/room-subscription.js";

const ROOM = "room-1";

interface FrameJson {
  event: {
    roomId: string;
    eventSeq?: string;
    messageCreated?: { seq: string };
    reactionChanged?: unknown;
    typing?: unknown;
  };
}

/** "m3" for message 3, "reaction@7" for a reaction at event_seq 7, "typing" for an ephemeral one. */
function label(frame: string): string {
  const { event } = JSON.parse(frame) as FrameJson;
  assert.equal(event.roomId, ROOM);
  if (event.messageCreated) return `m${event.messageCreated.seq}`;
  if (event.reactionChanged) return `reaction@${event.eventSeq}`;
  return "typing";
}

/** A room with history, a subscription wired to it and a hub, recording what the socket got. */
function setup(opts: { messages?: number; pageSize?: number; gate?: boolean; truncateBefore?: bigint } = {}) {
  const messages: Message[] = [];
  const log: RoomEvent[] = [];
  const pageSize = opts.pageSize ?? 200;
  const delivered: string[] = [];
  const fetches: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const gates: (() => void)[] = [];
  let truncated = false;
  const hub = new RoomHub();

  /** Commits a message (or a reaction) to the room; publishes its live event unless lost. */
  const commit = (opts2: { kind?: "message" | "reaction"; publish?: boolean } = {}) => {
    const eventSeq = BigInt(log.length + 1);
    let event: RoomEvent;
    if ((opts2.kind ?? "message") === "message") {
      const m = create(MessageSchema, {
        id: `m${messages.length + 1}`,
        roomId: ROOM,
        seq: BigInt(messages.length + 1),
      });
      messages.push(m);
      event = create(RoomEventSchema, { roomId: ROOM, eventSeq, kind: { case: "messageCreated", value: m } });
    } else {
      event = create(RoomEventSchema, {
        roomId: ROOM,
        eventSeq,
        kind: { case: "reactionChanged", value: { emoji: "+1" } },
      });
    }
    log.push(event);
    if (opts2.publish ?? true) hub.dispatch(event);
    return event;
  };
  for (let i = 0; i < (opts.messages ?? 0); i++) commit({ publish: false });

  const gate = async () => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    if (opts.gate) await new Promise<void>((resolve) => gates.push(resolve));
    inFlight--;
  };
  const sub = new RoomSubscription({
    roomId: ROOM,
    async fetchMessages(after): Promise<MessagePage> {
      fetches.push(`messages>${after}`);
      await gate();
      const newer = messages.filter((m) => m.seq > after);
      return { messages: newer.slice(0, pageSize), hasMore: newer.length > pageSize };
    },
    async fetchEvents(after): Promise<EventPage> {
      fetches.push(`events>${after}`);
      await gate();
      if (opts.truncateBefore !== undefined && after + 1n < opts.truncateBefore) {
        return { events: [], hasMore: false, truncated: true };
      }
      const newer = log.filter((e) => e.eventSeq > after);
      return { events: newer.slice(0, pageSize), hasMore: newer.length > pageSize, truncated: false };
    },
    send(frame) {
      delivered.push(label(frame));
      return true;
    },
    onCatchUpError(err) {
      throw err;
    },
    onTruncated() {
      truncated = true;
    },
  });
  hub.add(sub);
  const head = () => ({ headSeq: BigInt(messages.length), headEventSeq: BigInt(log.length) });
  return {
    hub,
    sub,
    log,
    delivered,
    fetches,
    commit,
    head,
    release: () => gates.shift()?.(),
    pendingFetches: () => gates.length,
    maxInFlight: () => maxInFlight,
    wasTruncated: () => truncated,
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

async function until(check: () => boolean) {
  for (let i = 0; i < 1000 && !check(); i++) await settle();
  assert.ok(check(), "condition not reached");
}

const typing = () => create(RoomEventSchema, { roomId: ROOM, kind: { case: "typing", value: { userId: "u" } } });

test("afterSeq 0 starts at the head: no replay, then live events in order", async () => {
  const t = setup({ messages: 3 });
  t.sub.start(t.head(), 0n);
  t.commit();
  t.commit({ kind: "reaction" });
  await settle();
  assert.deepEqual(t.delivered, ["m4", "reaction@5"]);
  assert.deepEqual(t.fetches, []);
});

test("resume replays exactly the missed messages in order, then live events", async () => {
  const t = setup({ messages: 5 });
  t.commit({ kind: "reaction", publish: false }); // event 6, before the subscription
  t.sub.start(t.head(), 2n);
  await until(() => t.delivered.length === 3);
  t.commit();
  await settle();
  assert.deepEqual(t.delivered, ["m3", "m4", "m5", "m6"]);
  assert.deepEqual(t.fetches, ["messages>2"]);
});

test("messages committed after the snapshot are not replayed twice", async () => {
  const t = setup({ messages: 4 });
  const head = t.head();
  t.commit(); // m5 / event 5 lands between GetRoom and the replay
  t.sub.start(head, 1n);
  await until(() => t.delivered.length === 4);
  await settle();
  assert.deepEqual(t.delivered, ["m2", "m3", "m4", "m5"]);
});

test("duplicates are dropped", async () => {
  const t = setup({ messages: 2 });
  t.sub.start(t.head(), 0n);
  const e = t.commit();
  t.hub.dispatch(e);
  t.hub.dispatch(t.log[0] as RoomEvent);
  await settle();
  assert.deepEqual(t.delivered, ["m3"]);
});

test("a gap is repaired from the event log before anything newer is delivered", async () => {
  const t = setup({ messages: 5 });
  t.sub.start(t.head(), 0n);
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
  const t = setup({ messages: 1 });
  t.sub.start(t.head(), 0n);
  const two = t.commit({ publish: false });
  t.commit(); // 3 overtakes 2
  await until(() => t.delivered.length === 2);
  t.hub.dispatch(two); // 2 finally arrives
  await settle();
  assert.deepEqual(t.delivered, ["m2", "m3"]);
});

test("catch-up is single-flight and picks up events that arrive while it runs", async () => {
  const t = setup({ messages: 1, gate: true });
  t.sub.start(t.head(), 0n);
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

test("replay and catch-up page until done", async () => {
  const t = setup({ messages: 450, pageSize: 200 });
  t.sub.start(t.head(), 10n);
  await until(() => t.delivered.length === 440);
  assert.deepEqual(
    t.delivered,
    Array.from({ length: 440 }, (_, i) => `m${i + 11}`),
  );
  assert.deepEqual(t.fetches, ["messages>10", "messages>210", "messages>410"]);

  const u = setup({ messages: 450, pageSize: 200 });
  u.sub.start({ headSeq: 10n, headEventSeq: 10n }, 0n);
  u.hub.resyncAll();
  await until(() => u.delivered.length === 440);
  assert.deepEqual(u.delivered.at(-1), "m450");
  assert.deepEqual(u.fetches, ["events>10", "events>210", "events>410"]);
});

test("events seen before the head was known are not lost", async () => {
  const t = setup({ messages: 3 });
  const head = t.head();
  // Registered in the hub, head not known yet: 4 is committed and published.
  t.commit();
  t.sub.start(head, 0n);
  await until(() => t.delivered.length === 1);
  assert.deepEqual(t.delivered, ["m4"]);
});

test("resync catches up on events published while the stream was down", async () => {
  const t = setup();
  t.sub.start(t.head(), 0n);
  t.commit({ publish: false });
  t.commit({ kind: "reaction", publish: false });
  await settle();
  assert.deepEqual(t.delivered, []);
  t.hub.resyncAll();
  await until(() => t.delivered.length === 2);
  assert.deepEqual(t.delivered, ["m1", "reaction@2"]);
});

test("ephemeral events are delivered at once, but only after start", async () => {
  const t = setup({ messages: 1, gate: true });
  t.hub.dispatch(typing());
  t.sub.start(t.head(), 0n);
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
  const t = setup({ messages: 1, truncateBefore: 5n });
  t.sub.start(t.head(), 0n);
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
  t.sub.start(t.head(), 0n);
  t.sub.close();
  t.commit();
  t.hub.resyncAll();
  await settle();
  assert.deepEqual(t.delivered, []);
  assert.deepEqual(t.fetches, []);
});

test("the hub encodes each event once for all of a room's listeners, and only for that room", () => {
  const hub = new RoomHub();
  const seen: { room: string; frame: string }[] = [];
  const listener = (roomId: string) => ({
    roomId,
    onEvent: (_e: RoomEvent, frame: string) => seen.push({ room: roomId, frame }),
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
