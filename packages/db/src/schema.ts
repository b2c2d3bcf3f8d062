/**
 * defectflow database schema (PostgreSQL dialect; the same SQL runs on PGlite and on a PostgreSQL server).
 * Change it, then run `npm run generate -w @defectflow/db` and commit the new file under drizzle/.
 */
import type { PipelineGraph } from '@defectflow/nodes';
import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  boolean,
  check,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const id = () =>
  text('id')
    .primaryKey()
    .$defaultFn(() => crypto.randomUUID());
const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();
const updatedAt = () =>
  timestamp('updated_at', { withTimezone: true, mode: 'date' })
    .notNull()
    .defaultNow()
    .$onUpdate(() => new Date());

export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted'] as const;
export type RunRowStatus = (typeof RUN_STATUSES)[number];
/** Statuses after which a run never changes again. */
export const FINISHED_RUN_STATUSES: readonly RunRowStatus[] = ['succeeded', 'failed', 'cancelled', 'interrupted'];

export const SWEEP_STATUSES = ['running', 'succeeded', 'failed', 'cancelled', 'interrupted'] as const;
export type SweepRowStatus = (typeof SWEEP_STATUSES)[number];

/** What a sweep's run is: trial `index` (successive-halving `rung`) with these params, or the final run of the best ones. */
export interface SweepTrialInfo {
  index: number;
  rung: number;
  role: 'trial' | 'final';
  /** `${nodeId}.${param}` → value (TrialParams). */
  params: Record<string, string | number | boolean>;
  /** The sweep metric of this trial on the validation split, written when the trial ended (null: not produced). */
  score?: number | null;
  /** The train node read every feature view from the cache, written when the trial ended. */
  reusedFeatures?: boolean | null;
  /** The pipeline's current settings (the sweep's baseline trial, and its halving promotions). */
  baseline?: boolean;
  /** Epochs the train node trained, written when the trial ended (breaks ties for the best trial). */
  epochs?: number | null;
}

