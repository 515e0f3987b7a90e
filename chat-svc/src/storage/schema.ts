/**
 * chat-svc tables. `outbox` is re-exported so drizzle-kit puts it in this
 * service's migrations: domain events are written in the same transaction as
 * the change they announce.
 */
import { sql } from "drizzle-orm";
import {
  type AnyPgColumn,
  bigint,
  boolean,
  check,
  customType,
  index,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

export { outbox } from "@parley/shared/outbox.js";

export type Visibility = "public" | "private";
export type RoomKind = "group" | "direct";
export type MemberRole = "owner" | "admin" | "member";
/** Who may add other users to a group room: owners and admins, or every member. */
export type MemberAddPolicy = "admins" | "members";

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => "bytea" });

export const rooms = pgTable(
  "rooms",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    name: text("name").notNull(),
    visibility: text("visibility").$type<Visibility>().notNull(),
    kind: text("kind").$type<RoomKind>().notNull().default("group"),
    topic: text("topic").notNull().default(""),
    createdBy: uuid("created_by").notNull(),
    // The seq of the newest message. Incrementing it takes the row lock that
    // serialises senders, which is what makes seqs gapless and ordered per room.
    headSeq: bigint("head_seq", { mode: "bigint" }).notNull().default(sql`0`),
    // The newest entry of the room's event log, advanced under the same row
    // lock as head_seq, so event seqs are gapless and in commit order too.
    headEventSeq: bigint("head_event_seq", { mode: "bigint" }).notNull().default(sql`0`),
    // The oldest event_seq still kept: retention deletes below it, and a
    // reader asking for anything older learns that the log was truncated.
    minEventSeq: bigint("min_event_seq", { mode: "bigint" }).notNull().default(sql`1`),
    // Counts changes of who is a member (1 once created), each published as
    // room.members with this number, so consumers apply them in order.
    membersVersion: bigint("members_version", { mode: "bigint" }).notNull().default(sql`0`),
    // "<smaller user id>:<larger user id>" for a direct room: the unique key
    // that makes concurrent OpenDirectRoom calls for one pair meet in one room.
    directKey: text("direct_key"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    memberAddPolicy: text("member_add_policy").$type<MemberAddPolicy>().notNull().default("admins"),
  },
  (t) => [
    check("rooms_visibility_check", sql`${t.visibility} in ('public', 'private')`),
    check("rooms_kind_check", sql`${t.kind} in ('group', 'direct')`),
    check("rooms_member_add_policy_check", sql`${t.memberAddPolicy} in ('admins', 'members')`),
    unique("rooms_direct_key_unique").on(t.directKey),
    // ListPublicRooms: a case-insensitive name prefix over public rooms.
    index("rooms_public_name_idx").on(sql`lower(${t.name}) text_pattern_ops`).where(sql`${t.visibility} = 'public'`),
  ],
);

export const roomMembers = pgTable(
  "room_members",
  {
    roomId: uuid("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    userId: uuid("user_id").notNull(),
    role: text("role").$type<MemberRole>().notNull(),
    // Only ever moves forward; unread = rooms.head_seq - last_read_seq.
    lastReadSeq: bigint("last_read_seq", { mode: "bigint" }).notNull().default(sql`0`),
    joinedAt: timestamp("joined_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.roomId, t.userId] }),
    // "Which rooms is this user in" (room list, presence fan-out).
    index("room_members_user_id_idx").on(t.userId),
    check("room_members_role_check", sql`${t.role} in ('owner', 'admin', 'member')`),
  ],
);

export const messages = pgTable(
  "messages",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    roomId: uuid("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    seq: bigint("seq", { mode: "bigint" }).notNull(),
    senderId: uuid("sender_id").notNull(),
    // Kept with the message: chat-svc has no user directory to join against.
    senderUsername: text("sender_username").notNull(),
    // Empty once deleted.
    text: text("text").notNull(),
    clientMessageId: text("client_message_id"),
    parentId: uuid("parent_id").references((): AnyPgColumn => messages.id),
    // Lower-cased usernames mentioned in the text, parsed when it is written.
    mentions: text("mentions").array().notNull().default(sql`'{}'::text[]`),
    editedAt: timestamp("edited_at", { withTimezone: true }),
    deletedAt: timestamp("deleted_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    unique("messages_room_id_seq_unique").on(t.roomId, t.seq),
    // Unread mentions per room (ListRooms): only the few messages that mention anyone, by seq.
    index("messages_mentions_room_seq_idx").on(t.roomId, t.seq).where(sql`cardinality(${t.mentions}) > 0`),
    // The idempotency key of a retried send.
    uniqueIndex("messages_client_message_id_idx")
      .on(t.roomId, t.senderId, t.clientMessageId)
      .where(sql`${t.clientMessageId} is not null`),
  ],
);

export const messageReactions = pgTable(
  "message_reactions",
  {
    messageId: uuid("message_id")
      .notNull()
      .references(() => messages.id, { onDelete: "cascade" }),
    emoji: text("emoji").notNull(),
    userId: uuid("user_id").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.messageId, t.emoji, t.userId] })],
);

/**
 * Every durable change of a room, in order: what a client that was away
 * replays (ListEvents). `payload` is the binary parley.chat.v1.RoomEvent
 * exactly as it was published.
 */
export const roomEvents = pgTable(
  "room_events",
  {
    roomId: uuid("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    eventSeq: bigint("event_seq", { mode: "bigint" }).notNull(),
    payload: bytea("payload").notNull(),
    occurredAt: timestamp("occurred_at", { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.roomId, t.eventSeq] }),
    // For the retention cleaner. BRIN: rows arrive in time order, and it costs
    // next to nothing on the insert path, unlike a btree.
    index("room_events_occurred_at_idx").using("brin", t.occurredAt),
  ],
);

/**
 * chat-svc's copy of the users (verified accounts), kept from user.registered
 * and user.updated events and filled in from user-svc on a miss: rooms only
 * ever admit users found here.
 */
export const knownUsers = pgTable("known_users", {
  userId: uuid("user_id").primaryKey(),
  username: text("username").notNull(),
  // When user-svc last changed the account, as the newest applied event or
  // lookup said: anything older arriving later (a redelivery, an event
  // overtaken by a lookup) changes nothing.
  changedAt: timestamp("changed_at", { withTimezone: true }).notNull(),
  // Deactivated by an operator (user.deactivated): kept in the rooms they are
  // in, but nobody can add them to a room or open a direct room with them.
  deactivated: boolean("deactivated").notNull().default(false),
  // When the newest applied user.deactivated/user.reactivated (or lookup)
  // occurred; versioned apart from changed_at, so a profile change never
  // overtakes a reactivation. Null: never heard of either.
  statusChangedAt: timestamp("status_changed_at", { withTimezone: true }),
});

export type RoomRow = typeof rooms.$inferSelect;
export type MemberRow = typeof roomMembers.$inferSelect;
export type MessageRow = typeof messages.$inferSelect;
