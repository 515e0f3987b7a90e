import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import {
  MemberChanged_Change,
  MemberRole,
  MemberSchema,
  MessageDeletedSchema,
  MessageSchema,
  ReadMarkerSchema,
  type RoomEvent,
  RoomEventSchema,
  RoomKind,
  RoomSchema,
  RoomSummarySchema,
} from "@parley/proto/chat/v1/chat_pb.js";
import {
  applyEvent,
  deactivatedPeer,
  emptyRoom,
  hasNewer,
  leftRoom,
  type RoomState,
  roomFromSummary,
  withLatest,
  withNewer,
  withReadMarker,
} from "./room-state.js";

const ROOM = "00000000-0000-4000-8000-000000000001";
const ME = "me";

const created = (eventSeq: bigint, seq: bigint, text: string): RoomEvent =>
  create(RoomEventSchema, {
    roomId: ROOM,
    eventSeq,
    kind: {
      case: "messageCreated",
      value: create(MessageSchema, { id: `m${seq}`, roomId: ROOM, seq, text, senderId: "bob" }),
    },
  });

const loaded = (eventSeq: bigint): RoomState => ({ ...emptyRoom(ROOM), timeline: "loaded", eventSeq });

test("logged events apply once, in order: a repeat changes nothing and a gap is reported, not applied", () => {
  let state = loaded(4n);
  const first = applyEvent(state, created(5n, 1n, "one"), ME, 0);
  assert.equal(first.outcome, "applied");
  state = first.state;
  assert.equal(state.eventSeq, 5n);
  const again = applyEvent(state, created(5n, 1n, "one"), ME, 0);
  assert.equal(again.outcome, "duplicate");
  assert.equal(again.state, state, "the same object: nothing re-renders");
  const skipped = applyEvent(state, created(7n, 3n, "three"), ME, 0);
  assert.equal(skipped.outcome, "gap");
  assert.equal(skipped.state, state);
  assert.deepEqual(
    state.messages.map((m) => m.text),
    ["one"],
  );
  assert.equal(state.unreadCount, 1n);
});

test("a message already held (fetched) is not replaced by an older copy from a replayed event", () => {
  const edited = create(MessageSchema, { id: "m1", roomId: ROOM, seq: 1n, text: "edited", senderId: "bob" });
  const state: RoomState = { ...loaded(1n), messages: [edited], headSeq: 1n };
  const replay = applyEvent(state, created(2n, 1n, "original"), ME, 0);
  assert.deepEqual(
    replay.state.messages.map((m) => m.text),
    ["edited"],
  );
});

test("reactions toggle per user, keeping the server's order", () => {
  let state: RoomState = {
    ...loaded(1n),
    messages: [create(MessageSchema, { id: "m1", roomId: ROOM, seq: 1n, text: "hi" })],
  };
  const react = (eventSeq: bigint, emoji: string, userId: string, added: boolean) => {
    state = applyEvent(
      state,
      create(RoomEventSchema, {
        roomId: ROOM,
        eventSeq,
        kind: { case: "reactionChanged", value: { messageId: "m1", emoji, userId, added } },
      }),
      ME,
      0,
    ).state;
  };
  react(2n, "👍", "a", true);
  react(3n, "🎉", "b", true);
  react(4n, "👍", "b", true);
  react(5n, "👍", "a", false);
  react(6n, "🎉", "b", false);
  assert.deepEqual(
    state.messages[0]?.reactions.map((r) => [r.emoji, r.userIds]),
    [["👍", ["b"]]],
  );
});