export const productLines = pgTable('product_lines', {
  id: id(),
  name: text('name').notNull().unique(),
  description: text('description'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const templates = pgTable(
  'templates',
  {
    id: id(),
    productLineId: text('product_line_id')
      .notNull()
      .references(() => productLines.id),
    name: text('name').notNull(),
    description: text('description'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [unique('templates_product_line_name_unique').on(t.productLineId, t.name)],
);

export const templateVersions = pgTable(
  'template_versions',
  {
    id: id(),
    templateId: text('template_id')
      .notNull()
      .references(() => templates.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    graph: jsonb('graph').$type<PipelineGraph>().notNull(),
    message: text('message'),
    createdAt: createdAt(),
  },
  (t) => [unique('template_versions_template_version_unique').on(t.templateId, t.version)],
);

export const pipelines = pgTable(
  'pipelines',
  {
    id: id(),
    productLineId: text('product_line_id')
      .notNull()
      .references(() => productLines.id),
    templateId: text('template_id').references(() => templates.id, { onDelete: 'set null' }),
    templateVersionId: text('template_version_id').references(() => templateVersions.id, { onDelete: 'set null' }),
    name: text('name').notNull(),
    graph: jsonb('graph').$type<PipelineGraph>().notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('pipelines_product_line_idx').on(t.productLineId)],
);

export const runs = pgTable(
  'runs',
  {
    id: id(),
    pipelineId: text('pipeline_id').references(() => pipelines.id, { onDelete: 'set null' }),
    productLineId: text('product_line_id').references(() => productLines.id, { onDelete: 'set null' }),
    /** The template (and version) the run was started from, when it was run from the template itself or a pipeline linked to one. */
    templateId: text('template_id').references(() => templates.id, { onDelete: 'set null' }),
    templateVersionId: text('template_version_id').references(() => templateVersions.id, { onDelete: 'set null' }),
    /** A name and notes the user gives the run (runs are otherwise known by their id). */
    name: text('name'),
    notes: text('notes'),
    /** The exact graph that ran (pipelines change afterwards; a run's record must not). */
    graph: jsonb('graph').$type<PipelineGraph>().notNull(),
    status: text('status', { enum: RUN_STATUSES }).notNull().default('queued'),
    backend: text('backend'),
    device: text('device'),
    error: text('error'),
    metrics: jsonb('metrics').$type<Record<string, unknown>>(),
    summary: jsonb('summary').$type<Record<string, unknown>>(),
    /** Highest event seq persisted in run_events; a reconnecting relay resumes after it. */
    lastSeq: integer('last_seq').notNull().default(0),
    /** The runner that holds the run (its stable id); only the web server linked to it may mark it interrupted. */
    runnerId: text('runner_id'),
    /** The sweep this run is a trial (or the final run) of; runs.list leaves these out unless asked. */
    sweepId: text('sweep_id').references((): AnyPgColumn => sweeps.id, { onDelete: 'set null' }),
    sweepTrial: jsonb('sweep_trial').$type<SweepTrialInfo>(),
    createdAt: createdAt(),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }),
    finishedAt: timestamp('finished_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    check(
      'runs_status_check',
      sql`${t.status} in ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted')`,
    ),
    index('runs_pipeline_idx').on(t.pipelineId),
    index('runs_product_line_idx').on(t.productLineId),
    index('runs_created_at_idx').on(t.createdAt),
    index('runs_sweep_idx').on(t.sweepId),
  ],
);

/**
 * A hyperparameter sweep: the pipeline as started (dataset versions pinned, like a run's graph) and the parsed
 * SweepSpec. Its trials and its final run are runs (runs.sweep_id); this row holds what spans them.
 */
export const sweeps = pgTable(
  'sweeps',
  {
    id: id(),
    name: text('name').notNull(),
    productLineId: text('product_line_id').references(() => productLines.id, { onDelete: 'set null' }),
    pipelineId: text('pipeline_id').references(() => pipelines.id, { onDelete: 'set null' }),
    templateId: text('template_id').references(() => templates.id, { onDelete: 'set null' }),
    templateVersionId: text('template_version_id').references(() => templateVersions.id, { onDelete: 'set null' }),
    graph: jsonb('graph').$type<PipelineGraph>().notNull(),
    /** The parsed SweepSpec (defaults filled). */
    spec: jsonb('spec').$type<Record<string, unknown>>().notNull(),
    status: text('status', { enum: SWEEP_STATUSES }).notNull().default('running'),
    /** Trials the strategy plans (grid/random: the whole list; halving: the budget), for "done of planned". */
    trialsPlanned: integer('trials_planned').notNull().default(0),
    bestTrialIndex: integer('best_trial_index'),
    /** The run of the best params on the pipeline's own evaluate split (test), once, at the end. */
    finalRunId: text('final_run_id').references((): AnyPgColumn => runs.id, { onDelete: 'set null' }),
    /** The final run's evaluate summary: accuracy, macroF1, auroc (fractions 0..1) and split. */
    finalMetrics: jsonb('final_metrics').$type<Record<string, unknown>>(),
    error: text('error'),
    /**
     * Who drives the sweep: the runner id of the web server (one web server), or `web:<WEB_ID>` in cluster mode. Only
     * that server calls it interrupted after a restart; in cluster mode also any server that sees it gone.
     */
    driverId: text('runner_id'),
    createdAt: createdAt(),
    finishedAt: timestamp('finished_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    check('sweeps_status_check', sql`${t.status} in ('running', 'succeeded', 'failed', 'cancelled', 'interrupted')`),
    index('sweeps_product_line_idx').on(t.productLineId),
    index('sweeps_created_at_idx').on(t.createdAt),
  ],
);

export const runEvents = pgTable(
  'run_events',
  {
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    type: text('type').notNull(),
    nodeId: text('node_id'),
    ts: timestamp('ts', { withTimezone: true, mode: 'date' }).notNull(),
    /** The event body without runId/seq/ts/type (nodeId is kept here too, so the event round-trips exactly). */
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
  },
  (t) => [primaryKey({ name: 'run_events_pk', columns: [t.runId, t.seq] })],
);

/**
 * Stages of a deployed model within its product line: new models start in `staging`; at most one per line is in
 * `production` (what the prediction API serves by default); a production model replaced by a promotion goes to
 * `archived` with `retired_at` set, and a rollback restores the most recently retired one.
 */
export const MODEL_STAGES = ['staging', 'production', 'archived'] as const;
export type ModelStage = (typeof MODEL_STAGES)[number];

export const models = pgTable(
  'models',
  {
    id: id(),
    runId: text('run_id').references(() => runs.id, { onDelete: 'set null' }),
    productLineId: text('product_line_id').references(() => productLines.id, { onDelete: 'set null' }),
    name: text('name').notNull(),
    /** Folder of the exported model (DATA_DIR/models/<id>/ by default). */
    dir: text('dir').notNull(),
    labels: jsonb('labels').$type<string[]>().notNull(),
    inputSize: integer('input_size').notNull(),
    metrics: jsonb('metrics').$type<Record<string, unknown>>(),
    /** 1, 2, … per product line in registration order (models without a line count among themselves). */
    version: integer('version').notNull(),
    stage: text('stage', { enum: MODEL_STAGES }).notNull().default('staging'),
    stageChangedAt: timestamp('stage_changed_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    /** When a promotion replaced it as production; rollback restores the archived model retired last. */
    retiredAt: timestamp('retired_at', { withTimezone: true, mode: 'date' }),
    createdAt: createdAt(),
  },
  (t) => [
    check('models_stage_check', sql`${t.stage} in ('staging', 'production', 'archived')`),
    index('models_product_line_idx').on(t.productLineId),
    uniqueIndex('models_line_version_unique').on(t.productLineId, t.version),
    uniqueIndex('models_one_production_per_line').on(t.productLineId).where(sql`${t.stage} = 'production'`),
  ],
);

export const PREDICTION_SOURCES = ['api', 'ui'] as const;
export type PredictionSource = (typeof PREDICTION_SOURCES)[number];
/** Why a prediction's image was kept on disk: the random sample, a confidence under the threshold, or input drift (review queue). */
export const PREDICTION_IMAGE_REASONS = ['sample', 'low_confidence', 'drifted'] as const;
export type PredictionImageReason = (typeof PREDICTION_IMAGE_REASONS)[number];

/**
 * The prediction log: one row per image a deployed model classified (prediction API and the model page). The
 * image itself is kept for a sample and for low-confidence answers under DATA_DIR/predictions; when the image
 * budget drops it, `image_path` becomes null and the row keeps the hash.
 */
export const predictions = pgTable(
  'predictions',
  {
    id: id(),
    createdAt: createdAt(),
    modelId: text('model_id')
      .notNull()
      .references(() => models.id, { onDelete: 'cascade' }),
    /** The model's version when it answered (a model keeps its version; stored so the log reads alone). */
    modelVersion: integer('model_version').notNull(),
    label: text('label').notNull(),
    /** Probability of `label` (the decided class). */
    confidence: doublePrecision('confidence').notNull(),
    probabilities: jsonb('probabilities').$type<Record<string, number>>().notNull(),
    /** Below PREDICTION_LOW_CONFIDENCE when it was made. */
    lowConfidence: boolean('low_confidence').notNull(),
    latencyMs: integer('latency_ms').notNull(),
    /** SHA-256 (hex) of the image bytes as sent. */
    imageSha256: text('image_sha256').notNull(),
    /** The file name the client gave (multipart) or a generated one (raw body). */
    imageName: text('image_name').notNull(),
    imageBytes: integer('image_bytes').notNull(),
    source: text('source', { enum: PREDICTION_SOURCES }).notNull(),
    tokenId: text('token_id').references(() => apiTokens.id, { onDelete: 'set null' }),
    /** Kept image, relative to DATA_DIR/predictions; null when not kept or dropped by the budget or retention. */
    imagePath: text('image_path'),
    imageReason: text('image_reason', { enum: PREDICTION_IMAGE_REASONS }),
    /** Input-drift score (k-NN distance of the image's pooled backbone features to the training set's); null when the model has no drift reference. */
    drift: doublePrecision('drift'),
    /** drift above the model's calibrated threshold. */
    drifted: boolean('drifted'),
    /** Review queue: the class a person gave the kept image (null with reviewed_at set: discarded as unusable). */
    reviewedLabel: text('reviewed_label'),
    reviewedAt: timestamp('reviewed_at', { withTimezone: true, mode: 'date' }),
    reviewedBy: text('reviewed_by').references((): AnyPgColumn => users.id, { onDelete: 'set null' }),
    /** The dataset version the labelled image was added to (never added twice). */
    addedDataset: text('added_dataset'),
    addedVersion: integer('added_version'),
  },
  (t) => [
    check('predictions_source_check', sql`${t.source} in ('api', 'ui')`),
    index('predictions_model_created_idx').on(t.modelId, t.createdAt),
    index('predictions_created_idx').on(t.createdAt),
    index('predictions_kept_images_idx').on(t.createdAt).where(sql`${t.imagePath} is not null`),
    index('predictions_review_idx').on(t.modelId, t.createdAt).where(sql`${t.imagePath} is not null and (${t.lowConfidence} or ${t.drifted})`),
  ],
);

export const ALARM_RULES = ['drift_rate', 'low_confidence_rate', 'class_mix'] as const;
export type AlarmRule = (typeof ALARM_RULES)[number];

/**
 * Monitoring alarms of deployed models: one row per rule that fired, raised when the rule's value over the last
 * predictions crosses its threshold and cleared when it falls back under it (at most one open alarm per model and rule).
 */
export const modelAlarms = pgTable(
  'model_alarms',
  {
    id: id(),
    modelId: text('model_id')
      .notNull()
      .references(() => models.id, { onDelete: 'cascade' }),
    rule: text('rule', { enum: ALARM_RULES }).notNull(),
    /** The rule's value when raised (a rate or a distance, 0..1) and the threshold it crossed. */
    value: doublePrecision('value').notNull(),
    threshold: doublePrecision('threshold').notNull(),
    /** Predictions the value was computed over. */
    window: integer('window').notNull(),
    message: text('message').notNull(),
    raisedAt: timestamp('raised_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    clearedAt: timestamp('cleared_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    check('model_alarms_rule_check', sql`${t.rule} in ('drift_rate', 'low_confidence_rate', 'class_mix')`),
    index('model_alarms_model_idx').on(t.modelId, t.raisedAt),
    uniqueIndex('model_alarms_one_open').on(t.modelId, t.rule).where(sql`${t.clearedAt} is null`),
  ],
);

export const datasets = pgTable('datasets', {
  id: id(),
  name: text('name').notNull().unique(),
  /** Relative to DATASETS_ROOT. */
  path: text('path').notNull(),
  version: integer('version').notNull().default(1),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const datasetVersions = pgTable(
  'dataset_versions',
  {
    id: id(),
    datasetId: text('dataset_id')
      .notNull()
      .references(() => datasets.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    manifest: jsonb('manifest').$type<unknown>().notNull(),
    message: text('message'),
    createdAt: createdAt(),
  },
  (t) => [unique('dataset_versions_dataset_version_unique').on(t.datasetId, t.version)],
);

export const USER_ROLES = ['viewer', 'engineer', 'admin'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export const users = pgTable(
  'users',
  {
    id: id(),
    /** Sign-in name, stored lower-case. */
    username: text('username').notNull().unique(),
    /** argon2id PHC string. */
    passwordHash: text('password_hash').notNull(),
    role: text('role', { enum: USER_ROLES }).notNull().default('viewer'),
    disabled: integer('disabled').notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [check('users_role_check', sql`${t.role} in ('viewer', 'engineer', 'admin')`)],
);

/** Browser sessions: only a SHA-256 of the cookie value is stored, so a database dump signs nobody in. */
export const sessions = pgTable(
  'sessions',
  {
    tokenHash: text('token_hash').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [index('sessions_user_idx').on(t.userId)],
);

/** API tokens for the CLI and scripts (Authorization: Bearer); hashed like sessions, shown once at creation. */
export const apiTokens = pgTable(
  'api_tokens',
  {
    id: id(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    /** The first characters of the token, shown in lists so a user can tell tokens apart. */
    prefix: text('prefix').notNull(),
    createdAt: createdAt(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'date' }),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [index('api_tokens_user_idx').on(t.userId)],
);

export type User = typeof users.$inferSelect;
export type Session = typeof sessions.$inferSelect;
export type ApiToken = typeof apiTokens.$inferSelect;
export type ProductLine = typeof productLines.$inferSelect;
export type Template = typeof templates.$inferSelect;
export type TemplateVersion = typeof templateVersions.$inferSelect;
export type Pipeline = typeof pipelines.$inferSelect;
export type Run = typeof runs.$inferSelect;
export type Sweep = typeof sweeps.$inferSelect;
export type RunEventRow = typeof runEvents.$inferSelect;
export type Model = typeof models.$inferSelect;
export type NewModel = typeof models.$inferInsert;
export type PredictionRow = typeof predictions.$inferSelect;
export type NewPrediction = typeof predictions.$inferInsert;
export type ModelAlarm = typeof modelAlarms.$inferSelect;
export type Dataset = typeof datasets.$inferSelect;
export type DatasetVersion = typeof datasetVersions.$inferSelect;
