import type { RoomEventPublisher } from "../room-events.js";
import type { Db } from "../storage/db.js";
import type { RoomRow } from "../storage/schema.js";

/** What domain actions run against. */
export interface DomainDeps {
  db: Db;
  events: RoomEventPublisher;
}

/** A room as callers see it: the row and who belongs to it. */
export interface RoomView {
  room: RoomRow;
  memberIds: string[];
}
