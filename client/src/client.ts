/**
 * `createParleyClient`: the SDK's front door. It wires the Connect clients,
 * the realtime connection, the outbox and the room states together and
 * publishes one immutable snapshot for the app to render.
 *
 * The promise it keeps: every room's state is the server's, event for event.
 * A room is fetched (GetRoom, whose headEventSeq is read before any
 * messages), then subscribed from that point, so the events replayed fill
 * whatever the fetch missed; a reconnect resubscribes every room from the
 * last event applied, and the server replays exactly what was missed. When
 * the server no longer has that history (`truncated`, or `RESYNC_REQUIRED`)
 * the room is fetched again. Events for a room being fetched are dropped:
 * the subscription that follows the fetch replays them.
 *
 * The room list follows the user's own feed: `roomAdded` (added, joined,
 * a room created with them or a direct room opened with them, on any
 * device) adds and subscribes the room, `roomRemoved` marks it left; each
 * reconnect, and `roomListStale` (the server may have lost some), reads the
 * list again.
 */
import { create } from "@bufbuild/protobuf";
import { type Message, type Room, type RoomSummary, RoomSummarySchema } from "@parley/proto/chat/v1/chat_pb.js";
import type { User } from "@parley/proto/user/v1/user_pb.js";
import { type Auth, type AuthOptions, createAuth } from "./auth.js";
import type { BackoffOptions } from "./backoff.js";
import {
  type ConnectionState,
  RealtimeConnection,
  type WebSocketConstructor,
  type WebSocketLike,
} from "./connection.js";
import { ParleyError, toParleyError } from "./errors.js";
import { clientFrames, type ServerFrame } from "./frames.js";
import { createOutbox, type Outbox, type PendingSend } from "./outbox.js";
import { createMemoryOutboxStore, type OutboxStore } from "./outbox-store.js";
import {
  applyEvent,
  emptyRoom,
  hasNewer,
  type LeftBecause,
  leftRoom,
  type RoomState,
  roomFromFetch,
  roomFromSummary,
  TYPING_TTL_MS,
  withLatest,
  withMessage,
  withNewer,
  withOlder,
  withoutExpiredTyping,
  withReadMarker,
} from "./room-state.js";
import { type ChatClient, createRpcClients, type UserClient } from "./rpc.js";
import { createStore, type Store } from "./store.js";

export interface ParleySnapshot {
  readonly connection: ConnectionState;
  /** The signed-in user, once known. */
  readonly user: User | undefined;
  /** Rooms the user is in, most recent activity first. */
  readonly rooms: readonly RoomState[];
  readonly roomsById: ReadonlyMap<string, RoomState>;
  /**
   * Who is online (true) or offline (false): the members of each room as
   * GetRoom found them when the room was fetched, then every change since.
   */
  readonly presence: ReadonlyMap<string, boolean>;
}

export interface ParleyClientOptions {
  /** The edge, e.g. "http://localhost:3000". */
  baseUrl: string;
  /** Defaults to `baseUrl` with ws(s): and path /ws. */
  wsUrl?: string;
  /** A ready Auth, or how to make one (the token from sign-in and a refresh strategy). */
  auth: Auth | AuthOptions;
  /** The global WebSocket by default; in Node 20 pass `ws`'s. */
  WebSocket?: WebSocketConstructor;
  /** Where unsent messages wait; in memory by default (createIndexedDbOutboxStore in browsers). */
  outboxStore?: OutboxStore;
  /** Reconnect and send-retry delays. */
  backoff?: BackoffOptions;
  fetch?: typeof globalThis.fetch;
  /** Messages per ListMessages page (default 50, at most 200). */
  pageSize?: number;
}

