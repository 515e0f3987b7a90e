/**
 * A room as the app renders it, and how each event changes it. Pure
 * functions over immutable values: every change returns a new RoomState and
 * leaves the old one untouched, so a UI can compare by reference.
 *
 * Logged events apply strictly in `eventSeq` order from the room's cursor:
 * one at or below it is a duplicate and changes nothing, one beyond the next
 * is a gap the caller fills by resubscribing. Applying an event to state that
 * already shows it (a fetch raced the event) changes nothing either, so a
 * state fetched at any point and then fed the events after an earlier cursor
 * ends up where the server is.
 */
import { type Timestamp, timestampMs } from "@bufbuild/protobuf/wkt";
import {
  type Member,
  MemberChanged_Change,
  type Message,
  type Reaction,
  type Room,
  type RoomEvent,
  RoomKind,
  type RoomSummary,
} from "@parley/proto/chat/v1/chat_pb.js";
import type { PendingSend } from "./outbox.js";

export interface TypingUser {
  readonly userId: string;
  readonly username: string;
  /** ms since the epoch after which the indicator is dropped unless renewed. */
  readonly until: number;
}

export type RoomStatus =
  /** Subscribing, or reloading after the server said the resume point is gone. */
  | "syncing"
  /** Subscribed: events arrive as they happen. */
  | "live"
  /** The user left or was removed; nothing more arrives. */
  | "left";

/** Why a room is `left`: the user left it (on any device), or someone removed them. */
export type LeftBecause = "left" | "removed";

export interface RoomState {
  readonly roomId: string;
  /** Name, topic, kind and members (members only once the room was fetched with GetRoom). */
  readonly room: Room | undefined;
  readonly status: RoomStatus;
  /** Why the room is `left`, when the server said (a room found gone on a fetch has no reason). */
  readonly leftBecause: LeftBecause | undefined;
  /** Whether `messages` holds the room's latest messages (loadTimeline), or nothing yet. */
  readonly timeline: "none" | "loading" | "loaded";
  /**
   * Loaded messages, ascending and contiguous by seq: the latest ones, or a
   * stretch from further back (opened at the first unread) that `loadNewer`
   * extends until it reaches the head (see `hasNewer`).
   */
  readonly messages: readonly Message[];
  /** Older messages exist before the first loaded one. */
  readonly hasOlder: boolean;
  readonly headSeq: bigint;
  /** The last logged event applied: where a resume continues. */
  readonly eventSeq: bigint;
  /** The signed-in user's read marker. */
  readonly lastReadSeq: bigint;
  readonly unreadCount: bigint;
  /**
   * Unread messages from others that mention the user: ListRooms' count, then
   * kept live (new messages, edits, deletions and read marker moves).
   */
  readonly unreadMentionCount: bigint;
  readonly lastMessage: Message | undefined;
  /** ms since the epoch of the last message (or the room's creation): the room list's order. */
  readonly lastActivity: number;
  /** Every member's read marker that this client knows of. */
  readonly readMarkers: ReadonlyMap<string, bigint>;
  /** Others typing now. */
  readonly typing: readonly TypingUser[];
  /** The user's sends the server has not confirmed, in order (failed ones included). */
  readonly pending: readonly PendingSend[];
}

/** How long a typing indicator lasts without a renewal. */
export const TYPING_TTL_MS = 6_000;

const max = (a: bigint, b: bigint) => (a > b ? a : b);
const unread = (headSeq: bigint, lastReadSeq: bigint) => max(0n, headSeq - lastReadSeq);
const ms = (t: Timestamp | undefined) => (t ? timestampMs(t) : 0);
const min = (a: bigint, b: bigint) => (a < b ? a : b);

/** A message from someone else that mentions `myName` (mentions are stored lower-cased). */
export function mentionsMe(m: Message, me: string, myName: string | undefined): boolean {
  return !!myName && m.senderId !== me && m.mentions.includes(myName.toLowerCase());
}

/** More messages exist after the last loaded one: the loaded stretch stops short of the head. */
export function hasNewer(state: RoomState): boolean {
  const last = state.messages.at(-1);
  return state.timeline === "loaded" && last !== undefined && last.seq < state.headSeq;
}

