import type { Identity } from "@parley/shared/auth.js";
import { type ReactionSummary, reactionsOf } from "../storage/messages.js";
import {
  listMembersOfRooms,
  listRoomsOf,
  listPublicRooms as queryPublicRooms,
  unreadMentionCounts,
} from "../storage/rooms.js";
import type { MemberRow, MessageRow, RoomRow } from "../storage/schema.js";
import type { DomainDeps } from "./deps.js";

export interface RoomSummaryView {
  room: RoomRow;
  members: MemberRow[];
  lastMessage: { row: MessageRow; reactions: ReactionSummary[] } | null;
  lastReadSeq: bigint;
  /** head_seq - last_read_seq: sequence arithmetic, no rows counted. */
  unreadCount: bigint;
  /** Unread messages from others that mention the caller. */
  unreadMentionCount: bigint;
}

/** The caller's rooms, most recently active (newest message, else creation) first. */
export async function listRooms({ db }: DomainDeps, caller: Identity): Promise<RoomSummaryView[]> {
  // One snapshot: heads, markers, members and last messages agree.
  return db.transaction(
    async (tx) => {
      const entries = await listRoomsOf(tx, caller.userId);
      const lastIds = entries.flatMap((e) => (e.lastMessage ? [e.lastMessage.id] : []));
      const [members, reactions, mentions] = await Promise.all([
        listMembersOfRooms(
          tx,
          entries.map((e) => e.room.id),
        ),
        reactionsOf(tx, lastIds),
        unreadMentionCounts(tx, caller.userId, caller.username),
      ]);
      return entries.map((e) => ({
        room: e.room,
        members: members.get(e.room.id) ?? [],
        lastMessage: e.lastMessage ? { row: e.lastMessage, reactions: reactions.get(e.lastMessage.id) ?? [] } : null,
        lastReadSeq: e.lastReadSeq,
        unreadCount: e.room.headSeq - e.lastReadSeq,
        unreadMentionCount: mentions.get(e.room.id) ?? 0n,
      }));
    },
    { isolationLevel: "repeatable read", accessMode: "read only" },
  );
}

export const DEFAULT_PUBLIC_ROOMS_LIMIT = 50;

/** Public rooms by case-insensitive name prefix, by name; without members (the caller need not be one). */
export async function listPublicRooms(
  { db }: DomainDeps,
  input: { namePrefix: string; limit: number },
): Promise<RoomRow[]> {
  return queryPublicRooms(db, input.namePrefix.trim(), input.limit === 0 ? DEFAULT_PUBLIC_ROOMS_LIMIT : input.limit);
}