export interface ParleyClient extends Store<ParleySnapshot> {
  readonly users: UserClient;
  readonly chats: ChatClient;
  readonly auth: Auth;
  /**
   * Loads the outbox, opens the socket, and fetches the profile and room
   * list. Resolves even when offline (the snapshot's `connection` says so);
   * what could not be fetched is fetched once the socket is ready.
   */
  start(): Promise<void>;
  close(): void;
  /** Fetches the room list again; rarely needed, since `roomAdded` and `roomRemoved` keep it current. */
  refreshRooms(): Promise<void>;
  /** Follows one room not in the list yet (just created or joined). */
  watchRoom(roomId: string): Promise<void>;
  /** Fetches the room's latest messages and keeps them current. */
  loadTimeline(roomId: string): Promise<void>;
  /** Fetches the page before the first loaded message; false when there is none. */
  loadOlder(roomId: string): Promise<boolean>;
  /**
   * Fetches the page after the last loaded message, when the timeline opened
   * further back (see `hasNewer`); false once the loaded messages reach the newest.
   */
  loadNewer(roomId: string): Promise<boolean>;
  /** Makes the latest messages loaded (appended, or in place of a stretch further back). */
  loadLatest(roomId: string): Promise<void>;
  /** Queues a message; it shows in the room's `pending` until the server has it. */
  send(roomId: string, text: string, options?: { parentId?: string }): Promise<PendingSend>;
  retrySend(clientMessageId: string): Promise<void>;
  discardSend(clientMessageId: string): Promise<void>;
  edit(roomId: string, messageId: string, text: string): Promise<Message>;
  deleteMessage(roomId: string, messageId: string): Promise<Message>;
  react(roomId: string, messageId: string, emoji: string): Promise<Message>;
  unreact(roomId: string, messageId: string, emoji: string): Promise<Message>;
  /** Moves the user's read marker to `seq` (never back). */
  markRead(roomId: string, seq: bigint): Promise<void>;
  /** Tells the room the user is typing; call on every keystroke, it is throttled. */
  typing(roomId: string): void;
  /** Drops the socket and connects again at once (e.g. the app knows the network changed). */
  reconnect(): void;
}

const TYPING_THROTTLE_MS = 3_000;
const RESYNC_RETRY_MS = 2_000;
/** A stale room list is read again within this long, at random. */
const STALE_LIST_SPREAD_MS = 2_000;
const REASON_RESYNC = "RESYNC_REQUIRED";
/** Read messages shown above the first unread when a room opens there. */
const CONTEXT_BEFORE_UNREAD = 10;

/** RoomRemoved.reason and Unsubscribed.reason, as the app tells the user. */
function leftBecause(reason: string): LeftBecause | undefined {
  if (reason === "REMOVED_FROM_ROOM") return "removed";
  if (reason === "LEFT_ROOM") return "left";
  return undefined;
}

