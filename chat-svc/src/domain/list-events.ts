import { fromBinary } from "@bufbuild/protobuf";
import { type RoomEvent, RoomEventSchema } from "@parley/proto/chat/v1/chat_pb.js";
import type { Identity } from "@parley/shared/auth.js";
import { pageEvents } from "../storage/event-log.js";
import { loadRoomForMember } from "./access.js";
import type { DomainDeps } from "./deps.js";

export const DEFAULT_EVENT_PAGE_SIZE = 200;
export const MAX_EVENT_PAGE_SIZE = 500;

export interface EventPage {
  /** Ascending event_seq, contiguous from afterEventSeq + 1. */
  events: RoomEvent[];
  headEventSeq: bigint;
  hasMore: boolean;
  /** Events after afterEventSeq were dropped by retention: the client reloads the room instead. */
  truncated: boolean;
}

/** The room's event log after `afterEventSeq`: what a client that was away missed. */
export async function listEvents(
  { db }: DomainDeps,
  caller: Identity,
  input: { roomId: string; afterEventSeq: bigint; limit: number },
): Promise<EventPage> {
  const limit = Math.min(input.limit === 0 ? DEFAULT_EVENT_PAGE_SIZE : input.limit, MAX_EVENT_PAGE_SIZE);
  // One snapshot: the log's bounds and its rows agree (the log only ever
  // shows a contiguous prefix, see storage/event-log.ts).
  return db.transaction(
    async (tx) => {
      const { room } = await loadRoomForMember(tx, caller.userId, input.roomId);
      const base = { headEventSeq: room.headEventSeq };
      if (input.afterEventSeq + 1n < room.minEventSeq) return { ...base, events: [], hasMore: false, truncated: true };
      const payloads = await pageEvents(tx, room.id, input.afterEventSeq, limit);
      return {
        ...base,
        events: payloads.slice(0, limit).map((p) => fromBinary(RoomEventSchema, p)),
        hasMore: payloads.length > limit,
        truncated: false,
      };
    },
    { isolationLevel: "repeatable read", accessMode: "read only" },
  );
}
