CREATE TABLE "deleted_messages" (
	"message_id" uuid PRIMARY KEY NOT NULL,
	"room_id" uuid NOT NULL,
	"deleted_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "digests" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"room_id" uuid NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"due_at" timestamp with time zone NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "notifications" (
	"user_id" uuid NOT NULL,
	"message_id" uuid NOT NULL,
	"digest_id" uuid NOT NULL,
	"room_id" uuid NOT NULL,
	"room_name" text NOT NULL,
	"seq" bigint NOT NULL,
	"sender_username" text NOT NULL,
	"text" text NOT NULL,
	"mentioned" boolean NOT NULL,
	"direct" boolean NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "notifications_user_id_message_id_pk" PRIMARY KEY("user_id","message_id")
);
--> statement-breakpoint
CREATE TABLE "presence" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"online" boolean NOT NULL,
	"changed_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "room_reads" (
	"user_id" uuid NOT NULL,
	"room_id" uuid NOT NULL,
	"last_read_seq" bigint NOT NULL,
	CONSTRAINT "room_reads_user_id_room_id_pk" PRIMARY KEY("user_id","room_id")
);
--> statement-breakpoint
ALTER TABLE "recipients" ADD COLUMN "notification_level" text DEFAULT 'all' NOT NULL;--> statement-breakpoint
ALTER TABLE "recipients" ADD COLUMN "unsubscribed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "recipients" ADD COLUMN "profile_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_digest_id_digests_id_fk" FOREIGN KEY ("digest_id") REFERENCES "public"."digests"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "digests_one_open_per_user_room" ON "digests" USING btree ("user_id","room_id") WHERE "digests"."status" = 'open';--> statement-breakpoint
CREATE INDEX "digests_open_due" ON "digests" USING btree ("due_at") WHERE "digests"."status" = 'open';--> statement-breakpoint
CREATE INDEX "digests_finished" ON "digests" USING btree ("finished_at");--> statement-breakpoint
CREATE INDEX "notifications_digest" ON "notifications" USING btree ("digest_id");--> statement-breakpoint
CREATE INDEX "notifications_pending_by_room" ON "notifications" USING btree ("user_id","room_id") WHERE "notifications"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "notifications_pending_by_message" ON "notifications" USING btree ("message_id") WHERE "notifications"."status" = 'pending';