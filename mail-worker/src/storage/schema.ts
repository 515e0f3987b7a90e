import { pgTable, primaryKey, text, timestamp, uuid } from "drizzle-orm/pg-core";

/** Events handled to the end, by AMQP message id: a redelivery of one of them sends nothing. */
export const processedEvents = pgTable("processed_events", {
  eventId: uuid("event_id").primaryKey(),
  routingKey: text("routing_key").notNull(),
  processedAt: timestamp("processed_at", { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Mails already accepted for an event that is not finished yet. An event
 * fanning out to several recipients (message.sent) that fails half-way is
 * retried without mailing the first half again; rows go once the event is
 * in processed_events.
 */
export const sentMails = pgTable(
  "sent_mails",
  {
    eventId: uuid("event_id").notNull(),
    recipientId: uuid("recipient_id").notNull(),
    sentAt: timestamp("sent_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.eventId, t.recipientId] })],
);

/** Who can be mailed: projected from user.registered, since message.sent carries user ids only. */
export const recipients = pgTable("recipients", {
  userId: uuid("user_id").primaryKey(),
  email: text("email").notNull(),
  username: text("username").notNull(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});
