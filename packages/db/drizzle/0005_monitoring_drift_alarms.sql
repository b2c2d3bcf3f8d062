CREATE TABLE "model_alarms" (
	"id" text PRIMARY KEY NOT NULL,
	"model_id" text NOT NULL,
	"rule" text NOT NULL,
	"value" double precision NOT NULL,
	"threshold" double precision NOT NULL,
	"window" integer NOT NULL,
	"message" text NOT NULL,
	"raised_at" timestamp with time zone DEFAULT now() NOT NULL,
	"cleared_at" timestamp with time zone,
	CONSTRAINT "model_alarms_rule_check" CHECK ("model_alarms"."rule" in ('drift_rate', 'low_confidence_rate', 'class_mix'))
);
--> statement-breakpoint
ALTER TABLE "predictions" ADD COLUMN "drift" double precision;--> statement-breakpoint
ALTER TABLE "predictions" ADD COLUMN "drifted" boolean;--> statement-breakpoint
ALTER TABLE "model_alarms" ADD CONSTRAINT "model_alarms_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "model_alarms_model_idx" ON "model_alarms" USING btree ("model_id","raised_at");--> statement-breakpoint
CREATE UNIQUE INDEX "model_alarms_one_open" ON "model_alarms" USING btree ("model_id","rule") WHERE "model_alarms"."cleared_at" is null;