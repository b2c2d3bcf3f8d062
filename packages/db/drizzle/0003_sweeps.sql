CREATE TABLE "sweeps" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"product_line_id" text,
	"pipeline_id" text,
	"template_id" text,
	"template_version_id" text,
	"graph" jsonb NOT NULL,
	"spec" jsonb NOT NULL,
	"status" text DEFAULT 'running' NOT NULL,
	"trials_planned" integer DEFAULT 0 NOT NULL,
	"best_trial_index" integer,
	"final_run_id" text,
	"final_metrics" jsonb,
	"error" text,
	"runner_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	CONSTRAINT "sweeps_status_check" CHECK ("sweeps"."status" in ('running', 'succeeded', 'failed', 'cancelled', 'interrupted'))
);
--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "sweep_id" text;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "sweep_trial" jsonb;--> statement-breakpoint
ALTER TABLE "sweeps" ADD CONSTRAINT "sweeps_product_line_id_product_lines_id_fk" FOREIGN KEY ("product_line_id") REFERENCES "public"."product_lines"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sweeps" ADD CONSTRAINT "sweeps_pipeline_id_pipelines_id_fk" FOREIGN KEY ("pipeline_id") REFERENCES "public"."pipelines"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sweeps" ADD CONSTRAINT "sweeps_template_id_templates_id_fk" FOREIGN KEY ("template_id") REFERENCES "public"."templates"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sweeps" ADD CONSTRAINT "sweeps_template_version_id_template_versions_id_fk" FOREIGN KEY ("template_version_id") REFERENCES "public"."template_versions"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sweeps" ADD CONSTRAINT "sweeps_final_run_id_runs_id_fk" FOREIGN KEY ("final_run_id") REFERENCES "public"."runs"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "sweeps_product_line_idx" ON "sweeps" USING btree ("product_line_id");--> statement-breakpoint
CREATE INDEX "sweeps_created_at_idx" ON "sweeps" USING btree ("created_at");--> statement-breakpoint
ALTER TABLE "runs" ADD CONSTRAINT "runs_sweep_id_sweeps_id_fk" FOREIGN KEY ("sweep_id") REFERENCES "public"."sweeps"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "runs_sweep_idx" ON "runs" USING btree ("sweep_id");