/**
 * The unread mention count after the read marker moved from `from` to `to`:
 * exact when the messages read are all loaded; otherwise what is known for
 * sure (none once everything is read, never more than the unread).
 */
function mentionsAfterRead(
  count: bigint,
  from: bigint,
  to: bigint,
  headSeq: bigint,
  messages: readonly Message[],
  me: string,
  myName: string | undefined,
): bigint {
  if (to >= headSeq) return 0n;
  if (to <= from) return count;
  const first = messages[0];
  const last = messages.at(-1);
  if (first && last && first.seq <= from + 1n && last.seq >= to) {
    let read = 0n;
    for (const m of messages) if (m.seq > from && m.seq <= to && mentionsMe(m, me, myName)) read++;
    count = max(0n, count - read);
  }
  return min(count, headSeq - to);
}

function markersOf(room: Room | undefined): ReadonlyMap<string, bigint> {
  return new Map((room?.members ?? []).map((m) => [m.userId, m.lastReadSeq]));
}

export function emptyRoom(roomId: string): RoomState {
  return {
    roomId,
    room: undefined,
    status: "syncing",
    leftBecause: undefined,
    timeline: "none",
    messages: [],
    hasOlder: false,
    headSeq: 0n,
    eventSeq: 0n,
    lastReadSeq: 0n,
    unreadCount: 0n,
    unreadMentionCount: 0n,
    lastMessage: undefined,
    lastActivity: 0,
    readMarkers: new Map(),
    typing: [],
    pending: [],
  };
}

/** A room as ListRooms describes it; its events continue from the room's headEventSeq. */
export function roomFromSummary(summary: RoomSummary, previous?: RoomState): RoomState {
  const room = summary.room;
  const base = previous ?? emptyRoom(room?.id ?? "");
  const lastMessage = summary.lastMessage;
  return {
    ...base,
    room: room && room.members.length === 0 && base.room ? { ...room, members: base.room.members } : room,
    headSeq: room?.headSeq ?? 0n,
    eventSeq: room?.headEventSeq ?? 0n,
    lastReadSeq: summary.lastReadSeq,
    unreadCount: summary.unreadCount,
    unreadMentionCount: summary.unreadMentionCount,
    lastMessage,
    lastActivity: Math.max(ms(lastMessage?.createdAt), ms(room?.createdAt)),
    readMarkers: room && room.members.length > 0 ? markersOf(room) : base.readMarkers,
  };
}

/**
 * The room as fetched (GetRoom, then ListMessages when the timeline is
 * wanted): everything known before is replaced, and the events after
 * `room.headEventSeq` (read before the messages) are replayed on top.
 */
export function roomFromFetch(
  previous: RoomState,
  me: string,
  room: Room,
  page: { messages: readonly Message[]; hasMore: boolean; headSeq: bigint } | undefined,
  myName?: string,
): RoomState {
  const mine = room.members.find((m) => m.userId === me);
  const headSeq = max(room.headSeq, page?.headSeq ?? 0n);
  const lastReadSeq = mine?.lastReadSeq ?? previous.lastReadSeq;
  // The count known covers messages up to the previous head; the fetched page may show some that came since.
  const fetched = page?.messages ?? [];
  let mentions = mentionsAfterRead(
    previous.unreadMentionCount,
    previous.lastReadSeq,
    min(lastReadSeq, previous.headSeq),
    previous.headSeq,
    fetched,
    me,
    myName,
  );
  const countedTo = max(previous.headSeq, lastReadSeq);
  for (const m of fetched) if (m.seq > countedTo && mentionsMe(m, me, myName)) mentions++;
  const newest = page?.messages.at(-1);
  const lastMessage =
    newest && (!previous.lastMessage || newest.seq >= previous.lastMessage.seq) ? newest : previous.lastMessage;
  return {
    ...previous,
    room,
    status: "syncing",
    timeline: page ? "loaded" : previous.timeline,
    messages: page ? page.messages : previous.messages,
    hasOlder: page ? page.hasMore : previous.hasOlder,
    headSeq,
    eventSeq: room.headEventSeq,
    lastReadSeq,
    unreadCount: unread(headSeq, lastReadSeq),
    unreadMentionCount: min(mentions, unread(headSeq, lastReadSeq)),
    lastMessage,
    lastActivity: Math.max(ms(lastMessage?.createdAt), ms(room.createdAt)),
    readMarkers: markersOf(room),
  };
}

