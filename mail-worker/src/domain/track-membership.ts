/**
 * room.members: a room's membership changes, applied strictly in version
 * order, so the worker's member list of a room is exactly chat-svc's as of
 * the version it records. A change that overtook the one before it (through
 * a retry) waits for it by being retried itself; one applied already is a
 * duplicate. The version check makes this idempotent without the ledger.
 */
import type { Db } from "../storage/db.js";
import { applyMembershipChange, lockMembership } from "../storage/membership.js";
import { type EventOf, InvalidEvent, type Outcome, requireUuid } from "./mail-event.js";

export async function trackMembership(db: Db, event: EventOf<"room.members">): Promise<Outcome> {
  const e = event.payload;
  const roomId = requireUuid(e.roomId, "room_id");
  if (e.version <= 0n) throw new InvalidEvent(`version must be positive (got ${e.version})`);
  const joined = e.joinedUserIds.map((id) => requireUuid(id, "joined_user_ids").toLowerCase());
  const left = e.leftUserIds.map((id) => requireUuid(id, "left_user_ids").toLowerCase());
  return db.transaction(async (tx): Promise<Outcome> => {
    const applied = await lockMembership(tx, roomId);
    if (e.version <= applied) return { action: "ack", result: "duplicate", mails: 0 };
    if (e.version > applied + 1n) {
      return {
        action: "retry",
        reason: `membership change ${e.version} of room ${roomId} arrived before change ${applied + 1n}`,
      };
    }
    await applyMembershipChange(tx, { roomId, version: e.version, joined, left });
    return { action: "ack", result: "applied", mails: 0 };
  });
}
