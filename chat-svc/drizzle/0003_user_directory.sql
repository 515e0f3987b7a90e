CREATE TABLE "known_users" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"username" text NOT NULL,
	"changed_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "rooms" ADD COLUMN "member_add_policy" text DEFAULT 'admins' NOT NULL;--> statement-breakpoint
ALTER TABLE "rooms" ADD CONSTRAINT "rooms_member_add_policy_check" CHECK ("rooms"."member_add_policy" in ('admins', 'members'));