/** Older messages (ListMessages before the first loaded seq) put in front. */
export function withOlder(state: RoomState, older: readonly Message[], hasMore: boolean): RoomState {
  const first = state.messages[0]?.seq;
  const fresh = first === undefined ? older : older.filter((m) => m.seq < first);
  return { ...state, messages: [...fresh, ...state.messages], hasOlder: hasMore };
}

/** Newer messages (ListMessages after the last loaded seq) put behind; only what continues the stretch. */
export function withNewer(state: RoomState, newer: readonly Message[]): RoomState {
  let last = state.messages.at(-1)?.seq;
  if (last === undefined) return state;
  const fresh: Message[] = [];
  for (const m of newer) {
    if (m.seq !== last + 1n) continue;
    fresh.push(m);
    last = m.seq;
  }
  if (fresh.length === 0) return state;
  const headSeq = max(state.headSeq, last);
  return {
    ...state,
    messages: [...state.messages, ...fresh],
    headSeq,
    unreadCount: unread(headSeq, state.lastReadSeq),
  };
}

/**
 * The latest page (ListMessages, newest first): appended when it continues
 * the loaded stretch, else in its place (the stretch was further back).
 */
export function withLatest(state: RoomState, page: readonly Message[], hasMore: boolean): RoomState {
  const last = state.messages.at(-1)?.seq;
  const first = page[0]?.seq;
  if (first === undefined) return state;
  if (last !== undefined && first <= last + 1n) return withNewer(state, page);
  const headSeq = max(state.headSeq, page.at(-1)?.seq ?? 0n);
  return { ...state, messages: page, hasOlder: hasMore, headSeq, unreadCount: unread(headSeq, state.lastReadSeq) };
}

export type ApplyOutcome = "applied" | "duplicate" | "gap";

export function applyEvent(
  state: RoomState,
  event: RoomEvent,
  me: string,
  now: number,
  /** The user's username: mentions of it are counted in unreadMentionCount. */
  myName?: string,
): { state: RoomState; outcome: ApplyOutcome } {
  if (event.eventSeq > 0n) {
    if (state.eventSeq > 0n && event.eventSeq <= state.eventSeq) return { state, outcome: "duplicate" };
    if (state.eventSeq > 0n && event.eventSeq > state.eventSeq + 1n) return { state, outcome: "gap" };
  }
  const next = change(state, event, me, now, myName);
  return { state: event.eventSeq > 0n ? { ...next, eventSeq: event.eventSeq } : next, outcome: "applied" };
}

function change(state: RoomState, event: RoomEvent, me: string, now: number, myName: string | undefined): RoomState {
  const kind = event.kind;
  switch (kind.case) {
    case "messageCreated": {
      const m = kind.value;
      return {
        ...withMessage(state, m, me, myName),
        typing: state.typing.filter((t) => t.userId !== m.senderId),
      };
    }
    case "messageEdited":
      return recountMention(
        replaceMessage(state, kind.value.id, () => kind.value),
        state,
        kind.value.id,
        me,
        myName,
      );
    case "messageDeleted":
      return recountMention(
        replaceMessage(state, kind.value.messageId, (m) => ({
          ...m,
          text: "",
          mentions: [],
          reactions: [],
          deleted: true,
        })),
        state,
        kind.value.messageId,
        me,
        myName,
      );
    case "reactionChanged": {
      const { messageId, emoji, userId, added } = kind.value;
      return replaceMessage(state, messageId, (m) => ({ ...m, reactions: react(m.reactions, emoji, userId, added) }));
    }
    case "memberChanged":
      return memberChanged(state, kind.value, me);
    case "roomUpdated": {
      const updated = kind.value;
      if (!state.room) return state;
      return {
        ...state,
        room: { ...state.room, name: updated.name, topic: updated.topic, visibility: updated.visibility },
      };
    }
    case "typing": {
      const { userId, username } = kind.value;
      if (userId === me) return state;
      const others = state.typing.filter((t) => t.userId !== userId);
      return { ...state, typing: [...others, { userId, username, until: now + TYPING_TTL_MS }] };
    }
    case "readMarker":
      return withReadMarker(state, kind.value.userId, kind.value.lastReadSeq, me, myName);
    default:
      // presence is the client's, not a room's; an unknown kind from a newer server changes nothing.
      return state;
  }
}

