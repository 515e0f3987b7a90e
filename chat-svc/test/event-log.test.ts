import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  MemberChanged_Change,
  MemberRole,
  type Message,
  type Room,
  type RoomEvent,
  RoomVisibility,
} from "@parley/proto/chat/v1/chat_pb.js";
import { createLogger } from "@parley/shared/logger.js";
import { startEventCleaner } from "../src/domain/event-retention.js";
import { createDb } from "../src/storage/db.js";
import { type EventStream, type Harness, startHarness, type User } from "./harness.js";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

/** What a client keeps of a room, rebuilt from snapshots or by applying events. */
interface RoomState {
  name: string;
  topic: string;
  roles: Map<string, MemberRole>;
  messages: Map<string, Message>;
}

function stateFrom(room: Room, messages: Message[]): RoomState {
  return {
    name: room.name,
    topic: room.topic,
    roles: new Map(room.members.map((m) => [m.userId, m.role])),
    messages: new Map(messages.map((m) => [m.id, m])),
  };
}

async function fetchState(roomId: string, as: User): Promise<{ state: RoomState; headEventSeq: bigint }> {
  const { room } = await h.client.getRoom({ roomId }, as.call);
  assert.ok(room);
  const page = await h.client.listMessages({ roomId, limit: 200 }, as.call);
  return { state: stateFrom(room, page.messages), headEventSeq: room.headEventSeq };
}

/** The client side of the event log: how each durable event changes the state. */
function apply(state: RoomState, event: RoomEvent): void {
  const { kind } = event;
  switch (kind.case) {
    case "messageCreated":
    case "messageEdited":
      state.messages.set(kind.value.id, kind.value);
      return;
    case "messageDeleted": {
      const m = state.messages.get(kind.value.messageId);
      assert.ok(m, "a deleted message was known");
      state.messages.set(m.id, { ...m, deleted: true, text: "", mentions: [], reactions: [] });
      return;
    }
    case "reactionChanged": {
      const { messageId, emoji, userId, added } = kind.value;
      const m = state.messages.get(messageId);
      assert.ok(m, "a reacted-to message was known");
      const reactions = m.reactions.map((r) => ({
        ...r,
        userIds: r.userIds.filter((id) => id !== userId || r.emoji !== emoji),
      }));
      if (added) {
        const entry = reactions.find((r) => r.emoji === emoji);
        if (entry) entry.userIds.push(userId);
        else reactions.push({ $typeName: "parley.chat.v1.Reaction", emoji, userIds: [userId] });
      }
      state.messages.set(messageId, { ...m, reactions: reactions.filter((r) => r.userIds.length > 0) });
      return;
    }
    case "memberChanged": {
      const { userId, change, role } = kind.value;
      if (change === MemberChanged_Change.LEFT || change === MemberChanged_Change.REMOVED) state.roles.delete(userId);
      else state.roles.set(userId, role);
      return;
    }
    case "roomUpdated":
      state.name = kind.value.name;
      state.topic = kind.value.topic;
      return;
    default:
      assert.fail(`not a durable event: ${kind.case}`);
  }
}

/** Comparable form: reactions as sets (their order is a presentation detail). */
function normalise(state: RoomState) {
  return {
    name: state.name,
    topic: state.topic,
    roles: Object.fromEntries([...state.roles].sort()),
    messages: [...state.messages.values()]
      .sort((a, b) => Number(a.seq - b.seq))
      .map((m) => ({
        ...m,
        reactions: Object.fromEntries(m.reactions.map((r) => [r.emoji, [...r.userIds].sort()])),
      })),
  };
}

/** The room's events off the stream until there are this many of each kind; fails, saying what came, after 10 s. */
async function collect(stream: EventStream, roomId: string, durable: number, ephemeral: number) {
  const got = { durable: [] as RoomEvent[], ephemeral: [] as RoomEvent[] };
  const deadline = Date.now() + 10_000;
  while (got.durable.length < durable || got.ephemeral.length < ephemeral) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const kinds = [...got.durable, ...got.ephemeral].map((e) => e.kind.case);
        reject(new Error(`wanted ${durable} durable and ${ephemeral} ephemeral events, got ${kinds.join(", ")}`));
      }, deadline - Date.now());
    });
    const event = await Promise.race([stream.next(), timeout]).finally(() => clearTimeout(timer));
    // RoomAccess is the members' own feed (who gained or lost the room), not the room's; edge/test/ws.test.ts covers it.
    if (event.roomId !== roomId || event.kind.case === "roomAccess") continue;
    (event.eventSeq > 0n ? got.durable : got.ephemeral).push(event);
  }
  return got;
}

