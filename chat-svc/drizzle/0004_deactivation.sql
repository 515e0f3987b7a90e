ALTER TABLE "known_users" ADD COLUMN "deactivated" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "known_users" ADD COLUMN "status_changed_at" timestamp with time zone;