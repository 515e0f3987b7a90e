/**
 * Handles the membership and message events of one room one at a time, in
 * delivery order. The broker delivers a room's events in the order chat-svc
 * committed them; handled concurrently (up to the prefetch), a message.sent
 * could be read before the room.members change it was sent under had been
 * applied, and would then wait for a retry. Other rooms' events, and events
 * of no room, still run side by side.
 */
import { serialByKey } from "@parley/shared/serial-by-key.js";
import type { MailEvent } from "./domain/mail-event.js";

type RoomOrder = <T>(event: MailEvent, task: () => Promise<T>) => Promise<T>;

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
  const rooms = serialByKey();
  return (event, task) => {
    const room = roomOf(event);
    return room === undefined ? task() : rooms.run(room, task);
  };
}