/** A message the server confirmed (an event, or the answer to our own send). */
export function withMessage(state: RoomState, m: Message, me?: string, myName?: string): RoomState {
  const headSeq = max(state.headSeq, m.seq);
  const newest = !state.lastMessage || m.seq >= state.lastMessage.seq;
  const lastMessage = newest ? (state.lastMessage?.id === m.id ? state.lastMessage : m) : state.lastMessage;
  // A stretch further back is not extended past a gap: loadNewer fetches what lies between.
  const last = state.messages.at(-1)?.seq;
  const beyondStretch = last !== undefined && last < state.headSeq && m.seq > last + 1n;
  const messages = state.timeline === "none" || beyondStretch ? state.messages : insertBySeq(state.messages, m);
  const fresh = m.seq > state.headSeq && m.seq > state.lastReadSeq && me !== undefined && mentionsMe(m, me, myName);
  return {
    ...state,
    messages,
    headSeq,
    unreadCount: unread(headSeq, state.lastReadSeq),
    unreadMentionCount: state.unreadMentionCount + (fresh ? 1n : 0n),
    lastMessage,
    lastActivity: newest ? Math.max(state.lastActivity, ms(m.createdAt)) : state.lastActivity,
  };
}

/** Never regresses: a marker only moves forward. */
export function withReadMarker(state: RoomState, userId: string, seq: bigint, me: string, myName?: string): RoomState {
  const markers = new Map(state.readMarkers);
  markers.set(userId, max(markers.get(userId) ?? 0n, seq));
  if (userId !== me) return { ...state, readMarkers: markers };
  const lastReadSeq = max(state.lastReadSeq, seq);
  const unreadMentionCount = mentionsAfterRead(
    state.unreadMentionCount,
    state.lastReadSeq,
    lastReadSeq,
    state.headSeq,
    state.messages,
    me,
    myName,
  );
  return {
    ...state,
    readMarkers: markers,
    lastReadSeq,
    unreadCount: unread(state.headSeq, lastReadSeq),
    unreadMentionCount,
  };
}

/** An unread message edited or deleted may gain or lose its mention of the user. */
function recountMention(
  next: RoomState,
  before: RoomState,
  id: string,
  me: string,
  myName: string | undefined,
): RoomState {
  if (next === before) return next;
  const was =
    before.messages.find((m) => m.id === id) ?? (before.lastMessage?.id === id ? before.lastMessage : undefined);
  const now = next.messages.find((m) => m.id === id) ?? (next.lastMessage?.id === id ? next.lastMessage : undefined);
  if (!was || !now || now.seq <= next.lastReadSeq) return next;
  const delta = (mentionsMe(now, me, myName) ? 1n : 0n) - (mentionsMe(was, me, myName) ? 1n : 0n);
  return delta === 0n ? next : { ...next, unreadMentionCount: max(0n, next.unreadMentionCount + delta) };
}

export function withoutExpiredTyping(state: RoomState, now: number): RoomState {
  const live = state.typing.filter((t) => t.until > now);
  return live.length === state.typing.length ? state : { ...state, typing: live };
}

function insertBySeq(messages: readonly Message[], m: Message): readonly Message[] {
  const last = messages.at(-1);
  if (!last || m.seq > last.seq) return [...messages, m];
  let i = messages.length - 1;
  while (i >= 0 && (messages[i] as Message).seq > m.seq) i--;
  // Already there: the confirmed copy we hold may be newer (edited since), so it stays.
  if (i >= 0 && (messages[i] as Message).seq === m.seq) return messages;
  // Older than the first loaded message: it belongs to history not loaded yet.
  if (i < 0) return messages;
  return [...messages.slice(0, i + 1), m, ...messages.slice(i + 1)];
}

