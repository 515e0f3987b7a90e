/**
 * user-svc tables. `outbox` is re-exported so drizzle-kit puts it in this
 * service's migrations: events are written in the same transaction as users.
 */
import { pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

export { outbox } from "@parley/shared/outbox.js";

export const users = pgTable("users", {
  id: uuid("id").primaryKey().defaultRandom(),
  // Normalised (trim, NFKC, lower case) before it is stored or looked up.
  email: text("email").notNull().unique("users_email_unique"),
  // As the user typed it, for display.
  username: text("username").notNull(),
  // NFKC + lower case: "Alice" and "alice" are one name.
  usernameKey: text("username_key").notNull().unique("users_username_key_unique"),
  passwordHash: text("password_hash").notNull(),
  verifiedAt: timestamp("verified_at", { withTimezone: true }),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  // Also the time of the latest verify_email code for an unverified account (see domain/register.ts).
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

export type UserRow = typeof users.$inferSelect;
