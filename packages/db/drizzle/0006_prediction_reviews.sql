ALTER TABLE "predictions" ADD COLUMN "reviewed_label" text;--> statement-breakpoint
ALTER TABLE "predictions" ADD COLUMN "reviewed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "predictions" ADD COLUMN "reviewed_by" text;--> statement-breakpoint
ALTER TABLE "predictions" ADD COLUMN "added_dataset" text;--> statement-breakpoint
ALTER TABLE "predictions" ADD COLUMN "added_version" integer;--> statement-breakpoint
ALTER TABLE "predictions" ADD CONSTRAINT "predictions_reviewed_by_users_id_fk" FOREIGN KEY ("reviewed_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "predictions_review_idx" ON "predictions" USING btree ("model_id","created_at") WHERE "predictions"."image_path" is not null and ("predictions"."low_confidence" or "predictions"."drifted");