import type { Identity } from "@parley/shared/auth.js";
import { enqueueEvent } from "@parley/shared/outbox.js";
import { ephemeralEvent, publishable } from "../room-events.js";
import { advanceReadMarker, findMember } from "../storage/rooms.js";
import { loadRoomForMember } from "./access.js";
import type { DomainDeps } from "./deps.js";

export interface ReadState {
  lastReadSeq: bigint;
  /** head_seq - last_read_seq. */
  unreadCount: bigint;
}

/**
 * Moves the caller's read marker to min(seq, head_seq) unless it is already
 * there or further: it never moves back. Only a move writes the room.read
 * domain event (in the same transaction) and publishes a read marker
 * (ephemeral, not in the room's log). Counts against the caller's read
 * marker budget.
 */
export async function markRead(
  { db, events, budgets }: DomainDeps,
  caller: Identity,
  input: { roomId: string; seq: bigint },
): Promise<ReadState> {
  await budgets.charge("read", caller.userId);
  const result = await db.transaction(async (tx) => {
    const { room } = await loadRoomForMember(tx, caller.userId, input.roomId);
    const moved = await advanceReadMarker(tx, room.id, caller.userId, input.seq);
    if (moved) {
      await enqueueEvent(tx, "room.read", { roomId: room.id, userId: caller.userId, lastReadSeq: moved.lastReadSeq });
      return { roomId: room.id, ...moved, moved: true };
    }
    const member = await findMember(tx, room.id, caller.userId);
    // Left between the two statements: as if the marker had stayed.
    return { roomId: room.id, lastReadSeq: member?.lastReadSeq ?? 0n, headSeq: room.headSeq, moved: false };
  });
  if (result.moved) {
    const event = ephemeralEvent(result.roomId, {
      case: "readMarker",
      value: { userId: caller.userId, lastReadSeq: result.lastReadSeq },
    });
    events.publish([publishable(event)]);
  }
  const unread = result.headSeq - result.lastReadSeq;
  return { lastReadSeq: result.lastReadSeq, unreadCount: unread > 0n ? unread : 0n };
}
