import type { NotificationLevelName } from "@parley/shared/notification-levels.js";
import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

/** Events handled to the end, by AMQP message id: a redelivery of one of them sends nothing. */
export const processedEvents = pgTable(
  "processed_events",
  {
    eventId: uuid("event_id").primaryKey(),
    routingKey: text("routing_key").notNull(),
    processedAt: timestamp("processed_at", { withTimezone: true }).notNull().defaultNow(),
  },
  // Rows arrive in processed_at order: a BRIN index finds the old ones to prune for almost nothing per insert.
  (t) => [index("processed_events_processed_at_idx").using("brin", t.processedAt)],
);

/**
 * Who can be mailed, and what they want: projected from user.registered and
 * user.updated, since message.sent carries user ids only.
 */
export const recipients = pgTable("recipients", {
  userId: uuid("user_id").primaryKey(),
  email: text("email").notNull(),
  username: text("username").notNull(),
  /** From the user's profile (user.updated); "all" until one says otherwise. */
  notificationLevel: text("notification_level").$type<NotificationLevelName>().notNull().default("all"),
  /** Set by the unsubscribe link: no notification mail, whatever the level, until the level is changed in Parley. */
  unsubscribedAt: timestamp("unsubscribed_at", { withTimezone: true }),
  /** When the newest applied user event occurred: an older one arriving late changes nothing. */
  profileAt: timestamp("profile_at", { withTimezone: true }),
  /** Deactivated by an operator (user.deactivated): no mail at all until user.reactivated. */
  deactivated: boolean("deactivated").notNull().default(false),
  /** When the newest applied user.deactivated/user.reactivated occurred (versioned apart from the profile). */
  statusAt: timestamp("status_at", { withTimezone: true }),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

/** Online across all edges or not, from user.online; no row means offline. */
export const presence = pgTable("presence", {
  userId: uuid("user_id").primaryKey(),
  online: boolean("online").notNull(),
  /** When the transition occurred: transitions may be handled out of order. */
  changedAt: timestamp("changed_at", { withTimezone: true }).notNull(),
});

/** Each member's read marker per room, from room.read; it only moves forward. */
export const roomReads = pgTable(
  "room_reads",
  {
    userId: uuid("user_id").notNull(),
    roomId: uuid("room_id").notNull(),
    lastReadSeq: bigint("last_read_seq", { mode: "bigint" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.roomId] })],
);

/**
 * Each room's members, from room.members: message.sent names no recipients.
 * `version` is the room's newest change applied (changes are applied in
 * order, so the members are exactly those as of that version).
 */
export const roomMembership = pgTable("room_membership", {
  roomId: uuid("room_id").primaryKey(),
  version: bigint("version", { mode: "bigint" }).notNull(),
});

export const roomMembers = pgTable(
  "room_members",
  {
    roomId: uuid("room_id")
      .notNull()
      .references(() => roomMembership.roomId, { onDelete: "cascade" }),
    userId: uuid("user_id").notNull(),
  },
  (t) => [primaryKey({ columns: [t.roomId, t.userId] })],
);

/** Messages deleted (message.deleted), so a late message.sent for one of them notifies nobody. */
export const deletedMessages = pgTable("deleted_messages", {
  messageId: uuid("message_id").primaryKey(),
  roomId: uuid("room_id").notNull(),
  deletedAt: timestamp("deleted_at", { withTimezone: true }).notNull().defaultNow(),
});

export type DigestStatus = "open" | "sent" | "cancelled" | "failed";

/**
 * One mail about one room to one user: opened by the first unread message,
 * mailed when due_at (the end of the window) has passed. At most one is open
 * per user and room; messages arriving meanwhile join it.
 */
export const digests = pgTable(
  "digests",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id").notNull(),
    roomId: uuid("room_id").notNull(),
    status: text("status").$type<DigestStatus>().notNull().default("open"),
    dueAt: timestamp("due_at", { withTimezone: true }).notNull(),
    /** Failed sending attempts; each pushes due_at back by the next retry delay. */
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
  },
  (t) => [
    uniqueIndex("digests_one_open_per_user_room").on(t.userId, t.roomId).where(sql`${t.status} = 'open'`),
    index("digests_open_due").on(t.dueAt).where(sql`${t.status} = 'open'`),
    index("digests_finished").on(t.finishedAt),
  ],
);

export type NotificationStatus = "pending" | "sent" | "cancelled" | "failed";

/**
 * A message a user should hear about, waiting in (or done with) a digest.
 * Keyed by user and message: a message is in at most one of a user's mails.
 */
export const notifications = pgTable(
  "notifications",
  {
    userId: uuid("user_id").notNull(),
    messageId: uuid("message_id").notNull(),
    digestId: uuid("digest_id")
      .notNull()
      .references(() => digests.id, { onDelete: "cascade" }),
    roomId: uuid("room_id").notNull(),
    roomName: text("room_name").notNull(),
    seq: bigint("seq", { mode: "bigint" }).notNull(),
    senderUsername: text("sender_username").notNull(),
    text: text("text").notNull(),
    mentioned: boolean("mentioned").notNull(),
    direct: boolean("direct").notNull(),
    status: text("status").$type<NotificationStatus>().notNull().default("pending"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.messageId] }),
    index("notifications_digest").on(t.digestId),
    index("notifications_pending_by_room").on(t.userId, t.roomId).where(sql`${t.status} = 'pending'`),
    index("notifications_pending_by_message").on(t.messageId).where(sql`${t.status} = 'pending'`),
  ],
);