function replaceMessage(state: RoomState, id: string, edit: (m: Message) => Message): RoomState {
  const i = state.messages.findIndex((m) => m.id === id);
  const messages = i < 0 ? state.messages : state.messages.map((m, j) => (j === i ? edit(m) : m));
  const lastMessage = state.lastMessage?.id === id ? edit(state.lastMessage) : state.lastMessage;
  return i < 0 && lastMessage === state.lastMessage ? state : { ...state, messages, lastMessage };
}

/** Reactions keep the server's order: emojis by their first reaction, users by when they reacted. */
function react(reactions: readonly Reaction[], emoji: string, userId: string, added: boolean): Reaction[] {
  const existing = reactions.find((r) => r.emoji === emoji);
  if (added) {
    if (existing?.userIds.includes(userId)) return [...reactions];
    if (existing) return reactions.map((r) => (r === existing ? { ...r, userIds: [...r.userIds, userId] } : r));
    return [...reactions, { $typeName: "parley.chat.v1.Reaction", emoji, userIds: [userId] }];
  }
  if (!existing) return [...reactions];
  const userIds = existing.userIds.filter((u) => u !== userId);
  return userIds.length === 0
    ? reactions.filter((r) => r !== existing)
    : reactions.map((r) => (r === existing ? { ...r, userIds } : r));
}

function memberChanged(
  state: RoomState,
  change: { userId: string; change: MemberChanged_Change; role: Member["role"] },
  me: string,
): RoomState {
  const gone = change.change === MemberChanged_Change.LEFT || change.change === MemberChanged_Change.REMOVED;
  const after =
    gone && change.userId === me
      ? leftRoom(state, change.change === MemberChanged_Change.REMOVED ? "removed" : "left")
      : state;
  const room = state.room;
  if (!room) return after;
  let members = room.members;
  if (gone) members = members.filter((m) => m.userId !== change.userId);
  else if (change.change === MemberChanged_Change.JOINED && !members.some((m) => m.userId === change.userId)) {
    members = [
      ...members,
      // `online` is the fetch's snapshot; the live answer is the client's `presence`.
      {
        $typeName: "parley.chat.v1.Member",
        userId: change.userId,
        role: change.role,
        lastReadSeq: state.headSeq,
        online: false,
        // Nobody deactivated can join or be added.
        deactivated: false,
      },
    ];
  } else if (change.change === MemberChanged_Change.ROLE) {
    members = members.map((m) => (m.userId === change.userId ? { ...m, role: change.role } : m));
  } else if (change.change === MemberChanged_Change.DEACTIVATED || change.change === MemberChanged_Change.REACTIVATED) {
    const deactivated = change.change === MemberChanged_Change.DEACTIVATED;
    members = members.map((m) =>
      m.userId === change.userId && m.deactivated !== deactivated ? { ...m, deactivated } : m,
    );
  }
  const memberIds = gone
    ? room.memberIds.filter((id) => id !== change.userId)
    : room.memberIds.includes(change.userId)
      ? room.memberIds
      : [...room.memberIds, change.userId];
  return { ...after, room: { ...room, members, memberIds } };
}

/**
 * The room as the user no longer a member: the first reason heard stays (the
 * member_changed event, the room_removed frame and the unsubscribe all say it).
 */
export function leftRoom(state: RoomState, because?: LeftBecause): RoomState {
  return { ...state, status: "left", leftBecause: state.leftBecause ?? because };
}

/**
 * In a direct room, the other member if an operator deactivated them: the
 * conversation is then read-only (the server refuses sends, edits and
 * reactions with USER_DEACTIVATED) until they are reactivated, and a
 * member_changed event says when that changes. Undefined in a group room,
 * and until the room's members are fetched.
 */
export function deactivatedPeer(state: RoomState, me: string): Member | undefined {
  if (state.room?.kind !== RoomKind.DIRECT) return undefined;
  return state.room.members.find((m) => m.userId !== me && m.deactivated);
}