test("an operator's (de)activation flips the member's flag, and makes a direct room read-only while it lasts", () => {
  const roomOf = (kind: RoomKind): RoomState => ({
    ...loaded(1n),
    room: create(RoomSchema, {
      id: ROOM,
      kind,
      memberIds: [ME, "bob"],
      members: [
        create(MemberSchema, { userId: ME, role: MemberRole.MEMBER }),
        create(MemberSchema, { userId: "bob", role: MemberRole.MEMBER }),
      ],
    }),
  });
  const changed = (eventSeq: bigint, userId: string, change: MemberChanged_Change): RoomEvent =>
    create(RoomEventSchema, {
      roomId: ROOM,
      eventSeq,
      kind: { case: "memberChanged", value: { userId, change, role: MemberRole.MEMBER } },
    });
  const deactivated = (state: RoomState) => state.room?.members.map((m) => [m.userId, m.deactivated]);

  let direct = roomOf(RoomKind.DIRECT);
  assert.equal(deactivatedPeer(direct, ME), undefined);
  direct = applyEvent(direct, changed(2n, "bob", MemberChanged_Change.DEACTIVATED), ME, 0).state;
  assert.deepEqual(deactivated(direct), [
    [ME, false],
    ["bob", true],
  ]);
  assert.deepEqual(direct.room?.memberIds, [ME, "bob"], "still a member");
  assert.equal(deactivatedPeer(direct, ME)?.userId, "bob");
  direct = applyEvent(direct, changed(3n, "bob", MemberChanged_Change.REACTIVATED), ME, 0).state;
  assert.equal(deactivatedPeer(direct, ME), undefined);
  assert.deepEqual(deactivated(direct), [
    [ME, false],
    ["bob", false],
  ]);

  // A group room shows who is deactivated, but stays writable.
  const group = applyEvent(roomOf(RoomKind.GROUP), changed(2n, "bob", MemberChanged_Change.DEACTIVATED), ME, 0).state;
  assert.deepEqual(deactivated(group), [
    [ME, false],
    ["bob", true],
  ]);
  assert.equal(deactivatedPeer(group, ME), undefined);
});

test("a room the user is removed from says so; one they left says that; the first reason heard stays", () => {
  const room: RoomState = {
    ...loaded(1n),
    status: "live",
    room: create(RoomSchema, {
      id: ROOM,
      kind: RoomKind.GROUP,
      memberIds: [ME, "bob"],
      members: [
        create(MemberSchema, { userId: ME, role: MemberRole.MEMBER }),
        create(MemberSchema, { userId: "bob", role: MemberRole.OWNER }),
      ],
    }),
  };
  const gone = (userId: string, change: MemberChanged_Change): RoomEvent =>
    create(RoomEventSchema, {
      roomId: ROOM,
      eventSeq: 2n,
      kind: { case: "memberChanged", value: { userId, change, role: MemberRole.MEMBER } },
    });

  const removed = applyEvent(room, gone(ME, MemberChanged_Change.REMOVED), ME, 0).state;
  assert.equal(removed.status, "left");
  assert.equal(removed.leftBecause, "removed");
  assert.deepEqual(removed.room?.memberIds, ["bob"]);
  // The room_removed frame that follows the event does not overwrite it.
  assert.equal(leftRoom(removed, "left").leftBecause, "removed");

  const left = applyEvent(room, gone(ME, MemberChanged_Change.LEFT), ME, 0).state;
  assert.equal(left.leftBecause, "left");

  const othersGone = applyEvent(room, gone("bob", MemberChanged_Change.REMOVED), ME, 0).state;
  assert.equal(othersGone.status, "live");
  assert.equal(othersGone.leftBecause, undefined);

  // Found gone on a fetch: left, for no reason the server gave.
  assert.equal(leftRoom(room).leftBecause, undefined);
  assert.equal(leftRoom(room).status, "left");
});

const msg = (seq: bigint, text: string, senderId = "bob", mentions: string[] = []) =>
  create(MessageSchema, { id: `m${seq}`, roomId: ROOM, seq, text, senderId, mentions });
const event = (eventSeq: bigint, kind: RoomEvent["kind"]): RoomEvent =>
  create(RoomEventSchema, { roomId: ROOM, eventSeq, kind });

