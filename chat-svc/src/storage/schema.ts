/**
 * chat-svc tables. `outbox` is re-exported so drizzle-kit puts it in this
 * service's migrations: message.sent is written in the same transaction as
 * the message it announces.
 */
import { sql } from "drizzle-orm";
import {
  bigint,
  check,
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
export type MemberRole = "owner" | "member";

export const rooms = pgTable(
  "rooms",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    name: text("name").notNull(),
    visibility: text("visibility").$type<Visibility>().notNull(),
    createdBy: uuid("created_by").notNull(),
    // The seq of the newest message. Incrementing it takes the row lock that
    // serialises senders, which is what makes seqs gapless and ordered per room.
    headSeq: bigint("head_seq", { mode: "bigint" }).notNull().default(sql`0`),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [check("rooms_visibility_check", sql`${t.visibility} in ('public', 'private')`)],
);

export const roomMembers = pgTable(
  "room_members",
  {
    roomId: uuid("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    userId: uuid("user_id").notNull(),
    role: text("role").$type<MemberRole>().notNull(),
    joinedAt: timestamp("joined_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.roomId, t.userId] }),
    // "Which rooms is this user in" (recipients, a future room list).
    index("room_members_user_id_idx").on(t.userId),
    check("room_members_role_check", sql`${t.role} in ('owner', 'member')`),
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
    text: text("text").notNull(),
    clientMessageId: text("client_message_id"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    unique("messages_room_id_seq_unique").on(t.roomId, t.seq),
    // The idempotency key of a retried send.
    uniqueIndex("messages_client_message_id_idx")
      .on(t.roomId, t.senderId, t.clientMessageId)
      .where(sql`${t.clientMessageId} is not null`),
  ],
);

export type RoomRow = typeof rooms.$inferSelect;
export type MessageRow = typeof messages.$inferSelect;
