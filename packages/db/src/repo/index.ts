import type { Db } from '../client.ts';
import { apiTokensRepo } from './apiTokens.ts';
import { datasetsRepo } from './datasets.ts';
import { modelAlarmsRepo } from './modelAlarms.ts';
import { modelsRepo } from './models.ts';
import { pipelinesRepo } from './pipelines.ts';
import { predictionsRepo } from './predictions.ts';
import { productLinesRepo } from './productLines.ts';
import { runEventsRepo } from './runEvents.ts';
import { runsRepo } from './runs.ts';
import { sessionsRepo } from './sessions.ts';
import { sweepsRepo } from './sweeps.ts';
import { templatesRepo } from './templates.ts';
import { usersRepo } from './users.ts';

export {
  apiTokensRepo,
  datasetsRepo,
  modelAlarmsRepo,
  modelsRepo,
  pipelinesRepo,
  predictionsRepo,
  productLinesRepo,
  runEventsRepo,
  runsRepo,
  sessionsRepo,
  sweepsRepo,
  templatesRepo,
  usersRepo,
};

/** Every repository bound to one database. */
export function createRepositories(db: Db) {
  return {
    productLines: productLinesRepo(db),
    templates: templatesRepo(db),
    pipelines: pipelinesRepo(db),
    runs: runsRepo(db),
    runEvents: runEventsRepo(db),
    sweeps: sweepsRepo(db),
    models: modelsRepo(db),
    predictions: predictionsRepo(db),
    modelAlarms: modelAlarmsRepo(db),
    datasets: datasetsRepo(db),
    users: usersRepo(db),
    sessions: sessionsRepo(db),
    apiTokens: apiTokensRepo(db),
  };
}

export type Repositories = ReturnType<typeof createRepositories>;
