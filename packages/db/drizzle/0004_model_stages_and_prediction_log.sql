CREATE TABLE "predictions" (
	"id" text PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"model_id" text NOT NULL,
	"model_version" integer NOT NULL,
	"label" text NOT NULL,
	"confidence" double precision NOT NULL,
	"probabilities" jsonb NOT NULL,
	"low_confidence" boolean NOT NULL,
	"latency_ms" integer NOT NULL,
	"image_sha256" text NOT NULL,
	"image_name" text NOT NULL,
	"image_bytes" integer NOT NULL,
	"source" text NOT NULL,
	"token_id" text,
	"image_path" text,
	"image_reason" text,
	CONSTRAINT "predictions_source_check" CHECK ("predictions"."source" in ('api', 'ui'))
);
--> statement-breakpoint
ALTER TABLE "models" ADD COLUMN "version" integer;--> statement-breakpoint
-- Backfill (hand-written): versions 1, 2, … per product line in registration order; the active model becomes production.
UPDATE "models" SET "version" = "numbered"."n" FROM (SELECT "id", row_number() OVER (PARTITION BY "product_line_id" ORDER BY "created_at", "id") AS "n" FROM "models") AS "numbered" WHERE "models"."id" = "numbered"."id";--> statement-breakpoint
ALTER TABLE "models" ALTER COLUMN "version" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "models" ADD COLUMN "stage" text DEFAULT 'staging' NOT NULL;--> statement-breakpoint
ALTER TABLE "models" ADD COLUMN "stage_changed_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "models" ADD COLUMN "retired_at" timestamp with time zone;--> statement-breakpoint
UPDATE "models" SET "stage" = 'production' WHERE "active";--> statement-breakpoint
DROP INDEX "models_one_active_per_line";--> statement-breakpoint
ALTER TABLE "predictions" ADD CONSTRAINT "predictions_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "predictions" ADD CONSTRAINT "predictions_token_id_api_tokens_id_fk" FOREIGN KEY ("token_id") REFERENCES "public"."api_tokens"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "predictions_model_created_idx" ON "predictions" USING btree ("model_id","created_at");--> statement-breakpoint
CREATE INDEX "predictions_created_idx" ON "predictions" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "predictions_kept_images_idx" ON "predictions" USING btree ("created_at") WHERE "predictions"."image_path" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "models_line_version_unique" ON "models" USING btree ("product_line_id","version");--> statement-breakpoint
CREATE UNIQUE INDEX "models_one_production_per_line" ON "models" USING btree ("product_line_id") WHERE "models"."stage" = 'production';--> statement-breakpoint
ALTER TABLE "models" DROP COLUMN "active";--> statement-breakpoint
ALTER TABLE "models" ADD CONSTRAINT "models_stage_check" CHECK ("models"."stage" in ('staging', 'production', 'archived'));