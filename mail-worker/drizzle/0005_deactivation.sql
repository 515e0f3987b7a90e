ALTER TABLE "recipients" ADD COLUMN "deactivated" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "recipients" ADD COLUMN "status_at" timestamp with time zone;