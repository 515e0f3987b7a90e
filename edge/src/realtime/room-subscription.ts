/**
 * One socket's subscription to one room, and the one mechanism behind resume,
 * gap repair and duplicate suppression: a cursor, the last event_seq
 * delivered. A live event right after the cursor is delivered; one at or
 * before it is a duplicate and dropped; one further ahead means events were
 * missed (or are still in flight from another chat-svc instance), and the
 * subscription catches up from the room's event log (ListEvents after the
 * cursor, single-flight, paging) before delivering anything newer.
 * Ephemeral events (event_seq 0: typing, read markers, presence) are
 * delivered as they come and never replayed.
 *
 * A client resumes by message seq (Subscribe.after_seq): the messages it
 * missed up to the room's head at subscribe time are replayed from history
 * first, then events continue from the head_event_seq of that same snapshot.
 */
import type { Message, RoomEvent } from "@parley/proto/chat/v1/chat_pb.js";
import { encodeEvent, encodeServerFrame } from "./frame-codec.js";
import type { RoomListener } from "./room-hub.js";

export interface MessagePage {
  /** Ascending seq. */
  messages: readonly Message[];
  hasMore: boolean;
}

export interface EventPage {
  /** Ascending event_seq. */
  events: readonly RoomEvent[];
  hasMore: boolean;
  /** The log no longer holds the events after the cursor. */
  truncated: boolean;
}

export interface RoomSubscriptionDeps {
  roomId: string;
  /** Message history after `afterSeq`, oldest first (ListMessages with the socket's token). */
  fetchMessages(afterSeq: bigint): Promise<MessagePage>;
  /** The room's event log after `afterEventSeq` (ListEvents with the socket's token). */
  fetchEvents(afterEventSeq: bigint): Promise<EventPage>;
  /** Writes a frame to the socket; false once the socket takes no more. */
  send(frame: string): boolean;
  /** Told of every event delivered, after it was sent. */
  onDelivered?(event: RoomEvent): void;
  /** A catch-up failed; the next event or resync tries again. */
  onCatchUpError(err: unknown): void;
  /** The missed events are gone from the log: the client has to reload the room. */
  onTruncated(): void;
}

/** The room at the moment of subscribing (one GetRoom snapshot). */
export interface RoomHead {
  headSeq: bigint;
  headEventSeq: bigint;
}

export class RoomSubscription implements RoomListener {
  readonly roomId: string;
  /** Last event_seq delivered; undefined until start() (the room's head is not known yet). */
  private cursor: bigint | undefined;
  /** Highest event_seq seen live, including before start() and while catching up. */
  private maxSeen = 0n;
  /** Messages (after, upTo] still to replay, done first by the catch-up runner. */
  private replay: { after: bigint; upTo: bigint } | undefined;
  private catchingUp = false;
  private lookAgain = false;
  private closed = false;

  constructor(private readonly deps: RoomSubscriptionDeps) {
    this.roomId = deps.roomId;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Begins delivery once `subscribed` has been sent: replays messages
   * (afterSeq, headSeq] when 0 < afterSeq < headSeq, then events after
   * headEventSeq, including any seen live since the subscription was registered.
   */
  start(head: RoomHead, afterSeq: bigint): void {
    if (this.closed || this.cursor !== undefined) return;
    this.cursor = head.headEventSeq;
    if (afterSeq > 0n && afterSeq < head.headSeq) this.replay = { after: afterSeq, upTo: head.headSeq };
    if (this.replay || this.maxSeen > this.cursor) this.catchUp();
  }

  close(): void {
    this.closed = true;
  }

  onEvent(event: RoomEvent, frame: string): void {
    if (this.closed) return;
    const seq = event.eventSeq;
    if (seq === 0n) {
      // Ephemeral: nothing to order it against, and worthless late.
      if (this.cursor !== undefined) this.deliver(event, frame);
      return;
    }
    if (seq > this.maxSeen) this.maxSeen = seq;
    if (this.cursor === undefined) return;
    if (this.catchingUp) {
      if (seq > this.cursor) this.lookAgain = true;
      return;
    }
    if (seq <= this.cursor) return;
    if (seq === this.cursor + 1n) {
      this.cursor = seq;
      this.deliver(event, frame);
      return;
    }
    this.catchUp();
  }

  onResync(): void {
    if (this.closed || this.cursor === undefined) return;
    this.catchUp();
  }

  private deliver(event: RoomEvent, frame: string): void {
    if (!this.deps.send(frame)) {
      this.closed = true;
      return;
    }
    this.deps.onDelivered?.(event);
  }

  private catchUp(): void {
    if (this.catchingUp) {
      this.lookAgain = true;
      return;
    }
    this.catchingUp = true;
    this.runCatchUp()
      .catch((err: unknown) => {
        if (!this.closed) this.deps.onCatchUpError(err);
      })
      .finally(() => {
        this.catchingUp = false;
      });
  }

  private async runCatchUp(): Promise<void> {
    if (this.replay) {
      await this.replayMessages(this.replay);
      // The log is only needed if something newer than the snapshot went by meanwhile.
      if (this.closed || (!this.lookAgain && this.maxSeen <= (this.cursor ?? 0n))) return;
    }
    do {
      this.lookAgain = false;
      let page: EventPage;
      let progressed: boolean;
      do {
        const from = this.cursor ?? 0n;
        page = await this.deps.fetchEvents(from);
        if (this.closed) return;
        if (page.truncated) {
          this.closed = true;
          this.deps.onTruncated();
          return;
        }
        for (const event of page.events) {
          if (event.eventSeq <= (this.cursor ?? 0n)) continue;
          this.cursor = event.eventSeq;
          this.deliver(event, encodeEvent(event));
          if (this.closed) return;
        }
        progressed = (this.cursor ?? 0n) > from;
      } while (page.hasMore && progressed);
    } while (this.lookAgain && !this.closed);
  }

  /** History as message_created events; anything after `upTo` comes through the event log instead. */
  private async replayMessages(range: { after: bigint; upTo: bigint }): Promise<void> {
    let after = range.after;
    while (after < range.upTo) {
      const page = await this.deps.fetchMessages(after);
      if (this.closed) return;
      const before = after;
      for (const message of page.messages) {
        if (message.seq <= after || message.seq > range.upTo) continue;
        after = message.seq;
        const frame = encodeServerFrame({
          kind: {
            case: "event",
            value: {
              roomId: this.roomId,
              ...(message.createdAt ? { occurredAt: message.createdAt } : {}),
              kind: { case: "messageCreated", value: message },
            },
          },
        });
        if (!this.deps.send(frame)) {
          this.closed = true;
          return;
        }
      }
      // Nothing newer (e.g. the tail was deleted for good): the replay is as complete as history is.
      if (after === before || !page.hasMore) break;
    }
    this.replay = undefined;
  }
}
