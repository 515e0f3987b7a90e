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
 * A client resumes by event_seq (Subscribe.after_event_seq): the cursor
 * starts there, so the same catch-up replays every kind of event it missed
 * (messages, edits, deletions, reactions, membership, room updates) in log
 * order before live ones.
 */
import type { RoomEvent } from "@parley/proto/chat/v1/chat_pb.js";
import { encodeEvent, type OutFrame } from "./frame-codec.js";
import type { RoomListener } from "./room-hub.js";

/** Catch-up passes that found the log behind what was seen live before giving up until the next event. */
const MAX_IDLE_PASSES = 5;
const IDLE_PASS_DELAY_MS = 20;

export interface EventPage {
  /** Ascending event_seq. */
  events: readonly RoomEvent[];
  hasMore: boolean;
  /** The log no longer holds the events after the cursor. */
  truncated: boolean;
  /** The newest event_seq in the log when the page was read. */
  headEventSeq?: bigint;
}

/** What a subscription needs from its socket; shared by all of the socket's subscriptions. */
export interface SubscriptionOwner {
  /** The room's event log after `afterEventSeq` (ListEvents with the socket's token). */
  fetchEvents(roomId: string, afterEventSeq: bigint): Promise<EventPage>;
  /** Writes a frame to the socket; false once the socket takes no more. */
  write(frame: OutFrame): boolean;
  /** Resolves when the socket can take another page of a backlog. */
  caughtUp(): Promise<void>;
  /** Told of every event delivered, after it was sent. */
  delivered(sub: RoomSubscription, event: RoomEvent): void;
  /** A catch-up failed; the next event or resync tries again unless the owner ends the subscription. */
  catchUpFailed(sub: RoomSubscription, err: unknown): void;
  /** The missed events are gone from the log: the client has to reload the room. */
  truncated(sub: RoomSubscription): void;
}

export class RoomSubscription implements RoomListener {
  /** Last event_seq delivered; undefined until start() (where to begin is not known yet). */
  private cursor: bigint | undefined;
  /** Highest event_seq seen live, including before start() and while catching up. */
  private maxSeen = 0n;
  /** A first page the subscriber already fetched, delivered by the catch-up runner first. */
  private prefetched: EventPage | undefined;
  private catchingUp = false;
  private lookAgain = false;
  private closed = false;

  constructor(
    readonly roomId: string,
    private readonly owner: SubscriptionOwner,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Begins delivery once `subscribed` has been sent, after event_seq `cursor`:
   * the events of `firstPage` (ListEvents after `cursor`, when the caller
   * already has it), then the rest of the log, then live events, including
   * any seen since the subscription was registered.
   */
  start(cursor: bigint, firstPage?: EventPage): void {
    if (this.closed || this.cursor !== undefined) return;
    this.cursor = cursor;
    this.prefetched = firstPage && firstPage.events.length > 0 ? firstPage : undefined;
    if (this.prefetched || this.maxSeen > cursor) this.catchUp();
  }

  close(): void {
    this.closed = true;
    this.prefetched = undefined;
  }

  onEvent(event: RoomEvent, frame: OutFrame): void {
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
      // Newer events went by while this one was late: fetch them now rather than wait for the next.
      if (!this.closed && this.maxSeen > seq) this.catchUp();
      return;
    }
    this.catchUp();
  }

  onResync(): void {
    if (this.closed || this.cursor === undefined) return;
    this.catchUp();
  }

  private deliver(event: RoomEvent, frame: OutFrame): void {
    if (!this.owner.write(frame)) {
      this.closed = true;
      return;
    }
    this.owner.delivered(this, event);
  }

  private catchUp(): void {
    if (this.catchingUp) {
      this.lookAgain = true;
      return;
    }
    this.catchingUp = true;
    this.runCatchUp().catch((err: unknown) => {
      if (!this.closed) this.owner.catchUpFailed(this, err);
    });
  }

  private async runCatchUp(): Promise<void> {
    try {
      let idlePasses = 0;
      for (;;) {
        this.lookAgain = false;
        const before = this.cursor;
        let page: EventPage;
        let progressed: boolean;
        do {
          const from = this.cursor ?? 0n;
          const prefetched = this.prefetched;
          this.prefetched = undefined;
          page = prefetched ?? (await this.owner.fetchEvents(this.roomId, from));
          if (this.closed) return;
          if (page.truncated) {
            this.closed = true;
            this.owner.truncated(this);
            return;
          }
          for (const event of page.events) {
            if (event.eventSeq <= (this.cursor ?? 0n)) continue;
            // The log is contiguous: anything else means the page does not follow the cursor.
            if (event.eventSeq !== (this.cursor ?? 0n) + 1n) break;
            this.cursor = event.eventSeq;
            this.deliver(event, encodeEvent(event));
            if (this.closed) return;
            // Within a page too: a page can be more than the socket may hold.
            await this.owner.caughtUp();
            if (this.closed) return;
          }
          progressed = (this.cursor ?? 0n) > from;
        } while (page.hasMore && progressed);
        const behind = this.maxSeen > (this.cursor ?? 0n);
        if (!this.lookAgain && !behind) return;
        if (this.cursor === before && !this.lookAgain) {
          // Seen live but not readable yet (an earlier event's transaction is
          // still committing elsewhere): look again shortly, a few times; after
          // that the next event or resync does.
          if (++idlePasses > MAX_IDLE_PASSES) return;
          await new Promise((resolve) => setTimeout(resolve, IDLE_PASS_DELAY_MS * idlePasses));
          if (this.closed) return;
        } else {
          idlePasses = 0;
        }
      }
    } finally {
      // At the very return that ends the last look, not a microtask later: an
      // event arriving after it is handled live, not left to a runner that is gone.
      this.catchingUp = false;
    }
  }
}
