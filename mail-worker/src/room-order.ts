/**
 * Handles the membership and message events of one room one at a time, in
 * delivery order. The broker delivers a room's events in the order chat-svc
 * committed them; handled concurrently (up to the prefetch), a message.sent
 * could be read before the room.members change it was sent under had been
 * applied, and would then wait for a retry. Other rooms' events, and events
 * of no room, still run side by side.
 */
import type { MailEvent } from "./domain/mail-event.js";

export type RoomOrder = <T>(event: MailEvent, task: () => Promise<T>) => Promise<T>;

function roomOf(event: MailEvent): string | undefined {
  switch (event.routingKey) {
    case "room.members":
    case "message.sent":
      return event.payload.roomId;
    default:
      return undefined;
  }
}

export function createRoomOrder(): RoomOrder {
  const tails = new Map<string, Promise<void>>();
  return (event, task) => {
    const room = roomOf(event);
    if (room === undefined) return task();
    const result = (tails.get(room) ?? Promise.resolve()).then(task);
    const tail = result.then(
      () => {},
      () => {},
    );
    tails.set(room, tail);
    // The last in line removes the room, so the map holds only rooms with work queued.
    void tail.then(() => {
      if (tails.get(room) === tail) tails.delete(room);
    });
    return result;
  };
}
