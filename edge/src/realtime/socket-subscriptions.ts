/**
 * A socket's room subscriptions, and every rule that ends one: the client
 * unsubscribes or subscribes the room again; the member leaves or is removed
 * (REMOVED_FROM_ROOM, LEFT_ROOM); the log no longer holds what it missed
 * (RESYNC_REQUIRED); a catch-up is refused because the socket may no longer
 * read the room (the refusal's reason); a write finds the socket gone; the
 * socket closes. A subscription the server ends is announced with
 * `unsubscribed` and its reason.
 *
 * Created on a socket's first subscribe: idle sockets never carry one.
 */
import type { CallOptions } from "@connectrpc/connect";
import { MemberChanged_Change, type RoomEvent } from "@parley/proto/chat/v1/chat_pb.js";
import { appError, Code, ConnectError, errorReason } from "@parley/shared/errors.js";
import type { Logger } from "@parley/shared/logger.js";
import type { ChatClient } from "../clients.js";
import { encodeServerFrame, type OutFrame } from "./frame-codec.js";
import type { RoomHub } from "./room-hub.js";
import { type EventPage, RoomSubscription, type SubscriptionOwner } from "./room-subscription.js";
import { REASON_LEFT, REASON_REMOVED } from "./user-feed.js";

export const MAX_SUBSCRIPTIONS = 200;
/** Page size for resume and gap repair (ListEvents): the service's maximum. */
const EVENT_PAGE = 500;

/** Why the server ended a subscription (Unsubscribed.reason), besides REASON_REMOVED and REASON_LEFT. */
const REASON_RESYNC = "RESYNC_REQUIRED";

/** What subscriptions need of their socket. */
export interface SubscriberSocket {
  readonly userId: string | undefined;
  /** Writes a frame, counted as `type`; false once the socket takes no more. */
  write(frame: OutFrame, type: string): boolean;
  /** Resolves when the socket can take another page of a backlog. */
  caughtUp(): Promise<void>;
  /** Call options for a call made for the socket's user. */
  call(): CallOptions;
  /** A call for a subscription failed in a way that ends the socket, not the subscription (the session ended). */
  failed(err: ConnectError): void;
}

export interface SubscriptionDeps {
  chat: ChatClient;
  hub: RoomHub;
  logger: Logger;
}

/** Where a new subscription stands, for `subscribed`; `start` begins delivery once that has been written. */
export interface Subscribed {
  roomId: string;
  headSeq: bigint;
  headEventSeq: bigint;
  truncated: boolean;
  start(): void;
}

export class SocketSubscriptions implements SubscriptionOwner {
  private readonly byRoom = new Map<string, RoomSubscription>();
  /**
   * Each subscription's room head when membership was checked for it: a
   * left/removed event at or before it is history the client is replaying
   * (they have come back since), not the end of the subscription.
   */
  private readonly memberAsOf = new WeakMap<RoomSubscription, bigint>();
  private closed = false;

  constructor(
    private readonly socket: SubscriberSocket,
    private readonly deps: SubscriptionDeps,
  ) {}