test("the unread mention count starts at ListRooms', grows with live mentions of the user and falls as they are read", () => {
  // Not loaded (the sidebar only): one unread mention the server counted.
  let state = roomFromSummary(
    create(RoomSummarySchema, {
      room: create(RoomSchema, { id: ROOM, headSeq: 2n, headEventSeq: 2n }),
      lastReadSeq: 0n,
      unreadCount: 2n,
      unreadMentionCount: 1n,
    }),
  );
  const apply = (e: RoomEvent) => {
    state = applyEvent(state, e, ME, 0, "Me_Too").state;
  };
  apply(event(3n, { case: "messageCreated", value: msg(3n, "plain") }));
  assert.equal(state.unreadMentionCount, 1n, "a later message does not take the mention away");
  apply(event(4n, { case: "messageCreated", value: msg(4n, "@me_too look", "bob", ["me_too"]) }));
  apply(event(5n, { case: "messageCreated", value: msg(5n, "@me_too note to self", ME, ["me_too"]) }));
  assert.deepEqual([state.unreadCount, state.unreadMentionCount], [5n, 2n], "the user's own mention is not counted");
  // Read on another device up to 3: what it covered is not loaded, so only the bound is known.
  state = withReadMarker(state, ME, 3n, ME, "me_too");
  assert.equal(state.unreadMentionCount, 2n);
  state = withReadMarker(state, ME, 5n, ME, "me_too");
  assert.equal(state.unreadMentionCount, 0n, "all read");

  // Loaded: reading past a mention takes exactly it off; an edit adding one counts it.
  let open: RoomState = {
    ...loaded(10n),
    headSeq: 4n,
    unreadCount: 4n,
    unreadMentionCount: 2n,
    messages: [
      msg(1n, "@me_too a", "bob", ["me_too"]),
      msg(2n, "b"),
      msg(3n, "@me_too c", "bob", ["me_too"]),
      msg(4n, "d"),
    ],
  };
  // The marker's move as the server announces it (before the answer to markRead).
  open = applyEvent(
    open,
    event(0n, { case: "readMarker", value: create(ReadMarkerSchema, { userId: ME, lastReadSeq: 2n }) }),
    ME,
    0,
    "me_too",
  ).state;
  assert.deepEqual([open.unreadCount, open.unreadMentionCount], [2n, 1n]);
  open = applyEvent(
    open,
    event(11n, { case: "messageDeleted", value: create(MessageDeletedSchema, { messageId: "m3" }) }),
    ME,
    0,
    "me_too",
  ).state;
  assert.equal(open.unreadMentionCount, 0n, "a deleted mention is gone");
  open = applyEvent(open, event(12n, { case: "messageCreated", value: msg(5n, "x") }), ME, 0, "me_too").state;
  open = applyEvent(
    open,
    event(13n, { case: "messageEdited", value: msg(5n, "x @me_too", "bob", ["me_too"]) }),
    ME,
    0,
    "me_too",
  ).state;
  assert.equal(open.unreadMentionCount, 1n, "an edit that adds a mention counts it");
});

test("a timeline opened further back is extended by loadNewer's pages, not by live messages past its end", () => {
  let state: RoomState = {
    ...loaded(20n),
    headSeq: 10n,
    messages: [msg(3n, "c"), msg(4n, "d")],
  };
  assert.equal(hasNewer(state), true);
  state = applyEvent(state, event(21n, { case: "messageCreated", value: msg(11n, "k") }), ME, 0).state;
  assert.deepEqual(
    state.messages.map((m) => m.seq),
    [3n, 4n],
    "not appended after a gap",
  );
  assert.equal(state.headSeq, 11n);
  state = withNewer(state, [msg(5n, "e"), msg(6n, "f")]);
  assert.deepEqual(
    state.messages.map((m) => m.seq),
    [3n, 4n, 5n, 6n],
  );
  state = withLatest(state, [msg(9n, "i"), msg(10n, "j"), msg(11n, "k")], true);
  assert.deepEqual(
    state.messages.map((m) => m.seq),
    [9n, 10n, 11n],
    "the latest page replaces a stretch it does not continue",
  );
  assert.equal(hasNewer(state), false);
  state = applyEvent(state, event(22n, { case: "messageCreated", value: msg(12n, "l") }), ME, 0).state;
  assert.deepEqual(state.messages.at(-1)?.seq, 12n, "at the head, live messages append");
});
