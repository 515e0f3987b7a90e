/**
 * Fan-out of the edge's single chat-svc event stream: room → subscribers.
 * Each event is encoded to JSON once, however many sockets receive it.
 */
import type { RoomEvent } from "@parley/proto/chat/v1/chat_pb.js";
import { encodeEvent } from "./frame-codec.js";

export interface RoomListener {
  readonly roomId: string;
  /** A live event; `frame` is its ServerFrame JSON, shared by every listener. */
  onEvent(event: RoomEvent, frame: string): void;
  /** Events may have been missed (the stream reconnected): catch up from the cursor. */
  onResync(): void;
}

export class RoomHub {
  private readonly rooms = new Map<string, Set<RoomListener>>();

  add(listener: RoomListener): void {
    let set = this.rooms.get(listener.roomId);
    if (!set) {
      set = new Set();
      this.rooms.set(listener.roomId, set);
    }
    set.add(listener);
  }

  remove(listener: RoomListener): void {
    const set = this.rooms.get(listener.roomId);
    if (!set) return;
    set.delete(listener);
    if (set.size === 0) this.rooms.delete(listener.roomId);
  }

  dispatch(event: RoomEvent): void {
    const set = this.rooms.get(event.roomId);
    if (!set || set.size === 0) return;
    const frame = encodeEvent(event);
    for (const listener of [...set]) listener.onEvent(event, frame);
  }

  resyncAll(): void {
    for (const set of this.rooms.values()) for (const listener of [...set]) listener.onResync();
  }

  listenerCount(roomId?: string): number {
    if (roomId !== undefined) return this.rooms.get(roomId)?.size ?? 0;
    let n = 0;
    for (const set of this.rooms.values()) n += set.size;
    return n;
  }
}
