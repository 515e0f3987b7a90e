/**
 * user-svc tables. `outbox` is re-exported so drizzle-kit puts it in this
 * service's migrations: events are written in the same transaction as users.
 */
import { NOTIFICATION_LEVELS } from "@parley/shared/notification-levels.js";
import { sql } from "drizzle-orm";
import { check, index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

export { outbox } from "@parley/shared/outbox.js";

export const users = pgTable(
  "users",
  {
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
    // Profile text is stored exactly as given (lengths are bounded by proto);
    // empty means unset, so clients never have to tell null from "".
    displayName: text("display_name").notNull().default(""),
    avatarUrl: text("avatar_url").notNull().default(""),
    bio: text("bio").notNull().default(""),
    statusText: text("status_text").notNull().default(""),
    notificationLevel: text("notification_level", { enum: NOTIFICATION_LEVELS }).notNull().default("all"),
    // Set by an operator (domain/deactivation.ts): no sign-in, no refresh, out of SearchUsers.
    deactivatedAt: timestamp("deactivated_at", { withTimezone: true }),
  },
  (t) => [
    check("users_notification_level_check", sql`${t.notificationLevel} in ('all', 'mentions_and_direct', 'none')`),
    // Byte-wise ordering, so `username_key like 'pre%'` (SearchUsers) can use
    // it whatever the database's collation; the unique index cannot unless it is C.
    index("users_username_key_prefix_idx").using("btree", t.usernameKey.op("text_pattern_ops")),
  ],
);

export type UserRow = typeof users.$inferSelect;