describe("room event log", () => {
  test("each durable change appends exactly one event; the log equals the stream and replays to the same state", async () => {
    const owner = await h.signIn("owner");
    const member = await h.signIn("member");
    // Stays a member throughout, to read the room between steps.
    const watcher = await h.signIn("watcher");
    const joiner = await h.signIn("joiner");
    const added = await h.signIn("added");
    const { room } = await h.client.createRoom(
      { name: "log", visibility: RoomVisibility.PUBLIC, memberIds: [member.userId, watcher.userId] },
      owner.call,
    );
    assert.ok(room);
    assert.equal(room.headEventSeq, 0n, "creation is the starting state, not an event");
    const roomId = room.id;
    const first = await h.client.sendMessage({ roomId, text: "before" }, owner.call);
    await h.client.sendMessage({ roomId, text: "also before" }, member.call);

    // Fetch, subscribe, act, apply what streams in, fetch again, compare.
    const initial = await fetchState(roomId, owner);
    assert.equal(initial.headEventSeq, 2n);
    const controller = new AbortController();
    const stream = await h.openStream(h, controller.signal);

    let head = initial.headEventSeq;
    let durable = 0;
    const sent: Message[] = [];
    async function sendStep(text: string, from: User, parentId = ""): Promise<Message> {
      let message: Message | undefined;
      await step(1, async () => {
        message = (await h.client.sendMessage({ roomId, text, parentId }, from.call)).message;
      });
      assert.ok(message);
      sent.push(message);
      return message;
    }
    async function step(expected: number, action: () => Promise<unknown>): Promise<void> {
      await action();
      const { room: now } = await h.client.getRoom({ roomId }, watcher.call);
      assert.equal(now?.headEventSeq, head + BigInt(expected), `the log grew by ${expected}`);
      head += BigInt(expected);
      durable += expected;
    }

    assert.ok(first.message);
    const q = (await sendStep("hello @member", owner)).id;
    const rid = (await sendStep("hi", member, q)).id;
    await step(1, () => h.client.editMessage({ roomId, messageId: rid, text: "hi @owner" }, member.call));
    await step(0, () => h.client.editMessage({ roomId, messageId: rid, text: "hi @owner" }, member.call));
    await step(1, () => h.client.addReaction({ roomId, messageId: q, emoji: "👍" }, owner.call));
    await step(1, () => h.client.addReaction({ roomId, messageId: q, emoji: "👍" }, member.call));
    await step(0, () => h.client.addReaction({ roomId, messageId: q, emoji: "👍" }, member.call));
    await step(1, () => h.client.removeReaction({ roomId, messageId: q, emoji: "👍" }, member.call));
    await step(0, () => h.client.removeReaction({ roomId, messageId: q, emoji: "👍" }, member.call));
    await step(1, () => h.client.addReaction({ roomId, messageId: rid, emoji: "🎉" }, owner.call));
    await step(1, () => h.client.deleteMessage({ roomId, messageId: rid }, owner.call));
    await step(0, () => h.client.deleteMessage({ roomId, messageId: rid }, owner.call));
    await step(1, () => h.client.updateRoom({ roomId, name: "renamed", topic: "the topic" }, owner.call));
    await step(0, () => h.client.updateRoom({ roomId, name: "renamed" }, owner.call));
    await step(1, () => h.client.addMembers({ roomId, userIds: [added.userId, member.userId] }, owner.call));
    await step(1, () => h.client.joinRoom({ roomId }, joiner.call));
    await step(0, () => h.client.joinRoom({ roomId }, joiner.call));
    await step(1, () => h.client.setMemberRole({ roomId, userId: joiner.userId, role: MemberRole.ADMIN }, owner.call));
    await step(0, () => h.client.setMemberRole({ roomId, userId: joiner.userId, role: MemberRole.ADMIN }, owner.call));
    await step(1, () => h.client.removeMember({ roomId, userId: added.userId }, joiner.call));
    await step(1, () => h.client.leaveRoom({ roomId }, member.call));
    await sendStep("after", owner);
    // The owner leaving hands the room over: two events (left, then role).
    await step(2, () => h.client.leaveRoom({ roomId }, owner.call));
    // Ephemeral: streamed with event_seq 0, never in the log.
    await step(0, () => h.client.sendTyping({ roomId }, joiner.call));
    // Forward from where joining put the joiner's marker (the head then): the last message came after.
    const last = sent.at(-1);
    assert.ok(last);
    await step(0, () => h.client.markRead({ roomId, seq: last.seq }, joiner.call));

    const streamed = await collect(stream, roomId, durable, 2);
    controller.abort();
    assert.deepEqual(streamed.ephemeral.map((e) => [e.kind.case, e.eventSeq]).sort(), [
      ["readMarker", 0n],
      ["typing", 0n],
    ]);

    // The log after what the client had: contiguous, and what the stream delivered.
    const log = await h.client.listEvents({ roomId, afterEventSeq: initial.headEventSeq }, joiner.call);
    assert.equal(log.truncated, false);
    assert.equal(log.hasMore, false);
    assert.equal(log.headEventSeq, head);
    assert.deepEqual(
      log.events.map((e) => e.eventSeq),
      Array.from({ length: durable }, (_, i) => initial.headEventSeq + BigInt(i + 1)),
    );
    const byStreamOrder = [...streamed.durable].sort((a, b) => Number(a.eventSeq - b.eventSeq));
    assert.deepEqual(log.events, byStreamOrder, "ListEvents returns exactly what StreamEvents delivered");
    const created = log.events.flatMap((e) => (e.kind.case === "messageCreated" ? [e.kind.value] : []));
    assert.deepEqual(created, sent, "a created event carries the message as SendMessage answered it");

    // Applying the events to the first snapshot gives the current state.
    for (const event of log.events) apply(initial.state, event);
    const final = await fetchState(roomId, joiner);
    assert.equal(final.headEventSeq, head);
    assert.deepEqual(normalise(initial.state), normalise(final.state));
    assert.equal(final.state.roles.get(joiner.userId), MemberRole.OWNER, "the admin inherited the room");

    // Paging through the log.
    const pages: bigint[][] = [];
    let after = 0n;
    for (;;) {
      const page = await h.client.listEvents({ roomId, afterEventSeq: after, limit: 7 }, joiner.call);
      pages.push(page.events.map((e) => e.eventSeq));
      if (!page.hasMore) break;
      after = page.events.at(-1)?.eventSeq ?? after;
    }
    assert.deepEqual(
      pages.flat(),
      Array.from({ length: Number(head) }, (_, i) => BigInt(i + 1)),
    );
    assert.ok(pages.slice(0, -1).every((p) => p.length === 7));
    const beyond = await h.client.listEvents({ roomId, afterEventSeq: head + 5n }, joiner.call);
    assert.deepEqual(beyond.events, []);
    assert.equal(beyond.truncated, false);
  });

  test("after retention purges old events, asking for them says truncated; the rest resumes normally", async () => {
    const alice = await h.signIn();
    const mk = async () => {
      const { room } = await h.client.createRoom({ name: "retained" }, alice.call);
      assert.ok(room);
      return room.id;
    };
    const roomId = await mk();
    const untouched = await mk();
    for (const text of ["old 1", "old 2", "old 3"]) await h.client.sendMessage({ roomId, text }, alice.call);
    // Every event so far happened at or before `boundary`; every later one after it.
    const boundary = Date.now();
    while (Date.now() <= boundary) await new Promise((r) => setImmediate(r));
    for (const text of ["new 4", "new 5"]) await h.client.sendMessage({ roomId, text }, alice.call);
    const now = Date.now();
    // Younger than the cutoff in this other room: kept.
    await h.client.sendMessage({ roomId: untouched, text: "kept" }, alice.call);

    // The cleaner with a 1 ms retention, run as of boundary + 1 ms + retention.
    const cleaner = startEventCleaner({
      db: createDb(h.infra.sql),
      retentionMs: now - boundary - 1,
      intervalMs: 3_600_000,
      logger: createLogger("test", "silent"),
    });
    const stored = async (id: string) =>
      (
        await h.infra.sql<
          { seq: string }[]
        >`select event_seq::text as seq from room_events where room_id = ${id} order by 1`
      ).map((r) => r.seq);
    try {
      // (Older rooms of this database's other tests are purged as well.)
      const purged = await cleaner.runOnce(new Date(now));
      assert.ok(purged.events >= 3);
      assert.deepEqual(await stored(roomId), ["4", "5"]);
      assert.deepEqual(await stored(untouched), ["1"]);
      assert.deepEqual(await cleaner.runOnce(new Date(now)), { rooms: 0, events: 0 }, "nothing left to purge");
    } finally {
      await cleaner.close();
    }

    for (const afterEventSeq of [0n, 1n, 2n]) {
      const page = await h.client.listEvents({ roomId, afterEventSeq }, alice.call);
      assert.equal(page.truncated, true, `after ${afterEventSeq}`);
      assert.deepEqual(page.events, []);
      assert.equal(page.headEventSeq, 5n);
    }
    const rest = await h.client.listEvents({ roomId, afterEventSeq: 3n }, alice.call);
    assert.equal(rest.truncated, false);
    assert.deepEqual(
      rest.events.map((e) => e.eventSeq),
      [4n, 5n],
    );
    const other = await h.client.listEvents({ roomId: untouched }, alice.call);
    assert.equal(other.truncated, false);
    assert.equal(other.events.length, 1);
    // Messages are not the log: history is still complete.
    const history = await h.client.listMessages({ roomId }, alice.call);
    assert.equal(history.messages.length, 5);
  });
});