function defaultWsUrl(baseUrl: string): string {
  const url = new URL("/ws", baseUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}

export function createParleyClient(options: ParleyClientOptions): ParleyClient {
  const ownsAuth = !("token" in options.auth);
  const auth = "token" in options.auth ? options.auth : createAuth(options.auth);
  const { users, chats } = createRpcClients({ baseUrl: options.baseUrl, auth, fetch: options.fetch });
  const WebSocketImpl =
    options.WebSocket ?? (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  if (!WebSocketImpl) throw new Error("no global WebSocket here: pass the `ws` package's as options.WebSocket");
  const pageSize = options.pageSize ?? 50;

  const store = createStore<ParleySnapshot>({
    connection: { status: "idle", attempt: 0 },
    user: undefined,
    rooms: [],
    roomsById: new Map(),
    presence: new Map(),
  });
  const snapshot = () => store.getSnapshot();
  const me = () => snapshot().user?.id ?? "";
  const myName = () => snapshot().user?.username;

  const publishRooms = (roomsById: Map<string, RoomState>) => {
    const rooms = [...roomsById.values()]
      .filter((r) => r.status !== "left")
      .sort((a, b) => b.lastActivity - a.lastActivity);
    store.set({ ...snapshot(), roomsById, rooms });
  };
  const updateRoom = (roomId: string, change: (room: RoomState) => RoomState) => {
    const current = snapshot().roomsById.get(roomId);
    if (!current) return;
    const next = change(current);
    if (next === current) return;
    const roomsById = new Map(snapshot().roomsById);
    roomsById.set(roomId, next);
    publishRooms(roomsById);
  };
  const addRoom = (room: RoomState) => {
    const roomsById = new Map(snapshot().roomsById);
    roomsById.set(room.roomId, { ...room, pending: outbox.pending().filter((p) => p.roomId === room.roomId) });
    publishRooms(roomsById);
  };

  /** Rooms being fetched again: their events are dropped until they are resubscribed. */
  const syncs = new Map<string, Promise<void>>();
  let closed = false;

  const outbox: Outbox = createOutbox({
    store: options.outboxStore ?? createMemoryOutboxStore(),
    backoff: options.backoff,
    canSend: () => connection.status === "open",
    async transmit(send) {
      const answer = await connection.request(clientFrames.send(send));
      if (answer.kind.case !== "ack" || !answer.kind.value.message) throw unexpected(answer);
      return answer.kind.value.message;
    },
    delivered(_send, message) {
      updateRoom(message.roomId, (room) => withMessage(room, message, me(), myName()));
    },
    onChange(pending) {
      const roomsById = new Map(snapshot().roomsById);
      let changed = false;
      for (const [id, room] of roomsById) {
        const mine = pending.filter((p) => p.roomId === id);
        if (mine.length === 0 && room.pending.length === 0) continue;
        roomsById.set(id, { ...room, pending: mine });
        changed = true;
      }
      if (changed) publishRooms(roomsById);
    },
  });

  /** Sends we made that the server shows as stored (in an event or a fetch) need no more sending. */
  const settleFrom = (messages: readonly Message[]) => {
    const mine = me();
    for (const m of messages) if (m.senderId === mine && m.clientMessageId !== "") outbox.settle(m.clientMessageId);
  };

  const connection: RealtimeConnection = new RealtimeConnection({
    url: options.wsUrl ?? defaultWsUrl(options.baseUrl),
    WebSocket: WebSocketImpl,
    auth,
    backoff: options.backoff,
    onState(state) {
      store.set({ ...snapshot(), connection: state });
    },
    onReady(user) {
      if (user) store.set({ ...snapshot(), user });
      // Rooms gained while no socket was open were announced to none: the list is read again.
      if (!loaded) void loadInitial().catch(() => undefined);
      else void listRooms().catch(() => undefined);
      for (const room of snapshot().roomsById.values()) {
        if (room.status === "left") continue;
        if (syncs.has(room.roomId)) continue;
        void subscribeRoom(room.roomId);
      }
      outbox.kick();
    },
    onFrame: received,
  });

  function received(frame: ServerFrame): void {
    const kind = frame.kind;
    if (kind.case === "event") {
      const event = kind.value;
      if (event.kind.case === "presence") {
        const presence = new Map(snapshot().presence);
        presence.set(event.kind.value.userId, event.kind.value.online);
        store.set({ ...snapshot(), presence });
        return;
      }
      if (syncs.has(event.roomId)) return;
      const room = snapshot().roomsById.get(event.roomId);
      if (!room) return;
      const { state, outcome } = applyEvent(room, event, me(), Date.now(), myName());
      if (outcome === "gap") {
        // The server promises no gaps; if one shows anyway, resuming from the cursor fills it.
        if (room.status !== "syncing") void subscribeRoom(event.roomId);
        return;
      }
      if (outcome === "duplicate") return;
      updateRoom(event.roomId, () => state);
      if (event.kind.case === "messageCreated") settleFrom([event.kind.value]);
      if (event.kind.case === "typing") scheduleTypingSweep();
      return;
    }
    if (kind.case === "roomAdded") {
      if (kind.value.room) roomAdded(kind.value.room);
      return;
    }
    if (kind.case === "roomRemoved") {
      updateRoom(kind.value.roomId, (room) => leftRoom(room, leftBecause(kind.value.reason)));
      return;
    }
    if (kind.case === "roomListStale") {
      // Every socket of the edge hears this at once: spread the reads out.
      retryLater(() => listRooms(), Math.random() * STALE_LIST_SPREAD_MS);
      return;
    }
    if (kind.case === "unsubscribed") {
      const { roomId, reason } = kind.value;
      if (reason === REASON_RESYNC) void resync(roomId);
      else updateRoom(roomId, (room) => leftRoom(room, leftBecause(reason)));
    }
  }

  /**
   * A room the user now belongs to: as ListRooms would list it (a new member
   * has read up to its head), subscribed from the announced head; then its
   * members, which the announcement leaves out.
   */
  function roomAdded(room: Room): void {
    const known = snapshot().roomsById.get(room.id);
    if (known && known.status !== "left") return;
    mergeSummaries([create(RoomSummarySchema, { room, lastReadSeq: room.headSeq, unreadCount: 0n })]);
    void fetchMembers(room.id).catch(() => undefined);
  }

  /**
   * Fills in a listed room's members (and their presence) without moving its
   * cursor: a fetch at or past the events applied is taken, and the events
   * after it apply on top (member changes are idempotent); an older one is
   * read again.
   */
  async function fetchMembers(roomId: string): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const { room } = await chats.getRoom({ roomId });
      const current = snapshot().roomsById.get(roomId);
      if (!room || !current || current.status === "left") return;
      seedPresence(room);
      if (room.headEventSeq >= current.eventSeq) {
        updateRoom(roomId, (r) => (r.room && r.room.members.length > 0 ? r : { ...r, room }));
        return;
      }
    }
  }

  function seedPresence(room: Room): void {
    if (room.members.length === 0) return;
    const presence = new Map(snapshot().presence);
    for (const member of room.members) presence.set(member.userId, member.online);
    store.set({ ...snapshot(), presence });
  }

  async function subscribeRoom(roomId: string): Promise<void> {
    const room = snapshot().roomsById.get(roomId);
    if (!room || connection.status !== "open") return;
    updateRoom(roomId, (r) => (r.status === "live" ? { ...r, status: "syncing" } : r));
    const cursor = room.eventSeq;
    let answer: ServerFrame;
    try {
      answer = await connection.request(clientFrames.subscribe(roomId, cursor));
    } catch (err) {
      const error = toParleyError(err);
      if (error.code === "not_found" || error.code === "permission_denied") {
        updateRoom(roomId, (r) => leftRoom(r));
      } else if (error.code === "resource_exhausted") {
        retryLater(() => subscribeRoom(roomId));
      }
      // A lost connection resubscribes when the next one is ready.
      return;
    }
    if (answer.kind.case !== "subscribed") return;
    // Truncated: what this client missed is no longer kept. (A cursor of 0 asks for the whole log.)
    if (answer.kind.value.truncated) {
      await resync(roomId);
      return;
    }
    updateRoom(roomId, (r) => (r.status === "syncing" ? { ...r, status: "live" } : r));
  }

  /**
   * Fetches the room again (with its latest messages when the timeline is
   * shown or asked for) and resubscribes. Never rejects: a failed fetch is
   * tried again. One runs per room at a time; asking while one runs waits for
   * it, and runs again if the timeline it was asked for is still missing.
   */
  function resync(roomId: string): Promise<void> {
    const running = syncs.get(roomId);
    if (running) {
      return running.then(() =>
        snapshot().roomsById.get(roomId)?.timeline === "loading" ? resync(roomId) : undefined,
      );
    }
    const sync: Promise<void> = fetchAndResubscribe(roomId).finally(() => {
      if (syncs.get(roomId) === sync) syncs.delete(roomId);
    });
    syncs.set(roomId, sync);
    return sync;
  }

  async function fetchAndResubscribe(roomId: string): Promise<void> {
    updateRoom(roomId, (r) => ({ ...r, status: "syncing" }));
    try {
      // The room first: its headEventSeq is where the subscription resumes, so
      // nothing that happens while the messages are read can be missed.
      const { room } = await chats.getRoom({ roomId });
      if (!room) throw new ParleyError("not_found", "room not found", "ROOM_NOT_FOUND");
      seedPresence(room);
      const timeline = snapshot().roomsById.get(roomId)?.timeline;
      const page = timeline === "none" ? undefined : await firstPage(room, timeline === "loading");
      updateRoom(roomId, (r) => roomFromFetch(r, me(), room, page, myName()));
      if (page) settleFrom(page.messages);
    } catch (err) {
      const error = toParleyError(err);
      if (error.code === "not_found" || error.code === "permission_denied") {
        updateRoom(roomId, (r) => leftRoom(r));
        return;
      }
      // Fetching failed (the network, most likely): the room stays as it was and is fetched again shortly.
      retryLater(() => resync(roomId));
      return;
    }
    syncs.delete(roomId);
    await subscribeRoom(roomId);
  }

  /**
   * The page a timeline opens with: the latest, unless opening with more
   * unread than a page holds; then the stretch from just before the first
   * unread on (loadNewer continues it), so nothing unread is skipped.
   */
  async function firstPage(room: Room, opening: boolean) {
    const lastReadSeq = room.members.find((m) => m.userId === me())?.lastReadSeq ?? room.headSeq;
    if (!opening || room.headSeq - lastReadSeq <= BigInt(pageSize - CONTEXT_BEFORE_UNREAD)) {
      return chats.listMessages({ roomId: room.id, limit: pageSize });
    }
    const afterSeq = lastReadSeq > BigInt(CONTEXT_BEFORE_UNREAD) ? lastReadSeq - BigInt(CONTEXT_BEFORE_UNREAD) : 0n;
    const page = await chats.listMessages({ roomId: room.id, afterSeq, limit: pageSize });
    return { messages: page.messages, headSeq: page.headSeq, hasMore: afterSeq > 0n };
  }

  const retryLater = (run: () => Promise<void>, delayMs = RESYNC_RETRY_MS) => {
    if (closed) return;
    setTimeout(() => void run().catch(() => undefined), delayMs);
  };

  let typingSweep: ReturnType<typeof setTimeout> | undefined;
  function scheduleTypingSweep(): void {
    if (typingSweep !== undefined || closed) return;
    typingSweep = setTimeout(() => {
      typingSweep = undefined;
      const now = Date.now();
      const roomsById = new Map(snapshot().roomsById);
      let changed = false;
      let stillTyping = false;
      for (const [id, room] of roomsById) {
        const next = withoutExpiredTyping(room, now);
        roomsById.set(id, next);
        changed ||= next !== room;
        stillTyping ||= next.typing.length > 0;
      }
      if (changed) publishRooms(roomsById);
      if (stillTyping) scheduleTypingSweep();
    }, TYPING_TTL_MS / 2);
  }

  const typingSent = new Map<string, number>();

  async function messageRequest(kind: Parameters<typeof connection.request>[0]): Promise<Message> {
    const answer = await connection.request(kind);
    if (answer.kind.case !== "messageAck" || !answer.kind.value.message) throw unexpected(answer);
    return answer.kind.value.message;
  }

  let loaded = false;
  /** The profile and the room list; the rooms are subscribed as soon as the socket allows. */
  async function loadInitial(): Promise<void> {
    const [{ user }, { rooms }] = await Promise.all([users.getProfile({}), chats.listRooms({})]);
    if (user) store.set({ ...snapshot(), user });
    mergeSummaries(rooms);
    loaded = true;
  }

  async function listRooms(): Promise<void> {
    const { rooms } = await chats.listRooms({});
    mergeSummaries(rooms);
  }

  function mergeSummaries(summaries: readonly RoomSummary[]): void {
    const roomsById = new Map(snapshot().roomsById);
    const fresh: string[] = [];
    for (const summary of summaries) {
      const id = summary.room?.id;
      if (!id) continue;
      const known = roomsById.get(id);
      // A room already followed keeps its cursor: its subscription carries it forward from there.
      if (known && known.status !== "left") continue;
      roomsById.set(id, {
        ...roomFromSummary(summary),
        pending: outbox.pending().filter((p) => p.roomId === id),
      });
      fresh.push(id);
    }
    publishRooms(roomsById);
    for (const id of fresh) void subscribeRoom(id);
  }

  return {
    users,
    chats,
    auth,
    getSnapshot: store.getSnapshot,
    subscribe: store.subscribe,
    async start() {
      await outbox.load();
      connection.start();
      await loadInitial().catch(() => {
        // Offline or the service is away: retried once the socket is ready; the snapshot shows the connection.
      });
    },
    close() {
      closed = true;
      if (typingSweep !== undefined) clearTimeout(typingSweep);
      outbox.close();
      connection.stop();
      // An Auth handed in may be shared with other clients; one made here stops with this client.
      if (ownsAuth) auth.close();
    },
    refreshRooms: listRooms,
    async watchRoom(roomId) {
      const known = snapshot().roomsById.get(roomId);
      if (known && known.status !== "left") return;
      addRoom(emptyRoom(roomId));
      await resync(roomId);
    },
    async loadTimeline(roomId) {
      if (!snapshot().roomsById.has(roomId)) addRoom(emptyRoom(roomId));
      if (snapshot().roomsById.get(roomId)?.timeline !== "none") return;
      updateRoom(roomId, (r) => ({ ...r, timeline: "loading" }));
      await resync(roomId);
    },
    async loadOlder(roomId) {
      const room = snapshot().roomsById.get(roomId);
      const first = room?.messages[0];
      if (!room || !first || !room.hasOlder) return false;
      const page = await chats.listMessages({ roomId, beforeSeq: first.seq, limit: pageSize });
      updateRoom(roomId, (r) => withOlder(r, page.messages, page.hasMore));
      return page.hasMore;
    },
    async loadNewer(roomId) {
      const room = snapshot().roomsById.get(roomId);
      const last = room?.messages.at(-1);
      if (!room || !last || !hasNewer(room)) return false;
      const page = await chats.listMessages({ roomId, afterSeq: last.seq, limit: pageSize });
      settleFrom(page.messages);
      updateRoom(roomId, (r) => withNewer(r, page.messages));
      const now = snapshot().roomsById.get(roomId);
      return now ? hasNewer(now) : false;
    },
    async loadLatest(roomId) {
      const room = snapshot().roomsById.get(roomId);
      if (!room || !hasNewer(room)) return;
      const page = await chats.listMessages({ roomId, limit: pageSize });
      settleFrom(page.messages);
      updateRoom(roomId, (r) => withLatest(r, page.messages, page.hasMore));
    },
    send: (roomId, text, sendOptions) => {
      // The others' view ends this user's typing when the message arrives; typing again must say so at once.
      typingSent.delete(roomId);
      return outbox.add({ roomId, text, parentId: sendOptions?.parentId });
    },
    retrySend: (id) => outbox.retry(id),
    discardSend: (id) => outbox.discard(id),
    edit: (roomId, messageId, text) => messageRequest(clientFrames.edit(roomId, messageId, text)),
    deleteMessage: (roomId, messageId) => messageRequest(clientFrames.delete(roomId, messageId)),
    react: (roomId, messageId, emoji) => messageRequest(clientFrames.react(roomId, messageId, emoji)),
    unreact: (roomId, messageId, emoji) => messageRequest(clientFrames.unreact(roomId, messageId, emoji)),
    async markRead(roomId, seq) {
      let lastReadSeq: bigint;
      if (connection.status === "open") {
        const answer = await connection.request(clientFrames.markRead(roomId, seq));
        if (answer.kind.case !== "readAck") throw unexpected(answer);
        lastReadSeq = answer.kind.value.lastReadSeq;
      } else {
        lastReadSeq = (await chats.markRead({ roomId, seq })).lastReadSeq;
      }
      updateRoom(roomId, (room) => withReadMarker(room, me(), lastReadSeq, me(), myName()));
    },
    typing(roomId) {
      const now = Date.now();
      if (now - (typingSent.get(roomId) ?? 0) < TYPING_THROTTLE_MS) return;
      if (connection.notify(clientFrames.typing(roomId))) typingSent.set(roomId, now);
    },
    reconnect: () => connection.reconnect(),
  };
}

function unexpected(frame: ServerFrame): ParleyError {
  return new ParleyError("internal", `unexpected answer: ${frame.kind.case ?? "empty"}`, "UNEXPECTED_FRAME");
}
