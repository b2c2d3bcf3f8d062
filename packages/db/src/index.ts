/** @defectflow/db — schema, createDb() (PGlite or PostgreSQL) and repository functions. */
export { createDb, MIGRATIONS_DIR } from './client.ts';
export type { CreateDbOptions, Db, DbHandle, DbKind, Schema } from './client.ts';
export { ConflictError, isDatabaseUnreachable, NotFoundError, pgErrorCode } from './errors.ts';
export { DatabaseLockedError } from './lock.ts';
export * from './repo/index.ts';
export type { TemplateWithLatest, SaveTemplateInput } from './repo/templates.ts';
export type { SavePipelineInput } from './repo/pipelines.ts';
export type { CreateRunInput, ListRunsOptions, ListUnfinishedOptions, RunPatch, SweepRun } from './repo/runs.ts';
export type { AppendOptions, AppendResult } from './repo/runEvents.ts';
export type { CreateSweepInput, ListSweepsOptions, SweepPatch } from './repo/sweeps.ts';
export type { CreateModelInput, StageChange } from './repo/models.ts';
export type { CreatePredictionInput, KeptImage, ListPredictionsOptions, PredictionBucket, PredictionCursor, PredictionSignal, ReviewStats } from './repo/predictions.ts';
export type { RaiseAlarmInput } from './repo/modelAlarms.ts';
export type { UpsertDatasetInput } from './repo/datasets.ts';
export type { CreateUserInput, UserPatch } from './repo/users.ts';
export type { CreateSessionInput } from './repo/sessions.ts';
export type { ApiTokenView, CreateApiTokenInput } from './repo/apiTokens.ts';
export * as schema from './schema.ts';
export {
  ALARM_RULES,
  apiTokens,
  datasets,
  datasetVersions,
  FINISHED_RUN_STATUSES,
  MODEL_STAGES,
  modelAlarms,
  models,
  PREDICTION_IMAGE_REASONS,
  PREDICTION_SOURCES,
  predictions,
  pipelines,
  productLines,
  RUN_STATUSES,
  runEvents,
  runs,
  sessions,
  SWEEP_STATUSES,
  sweeps,
  templates,
  templateVersions,
  USER_ROLES,
  users,
} from './schema.ts';
export type {
  AlarmRule,
  ApiToken,
  Dataset,
  DatasetVersion,
  Model,
  ModelAlarm,
  ModelStage,
  NewModel,
  NewPrediction,
  PredictionImageReason,
  PredictionRow,
  PredictionSource,
  Pipeline,
  ProductLine,
  Run,
  RunEventRow,
  RunRowStatus,
  Template,
  TemplateVersion,
  User,
  UserRole,
  Session,
  Sweep,
  SweepRowStatus,
  SweepTrialInfo,
} from './schema.ts';