  /**
   * Registers the subscription before asking where the room is, so no live
   * event falls between the two; then tells where delivery starts: after
   * `afterEventSeq` (0 included: from the log's start; undefined: from the
   * room's head, nothing replayed). A resume
   * point the log no longer covers, or one beyond the room's head, is
   * `truncated` and continues from the head. Undefined when the subscription
   * ended meanwhile.
   */
  async subscribe(roomId: string, afterEventSeq: bigint | undefined): Promise<Subscribed | undefined> {
    this.unsubscribe(roomId);
    if (this.closed) return undefined;
    if (this.byRoom.size >= MAX_SUBSCRIPTIONS) {
      throw appError(Code.ResourceExhausted, "TOO_MANY_SUBSCRIPTIONS", `at most ${MAX_SUBSCRIPTIONS} rooms per socket`);
    }
    const sub = new RoomSubscription(roomId, this);
    this.byRoom.set(roomId, sub);
    this.deps.hub.add(sub);
    let headSeq: bigint;
    let headEventSeq: bigint;
    let page: EventPage | undefined;
    try {
      const [head, events] = await Promise.all([
        this.deps.chat.getRoomHead({ roomId }, this.socket.call()),
        afterEventSeq === undefined ? undefined : this.fetchEvents(roomId, afterEventSeq),
      ]);
      headSeq = head.headSeq;
      headEventSeq = head.headEventSeq;
      this.memberAsOf.set(sub, head.headEventSeq);
      // The two reads are separate snapshots: the later head is the truer one.
      if (events?.headEventSeq !== undefined && events.headEventSeq > headEventSeq) headEventSeq = events.headEventSeq;
      page = events;
    } catch (err) {
      if (this.byRoom.get(roomId) === sub) this.unsubscribe(roomId);
      throw err;
    }
    if (sub.isClosed) return undefined;
    const from = page && afterEventSeq !== undefined ? afterEventSeq : undefined;
    const truncated = from !== undefined && (page?.truncated === true || from > headEventSeq);
    const start = () => (from !== undefined && !truncated ? sub.start(from, page) : sub.start(headEventSeq));
    return { roomId, headSeq, headEventSeq, truncated, start };
  }

  /** The client's unsubscribe; nothing to tell when it was not subscribed. */
  unsubscribe(roomId: string): void {
    const sub = this.byRoom.get(roomId);
    if (!sub) return;
    this.byRoom.delete(roomId);
    this.drop(sub);
  }

  /** The socket closed: every subscription ends, and none starts after. */
  closeAll(): void {
    this.closed = true;
    for (const sub of this.byRoom.values()) this.drop(sub);
    this.byRoom.clear();
  }

  fetchEvents(roomId: string, afterEventSeq: bigint): Promise<EventPage> {
    return this.deps.chat.listEvents({ roomId, afterEventSeq, limit: EVENT_PAGE }, this.socket.call());
  }

  write(frame: OutFrame): boolean {
    return this.socket.write(frame, "event");
  }

  caughtUp(): Promise<void> {
    return this.socket.caughtUp();
  }

  /** A member who left or was removed stops receiving the room at once. */
  delivered(sub: RoomSubscription, event: RoomEvent): void {
    if (event.kind.case !== "memberChanged") return;
    const { userId, change } = event.kind.value;
    if (userId !== this.socket.userId || event.eventSeq <= (this.memberAsOf.get(sub) ?? 0n)) return;
    if (change === MemberChanged_Change.REMOVED) this.end(sub, REASON_REMOVED);
    else if (change === MemberChanged_Change.LEFT) this.end(sub, REASON_LEFT);
  }

  /** The room's log no longer has what the subscription missed: the client reloads and subscribes again. */
  truncated(sub: RoomSubscription): void {
    this.end(sub, REASON_RESYNC);
  }

  catchUpFailed(sub: RoomSubscription, err: unknown): void {
    const ce = ConnectError.from(err);
    if (ce.code === Code.Unauthenticated) {
      this.socket.failed(ce);
      return;
    }
    if (ce.code === Code.PermissionDenied || ce.code === Code.NotFound) {
      // The socket may no longer read this room.
      this.end(sub, errorReason(ce));
      return;
    }
    this.deps.logger.warn({ err: ce.message, roomId: sub.roomId }, "catch-up failed; will retry on the next event");
  }

  /** Ends a subscription the server gave up on, telling the client why. */
  private end(sub: RoomSubscription, reason: string): void {
    if (this.byRoom.get(sub.roomId) !== sub) {
      // Already replaced or ended: the client has nothing to be told.
      this.drop(sub);
      return;
    }
    this.unsubscribe(sub.roomId);
    this.socket.write(
      encodeServerFrame({ kind: { case: "unsubscribed", value: { roomId: sub.roomId, reason } } }),
      "unsubscribed",
    );
  }

  private drop(sub: RoomSubscription): void {
    sub.close();
    this.deps.hub.remove(sub);
  }
}
