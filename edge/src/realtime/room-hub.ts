/**
 * Fan-out of the edge's single chat-svc event stream: room → subscribers.
 * Each event is encoded once (JSON, then UTF-8), however many sockets receive it.
 *
 * Events of one room committed on different chat-svc instances can arrive out
 * of order. Left alone, every subscriber of the room would see the gap and
 * fetch it from the log (a thousand subscribers, a thousand ListEvents calls
 * for one reordering). So the hub holds an event that arrives ahead of the
 * room's next expected event_seq for a moment (REORDER_WINDOW_MS) and
 * releases it as soon as the gap fills; only a gap that outlasts the window
 * (an event really lost) is left to the subscriptions' own repair.
 */
import type { RoomEvent } from "@parley/proto/chat/v1/chat_pb.js";
import { encodeEvent, type OutFrame } from "./frame-codec.js";
import { fanoutDelay } from "./ws-metrics.js";

export interface RoomListener {
  readonly roomId: string;
  /** A live event; `frame` is its ServerFrame, encoded once and shared by every listener. */
  onEvent(event: RoomEvent, frame: OutFrame): void;
  /** Events may have been missed (the stream reconnected): catch up from the cursor. */
  onResync(): void;
}

/** How long an event that overtook an earlier one waits for it. */
const REORDER_WINDOW_MS = 50;
/** Events held per room at most; more means the gap is not a reordering. */
const MAX_HELD = 256;

interface Room {
  listeners: Set<RoomListener>;
  /** The event_seq expected next; undefined until the room's first event. */
  next: bigint | undefined;
  /** Events that arrived ahead of `next`, by event_seq. */
  held: Map<bigint, RoomEvent> | undefined;
  timer: NodeJS.Timeout | undefined;
}

export class RoomHub {
  private readonly rooms = new Map<string, Room>();

  constructor(private readonly reorderWindowMs = REORDER_WINDOW_MS) {}

  add(listener: RoomListener): void {
    let room = this.rooms.get(listener.roomId);
    if (!room) {
      room = { listeners: new Set(), next: undefined, held: undefined, timer: undefined };
      this.rooms.set(listener.roomId, room);
    }
    room.listeners.add(listener);
  }

  remove(listener: RoomListener): void {
    const room = this.rooms.get(listener.roomId);
    if (!room) return;
    room.listeners.delete(listener);
    if (room.listeners.size === 0) {
      this.stopWaiting(room);
      this.rooms.delete(listener.roomId);
    }
  }

  dispatch(event: RoomEvent): void {
    const room = this.rooms.get(event.roomId);
    if (!room || room.listeners.size === 0) return;
    const seq = event.eventSeq;
    // Ephemeral events have no place in the order; late or duplicate ones are the subscriptions' to judge.
    if (seq === 0n || room.next === undefined || seq <= room.next) {
      this.send(room, event);
      if (room.next === undefined || seq === room.next) {
        if (seq !== 0n) room.next = seq + 1n;
        this.releaseReady(room);
      }
      return;
    }
    room.held ??= new Map();
    room.held.set(seq, event);
    if (room.held.size > MAX_HELD) {
      this.releaseAll(room);
      return;
    }
    room.timer ??= setTimeout(() => {
      room.timer = undefined;
      this.releaseAll(room);
    }, this.reorderWindowMs);
    room.timer.unref?.();
  }

  /** Everything held is released in order: the stream reconnected, subscriptions catch up from their cursors. */
  resyncAll(): void {
    for (const room of this.rooms.values()) {
      this.releaseAll(room);
      room.next = undefined;
      for (const listener of [...room.listeners]) listener.onResync();
    }
  }

  listenerCount(roomId?: string): number {
    if (roomId !== undefined) return this.rooms.get(roomId)?.listeners.size ?? 0;
    let n = 0;
    for (const room of this.rooms.values()) n += room.listeners.size;
    return n;
  }

  /** Events currently held back waiting for an earlier one (for tests and metrics). */
  heldCount(roomId: string): number {
    return this.rooms.get(roomId)?.held?.size ?? 0;
  }

  private send(room: Room, event: RoomEvent): void {
    const frame = encodeEvent(event);
    // No copy: a Set iterates safely while listeners remove themselves (a socket closing on a slow write).
    for (const listener of room.listeners) listener.onEvent(event, frame);
    // Committed events only: ephemeral ones (typing, eventSeq 0) were never in a transaction.
    const at = event.occurredAt;
    if (at !== undefined && event.eventSeq !== 0n) {
      fanoutDelay.observe(Math.max(0, Date.now() - (Number(at.seconds) * 1000 + at.nanos / 1e6)) / 1000);
    }
  }

  /** Releases the held events that now follow `next` without a gap. */
  private releaseReady(room: Room): void {
    const held = room.held;
    if (!held || room.next === undefined) return;
    for (let event = held.get(room.next); event; event = held.get(room.next)) {
      held.delete(room.next);
      room.next += 1n;
      this.send(room, event);
    }
    if (held.size === 0) this.stopWaiting(room);
  }

  /** The gap outlasted the window: release what is held, in order, and expect what follows it. */
  private releaseAll(room: Room): void {
    const held = room.held;
    this.stopWaiting(room);
    if (!held || held.size === 0) return;
    const events = [...held.values()].sort((a, b) => (a.eventSeq < b.eventSeq ? -1 : 1));
    const last = events.at(-1);
    if (last) room.next = last.eventSeq + 1n;
    for (const event of events) this.send(room, event);
  }

  private stopWaiting(room: Room): void {
    if (room.timer) clearTimeout(room.timer);
    room.timer = undefined;
    room.held = undefined;
  }
}
